"""Where the course lives, and its limits.

``source/NN_name/NN_name.ipynb`` is the instructor master of each assignment (nbgrader's
format: solution regions and hidden tests). ``exercises/`` (what learners get) and
``solutions/`` are generated from it (:mod:`autograder.authoring`); nobody edits them by hand.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "backprop-lab"
SOURCE_DIR = "source"
EXERCISES_DIR = "exercises"
SOLUTIONS_DIR = "solutions"
LESSONS_DIR = "lessons"

#: Set in the kernels that grade a notebook, so that the self-check cell inside does nothing.
GRADING_ENV = "BACKPROP_LAB_GRADING"
#: The read-only last cell of every exercise, which runs the self-check: never run while grading.
SELF_CHECK_CELL = "check_my_work"
#: The stub a learner sees in place of each solution region.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
#: Seconds one cell may run while grading before it counts as an infinite loop.
CELL_TIMEOUT = 60
#: Seconds a whole notebook may run while grading: an infinite loop costs this once at most.
SUBMISSION_TIMEOUT = 180
#: What a grading kernel may use (autograder/sandbox.py): address space, CPU seconds, processes
#: and threads (of its own throwaway user), and the size of any file it writes.
MEMORY_LIMIT_BYTES = 2 * 1024**3
CPU_LIMIT_SECONDS = SUBMISSION_TIMEOUT + 60
PROCESS_LIMIT = 64
FILE_SIZE_LIMIT_BYTES = 64 * 1024**2


class CourseError(RuntimeError):
    """Something about the course files is wrong; the message says what and where."""


def assignment_ids(root: Path = REPO_ROOT) -> list[str]:
    """Every assignment authored in ``source/``, in course order."""
    source = root / SOURCE_DIR
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / SOURCE_DIR / assignment_id / f"{assignment_id}.ipynb")


def exercise_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / EXERCISES_DIR / assignment_id / f"{assignment_id}.ipynb")


def solution_notebook(assignment_id: str, root: Path = REPO_ROOT) -> Path:
    return _existing(root / SOLUTIONS_DIR / assignment_id / f"{assignment_id}.ipynb")


def lesson_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    return sorted((root / LESSONS_DIR).glob("*.ipynb"))


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise CourseError(f"{path} does not exist (known assignments: {', '.join(assignment_ids())})")
    return path


def __getattr__(name: str):
    # Course folders made by earlier versions import nbgrader_config from here: keep them working.
    if name == "nbgrader_config":
        from .pipelines import nbgrader_config

        return nbgrader_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
