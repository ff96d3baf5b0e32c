"""The class's misconceptions: how many students made each named mistake, per assignment and test.

A check that names a mistake leaves its key as data in its test cell's outputs: the grader adds
a display record with the mime type :data:`autograder.checks.MISTAKE_MIME`, which shows nothing
(:func:`autograder.checks.mistake_record`). Nothing here reads the learner-facing sentences.
After ``python -m autograder grade`` the autograded notebooks hold those records;
:func:`collect` counts them, and the grade summary, the export (``grades-mistakes.csv`` beside
``grades.csv``) and an HTML page with a bar figure (:func:`write_html`) show the most common
ones, each with the lesson section that teaches the idea (:mod:`autograder.lessons`).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import cells, lessons
from .checks import MISTAKE_MIME
from .diagnosis import PATTERNS

AUTOGRADED_DIR = "autograded"
REPORT_NAME = "mistakes-report.html"
CSV_COLUMNS = ["assignment", "test", "mistake", "students", "student_ids", "lesson_section"]


def mistakes_of_cell(cell) -> list[str]:
    """The keys of the mistakes a test cell's checks named, in order."""
    keys = []
    for output in cell.get("outputs", []):
        record = output.get("data", {}).get(MISTAKE_MIME) if output.get("output_type") == "display_data" else None
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            keys.append(record["key"])
    return keys


def mistakes_by_test(notebook) -> dict[str, list[str]]:
    """Test grade id -> the mistakes named in it, for an executed notebook."""
    found = {}
    for cell in notebook.cells:
        if cells.is_test_cell(cell):
            keys = mistakes_of_cell(cell)
            if keys:
                found[cells.grade_id(cell)] = keys
    return found


def describe(key: str) -> str:
    """A mistake's key in words: a listed mistake is its own description."""
    if key.startswith("diagnosis:"):
        pattern = key.removeprefix("diagnosis:")
        return f"(general diagnosis) {PATTERNS.get(pattern, pattern)}"
    return key


@dataclass
class ClassMistakes:
    """(assignment, test, mistake key) -> the students who made it."""

    students: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)

    def add(self, assignment: str, student: str, notebook) -> None:
        for test, keys in mistakes_by_test(notebook).items():
            for key in dict.fromkeys(keys):
                self.students.setdefault((assignment, test, key), set()).add(student)

    def rows(self) -> list[dict]:
        """One row per (assignment, test, mistake), most students first."""
        ordered = sorted(self.students.items(), key=lambda item: (-len(item[1]), item[0]))
        return [{"assignment": assignment, "test": test, "mistake": describe(key), "key": key,
                 "students": len(who), "student_ids": " ".join(sorted(who)),
                 "lesson_section": lessons.section_of(assignment, test) or ""}
                for (assignment, test, key), who in ordered]

    def text(self, top: int = 10) -> str:
        rows = self.rows()
        if not rows:
            return "named mistakes: none"
        lines = [f"most common named mistakes ({len(rows)} kinds; the HTML report lists all):"]
        for row in rows[:top]:
            student_word = "student" if row["students"] == 1 else "students"
            lines.append(f"  {row['students']} {student_word}  {row['assignment']} / {row['test']}: "
                         f"{_short(row['mistake'])}")
            if row["lesson_section"]:
                lines.append(f"      taught in {row['lesson_section']}")
        return "\n".join(lines)

    def write_csv(self, path: Path) -> Path:
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows())
        return Path(path)


def _short(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def collect(root: Path, submissions: Iterable[tuple[str, str]] | None = None) -> ClassMistakes:
    """Count the named mistakes in the autograded notebooks under ``root`` (a course folder);
    ``submissions`` limits it to those (assignment, student) pairs."""
    import nbformat

    wanted = set(submissions) if submissions is not None else None
    found = ClassMistakes()
    for path in sorted((Path(root) / AUTOGRADED_DIR).glob("*/*/*.ipynb")):
        assignment, student = path.parent.name, path.parent.parent.name
        if wanted is not None and (assignment, student) not in wanted:
            continue
        try:
            notebook = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable autograded file has no mistakes to count
            continue
        found.add(assignment, student, notebook)
    return found


# --- the instructor's page ----------------------------------------------------------------


def _bar_figure(rows: list[dict], top: int) -> str:
    """The most common mistakes as horizontal bars, a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = rows[:top][::-1]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.2))
    labels = [f"{r['test']}: {_short(r['mistake'], 70)}" for r in shown]
    axes.barh(range(len(shown)), [r["students"] for r in shown], color="#c0504d")
    axes.set_yticks(range(len(shown)), labels, fontsize=8)
    axes.set_xlabel("students who made the mistake")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title("The class's most common mistakes")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def write_html(mistakes: ClassMistakes, path: Path, top: int = 15) -> Path:
    """An HTML page: a bar figure of the most common mistakes, then every one with its lesson section."""
    rows = mistakes.rows()
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>The class's common mistakes</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>",
             "<h1>The class's common mistakes</h1>"]
    if not rows:
        parts.append("<p>No named mistake in the graded submissions.</p>")
    else:
        parts.append(f"<img alt='the most common mistakes' src='data:image/png;base64,{_bar_figure(rows, top)}'>")
        parts.append("<table><tr><th>students</th><th>assignment</th><th>test</th><th>mistake</th>"
                     "<th>taught in</th></tr>")
        for row in rows:
            section = row["lesson_section"]
            lesson = f"<a href='{html.escape(section)}'>{html.escape(section)}</a>" if section else ""
            parts.append(f"<tr><td title='{html.escape(row['student_ids'])}'>{row['students']}</td>"
                         f"<td>{html.escape(row['assignment'])}</td><td>{html.escape(row['test'])}</td>"
                         f"<td>{html.escape(row['mistake'])}</td><td>{lesson}</td></tr>")
        parts.append("</table><p>Links are relative to the course's repository (its <code>lessons/</code> "
                     "folder).</p>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts))
    return Path(path)
