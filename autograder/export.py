"""Grade export that tells "could not be graded" apart from a real zero, with the reason.

nbgrader's CSV export shows a notebook it could not read, or one whose kernel died, as 0.0,
exactly like a learner who scored nothing. :class:`StatusCsvExport` (the course's default,
``nbgrader export``) writes nbgrader's columns plus

``status``  ``graded``, ``not graded`` or ``not submitted``
``reason``  why it was not graded (the notebook is not valid JSON or was renamed, autograde has
            not run), or what happened while grading (a cell ran past its time limit, the kernel
            died after some tests, a copied answer cell).

Beside it, ``<name>-mistakes.csv`` says per assignment and test how many students made each
named mistake, and the lesson section that teaches it (:mod:`autograder.misconceptions`).

The reasons are typed records (:mod:`autograder.problems`): from the gradebook, where
:class:`autograder.pipelines.RecordGradingProblems` stored them, and, for a submission nbgrader
could not grade at all, from the submitted files themselves.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import ExportPlugin

from .classroom import LOG_DIR, unreadable_notebooks
from .misconceptions import collect as collect_mistakes
from .problems import in_submission

COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score", "status", "reason",
]
GRADED, NOT_GRADED, NOT_SUBMITTED = "graded", "not graded", "not submitted"


def _never_autograded(submission) -> bool:
    grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
    return bool(grades) and all(grade.auto_score is None and grade.manual_score is None for grade in grades)


def submission_status(submission, course_root: Path | None) -> tuple[str, str]:
    """(status, reason) of one submission in the gradebook."""
    stored = in_submission(submission)
    if _never_autograded(submission):
        assignment, student = submission.assignment.name, submission.student.id
        folder = course_root / "submitted" / student / assignment if course_root else None
        found = unreadable_notebooks(course_root, assignment, folder) if folder and folder.is_dir() else []
        reason = "; ".join(p.message for p in found) or (
            "autograde has not run, or failed: run `python -m autograder grade`, whose summary says why "
            f"(nbgrader's full log is kept in {LOG_DIR}/{assignment}/{student}.log)")
        return NOT_GRADED, reason
    if any(p.stops_grading for p in stored):
        return NOT_GRADED, "; ".join(p.message for p in stored)
    return GRADED, "; ".join(p.message for p in stored if p.flags)


class StatusCsvExport(ExportPlugin):
    """nbgrader's CSV export plus ``status`` and ``reason`` columns."""

    def _course_root(self) -> Path | None:
        try:
            return Path(CourseDirectory(config=self.config).root)
        except Exception:  # no course directory configured: the reason stays generic
            return None

    def rows(self, gradebook: Gradebook) -> list[dict]:
        rows = []
        for assignment in gradebook.assignments:
            if self.assignment and assignment.name not in self.assignment:
                continue
            for student in gradebook.students:
                if self.student and student.id not in self.student:
                    continue
                rows.append(self._row(gradebook, assignment, student))
        return rows

    def _row(self, gradebook: Gradebook, assignment, student) -> dict:
        row = {
            "assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
            "last_name": student.last_name or "", "first_name": student.first_name or "",
            "email": student.email or "", "max_score": assignment.max_score,
        }
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0,
                       status=NOT_SUBMITTED, reason="")
            return row
        penalty = submission.late_submission_penalty or 0.0
        status, reason = submission_status(submission, self._course_root())
        row.update(timestamp=submission.timestamp or "", raw_score=submission.score, late_submission_penalty=penalty,
                   score=max(0.0, submission.score - penalty), status=status, reason=reason)
        return row

    def export(self, gradebook: Gradebook) -> None:
        destination = self.to or "grades.csv"
        self.log.info("Exporting grades with their status to %s", destination)
        with open(destination, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows(gradebook))
        root = self._course_root()
        if root is not None:
            mistakes = mistakes_path(destination)
            collect_mistakes(root).write_csv(mistakes)
            self.log.info("Exporting how many students made each named mistake to %s", mistakes)


def mistakes_path(grades_csv: str | Path) -> Path:
    """Where the export writes the class's named mistakes: ``grades-mistakes.csv`` beside ``grades.csv``."""
    path = Path(grades_csv)
    return path.with_name(f"{path.stem}-mistakes.csv")
