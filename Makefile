# Backprop Lab: every command sets up what it needs first, and is quick when that is done.
#   make lab    start JupyterLab on the course's start page
#   make test   run the whole suite, on every core
#   make test-fast            the inner loop: no browser, PostgreSQL, notebook or nbgrader runs
#   make test-step STEP=03    everything about one step
#   make site   build the executed course as static HTML pages (build/site/index.html)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# nbgrader shells out to alembic, so the venv's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
export JUPYTER_PLATFORM_DIRS := 1
# Python writes a module's bytecode the first time a process imports it (some environments turn
# that off): the 3,400 of the venv's 12,500 files the course imports are compiled once, in use,
# instead of all of them at install (21 s of a fresh set-up), and the course's own code, which no
# install compiles, once instead of in every kernel and grader. A grading kernel, jailed as
# another user, writes nothing; it reads what the course's own processes wrote.
unexport PYTHONDONTWRITEBYTECODE

RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
START_PAGE := lessons/00_start_here.ipynb
# pytest-xdist workers: one per core this process may use (nproc); WORKERS=0 runs in one process.
# Tests that share a server or another expensive fixture stay on one worker (tests/conftest.py).
WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
PYTEST := $(BIN)/python -m pytest -n $(WORKERS)
# What the inner loop leaves out: the browser, PostgreSQL, the hub, and everything marked slow (whole
# notebooks run by nbclient, the nbgrader pipeline, grading in a kernel).
FAST := not slow and not browser and not postgres and not hub
STEP_ID = $(if $(filter 1 2 3 4 5 6 7 8 9,$(STEP)),0$(STEP),$(STEP))

.PHONY: lab test test-fast test-step site generate grade lint bench class clean-venv

# The venv is filled by uv, pinned here: from its cache a fresh venv takes seconds, where pip
# takes a minute or more. uv does not read pip's configuration, so pip's find-links (where these
# machines keep torch's CPU build) are handed to it; without them both take the same wheels.
UV_VERSION := 0.13.9
ENSURE_UV = @$(BIN)/uv --version 2>/dev/null | grep -qx 'uv $(UV_VERSION)' || \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
EXCLUDED := excluded-packages.txt
UV = $(BIN)/uv pip install --quiet --python $(BIN)/python --excludes $(EXCLUDED) \
	$$($(BIN)/python -m pip config get global.find-links 2>/dev/null | tr ' ' '\n' | sed -n 's/^./--find-links &/p')

# Reinstall only when the pins or the package metadata change.
$(RUNTIME_STAMP): requirements.txt pyproject.toml $(EXCLUDED)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(ENSURE_UV)
	$(UV) -r requirements.txt
	@$(BIN)/uv pip uninstall --quiet --python $(BIN)/python -r $(EXCLUDED) 2>/dev/null
	$(UV) --no-deps -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt hub/requirements.txt
	$(ENSURE_UV)
	$(UV) -r requirements-dev.txt
	@touch $@

lab: $(RUNTIME_STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS) $(START_PAGE)

test: $(DEV_STAMP)
	$(PYTEST) $(PYTEST_ARGS)

test-fast: $(DEV_STAMP)
	$(PYTEST) -m "$(FAST)" $(PYTEST_ARGS)

test-step: $(DEV_STAMP)
	@test -n "$(STEP)" || { echo "usage: make test-step STEP=03"; exit 2; }
	$(PYTEST) -m step$(STEP_ID) $(PYTEST_ARGS)

# Every lesson executed and exported to HTML, figures and labs included, readable without Jupyter.
site: $(DEV_STAMP)
	$(BIN)/python -m backprop_lab.static_site $(SITE_ARGS)

generate: $(RUNTIME_STAMP)
	$(BIN)/python -m autograder generate

# Grade a class in parallel (same grades as nbgrader autograde): make grade ARGS="--help"
grade: $(RUNTIME_STAMP)
	$(BIN)/python -m autograder grade $(ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean-venv:
	rm -rf $(VENV)

# A demo class on JupyterHub, on 127.0.0.1 (as root): the hub, its proxy, an instructor, two
# students and the course released. hub/classroom.py and docs/class-on-jupyterhub.md say more.
.PHONY: class
class: $(RUNTIME_STAMP)
	$(BIN)/python hub/classroom.py demo $(CLASS_ARGS)
