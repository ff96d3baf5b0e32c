"""Grade export that tells "could not be graded" apart from a real zero, with the reason.

nbgrader's CSV export shows a notebook it could not read, or one whose kernel died, as 0.0,
exactly like a learner who scored nothing. :class:`StatusCsvExport` (the course's default,
``nbgrader export``) writes nbgrader's columns plus

``status``  ``graded``, ``not graded`` or ``not submitted``
``reason``  why it was not graded (the notebook is not valid JSON, the kernel died, autograde
            has not run), or what happened while grading (a cell ran past its time limit).

The reasons come from the gradebook (comments that :class:`autograder.execute.RecordGradingProblems`
wrote) and, for a notebook nbgrader could not read at all, from the submitted file itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import ExportPlugin

from .execute import PROBLEM_PREFIX

COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score", "status", "reason",
]
GRADED, NOT_GRADED, NOT_SUBMITTED = "graded", "not graded", "not submitted"


def _problems_of(submission) -> list[str]:
    return [
        comment.auto_comment
        for notebook in submission.notebooks
        for comment in notebook.comments
        if comment.auto_comment and comment.auto_comment.startswith(PROBLEM_PREFIX)
    ]


def grading_problems(db_url: str) -> dict[tuple[str, str], str]:
    """(assignment, student) -> what went wrong while grading, for every flagged submission."""
    found = {}
    with Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                problems = _problems_of(submission)
                if problems:
                    found[(assignment.name, submission.student.id)] = " ".join(problems)
    return found


def _never_autograded(submission) -> bool:
    grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
    return bool(grades) and all(grade.auto_score is None and grade.manual_score is None for grade in grades)


def submission_status(submission, submitted_folder: Path | None) -> tuple[str, str]:
    """(status, reason) of one submission in the gradebook."""
    problems = " ".join(_problems_of(submission))
    if "kernel_died" in problems:
        return NOT_GRADED, problems
    if _never_autograded(submission):
        from .classroom import invalid_notebooks

        unreadable = invalid_notebooks(submitted_folder) if submitted_folder and submitted_folder.is_dir() else []
        return NOT_GRADED, "; ".join(unreadable) or "autograde has not run or failed (see the autograde log)"
    return GRADED, problems


class StatusCsvExport(ExportPlugin):
    """nbgrader's CSV export plus ``status`` and ``reason`` columns."""

    def _submitted_folder(self, assignment_id: str, student_id: str) -> Path | None:
        try:
            coursedir = CourseDirectory(config=self.config)
            return Path(coursedir.format_path(coursedir.submitted_directory, student_id, assignment_id))
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
        status, reason = submission_status(submission, self._submitted_folder(assignment.name, student.id))
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
