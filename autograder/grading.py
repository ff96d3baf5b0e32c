"""Grade one notebook against its assignment's tests, the way nbgrader autograde does.

This is the engine behind the learner's self-check and the suite's mistake tests. It needs no
nbgrader course or gradebook: it takes the learner's notebook, puts back every test cell and
read-only cell from the instructor master in ``source/`` (hidden tests included, so an edited
or deleted test cell is restored, as nbgrader does), runs the result with the same hardened
executor as the course's nbgrader autograde (:class:`autograder.execute.HardenedExecute`:
sandboxed kernel, one time budget, tamper guard, warnings do not cost points), and scores each
test cell with nbgrader's own rule. The learner's file is only read.
"""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade, is_grade, is_locked, is_solution

from .course import CELL_TIMEOUT, GRADING_ENV, SUBMISSION_TIMEOUT

__all__ = ["GRADING_ENV", "Report", "TestResult", "grade_notebook", "merge_tests", "score_cells"]


@dataclass
class TestResult:
    """One test cell's outcome."""

    __test__ = False  # not a pytest test class, despite its name

    grade_id: str
    points: float
    max_points: float
    message: str | None = None  # what the learner sees when the cell failed

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass
class Report:
    """The outcome of grading one notebook; ``error`` is set when it could not be graded."""

    notebook: str
    results: list[TestResult] = field(default_factory=list)
    error: str | None = None
    #: What went wrong beyond single tests: a time-out, a dead kernel, cells refused as tampering.
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        state = f"not graded: {self.error}" if self.error else f"{self.score:g}/{self.max_score:g}"
        return f"Report({Path(self.notebook).name}: {state})"

    def _ipython_display_(self) -> None:
        """Show nothing: the check cell has already printed the full report."""

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results)

    def result(self, grade_id: str) -> TestResult:
        for result in self.results:
            if result.grade_id == grade_id:
                return result
        raise KeyError(f"no test cell {grade_id!r} in {self.notebook}")


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_test_cell(cell) -> bool:
    return is_grade(cell) and not is_solution(cell)


def merge_tests(submission, master):
    """The learner's notebook with every read-only and test cell taken from ``master``.

    Cells the learner deleted are put back after the last cell that precedes them in
    ``master``; cells the learner added stay where they are.
    """
    protected = {_grade_id(c): c for c in master.cells if is_locked(c) or _is_test_cell(c)}
    merged = copy.deepcopy(submission)
    merged.cells = []
    seen = set()
    for cell in submission.cells:
        grade_id = _grade_id(cell)
        if grade_id in protected and grade_id not in seen:
            cell = copy.deepcopy(protected[grade_id])
            seen.add(grade_id)
        elif grade_id in protected:
            continue  # a duplicated protected cell: nbgrader keeps only one
        merged.cells.append(cell)
    _restore_missing(merged, master, protected, seen)
    return merged


def _restore_missing(merged, master, protected, seen) -> None:
    previous_id = None
    for cell in master.cells:
        grade_id = _grade_id(cell)
        if grade_id in protected and grade_id not in seen:
            position = _index_after(merged, previous_id)
            merged.cells.insert(position, copy.deepcopy(cell))
            seen.add(grade_id)
        if grade_id is not None:
            previous_id = grade_id


def _index_after(notebook, grade_id: str | None) -> int:
    if grade_id is None:
        return 0
    for index, cell in enumerate(notebook.cells):
        if _grade_id(cell) == grade_id:
            return index + 1
    return len(notebook.cells)


def _failure_message(cell) -> str | None:
    outputs = cell.get("outputs", [])
    # A time-out is reported after the KeyboardInterrupt that stopped the cell: say so first.
    outputs = sorted(outputs, key=lambda o: o.get("ename") not in ("NotRun", "CellTimeoutError"))
    for output in outputs:
        if output.output_type == "error" and output.ename == "NotImplementedError":
            return "not implemented yet: replace `raise NotImplementedError()` with your code"
        if output.output_type == "error" and output.ename in ("NotRun", "CellTimeoutError"):
            return output.evalue or "the cell ran longer than the time limit (an infinite loop?)"
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
        if output.output_type == "stream" and output.name == "stderr":
            return "the cell wrote to stderr: " + output.text.strip()[:500]
    return None


def score_cells(notebook, unexecuted_reason: str | None = None) -> list[TestResult]:
    """Score every test cell of an executed notebook with nbgrader's rule."""
    results = []
    for cell in notebook.cells:
        if not _is_test_cell(cell):
            continue
        points, max_points = determine_grade(cell)
        message = _failure_message(cell)
        if cell.get("execution_count") is None and unexecuted_reason:
            points, message = 0.0, unexecuted_reason
        results.append(TestResult(_grade_id(cell), float(points or 0.0), float(max_points), message))
    return results


def _read_notebook(path: Path):
    try:
        return nbformat.read(str(path), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name} is not a valid notebook file ({error})") from None


def trusted_sources(master) -> dict[str, str]:
    """The instructor's source of every locked or test cell of ``master``, by grade id."""
    return {_grade_id(c): c.source for c in master.cells if is_locked(c) or _is_test_cell(c)}


def grade_notebook(
    submission: Path,
    master: Path,
    cell_timeout: int = CELL_TIMEOUT,
    submission_timeout: int = SUBMISSION_TIMEOUT,
    **executor_options,
) -> Report:
    """Grade ``submission`` with the tests of ``master`` (a ``source/`` notebook).

    ``executor_options`` set other traits of :class:`autograder.execute.HardenedExecute`.
    """
    from .execute import HardenedExecute  # nbgrader's preprocessors are slow to import

    report = Report(notebook=str(submission))
    try:
        learner = _read_notebook(Path(submission))
    except ValueError as error:
        report.error = str(error)
        return report
    master_notebook = nbformat.read(str(master), as_version=4)
    merged = merge_tests(learner, master_notebook)
    for cell in merged.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    executor = HardenedExecute(timeout=cell_timeout, submission_timeout=submission_timeout, **executor_options)
    with tempfile.TemporaryDirectory(prefix="backprop-lab-grade-") as scratch:
        trusted = trusted_sources(master_notebook)
        resources = {"metadata": {"path": scratch}, "backprop_lab": {"trusted_sources": trusted}}
        executor.preprocess(merged, resources)
    report.results = score_cells(merged)
    report.notes = [problem["message"] for problem in resources["backprop_lab"]["problems"]]
    report.notes += [f"cell {i + 1}: {message}" for i, message in sorted(executor.refusals.items())]
    return report
