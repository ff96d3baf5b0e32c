"""What a graded notebook's cells are, and the one rule that puts the instructor's cells back.

Every path that grades a submission (the learner's self-check, ``python -m autograder grade``,
plain ``nbgrader autograde`` with the course's configuration, and the suite) builds the notebook
it runs with :func:`restore`, from the submission and the assignment's **master cells**: every
cell of the instructor master that carries a grade id, in the master's order. The master comes
from the ``source/`` notebook (:func:`master_from_notebook`) or from nbgrader's gradebook
(:func:`master_from_gradebook`); both give the same cells, so both give the same grade.

The rule, in words a learner can be told:

* read-only and test cells are always the instructor's, at the instructor's place: an edited
  one is replaced, a deleted one comes back, a moved or copied one (even pasted without its
  metadata) counts once, where it belongs;
* your answer cells and any cells you added run in your order, each group placed after the
  answer cell it follows, at that answer's place in the assignment;
* an answer cell that lost its grading metadata (pasted into a new notebook) is found again by
  the name it defines; a copied answer cell runs as an ordinary cell;
* a cell that claims points or a grade id the assignment does not have is run as an ordinary
  cell, and earns nothing.

What the rule had to do is returned as :class:`autograder.problems.Problem` records, so the
learner and the instructor are told.
"""

from __future__ import annotations

import ast
import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from .problems import Kind, Problem

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
_START = "<start>"  # the anchor of learner cells that come before any answer cell


# --- what a cell is ---------------------------------------------------------------------


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    """An autograded test cell: a code cell worth points that is not an answer cell."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def is_locked(cell) -> bool:
    return bool(nbgrader_meta(cell).get("locked"))


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_hidden_test(cell) -> bool:
    return is_test_cell(cell) and HIDDEN_BEGIN in cell.get("source", "")


def hidden_lines(notebook) -> set[str]:
    """Every line of code between the hidden-test markers that is worth hiding: what feedback
    redacts and what a grading service's report withholds a message for quoting. A line with
    fewer than 6 letters and digits (``else:``, ``)``) is too common to give a test away."""
    found: set[str] = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            continue
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif inside and sum(ch.isalnum() for ch in line) >= 6:
                found.add(line.strip())
    return found


def is_learner_cell(cell) -> bool:
    """A code cell the learner could edit (not locked, not a test cell)."""
    return cell.get("cell_type") == "code" and not is_locked(cell) and not is_test_cell(cell)


# --- the master ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterCell:
    """One cell of the instructor master that carries a grade id."""

    grade_id: str
    cell_type: str
    source: str
    locked: bool
    solution: bool
    points: float | None = None  # set for cells worth points

    @property
    def protected(self) -> bool:
        """The instructor's cell, always restored: read-only cells and test cells."""
        return self.locked or (self.points is not None and not self.solution)

    @property
    def is_test(self) -> bool:
        return self.points is not None and not self.solution and self.cell_type == "code"

    def metadata(self) -> dict:
        meta = {"grade": self.points is not None, "grade_id": self.grade_id, "locked": self.locked,
                "solution": self.solution, "schema_version": 3}
        if self.points is not None:
            meta["points"] = self.points
        return meta

    def as_cell(self) -> NotebookNode:
        maker = nbformat.v4.new_code_cell if self.cell_type == "code" else nbformat.v4.new_markdown_cell
        cell = maker(self.source)
        cell.metadata["nbgrader"] = self.metadata()
        if self.locked:
            cell.metadata.update(editable=False, deletable=False)
        return cell


def master_from_notebook(notebook) -> list[MasterCell]:
    """The master cells of an instructor notebook (a ``source/`` notebook, read or a path)."""
    if isinstance(notebook, str | Path):
        notebook = nbformat.read(str(notebook), as_version=4)
    cells = []
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade_id"):
            continue
        points = float(meta["points"]) if meta.get("grade") and meta.get("points") is not None else None
        cells.append(MasterCell(meta["grade_id"], cell.cell_type, cell.source, bool(meta.get("locked")),
                                bool(meta.get("solution")), points))
    return cells


def master_from_gradebook(gradebook, notebook_id: str, assignment_id: str,
                          order: Iterable[str] = ()) -> list[MasterCell]:
    """The master cells nbgrader saved in the gradebook when the assignment was generated.

    ``order`` (grade ids, e.g. from the course's ``source/`` notebook) fixes the order; cells it
    does not name keep the gradebook's order after it.
    """
    notebook = gradebook.find_notebook(notebook_id, assignment_id)
    points = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
    solutions = {cell.name for cell in notebook.solution_cells}
    cells = [
        MasterCell(cell.name, cell.cell_type, cell.source or "", bool(cell.locked), cell.name in solutions,
                   points.get(cell.name))
        for cell in notebook.source_cells
    ]
    rank = {name: index for index, name in enumerate(order)}
    return sorted(cells, key=lambda cell: rank.get(cell.grade_id, len(rank)))


def trusted_sources(master: Iterable[MasterCell]) -> dict[str, str]:
    """The instructor's source of every protected cell, by grade id."""
    return {cell.grade_id: cell.source for cell in master if cell.protected}


# --- the rule -----------------------------------------------------------------------------


def defined_names(source: str) -> set[str]:
    """Top-level names a cell defines (functions, classes, assignments); empty if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _plain(cell) -> NotebookNode:
    """The cell with its grading metadata taken away: it runs, but is worth nothing."""
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _learner_copy(cell, master_cell: MasterCell | None = None) -> NotebookNode:
    cell = copy.deepcopy(cell)
    if master_cell is not None:
        cell.metadata["nbgrader"] = master_cell.metadata()
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def restore(submission, master: list[MasterCell]) -> tuple[NotebookNode, list[Problem]]:
    """The notebook to grade: the learner's cells around the instructor's, by the module's rule."""
    by_id = {cell.grade_id: cell for cell in master}
    problems: list[Problem] = []
    cells = [_learner_copy(c) for c in submission.cells]

    # 1. Classify the learner's cells: the instructor's own (dropped: they come from the master),
    #    answer cells (the first copy of each), and everything else (ordinary cells).
    kinds: list[str | None] = []  # per cell: an answer's grade id, "" for ordinary, None to drop
    seen: set[str] = set()
    present: set[str] = set()  # the instructor's cells the learner has, by grade id or by source
    by_source = {cell.source: cell.grade_id for cell in master if cell.protected and cell.source.strip()}
    for cell in cells:
        gid = grade_id(cell)
        meta = nbgrader_meta(cell)
        if gid in by_id and by_id[gid].protected:
            present.add(gid)
            kinds.append(None)
        elif gid not in by_id and cell.source in by_source:  # a copy of an instructor's cell
            present.add(by_source[cell.source])
            kinds.append(None)
        elif gid in by_id and gid not in seen:
            seen.add(gid)
            kinds.append(gid)
        elif gid in by_id:
            problems.append(Problem.of(Kind.DUPLICATE_ANSWER, gid))
            cell.metadata.pop("nbgrader", None)
            kinds.append("")
        else:
            if meta.get("grade") or meta.get("points") or meta.get("solution") or gid:
                problems.append(Problem.unknown_cell(gid, meta.get("points") if meta.get("grade") else None))
            cell.metadata.pop("nbgrader", None)
            kinds.append("")

    # 2. Answer cells that lost their metadata: the learner's last cell that defines the name.
    for master_cell in master:
        if not master_cell.solution or master_cell.protected or master_cell.grade_id in seen:
            continue
        candidates = [i for i, (cell, kind) in enumerate(zip(cells, kinds, strict=True))
                      if kind == "" and cell.cell_type == master_cell.cell_type
                      and master_cell.grade_id in defined_names(cell.source)]
        if candidates:
            index = candidates[-1]
            kinds[index] = master_cell.grade_id
            seen.add(master_cell.grade_id)
            problems.append(Problem.of(Kind.RECOVERED_ANSWER, master_cell.grade_id))

    # 3. Group the learner's cells behind the answer cell they follow.
    groups: dict[str, list[NotebookNode]] = {}
    anchor = _START
    for cell, kind in zip(cells, kinds, strict=True):
        if kind is None:
            continue
        if kind:
            anchor = kind
            cell.metadata["nbgrader"] = by_id[kind].metadata()
        groups.setdefault(anchor, []).append(cell)

    # 4. The master's order, the instructor's cells from the master, the learner's groups at
    #    their answer's place (what comes before any answer goes before the first one).
    restored = copy.deepcopy(submission)
    restored.cells = []
    start_placed = False
    for master_cell in master:
        if master_cell.protected:
            if master_cell.is_test and master_cell.grade_id not in present:
                problems.append(Problem.of(Kind.RESTORED_CELL, master_cell.grade_id))
            restored.cells.append(master_cell.as_cell())
            continue
        if master_cell.solution and not start_placed:
            restored.cells += groups.pop(_START, [])
            start_placed = True
        restored.cells += groups.pop(master_cell.grade_id, [])
    restored.cells += groups.pop(_START, [])
    _unique_ids(restored)
    return restored, problems


def _unique_ids(notebook) -> None:
    seen: set[str] = set()
    for cell in notebook.cells:
        if "id" not in cell or cell.id in seen:
            cell.id = uuid.uuid4().hex[:8]
        seen.add(cell.id)
