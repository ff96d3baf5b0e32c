"""The instructor's side of the course's files: generating exercises and solutions from the
masters, a fresh copy of an exercise, and an instructor's course folder for nbgrader."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .course import EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR, CourseError, assignment_ids, source_notebook
from .pipelines import load_course_config, nbgrader_api, nbgrader_config

__all__ = ["fresh_exercise", "generate", "init_course", "load_course_config", "write_course_config"]


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


def fresh_exercise(assignment_id: str, target: Path, root: Path = REPO_ROOT) -> Path:
    """Write a pristine copy of the exercise to ``target``, generated from ``source/`` in a scratch course."""
    source_notebook(assignment_id, root)  # a clear error for an unknown assignment
    with tempfile.TemporaryDirectory(prefix="backprop-lab-fresh-") as scratch:
        shutil.copytree(root / SOURCE_DIR / assignment_id, Path(scratch) / SOURCE_DIR / assignment_id)
        generate(Path(scratch), [assignment_id])
        shutil.copy(Path(scratch) / EXERCISES_DIR / assignment_id / f"{assignment_id}.ipynb", target)
    return target


CONFIG_FILE_TEMPLATE = '''\
"""nbgrader configuration of a Backprop Lab course (written by `python -m autograder init-course`).

Run every instructor `nbgrader` command from this folder. The settings come from
autograder.pipelines.nbgrader_config (hardened autograde, feedback without hidden tests,
an export with a status column); only this course's own choices are below.
"""

from pathlib import Path

from autograder.pipelines import nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
c.merge(nbgrader_config(Path(__file__).resolve().parent, db_url={db_url!r}))
c.Exchange.root = {exchange!r}
'''


def write_course_config(course_root: Path, exchange: Path, db_url: str | None = None) -> Path:
    """Write ``nbgrader_config.py`` for an instructor's course folder."""
    path = Path(course_root) / "nbgrader_config.py"
    path.write_text(CONFIG_FILE_TEMPLATE.format(db_url=db_url, exchange=str(exchange)))
    return path


def init_course(course_root: Path, exchange: Path, db_url: str | None = None, root: Path = REPO_ROOT) -> Path:
    """An instructor's course folder: the assignments' masters and the nbgrader configuration.

    The folder is private to its owner (mode 0700): it holds the gradebook and every
    student's submission. The exchange is created writable by everyone, as nbgrader needs.
    """
    course_root = Path(course_root)
    course_root.mkdir(parents=True, exist_ok=True)
    course_root.chmod(0o700)
    shutil.copytree(root / SOURCE_DIR, course_root / SOURCE_DIR, dirs_exist_ok=True)
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)
    return write_course_config(course_root, exchange, db_url)
