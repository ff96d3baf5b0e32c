"""The set-up behind `make lab` and `make test` is idempotent: once installed, nothing is
reinstalled until the pins change."""

import subprocess
from pathlib import Path

import pytest

from autograder import course

STAMPS = [".venv/.runtime-installed", ".venv/.dev-installed"]


@pytest.mark.parametrize("stamp", STAMPS)
def test_an_installed_venv_is_up_to_date_for_make(stamp):
    if not (course.REPO_ROOT / stamp).exists():
        pytest.skip(f"{stamp} is absent: this suite was not started through `make test`")
    question = subprocess.run(["make", "--question", stamp], cwd=course.REPO_ROOT)
    assert question.returncode == 0, f"`make` would reinstall {stamp}: the set-up is not idempotent"


def test_make_lets_python_keep_the_bytecode_it_compiles():
    """The venv is not compiled at install (Makefile): Python writes a module's bytecode when a
    process first imports it, and every later process reads it instead of compiling again."""
    if not (course.REPO_ROOT / STAMPS[1]).exists():
        pytest.skip(f"{STAMPS[1]} is absent: this suite was not started through `make test`")
    import importlib.util
    import sys

    import autograder.grading

    assert not sys.dont_write_bytecode, "make's commands must not inherit PYTHONDONTWRITEBYTECODE (Makefile)"
    assert Path(importlib.util.cache_from_source(autograder.grading.__file__)).is_file()


def test_changing_the_pins_triggers_a_reinstall():
    # --what-if pretends requirements.txt changed; --dry-run only prints what make would do.
    plan = subprocess.run(
        ["make", "--dry-run", "--what-if=requirements.txt", STAMPS[0]],
        cwd=course.REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert "pip install" in plan and "-r requirements.txt" in plan


def test_the_torch_pin_is_exact():
    pins = (course.REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in pins, "an open torch range pulls a multi-GB CUDA build"


def test_the_venvs_python_finds_nbgrader_tools_without_an_activated_venv():
    import sys

    probe = "import shutil, autograder; print(shutil.which('alembic') or '')"
    found = subprocess.run(
        [sys.executable, "-c", probe], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found, "`python -m autograder` cannot reach nbgrader's alembic unless the venv is activated"
    assert Path(found).parent == Path(sys.executable).parent
