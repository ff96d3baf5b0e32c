"""The grading engine: grade one notebook against its assignment's tests.

Every grade in the course comes from here or from nbgrader running the same pieces:

1. :func:`autograder.cells.restore` puts the instructor's cells back by the one rule;
2. :mod:`autograder.execute` runs the result with the one policy (in a sandboxed kernel, or in
   this process for the suite's trusted answers);
3. :func:`score_cells` scores each test cell with nbgrader's own rule.

The learner's self-check, ``python -m autograder check`` and the suite call
:func:`grade_notebook`; ``nbgrader autograde`` with the course's configuration runs steps 1-3
as its sanitize and autograde phases (:mod:`autograder.pipelines`), so both give the same
per-test grades on any submission. The learner's file is only read.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade

from . import cells, seeds
from .course import CELL_TIMEOUT, GRADING_ENV, SUBMISSION_TIMEOUT, CourseError
from .pipelines import restore_notebook
from .problems import Problem

__all__ = ["GRADING_ENV", "Report", "TestResult", "grade_notebook", "score_cells"]


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
    """The outcome of grading one notebook."""

    notebook: str
    results: list[TestResult] = field(default_factory=list)
    #: What went wrong beyond single tests: a time-out, a dead kernel, refused or restored cells.
    problems: list[Problem] = field(default_factory=list)
    #: The notebook as it ran (the restored cells with their outputs), for a closer look.
    executed: object = field(default=None, repr=False)

    def __repr__(self) -> str:
        state = f"not graded: {self.error}" if self.error else f"{self.score:g}/{self.max_score:g}"
        return f"Report({Path(self.notebook).name}: {state})"

    def _ipython_display_(self) -> None:
        """Show nothing: the check cell has already printed the full report."""

    @property
    def error(self) -> str | None:
        """Why the notebook could not be graded at all, if it could not."""
        return next((p.message for p in self.problems if p.stops_grading), None)

    @property
    def notes(self) -> list[str]:
        return [p.message for p in self.problems if not p.stops_grading]

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


def score_cells(notebook) -> list[TestResult]:
    """Score every test cell of an executed notebook with nbgrader's rule."""
    results = []
    for cell in notebook.cells:
        if not cells.is_test_cell(cell):
            continue
        points, max_points = determine_grade(cell)
        results.append(TestResult(cells.grade_id(cell), float(points or 0.0), float(max_points),
                                  _failure_message(cell)))
    return results


def read_notebook(path: Path):
    """(the notebook at ``path``, None), or (None, why it cannot be read as a notebook)."""
    try:
        return nbformat.read(str(path), as_version=4), None
    except Exception as error:  # nbformat raises several unrelated types for a broken file
        return None, Problem.invalid_notebook(Path(path).name, f"{type(error).__name__}: {error}")


def invalid_notebook_problem(path: Path) -> Problem | None:
    """Why the file at ``path`` cannot be read as a notebook, or None when it can."""
    return read_notebook(path)[1]


def _after_last_test_of(notebook, answer: str) -> int:
    tests = [i for i, cell in enumerate(notebook.cells)
             if cells.is_test_cell(cell) and (cells.grade_id(cell) or "").startswith(f"test_{answer}")]
    if not tests:
        raise CourseError(f"the assignment has no tests of {answer!r}: give the name of one of its functions")
    return tests[-1] + 1


def grade_notebook(
    submission: Path,
    master: Path,
    *,
    student: str | None = None,
    seed: int | None = None,
    only: str | None = None,
    in_process: bool = False,
    cell_timeout: int = CELL_TIMEOUT,
    submission_timeout: int = SUBMISSION_TIMEOUT,
    **executor_options,
) -> Report:
    """Grade ``submission`` with the tests of ``master`` (a ``source/`` notebook).

    ``student`` fixes the hidden tests' seeds (default: who is logged in, see
    :func:`autograder.seeds.learner_id`); ``seed`` gives every test cell that seed instead (a
    replay). ``only`` (an answer's grade id, e.g. ``dh_dx``) stops after that answer's last test:
    a quick check of one function, with everything before it. ``in_process`` runs the cells in
    this process (trusted answers only: the suite).
    ``executor_options`` set other traits of :class:`autograder.execute.HardenedExecute`.
    """
    report = Report(notebook=str(submission))
    learner, unreadable = read_notebook(Path(submission))
    if unreadable:
        report.problems.append(unreadable)
        return report
    master_cells = cells.master_from_notebook(master)
    notebook = restore_notebook(learner, master_cells)
    if only:
        notebook.cells = notebook.cells[: _after_last_test_of(notebook, only)]
    own = {"master": master_cells, "assignment": Path(master).stem,
           "student": seeds.learner_id() if student is None else student,
           "seed": seed if seed is not None else seeds.seed_from_env()}
    with tempfile.TemporaryDirectory(prefix="backprop-lab-grade-") as scratch:
        resources = {"metadata": {"path": scratch}, "backprop_lab": own}
        if in_process:
            from .execute import run_in_process

            report.problems = run_in_process(notebook, resources)
        else:
            from .execute import HardenedExecute  # nbgrader's preprocessors are slow to import

            executor = HardenedExecute(timeout=cell_timeout, submission_timeout=submission_timeout, seed=own["seed"],
                                       **executor_options)
            executor.preprocess(notebook, resources)
            report.problems = list(own["problems"])
    report.results = score_cells(notebook)
    report.executed = notebook
    return report
