"""What a learner may see of a report: points, pass or fail, and the sentence naming the mistake.

Never a traceback, never the executed notebook, and never a hidden test's code: a learner's
function can raise an error whose text quotes the test that called it (the kernel's input
history holds it), so any message that contains a line of a hidden test is replaced.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .. import cells

#: Characters of a failure message a learner sees.
MAX_MESSAGE_CHARS = 400
WITHHELD = ("this hidden test failed; its message quoted the test's own code, which stays with your "
            "instructor (does your function raise an error that prints what called it?)")


def _clean(text: str | None, secrets: set[str]) -> str | None:
    if text is None:
        return None
    if any(line in text for line in secrets) or "BEGIN HIDDEN TESTS" in text:
        return WITHHELD
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def public_report(report, master: Path, assignment: str) -> dict:
    """The learner's view of a :class:`autograder.grading.Report`, as JSON-ready data."""
    secrets = cells.hidden_lines(nbformat.read(str(master), as_version=4))  # what feedback redacts too
    return {
        "assignment": assignment,
        "score": report.score,
        "max_score": report.max_score,
        "error": _clean(report.error, secrets),
        "notes": [_clean(note, secrets) for note in report.notes],
        "problems": [{"kind": str(p.kind), "cell": p.cell, "message": _clean(p.message, secrets)}
                     for p in report.problems],
        "tests": [{"grade_id": r.grade_id, "points": r.points, "max_points": r.max_points, "passed": r.passed,
                   "message": None if r.passed else _clean(r.message, secrets)} for r in report.results],
    }
