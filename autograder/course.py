"""The course as nbgrader sees it: where things live, its configuration, and generation.

``source/NN_name/NN_name.ipynb`` is the instructor master of each assignment (nbgrader's
format: solution regions and hidden tests). ``exercises/`` (what learners get) and
``solutions/`` are generated from it by :func:`generate`; nobody edits them by hand.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from traitlets.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "backprop-lab"
SOURCE_DIR = "source"
EXERCISES_DIR = "exercises"
SOLUTIONS_DIR = "solutions"
LESSONS_DIR = "lessons"

#: The stub a learner sees in place of each solution region.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
#: Seconds one cell may run while grading before it counts as an infinite loop.
CELL_TIMEOUT = 60


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


def nbgrader_config(root: Path = REPO_ROOT, db_url: str | None = None) -> Config:
    """The course's nbgrader configuration, rooted at ``root``.

    ``autograder/nbgrader_config.py`` (what an instructor's ``nbgrader`` command reads) and the
    course's own tools both build their configuration here, so they cannot drift apart.
    """
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.source_directory = SOURCE_DIR
    config.CourseDirectory.release_directory = EXERCISES_DIR
    config.CourseDirectory.solution_directory = SOLUTIONS_DIR
    config.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT
    config.Execute.timeout = CELL_TIMEOUT
    # A learner who deletes a test cell still gets it graded (restored from the gradebook).
    config.OverwriteCells.add_missing_cells = True
    # Committed solutions carry no outputs: generate them without executing.
    config.GenerateSolution.preprocessors = [
        "nbgrader.preprocessors.IncludeHeaderFooter",
        "nbgrader.preprocessors.LockCells",
        "nbgrader.preprocessors.ClearOutput",
        "nbgrader.preprocessors.ClearMarkScheme",
    ]
    return config


def nbgrader_api(config: Config):
    """An ``NbGraderAPI`` for ``config`` (imported lazily: nbgrader is slow to import)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _run_or_raise(result: dict, what: str) -> None:
    if not result.get("success"):
        raise CourseError(f"{what} failed:\n{result.get('error') or result.get('log')}")


def _generate_solution(api, assignment_id: str) -> None:
    from nbgrader.apps.api import capture_log, temp_attrs
    from nbgrader.converters import GenerateSolution

    with temp_attrs(api.coursedir, assignment_id=assignment_id):
        app = GenerateSolution(coursedir=api.coursedir, parent=api)
        app.force = True
        _run_or_raise(capture_log(app), f"generating the solution of {assignment_id}")


def generate(root: Path = REPO_ROOT, assignments: list[str] | None = None) -> list[str]:
    """Rebuild ``exercises/`` and ``solutions/`` under ``root`` from its ``source/``.

    The gradebook that nbgrader needs while generating is a throwaway one. Returns the
    assignment ids generated.
    """
    chosen = assignments or assignment_ids(root)
    with tempfile.TemporaryDirectory(prefix="backprop-lab-generate-") as scratch:
        api = nbgrader_api(nbgrader_config(root, db_url=f"sqlite:///{scratch}/gradebook.db"))
        for assignment_id in chosen:
            for output_dir in (EXERCISES_DIR, SOLUTIONS_DIR):
                shutil.rmtree(root / output_dir / assignment_id, ignore_errors=True)
            _run_or_raise(api.generate_assignment(assignment_id), f"generating {assignment_id}")
            _generate_solution(api, assignment_id)
    return chosen
