"""Grade a notebook with some solution cells replaced: the suite's way to try answers.

Step tests describe realistic wrong answers (``WrongAnswer``) and one independent correct
implementation, and check that the real tests (``source/``) score them as they should. The
answers are the suite's own (trusted), so they are graded by the one engine in this process
(no kernel per answer); :func:`assert_kernel_agrees` grades a step's answers through the real
sandboxed kernel too and checks that both give the same per-test grades and messages.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

from autograder import course
from autograder.grading import Report, grade_notebook


@dataclass(frozen=True)
class WrongAnswer:
    """A realistic mistake: the solution cell ``grade_id`` replaced by ``code``.

    Grading it must fail at least one of that function's test cells (``test_<grade_id>...``),
    and a failure message must contain ``says`` (the words that name the mistake). No message may
    contain the words of another wrong answer of the same function, unless listed in ``also``
    (mistakes this answer really makes too): a wrong diagnosis is worse than none.

    ``diagnosed`` marks a slip that no listed mistake of the test covers: the general diagnosis
    (:mod:`autograder.diagnosis`) must name it, in the very message that contains ``says``.
    """

    grade_id: str
    code: str
    says: str
    also: tuple[str, ...] = ()
    diagnosed: bool = False

    def __str__(self) -> str:  # shown as the pytest parameter id
        return f"{self.grade_id}: {self.says[:40]}"


def with_answers(assignment_id: str, answers: dict[str, str]):
    """The exercise notebook with the solution cells named in ``answers`` filled in."""
    notebook = nbformat.read(course.exercise_notebook(assignment_id), as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    for grade_id, code in answers.items():
        if grade_id not in by_id:
            raise KeyError(f"{assignment_id} has no cell {grade_id!r}")
        by_id[grade_id].source = code
    return notebook


#: The student id every suite grade is made for: it fixes the hidden tests' seeds (replayable).
STUDENT = "suite"


@cache
def _grade_frozen(assignment_id: str, frozen_answers: tuple[tuple[str, str], ...], in_process: bool,
                  only: str | None) -> Report:
    notebook = with_answers(assignment_id, dict(frozen_answers))
    with tempfile.TemporaryDirectory(prefix="backprop-lab-answers-") as scratch:
        path = Path(scratch) / f"{assignment_id}.ipynb"
        nbformat.write(notebook, path)
        return grade_notebook(path, course.source_notebook(assignment_id), student=STUDENT, in_process=in_process,
                              only=only)


def grade_answers(assignment_id: str, answers: dict[str, str], in_process: bool = True,
                  only: str | None = None) -> Report:
    """Grade the exercise with ``answers`` (grade_id -> code); cached for identical inputs. ``only``
    stops after the tests of that answer (what a wrong answer's test looks at)."""
    return _grade_frozen(assignment_id, tuple(sorted(answers.items())), in_process, only)


def solution_answers(assignment_id: str) -> dict[str, str]:
    """The reference solution's code for every solution cell of an assignment."""
    notebook = nbformat.read(course.solution_notebook(assignment_id), as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def tests_of(report: Report, grade_id: str) -> list:
    """The results of the test cells that check solution cell ``grade_id``."""
    return [r for r in report.results if r.grade_id.startswith(f"test_{grade_id}")]


def assert_loses_points_with_message(assignment_id: str, wrong: WrongAnswer, corpus: list[WrongAnswer] = ()) -> None:
    """The shared assertion behind every step's wrong-answer tests; ``corpus`` (the step's wrong
    answers) must not lend this one the words of a mistake it did not make."""
    answers = solution_answers(assignment_id)
    answers[wrong.grade_id] = wrong.code
    report = grade_answers(assignment_id, answers, only=wrong.grade_id)
    assert report.error is None, report.error
    own_tests = tests_of(report, wrong.grade_id)
    assert own_tests, f"no test cells named test_{wrong.grade_id}* in {assignment_id}"
    failed = [r for r in own_tests if not r.passed]
    assert failed, f"{wrong} scored full marks: {[(r.grade_id, r.points) for r in own_tests]}"
    messages = [r.message or "" for r in failed]
    assert any(wrong.says in m for m in messages), (
        f"expected a message containing {wrong.says!r}, the learner saw: {messages}"
    )
    others = {other.says for other in corpus if other.grade_id == wrong.grade_id and other.says not in wrong.says
              and wrong.says not in other.says and not any(words in other.says for words in wrong.also)}
    # Words of another mistake inside the very message that names this one are part of its sentence.
    told = sorted(words for words in others if any(words in m and wrong.says not in m for m in messages))
    assert not told, f"{wrong} was told {told}, a mistake it did not make: {messages}"
    raw = [m for m in messages if "Traceback (most recent call last)" in m
           or m.startswith(RAW_ERRORS) and "your code" not in m]  # an exception told as explain_uncaught's sentence
    assert not raw, f"{wrong} shows a raw error: {raw}"
    if wrong.diagnosed:
        named = [m for m in messages if wrong.says in m]
        assert any(words in m for m in named for words in DIAGNOSIS_WORDS), (
            f"{wrong} should be named by the general diagnosis, not by a listed mistake: {named}"
        )


def _diagnosis_words() -> tuple[str, ...]:
    """The starts of every sentence the general diagnosis can say (and no listed mistake says)."""
    from autograder import diagnosis

    shape_words = ("it has the shape of ", "the width of this layer's input")
    return tuple(diagnosis.PATTERNS.values()) + tuple(diagnosis._VARIANT_WORDS.values()) + shape_words


#: What a message named by the general diagnosis contains (see ``WrongAnswer.diagnosed``).
DIAGNOSIS_WORDS = _diagnosis_words()


#: What an exception from learner code looks like when no test caught it and nothing explained it.
RAW_ERRORS = ("ValueError:", "RuntimeError:", "IndexError:", "TypeError:", "KeyError:", "AttributeError:")


def assert_full_marks(assignment_id: str, answers: dict[str, str]) -> None:
    report = grade_answers(assignment_id, answers)
    assert report.error is None, report.error
    failed = [(r.grade_id, r.message) for r in report.results if not r.passed]
    assert not failed and report.max_score > 0, failed


def first_wrong_answer_per_function(wrong_answers: list[WrongAnswer]) -> dict[str, str]:
    """One wrong answer for each graded function that has any: a notebook mixing them."""
    chosen: dict[str, str] = {}
    for wrong in wrong_answers:
        chosen.setdefault(wrong.grade_id, wrong.code)
    return chosen


def assert_kernel_agrees(assignment_id: str, answers: dict[str, str]) -> None:
    """The in-process grade of ``answers`` is the sandboxed kernel's, test by test, word for word."""
    full = {**solution_answers(assignment_id), **answers}
    in_process, kernel = grade_answers(assignment_id, full), grade_answers(assignment_id, full, in_process=False)
    assert kernel.error is None, kernel.error
    assert [(r.grade_id, r.points, r.message) for r in in_process.results] == [
        (r.grade_id, r.points, r.message) for r in kernel.results
    ]


def test_points(assignment_id: str, hidden: bool | None = None) -> tuple[int, float]:
    """(how many test cells, their points) of an assignment: all, only hidden or only visible ones."""
    from autograder import cells

    tests = [c for c in cells.master_from_notebook(course.source_notebook(assignment_id)) if c.is_test]
    if hidden is not None:
        tests = [c for c in tests if (cells.HIDDEN_BEGIN in c.source) == hidden]
    return len(tests), sum(c.points for c in tests)


test_points.__test__ = False  # a helper, not a test


def wait_for(condition, what: str, timeout_s: float = 60, poll_s: float = 0.3):
    """``condition()``'s first true value, polled until ``timeout_s`` (for servers graded or saved elsewhere)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {what}")
