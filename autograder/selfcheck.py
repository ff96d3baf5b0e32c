"""Check my work: a learner grades their own exercise with the instructor's tests.

The last cell of every exercise calls :func:`check_my_work`. It grades the notebook as last
saved, on a copy: the learner's file is never modified.

Studying alone (the course's repository, with the instructor masters in ``source/``), it runs
every test an instructor would, hidden ones included. In a class the masters stay with the
instructors, so a student's environment has no ``source/``: where the hub runs the course's
grading service (:mod:`autograder.service`), the check sends the saved notebook there and shows
the report of every test, hidden ones included, without their code. Without it, the check grades
with the visible tests of the exercise *as it was released* (nbgrader's exchange, which only the
instructor can write to; else the ``exercises/`` of an installed course), never with the test
cells of the learner's own copy, which the learner can edit. It says that the hidden tests run
when the instructor grades, and reports any problem in a sentence, never a traceback.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import course, lessons, seeds
from .course import GRADING_ENV

if TYPE_CHECKING:  # grading imports nbgrader (seconds): only when a notebook is really checked
    from .grading import Report


def format_report(report: Report, assignment_id: str | None = None) -> str:
    """A per-test text report: points, pass/fail, the message that names the mistake, the lesson
    section that teaches the idea, and how to replay a failed hidden test."""
    if report.error:
        return f"{report.notebook}: could not be graded: {report.error}"
    assignment_id = assignment_id or Path(report.notebook).stem
    lines = []
    for result in report.results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{mark}  {result.points:g}/{result.max_points:g}  {result.grade_id}"
        if result.message and not result.passed:
            line += f"\n        {result.message}"
        if not result.passed:
            line += "".join(f"\n        {extra}" for extra in _next_steps(assignment_id, result))
        lines.append(line)
    lines += [f"NOTE  {note}" for note in report.notes]
    lines.append(f"Score: {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def _next_steps(assignment_id: str, result) -> list[str]:
    """Where the idea is taught, and how to run a failed hidden test's case again."""
    steps = []
    section = lessons.section_of(assignment_id, result.grade_id)
    if section:
        steps.append(f"read: {section}")
    seed = seeds.seed_in(result.message or "")
    if seed is not None:
        steps.append(f"replay this case (the same shapes and values): run check_my_work({assignment_id!r}, "
                     f"seed={seed}) in the notebook's last cell, or `python -m autograder check "
                     f"{assignment_id}.ipynb --seed {seed}`")
    return steps


def _show_links(report: Report, assignment_id: str, folder: Path) -> None:
    """In JupyterLab: each failed test's lesson section as a link that opens the lesson at the heading."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        return
    if get_ipython() is None or report.error:
        return
    items = []
    for result in report.results:
        section = lessons.section_of(assignment_id, result.grade_id) if not result.passed else None
        link = lessons.link_from(folder, section) if section else None
        if link:
            items.append(f"- `{result.grade_id}`: [{lessons.heading_of(assignment_id, result.grade_id)}]({link})")
    if items:
        display(Markdown("**Where each failed test's idea is taught:**\n\n" + "\n".join(items)))


def _being_graded() -> bool:
    # Our grader sets GRADING_ENV; nbgrader autograde runs notebooks inside its autograded/ folder.
    return bool(os.environ.get(GRADING_ENV)) or "autograded" in Path.cwd().parts


def check_my_work(assignment_id: str, notebook: str | os.PathLike | None = None, *, seed: int | None = None,
                  only: str | None = None) -> Report | None:
    """Grade the saved copy of this exercise and print the report.

    ``notebook`` defaults to ``<assignment_id>.ipynb`` in the current folder, which is where
    Jupyter runs a notebook's kernel. ``seed`` replays the case a failed hidden test reported
    (every test draws from that seed); ``only`` checks one function (its tests and what comes
    before them).
    """
    if _being_graded():
        return None
    path = Path(notebook) if notebook else Path.cwd() / f"{assignment_id}.ipynb"
    if not path.is_file():
        print(f"Nothing to check: {path} does not exist. Save the notebook first.")
        return None
    print(f"Checking the last saved version of {path.name} (save first: Ctrl+S)...")
    master = course.REPO_ROOT / course.SOURCE_DIR / assignment_id / f"{assignment_id}.ipynb"
    if not master.is_file():
        return _check_in_class(assignment_id, path, seed, only)
    from .grading import grade_notebook

    report = grade_notebook(path, course.source_notebook(assignment_id), seed=seed, only=only)
    print(format_report(report, assignment_id))
    _show_links(report, assignment_id, path.parent)
    return report


# --- in a class: the masters are with the instructors ---------------------------------------

HIDDEN_TESTS_NOTE = "Hidden tests run when your instructor grades: they are not on this computer."


def _check_in_class(assignment_id: str, path: Path, seed: int | None = None,
                    only: str | None = None) -> Report | None:
    """Through the course's grading service when the hub names one (every test, hidden ones
    included, graded on the instructor's side, with its own seeds); else with the visible tests only."""
    from .service.client import ServiceUnavailable, check_with_service, service_url

    url = service_url()
    if url:
        try:
            return check_with_service(url, assignment_id, path)
        except ServiceUnavailable as error:
            print(f"The course's grading service did not answer ({error}): checking with the visible tests only.")
    return _check_visible_tests(assignment_id, path, seed, only)


def _nbgrader_exchange() -> tuple[Path, str]:
    """The exchange root and course id of nbgrader's configuration (the global one, on a hub)."""
    from nbgrader.apps.baseapp import NbGrader

    app = NbGrader()
    app.load_config_file()
    config = app.config
    root = config.Exchange.get("root", "/srv/nbgrader/exchange")
    return Path(root), str(config.CourseDirectory.get("course_id", "") or "")


def released_notebook(assignment_id: str, notebook: Path) -> Path | None:
    """The exercise as the instructor released it, or None where this computer has none.

    First nbgrader's exchange (``<root>/<course>/outbound/<assignment>/``: readable by students,
    writable only by the instructor), for the configured course, the course named by the
    notebook's folder (``<course>/<assignment>/`` when the exchange path includes the course),
    then any course; else the ``exercises/`` folder of an installed course.
    """
    name = f"{assignment_id}.ipynb"
    candidates = []
    try:
        root, configured = _nbgrader_exchange()
    except Exception:  # no nbgrader configuration at all: only exercises/ can help
        root, configured = None, ""
    if root is not None and root.is_dir():
        courses = [configured, notebook.resolve().parent.parent.name]
        courses += sorted(p.name for p in root.iterdir() if p.is_dir())
        candidates += [root / c / "outbound" / assignment_id / name for c in courses if c]
    candidates.append(course.REPO_ROOT / course.EXERCISES_DIR / assignment_id / name)
    return next((c for c in candidates if _readable_file(c)), None)


def _readable_file(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.R_OK)
    except OSError:
        return False


def _has_code(source: str) -> bool:
    """Whether a cell holds any statement (a released hidden-test cell holds only a comment)."""
    try:
        return bool(ast.parse(source).body)
    except SyntaxError:
        return True


def hidden_test_ids(released: Path) -> list[str]:
    """The test cells whose code nbgrader removed on release: the hidden tests."""
    from . import cells

    return [cell.grade_id for cell in cells.master_from_notebook(released)
            if cell.points is not None and not cell.solution and cell.cell_type == "code"
            and not _has_code(cell.source)]


def _check_visible_tests(assignment_id: str, path: Path, seed: int | None = None,
                         only: str | None = None) -> Report | None:
    """Grade with the released exercise's visible tests; hidden ones are left to the instructor."""
    released = released_notebook(assignment_id, path)
    if released is None:
        print(f"The tests of {assignment_id} are not on this computer, so this check cannot run here. "
              "Your instructor's grading runs every test, hidden ones included.")
        return None
    try:
        from .grading import grade_notebook

        hidden = set(hidden_test_ids(released))
        report = grade_notebook(path, released, seed=seed, only=only)
    except Exception as error:  # a learner sees a sentence, never a traceback
        print(f"The check could not run ({type(error).__name__}: {error}). "
              "This does not change your grade: your instructor grades your submitted notebook.")
        return None
    held_back = [r for r in report.results if r.grade_id in hidden]
    report.results = [r for r in report.results if r.grade_id not in hidden]
    print("Visible tests only (the ones you can read in this notebook).")
    print(format_report(report, assignment_id))
    _show_links(report, assignment_id, path.parent)
    if held_back:
        points = sum(r.max_points for r in held_back)
        print(f"{HIDDEN_TESTS_NOTE} ({len(held_back)} tests, {points:g} more points)")
    else:
        print(HIDDEN_TESTS_NOTE)
    return report
