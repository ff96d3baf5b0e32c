"""Check my work: a learner grades their own exercise with the instructor's tests.

The last cell of every exercise calls :func:`check_my_work`. It grades the notebook as last
saved, with every test an instructor would run (hidden ones included), on a copy: the
learner's file is never modified.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import course
from .course import GRADING_ENV

if TYPE_CHECKING:  # grading imports nbgrader (seconds): only when a notebook is really checked
    from .grading import Report


def format_report(report: Report) -> str:
    """A per-test text report: points, pass/fail and the message that names the mistake."""
    if report.error:
        return f"{report.notebook}: could not be graded: {report.error}"
    lines = []
    for result in report.results:
        mark = "PASS" if result.passed else "FAIL"
        line = f"{mark}  {result.points:g}/{result.max_points:g}  {result.grade_id}"
        if result.message and not result.passed:
            line += f"\n        {result.message}"
        lines.append(line)
    lines += [f"NOTE  {note}" for note in report.notes]
    lines.append(f"Score: {report.score:g} / {report.max_score:g}")
    return "\n".join(lines)


def _being_graded() -> bool:
    # Our grader sets GRADING_ENV; nbgrader autograde runs notebooks inside its autograded/ folder.
    return bool(os.environ.get(GRADING_ENV)) or "autograded" in Path.cwd().parts


def check_my_work(assignment_id: str, notebook: str | os.PathLike | None = None) -> Report | None:
    """Grade the saved copy of this exercise and print the report.

    ``notebook`` defaults to ``<assignment_id>.ipynb`` in the current folder, which is where
    Jupyter runs a notebook's kernel.
    """
    if _being_graded():
        return None
    path = Path(notebook) if notebook else Path.cwd() / f"{assignment_id}.ipynb"
    if not path.is_file():
        print(f"Nothing to check: {path} does not exist. Save the notebook first.")
        return None
    print(f"Checking the last saved version of {path.name} (save first: Ctrl+S)...")
    from .grading import grade_notebook

    report = grade_notebook(path, course.source_notebook(assignment_id))
    print(format_report(report))
    return report
