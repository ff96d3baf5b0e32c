"""Suite-wide set-up: run nbgrader and Jupyter from this venv, quietly."""

import os

import autograder  # noqa: F401  (puts this venv's bin/ on PATH: nbgrader shells out to alembic)

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
