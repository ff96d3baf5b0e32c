"""What went wrong while grading a notebook, as typed records, from execution to the export.

A :class:`Problem` is made where the problem is found (restoring cells, running the kernel,
reading the file) and travels as data: in the learner's report, in the class summary, in the
gradebook (:func:`to_comment` / :func:`from_comment`, a JSON payload beside a readable sentence),
and in the grade export. Nobody parses the sentences.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    # The notebook could not be graded at all.
    INVALID_NOTEBOOK = "invalid_notebook"
    WRONG_NOTEBOOK = "wrong_notebook"
    AUTOGRADE_FAILED = "autograde_failed"
    # Graded, with something the instructor and the learner should know.
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    STOPPED = "stopped"
    TAMPERING = "tampering"
    COURSE_CODE = "course_code"
    OUT_OF_MEMORY = "out_of_memory"
    UNKNOWN_CELL = "unknown_cell"
    DUPLICATE_ANSWER = "duplicate_answer"
    RECOVERED_ANSWER = "recovered_answer"
    RESTORED_CELL = "restored_cell"


#: Kinds that mean there is no grade: the export says "not graded", never 0.
UNGRADED = {Kind.INVALID_NOTEBOOK, Kind.WRONG_NOTEBOOK, Kind.AUTOGRADE_FAILED}
#: Kinds that only inform (a deleted test cell put back is the rule working, not a problem).
INFORMATIVE = {Kind.RESTORED_CELL}


@dataclass(frozen=True)
class Problem:
    kind: Kind
    message: str  # one sentence an instructor or learner understands
    cell: str = ""  # the grade id (or "cell N") it concerns, if any

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))

    def __str__(self) -> str:
        return self.message

    def record(self) -> dict:
        """Plain data (JSON, a notebook's metadata); ``Problem(**record)`` reads it back."""
        return {"kind": str(self.kind), "message": self.message, "cell": self.cell}

    @property
    def stops_grading(self) -> bool:
        return self.kind in UNGRADED

    @property
    def flags(self) -> bool:
        """Worth a flag in the gradebook: the instructor should look."""
        return self.kind not in INFORMATIVE

    # --- the problems the engine finds ------------------------------------------------------

    @classmethod
    def of(cls, kind: Kind, cell: str = "", **fields) -> Problem:
        """The problem of ``kind``, in its sentence (:data:`SENTENCES`) filled with ``fields``."""
        return cls(kind, SENTENCES[kind].format(cell=cell, **fields), cell)

    @classmethod
    def invalid_notebook(cls, name: str, error: object) -> Problem:
        return cls.of(Kind.INVALID_NOTEBOOK, name=name, error=str(error)[:160])

    @classmethod
    def wrong_notebook(cls, found: list[str], expected: str) -> Problem:
        return cls.of(Kind.WRONG_NOTEBOOK, found=", ".join(found) if found else "no notebook", expected=expected)

    @classmethod
    def out_of_memory(cls, cell: str, limit_bytes: int) -> Problem:
        return cls.of(Kind.OUT_OF_MEMORY, cell, limit=limit_bytes / 1024**3)

    @classmethod
    def unknown_cell(cls, gid: str | None, points: float | None) -> Problem:
        claim = f" and claims {points:g} points" if points else ""
        name = f"grade id {gid!r}" if gid else "grading metadata"
        return cls.of(Kind.UNKNOWN_CELL, gid or "", name=name, claim=claim)


#: What each problem says, in words an instructor and a learner understand.
SENTENCES = {
    Kind.INVALID_NOTEBOOK: "{name} is not a valid notebook file ({error})",
    Kind.WRONG_NOTEBOOK: "the submission holds {found}; expected {expected} (renamed?)",
    Kind.AUTOGRADE_FAILED: "nbgrader could not autograde it: {reason}",
    Kind.TIMEOUT: "{cell} ran longer than {seconds:g} s (an infinite loop?) and was stopped",
    Kind.KERNEL_DIED: "the kernel died while running {cell} (os._exit, a crash or too much memory); "
                      "the tests after it were not run and score 0",
    Kind.STOPPED: "{cell} ran past its time limit and ignored the grader's interrupt (a loop that catches "
                  "KeyboardInterrupt or ignores SIGINT?): the grader stopped the kernel, so the tests after "
                  "it were not run and score 0; the points before it are kept",
    Kind.TAMPERING: "{cell}: {message}",
    Kind.COURSE_CODE: "{cell} tried to use the course's own code or files, which graded answers may not: "
                      "what it defines earns nothing",
    Kind.OUT_OF_MEMORY: "{cell} ran out of memory (the grader's limit is {limit:g} GB)",
    Kind.UNKNOWN_CELL: "a cell carries {name}{claim}, which the assignment does not have: it ran as an "
                       "ordinary cell and earns nothing",
    Kind.DUPLICATE_ANSWER: "two cells share the grade id {cell} (a copied cell): the first is the answer cell, "
                           "the copy ran as an ordinary cell",
    Kind.RECOVERED_ANSWER: "the answer cell {cell} had lost its grading metadata: the cell that defines {cell} "
                           "was graded in its place",
    Kind.RESTORED_CELL: "the test cell {cell} was missing and was put back",
}


# --- in the gradebook ---------------------------------------------------------------------

_MARKER = "backprop-lab-problems"
_PAYLOAD = re.compile(r"<!-- " + _MARKER + r" (.*?) -->", re.DOTALL)


def to_comment(problems: list[Problem]) -> str:
    """A gradebook comment: one readable line per problem, and the records as JSON (hidden in HTML)."""
    lines = [f"Grading note: {p.message}." for p in problems]
    # Escaped so that no message can end the HTML comment early.
    payload = json.dumps([p.record() for p in problems]).replace("<", "\\u003c").replace(">", "\\u003e")
    return "\n".join(lines) + f"\n<!-- {_MARKER} {payload} -->"


def from_comment(text: str | None) -> list[Problem]:
    """The records :func:`to_comment` wrote (none for any other comment)."""
    match = _PAYLOAD.search(text or "")
    return [Problem(**record) for record in json.loads(match.group(1))] if match else []


def in_submission(submission) -> list[Problem]:
    """The records stored with one gradebook submission (nbgrader's ``SubmittedAssignment``)."""
    return [
        problem
        for notebook in submission.notebooks
        for comment in notebook.comments
        for problem in from_comment(comment.auto_comment)
    ]


def in_gradebook(db_url: str) -> dict[tuple[str, str], list[Problem]]:
    """(assignment, student) -> the records stored for every submission that has any."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                stored = in_submission(submission)
                if stored:
                    found[(assignment.name, submission.student.id)] = stored
    return found
