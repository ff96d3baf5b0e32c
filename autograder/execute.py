"""nbgrader preprocessors that make autograding hold against bad and hostile submissions.

The course's nbgrader configuration (:func:`autograder.course.nbgrader_config`) puts these in
place of nbgrader's own, so an instructor's plain ``nbgrader autograde``, the parallel
``python -m autograder grade`` and the learner's self-check all grade the same way:

:class:`HardenedExecute` (replaces nbgrader's ``Execute``)
    * runs the kernel in a sandbox (:mod:`autograder.sandbox`);
    * runs the locked set-up cell first, before any learner code, and restores what the
      tests rely on before every test cell (:mod:`autograder.kernel_guard`);
    * does not run learner cells that tamper with the grader (:mod:`autograder.tamper`);
    * gives the whole submission one time budget: an infinite loop costs it once, not once per
      test cell, and a notebook can never hold the batch longer than ``submission_timeout``;
    * survives the kernel dying (``os._exit``, a crash): the cells left are marked not run;
    * moves what a test cell writes to stderr (a warning from a correct answer) to stdout,
      so it no longer costs the cell its points; errors still do;
    * keeps at most ``max_output_chars`` of each cell's output.

:class:`RestoringOverwriteCells` (replaces nbgrader's ``OverwriteCells``)
    puts back deleted test cells wherever they were, where nbgrader 0.9.6 fails the submission.

:class:`RecordGradingProblems` (after ``SaveAutoGrades``)
    stores a time-out or a dead kernel in the gradebook (a flag and a comment that
    :mod:`autograder.export` reads), so the grade export can say why.

:class:`RedactHiddenTests` (in ``GenerateFeedback``)
    replaces the traceback of a failing hidden test with its message: the feedback says what
    failed and why without printing the hidden test's code.
"""

from __future__ import annotations

import os
import secrets
import time

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool, Integer, Unicode

from . import sandbox, tamper

#: Prefix of the gradebook comments this module writes (read back by the export).
PROBLEM_PREFIX = "[autograder]"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_test_cell(cell) -> bool:
    return is_grade(cell) and not is_solution(cell) and cell.cell_type == "code"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def trusted_sources_from_gradebook(resources: dict) -> dict[str, str]:
    """The instructor's source of every locked or test cell, from the gradebook."""
    from nbgrader.api import Gradebook

    info = resources.get("nbgrader", {})
    if not {"db_url", "assignment", "notebook"} <= info.keys():
        return {}
    with Gradebook(info["db_url"]) as gradebook:
        notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        return {cell.name: cell.source for cell in notebook.source_cells if cell.locked}


class HardenedExecute(Execute):
    """nbgrader's ``Execute``, hardened (see the module docstring)."""

    submission_timeout = Integer(
        180, help="Seconds the whole notebook may run; cells left when it is used up are not run."
    ).tag(config=True)
    timeout_after_timeout = Integer(
        10, help="Seconds a cell may run once an earlier cell timed out: a loop costs the full limit once."
    ).tag(config=True)
    max_output_chars = Integer(100_000, help="Output characters kept per cell.").tag(config=True)
    sandbox = Bool(True, help="Run the kernel as a throwaway uid when grading as root.").tag(config=True)
    course_root = Unicode("", help="Made inaccessible to other users before a sandboxed kernel starts.").tag(
        config=True
    )
    scan_for_tampering = Bool(True, help="Do not run learner cells that tamper with the grader.").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("shutdown_kernel", "immediate")  # nothing to save: do not wait for a clean exit
        super().__init__(**kwargs)

    # --- the notebook ---------------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        own = resources.setdefault("backprop_lab", {})
        problems = own.setdefault("problems", [])
        trusted = own.get("trusted_sources")
        if trusted is None:
            trusted = trusted_sources_from_gradebook(resources)
        self._start_notebook(nb, trusted, problems)

        metadata = resources.setdefault("metadata", {})
        original_path = metadata.get("path")
        uid = sandbox.fresh_uid() if self.sandbox and sandbox.can_switch_user() else None
        if uid is None and self.sandbox and os.geteuid() == 0:
            self.log.warning("grading as root, but kernels cannot start as another user: they run as root")
        if uid is not None and self.course_root:
            sandbox.protect_course_root(self.course_root)
        scratch = sandbox.make_scratch(original_path, uid)
        self._kernel_manager_options = {"scratch": str(scratch), "uid": uid, "env": sandbox.kernel_env(scratch)}
        try:
            metadata["path"] = str(scratch / "work")
            return super().preprocess(nb, resources, km=km)
        finally:
            metadata["path"] = original_path
            if uid is not None:
                sandbox.kill_processes_of(uid)
            sandbox.remove_scratch(scratch)

    def _start_notebook(self, nb, trusted: dict[str, str], problems: list) -> None:
        self._trusted = trusted
        self._problems = problems
        self._deadline = time.monotonic() + self.submission_timeout
        self._timed_out = False
        self._dead_at: str | None = None
        self._armed = False
        self._guard_name = f"_grader_{secrets.token_hex(8)}"
        self._output_chars: dict[int, int] = {}
        setup = trusted.get("setup", "")
        self._setup_source = setup
        self.refusals = self._find_tampering(nb, setup) if self.scan_for_tampering else {}

    def _is_trusted(self, cell) -> bool:
        """The instructor's cell: its source, or nbgrader's notice of a restored cell followed by it."""
        trusted = self._trusted.get(grade_id(cell))
        return trusted is not None and (cell.source == trusted or cell.source.endswith("\n" + trusted))

    def _find_tampering(self, nb, setup_source: str) -> dict[int, str]:
        protected = tamper.bound_names(setup_source)
        code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        modules = tamper.module_aliases([cell.source for cell in code_cells])
        refusals = {}
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or self._is_trusted(cell):
                continue
            findings = tamper.scan(cell.source, protected, modules)
            if findings:
                refusals[index] = tamper.refusal_message(findings)
        return refusals

    def create_kernel_manager(self):
        self.km = sandbox.SandboxedKernelManager(
            kernel_name=self.kernel_name or "python3", config=self.config, **self._kernel_manager_options
        )
        return self.km

    # --- one cell -------------------------------------------------------------------------

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell):
        limit = super()._get_timeout(cell)
        if self._timed_out:
            limit = self.timeout_after_timeout if limit is None else min(limit, self.timeout_after_timeout)
        remaining = max(1, int(self._remaining() + 0.999))
        return remaining if limit is None else min(limit, remaining)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"not finished after {timeout} s (an infinite loop?): the grader stopped it",
            "traceback": [f"CellTimeoutError: not finished after {timeout} s (an infinite loop?)"],
        }
        if cell is not None and not any(p["kind"] == "timeout" for p in self._problems):
            self._problems.append(
                {"kind": "timeout", "cell": grade_id(cell) or "", "message": f"a cell ran longer than {timeout} s"}
            )
        return await super()._async_handle_timeout(timeout, cell)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        skip_reason = self._reason_not_to_run(cell_index)
        if skip_reason:
            cell.outputs = [error_output(*skip_reason)]
            return cell
        if not self._armed:
            await self._run_preamble()
        if is_test_cell(cell):
            failure = await self._rearm()
            if failure:
                cell.outputs = [error_output(*failure)]
                return cell
        try:
            await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._dead_at = grade_id(cell) or f"cell {cell_index + 1}"
            self._problems.append(
                {"kind": "kernel_died", "cell": self._dead_at,
                 "message": f"the kernel died while running {self._dead_at} (os._exit, a crash or too much memory)"}
            )
            cell.outputs.append(error_output("DeadKernelError", "the kernel died while running this cell"))
            return cell
        if is_test_cell(cell):
            _move_stderr_to_stdout(cell)
        return cell

    execute_cell = run_sync(async_execute_cell)

    def _reason_not_to_run(self, cell_index: int) -> tuple[str, str] | None:
        if self._dead_at:
            return "NotRun", f"not run: the kernel died earlier, in {self._dead_at}"
        if self._remaining() <= 0:
            return "NotRun", f"not run: the notebook used up its time limit ({self.submission_timeout} s)"
        if cell_index in self.refusals:
            return "Tampering", self.refusals[cell_index]
        return None

    async def _run_silently(self, code: str) -> dict:
        msg_id = await ensure_async(self.kc.execute(code, store_history=False, stop_on_error=False))
        reply = await self.async_wait_for_reply(msg_id)
        return reply["content"] if reply else {"status": "error", "ename": "Timeout", "evalue": "no reply"}

    async def _run_preamble(self) -> None:
        """The set-up cell, then the guard, before any learner code runs."""
        self._armed = True
        if not self._setup_source:
            return
        code = (
            f"{self._setup_source}\n"
            f"import autograder.kernel_guard as {self._guard_name}\n"
            f"{self._guard_name}.arm({self._setup_source!r})\n"
        )
        await self._run_silently(code)

    async def _rearm(self) -> tuple[str, str] | None:
        if not self._setup_source:
            return None
        reply = await self._run_silently(f"{self._guard_name}.rearm(globals())")
        if reply.get("status") == "ok":
            return None
        return reply.get("ename", "Tampering"), reply.get("evalue", "the grader's set-up could not be restored")

    # --- outputs --------------------------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        kept = self._output_chars.get(cell_index, 0)
        size = len(str(msg.get("content", "")))
        self._output_chars[cell_index] = kept + size
        if msg["msg_type"] == "error" or kept + size <= self.max_output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if kept <= self.max_output_chars:
            outs.append(NotebookNode(
                output_type="stream", name="stdout",
                text=f"\n[output truncated by the grader: more than {self.max_output_chars} characters]\n",
            ))
        return None


def _move_stderr_to_stdout(cell) -> None:
    """stderr text (a warning) in a test cell is shown, but no longer scores the cell 0."""
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stderr":
            output.name = "stdout"
            output.text = "".join(f"[stderr] {line}\n" for line in output.text.splitlines())


class RestoringOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, able to put back any deleted test cell.

    nbgrader 0.9.6 puts a deleted test cell back after the source cell just before it, and
    fails the whole submission (``KeyError``) when that cell is a markdown cell, as in every
    assignment that explains a test before it. Here each missing test cell goes after the
    nearest earlier cell that is still in the notebook.
    """

    def add_missing_grade_cells(self, nb, resources):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        by_name = {cell.name: cell for cell in source.source_cells}
        solutions = {cell.name for cell in source.solution_cells}
        for grade_cell in source.grade_cells:
            present = {grade_id(cell): index for index, cell in enumerate(nb.cells) if grade_id(cell)}
            if grade_cell.name in present or grade_cell.name not in by_name:
                continue
            earlier = [name for name in order[: order.index(grade_cell.name)] if name in present]
            position = present[earlier[-1]] + 1 if earlier else 0
            restored = self.missing_cell_transform(
                by_name[grade_cell.name], grade_cell.max_score, is_solution=grade_cell.name in solutions
            )
            nb.cells.insert(position, restored)
        return nb, resources


class RecordGradingProblems(NbGraderPreprocessor):
    """Store a time-out or a dead kernel in the gradebook: a flag and an explaining comment."""

    def preprocess(self, nb, resources):
        problems = resources.get("backprop_lab", {}).get("problems", [])
        info = resources.get("nbgrader", {})
        if not problems or "db_url" not in info:
            return nb, resources
        from nbgrader.api import Gradebook

        text = " ".join(f"{PROBLEM_PREFIX} {p['kind']}: {p['message']}." for p in problems)
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            notebook.flagged = True
            for comment in notebook.comments[:1]:
                comment.auto_comment = text
            gradebook.db.commit()
        return nb, resources


class RedactHiddenTests(NbGraderPreprocessor):
    """In feedback, a failing hidden test shows its message, never its code or traceback.

    Runs before nbgrader's ``ClearHiddenTests`` (which removes the hidden lines from the
    cell's source) and needs the hidden markers to recognise the cells.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [
                    f"{output.ename}: {output.evalue}",
                    "(a hidden test: its code and traceback are not shown)",
                ]
        return cell, resources


def is_learner_cell(cell) -> bool:
    """A code cell the learner could edit (not locked, not a test cell)."""
    return cell.cell_type == "code" and not is_locked(cell) and not is_test_cell(cell)
