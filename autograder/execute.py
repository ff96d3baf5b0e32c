"""Run a restored notebook for grading: in a sandboxed kernel, or in this process for the suite.

One policy, :class:`GradingRun`, decides everything that does not depend on *where* the cells
run, so the two executors cannot drift apart:

* the locked set-up cell runs first, before any learner code;
* test cells run in the judge (:mod:`autograder.judge`), in this process, never in the learner's
  kernel; each gets its seed (:mod:`autograder.seeds`). The learner's objects are reached
  through proxies: :class:`KernelTransport` in a kernel, :class:`autograder.judge.LocalTransport`
  here;
* learner cells that take their answer from the course's own code are not run;
* what a test cell writes to stderr (a warning from a correct answer) moves to stdout, so it no
  longer costs the cell its points; errors still do;
* a failing test that draws random values says which seed it used, so it can be replayed;
* what went wrong is recorded as :class:`autograder.problems.Problem` records.

:class:`HardenedExecute` (nbgrader's ``Execute``, replaced in the course's configuration) runs
the cells in a kernel in a sandbox (:mod:`autograder.sandbox`), with one time budget for the
whole submission (an infinite loop costs it once), survives the kernel dying, and keeps at most
``max_output_chars`` of each cell's output. :func:`run_in_process` runs the same cells with the
same policy in this process: no kernel, no sandbox, no time limit. The suite grades trusted
answers (its corpus of right and wrong answers) that way; anything untrusted goes to a kernel.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import secrets
import time
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import from_dict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from . import cells, checks, judge, sandbox, seeds, tamper
from .course import GRADING_ENV, MEMORY_LIMIT_BYTES, SELF_CHECK_CELL
from .judge import run_source
from .judge_agent import DONE
from .pipelines import take_restore_problems
from .problems import Kind, Problem

#: A test cell's output when the assignment has no set-up cell to judge with.
NO_SETUP = ("NotRun", "not run: the assignment has no set-up cell")


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GradingRun:
    """The policy for one notebook being graded, whatever runs its cells."""

    def __init__(self, nb, master: list[cells.MasterCell], assignment: str, student: str,
                 seed: int | None = None, scan: bool = True) -> None:
        self.trusted = cells.trusted_sources(master)
        self.setup = self.trusted.get("setup", "")
        self.assignment, self.student, self.seed_override = assignment, student, seed
        self.problems: list[Problem] = []
        self.agent_name = f"_grader_{secrets.token_hex(8)}"
        self.learner_names = judge.learner_names(master)
        self.refusals = self._find_tampering(nb) if scan else {}
        for index, message in sorted(self.refusals.items()):
            self.problems.append(Problem.of(Kind.TAMPERING, _cell_name(nb.cells[index], index), message=message))

    def is_trusted(self, cell) -> bool:
        return self.trusted.get(cells.grade_id(cell)) == cell.source

    def _find_tampering(self, nb) -> dict[int, str]:
        """Learner cells that take their answer from the course's own code (the tests run in the
        judge, so nothing else a cell does can change a verdict)."""
        refusals = {}
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or self.is_trusted(cell):
                continue
            findings = tamper.scan(cell.source)
            if findings:
                refusals[index] = tamper.refusal_message(findings)
        return refusals

    def seed_for(self, cell) -> int:
        if self.seed_override is not None:
            return self.seed_override
        return seeds.test_seed(self.assignment, self.student, cells.grade_id(cell) or "")

    # --- the code the grader runs in the learner's namespace ---------------------------

    def preamble(self) -> str:
        """What the kernel runs before any learner code: the set-up cell (:func:`kernel_setup`),
        then the judge's agent."""
        if not self.setup:
            return ""
        return (f"{kernel_setup(self.setup)}\n"
                f"import autograder.judge_agent as {self.agent_name}\n"
                f"{self.agent_name}.install(get_ipython())\n")

    def kernel_source(self, cell) -> str:
        """What the kernel runs of ``cell``: the set-up cell without the grader's own imports."""
        return kernel_setup(cell.source) if self.is_trusted(cell) and cells.grade_id(cell) == "setup" else cell.source

    def runs(self, cell) -> bool:
        """Whether the grader runs ``cell`` at all: not the self-check cell, which would only grade
        the notebook again (its module is the grader's, hidden from the kernel)."""
        return not (self.is_trusted(cell) and cells.grade_id(cell) == SELF_CHECK_CELL)

    def judge_for(self, transport) -> judge.Judge:
        """The judge of this notebook: the set-up cell's names, the learner's as proxies."""
        found = judge.Judge(transport, self.learner_names)
        found.run_trusted(self.setup)
        return found

    def run_trusted(self, found: judge.Judge | None, cell) -> None:
        """An instructor's read-only cell also runs in the judge (its definitions serve the tests)."""
        if found is not None and not cells.is_test_cell(cell) and self.is_trusted(cell) \
                and cells.grade_id(cell) != "setup":
            found.run_trusted(cell.source)

    def judge_test(self, found: judge.Judge, cell) -> list[NotebookNode]:
        """The test cell's outputs, with a record of each mistake its checks named."""
        checks._start_test(self.seed_for(cell))
        outputs = found.run_test(cell.source)
        return outputs + [from_dict(checks.mistake_record(key)) for key in checks._take_mistakes()]

    # --- after a cell ----------------------------------------------------------------------

    def finish_cell(self, cell, index: int) -> None:
        """Say what a failing cell ran into (the memory limit, the course's hidden files)."""
        name = _cell_name(cell, index)
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            if output.ename.endswith("MemoryError"):
                output.evalue = f"{output.evalue} (ran out of memory: the grader's limit is {_memory_limit()})"
                self.problems.append(Problem.out_of_memory(name, MEMORY_LIMIT_BYTES))
            elif not cells.is_test_cell(cell) and _reaches_course_code(output):
                self.problems.append(Problem.of(Kind.COURSE_CODE, name))
        if cells.is_test_cell(cell):
            self._finish_test_cell(cell)

    def _finish_test_cell(self, cell) -> None:
        """stderr text no longer costs points; a failure that drew random values names its seed."""
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"
                output.text = "".join(f"[stderr] {line}\n" for line in output.text.splitlines())
        if "fresh_rng(" not in cell.source:
            return
        seed = self.seed_for(cell)
        for output in cell.outputs:
            if output.output_type == "error" and output.ename not in ("NotRun", "Tampering"):
                output.evalue = f"{output.evalue} {seeds.replay_hint(seed)}"
                output.traceback = [*output.get("traceback", []), seeds.replay_hint(seed)]


def kernel_setup(setup: str) -> str:
    """The set-up cell as the kernel runs it: without its imports of the grader's own modules
    other than :data:`autograder.sandbox.KERNEL_MODULES`. The check helpers serve the tests, which
    run in the judge, and they are hidden from the kernel (they hold a numerical gradient)."""
    try:
        tree = ast.parse(tamper.python_source(setup))
    except SyntaxError:
        return setup
    kept = {name.removesuffix(".py") for name in sandbox.KERNEL_MODULES}
    lines = setup.splitlines()
    for node in reversed(tree.body):
        names = tamper.imported_modules(node)
        if any(n.split(".")[0] == "autograder" and n.split(".")[-1] not in kept for n in names):
            del lines[node.lineno - 1:node.end_lineno]
    return "\n".join(lines)


_COURSE_FILES = re.compile(r"\b(" + "|".join(sorted(tamper.COURSE_MODULES)) + r")\b")
_NOT_THERE = {"ModuleNotFoundError", "ImportError", "FileNotFoundError", "PermissionError", "NotADirectoryError"}


def _reaches_course_code(output) -> bool:
    """An error from trying to import or read the course's own code (hidden while grading)."""
    return output.ename in _NOT_THERE and bool(_COURSE_FILES.search(output.evalue))


def _memory_limit() -> str:
    return f"{MEMORY_LIMIT_BYTES / 1024**3:g} GB"


def _cell_name(cell, index: int) -> str:
    return cells.grade_id(cell) or f"cell {index + 1}"


def identity(resources: dict) -> tuple[str, str]:
    """(assignment, student) of the notebook being graded, from nbgrader's or our resources."""
    info = {**resources.get("nbgrader", {}), **resources.get("backprop_lab", {})}
    return str(info.get("assignment", "")), str(info.get("student", ""))


def master_for(resources: dict) -> list[cells.MasterCell]:
    """The master cells: given by our own callers, or read from nbgrader's gradebook."""
    own = resources.get("backprop_lab", {})
    if "master" in own:
        return own["master"]
    info = resources.get("nbgrader", {})
    if not {"db_url", "assignment", "notebook"} <= info.keys():
        return []
    from nbgrader.api import Gradebook

    with Gradebook(info["db_url"]) as gradebook:
        return cells.master_from_gradebook(gradebook, info["notebook"], info["assignment"])


# --- in a sandboxed kernel ------------------------------------------------------------------


class HardenedExecute(Execute):
    """nbgrader's ``Execute``, hardened (see the module docstring)."""

    submission_timeout = Integer(
        180, help="Seconds the whole notebook may run; cells left when it is used up are not run."
    ).tag(config=True)
    timeout_after_timeout = Integer(
        10, help="Seconds a cell may run once an earlier cell timed out: a loop costs the full limit once."
    ).tag(config=True)
    max_output_chars = Integer(100_000, help="Output characters kept per cell.").tag(config=True)
    interrupt_grace = Integer(5, help="Seconds an interrupted kernel has to answer before it is stopped.").tag(
        config=True
    )
    sandbox = Bool(True, help="Run the kernel as a throwaway uid when grading as root.").tag(config=True)
    course_root = Unicode("", help="Made inaccessible to other users before a sandboxed kernel starts.").tag(
        config=True
    )
    scan_for_tampering = Bool(True, help="Do not run learner cells that tamper with the grader.").tag(config=True)
    seed = Integer(None, allow_none=True, help="Give every test cell this seed (to replay a failure).").tag(
        config=True
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("shutdown_kernel", "immediate")  # nothing to save: do not wait for a clean exit
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        own = resources.setdefault("backprop_lab", {})
        assignment, student = identity(resources)
        self.run = GradingRun(nb, master_for(resources), assignment, student, self.seed, self.scan_for_tampering)
        self.run.problems[:0] = take_restore_problems(nb)
        own["problems"] = self.run.problems
        self._deadline = time.monotonic() + self.submission_timeout
        self._timed_out = False
        self._dead_at: str | None = None
        self._interrupted_at: str | None = None
        self._armed = False
        self._output_chars: dict[int, int] = {}
        self._judge: judge.Judge | None = None
        self._transport: KernelTransport | None = None

        metadata = resources.setdefault("metadata", {})
        original_path = metadata.get("path")
        uid = sandbox.fresh_uid() if self.sandbox and sandbox.can_switch_user() else None
        if uid is None and self.sandbox and os.geteuid() == 0:
            self.log.warning("grading as root, but kernels cannot start as another user: they run as root")
        if uid is not None and self.course_root:
            sandbox.protect_course_root(self.course_root)
        scratch = sandbox.make_scratch(original_path, uid)
        exchange = self.config.get("Exchange", {}).get("root", "")
        self._kernel_manager_options = {"scratch": str(scratch), "uid": uid, "env": sandbox.kernel_env(scratch),
                                        "hidden": sandbox.hidden_paths(self.course_root, str(exchange or ""))}
        try:
            metadata["path"] = str(scratch / "work")
            return super().preprocess(nb, resources, km=km)
        finally:
            if self._transport is not None:
                self._transport.close()
            metadata["path"] = original_path
            if uid is not None:
                sandbox.kill_processes_of(uid)
            sandbox.remove_scratch(scratch)

    def create_kernel_manager(self):
        self.km = sandbox.SandboxedKernelManager(
            kernel_name=self.kernel_name or "python3", config=self.config, **self._kernel_manager_options
        )
        return self.km

    # --- time ----------------------------------------------------------------------------

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
        if cell is not None and not any(p.kind == "timeout" for p in self.run.problems):
            where = cells.grade_id(cell) or "a cell"
            self.run.problems.append(Problem.of(Kind.TIMEOUT, where, seconds=timeout))
        self._interrupted_at = cells.grade_id(cell) or "a cell" if cell is not None else "the grader's set-up"
        return await super()._async_handle_timeout(timeout, cell)

    async def _stop_if_deaf(self) -> None:
        """After an interrupt, a kernel that does not answer within ``interrupt_grace`` seconds is
        stopped: the cells left are not run, and the points already earned are kept."""
        cell, self._interrupted_at = self._interrupted_at, None
        if await self._answers(self.interrupt_grace):
            return
        self.run.problems.append(Problem.of(Kind.STOPPED, cell))
        self._dead_at = f"{cell} (the kernel ignored the interrupt and was stopped)"
        await ensure_async(self.km.shutdown_kernel(now=True))

    async def _answers(self, seconds: float) -> bool:
        msg_id = await ensure_async(self.kc.execute("pass", silent=True, store_history=False))
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=remaining))
            except Empty:
                return False
            if reply["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    # --- one cell ------------------------------------------------------------------------

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        if not self.run.runs(cell):
            cell.outputs = []
            return cell
        if self._interrupted_at is not None:
            await self._stop_if_deaf()
        skip_reason = self._reason_not_to_run(cell_index)
        if skip_reason:
            cell.outputs = [error_output(*skip_reason)]
            return cell
        if not self._armed:
            self._armed = True
            await self._run_silently(self.run.preamble())
            if self.run.setup:
                self._transport = KernelTransport(self.km, self.run.agent_name, self.max_output_chars,
                                                  self.interrupt_grace)
                self._judge = self.run.judge_for(self._transport)
        if cells.is_test_cell(cell):
            return await self._judge_test(cell, cell_index)
        source = cell.source
        try:
            cell.source = self.run.kernel_source(cell)
            await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:  # the kernel never finished the cell's output after the interrupt
            cell.outputs.append(error_output(**{k: self.error_on_timeout[k] for k in ("ename", "evalue")}))
            self._interrupted_at = self._interrupted_at or _cell_name(cell, cell_index)
            return cell
        except DeadKernelError:
            self._dead_at = _cell_name(cell, cell_index)
            self.run.problems.append(Problem.of(Kind.KERNEL_DIED, self._dead_at))
            cell.outputs.append(error_output("DeadKernelError", "the kernel died while running this cell"))
            return cell
        finally:
            cell.source = source
        self.run.finish_cell(cell, cell_index)
        self.run.run_trusted(self._judge, cell)
        return cell

    execute_cell = run_sync(async_execute_cell)

    async def _judge_test(self, cell, cell_index: int):
        """The test cell runs here, in the judge; the learner's objects answer from the kernel."""
        if self._judge is None:  # an assignment without a set-up cell: nothing to judge with
            cell.outputs = [error_output(*NO_SETUP)]
            return cell
        self._transport.start_cell(self._get_timeout(cell))
        cell.outputs = self.run.judge_test(self._judge, cell)
        stopped = self._transport.stopped
        name = _cell_name(cell, cell_index)
        if stopped is not None and stopped.kind in ("timeout", "stopped"):
            self._timed_out = True
            if not any(p.kind == "timeout" for p in self.run.problems):
                self.run.problems.append(Problem.of(Kind.TIMEOUT, name, seconds=stopped.seconds))
        if stopped is not None and stopped.kind == "stopped":
            self.run.problems.append(Problem.of(Kind.STOPPED, name))
            self._dead_at = f"{name} (the kernel ignored the interrupt and was stopped)"
            await ensure_async(self.km.shutdown_kernel(now=True))
        elif stopped is not None and stopped.kind == "dead":
            self._dead_at = name
            self.run.problems.append(Problem.of(Kind.KERNEL_DIED, name))
        self.run.finish_cell(cell, cell_index)
        return cell

    def _reason_not_to_run(self, cell_index: int) -> tuple[str, str] | None:
        if self._dead_at:
            return "NotRun", f"not run: the kernel died earlier, in {self._dead_at}"
        if self._remaining() <= 0:
            return "NotRun", f"not run: the notebook used up its time limit ({self.submission_timeout} s)"
        if cell_index in self.run.refusals:
            return "Tampering", self.run.refusals[cell_index]
        return None

    async def _run_silently(self, code: str) -> dict:
        if not code:
            return {"status": "ok"}
        msg_id = await ensure_async(self.kc.execute(code, store_history=False, stop_on_error=False))
        reply = await self.async_wait_for_reply(msg_id)
        return reply["content"] if reply else {"status": "error", "ename": "Timeout", "evalue": "no reply"}

    # --- outputs -------------------------------------------------------------------------

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


# --- the judge's channel to a kernel --------------------------------------------------------


class KernelTransport:
    """Requests of the judge, answered by the agent in the sandboxed kernel.

    A test cell that reaches learner code opens one execute request in the kernel, the agent's
    loop (:func:`autograder.judge_agent.serve_loop`); from then on every request and answer, and
    every callback to a function of the test, is one input request and its reply on the Jupyter
    stdin channel (a round trip of about a millisecond). The end of the cell closes the loop. The
    kernel's own replies ("ok") count for nothing: an answer is a well-formed message of the agent.
    Each cell keeps to its deadline: at the deadline the kernel is interrupted, and one that does not
    answer within ``grace`` seconds is reported stopped.
    """

    def __init__(self, km, agent_name: str, max_output_chars: int, grace: float) -> None:
        self.client = sandbox.ReadyBlockingKernelClient()
        self.client.load_connection_info(km.get_connection_info())
        self.client.start_channels(shell=True, iopub=True, stdin=True, hb=False, control=True)
        self.client.wait_for_ready(timeout=30)
        self.km, self.agent_name, self.max_output_chars, self.grace = km, agent_name, max_output_chars, grace
        self.deadline = time.monotonic() + 60
        self.streams: list[NotebookNode] = []
        self.stopped: judge.Unanswered | None = None
        self._chars = 0
        self._loop: str | None = None  # the msg_id of the agent's loop, while it runs
        self._busy = False
        self._started = time.monotonic()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()

    def start_cell(self, seconds: float) -> None:
        self.deadline, self._started = time.monotonic() + seconds, time.monotonic()
        self.stopped, self._chars = None, 0

    def _alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is None or process.poll() is None

    def request(self, text: str, on_callback) -> str:
        if self.stopped is not None:  # the kernel did not answer earlier in this cell: no more requests
            raise self.stopped
        # While the kernel waits for a callback's answer (``_busy``), the function of the test may use
        # learner code: its request is the reply to that input request, and the agent serves it first.
        if self._loop is None and not self._busy:
            self._loop = self.client.execute(f"{self.agent_name}.serve_loop()", silent=True, store_history=False,
                                             allow_stdin=True, stop_on_error=False)
            self._next_prompt()  # the loop is ready
        busy, self._busy = self._busy, True
        try:
            self.client.input(text)
            while True:
                prompt = self._next_prompt()
                if not prompt.startswith('{"callback"'):
                    return prompt
                self.client.input(on_callback(prompt))
        finally:
            self._busy = busy

    def finish(self) -> None:
        """Close the agent's loop at the end of a test cell, and wait until the kernel is idle."""
        if self._loop is None or self.stopped is not None:
            self._loop = None
            return
        self.client.input(DONE)
        with contextlib.suppress(judge.Unanswered):
            self._next_prompt(until_idle=True)
        self._loop = None

    def _next_prompt(self, until_idle: bool = False) -> str:
        """The kernel's next input request (its prompt), keeping the learner's output on the way."""
        import zmq

        iopub, stdin = self.client.iopub_channel, self.client.stdin_channel
        poller = zmq.Poller()
        poller.register(iopub.socket, zmq.POLLIN)
        poller.register(stdin.socket, zmq.POLLIN)
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._stop()
            if not poller.poll(timeout=min(remaining, 1.0) * 1000) and not self._alive():
                self.stopped = judge.Unanswered("dead", "DeadKernelError", "the kernel died while running this cell")
                raise self.stopped
            while iopub.msg_ready():
                msg = iopub.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") != self._loop:
                    continue
                if msg["msg_type"] == "stream":
                    self._keep(msg["content"].get("name", "stdout"), str(msg["content"].get("text", "")))
                elif msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                    self._loop = None
                    if until_idle:
                        return ""
                    self.stopped = judge.Unanswered("no_answer", "NoAnswer", "the learner's code gave the grader no "
                                                    "answer (did it change how the kernel runs code?)")
                    raise self.stopped
            while stdin.msg_ready():
                msg = stdin.get_msg(timeout=0)
                if msg["parent_header"].get("msg_id") == self._loop and msg["msg_type"] == "input_request":
                    return str(msg["content"].get("prompt", ""))

    def _keep(self, name: str, text: str) -> None:
        kept, self._chars = self._chars, self._chars + len(text)
        if self._chars <= self.max_output_chars:
            self.streams.append(NotebookNode(output_type="stream", name="stderr" if name == "stderr" else "stdout",
                                             text=text))
        elif kept <= self.max_output_chars:
            self.streams.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"\n[output truncated by the grader: more than {self.max_output_chars} characters]\n")))

    def _stop(self) -> judge.Unanswered:
        """Interrupt a cell that ran out of time; a kernel deaf to it is reported stopped."""
        seconds = max(1, round(time.monotonic() - self._started))
        self.client.control_channel.send(self.client.session.msg("interrupt_request", content={}))
        deadline = time.monotonic() + self.grace
        while self._loop is not None and (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = self.client.iopub_channel.get_msg(timeout=remaining)
            except Empty:
                break
            if msg["parent_header"].get("msg_id") == self._loop and msg["msg_type"] == "status" \
                    and msg["content"].get("execution_state") == "idle":
                self._loop = None
        if self._loop is None:
            self.stopped = judge.Unanswered("timeout", "CellTimeoutError",
                                            f"not finished after {seconds} s (an infinite loop?): the grader "
                                            "stopped it")
        else:
            self.stopped = judge.Unanswered("stopped", "CellTimeoutError", f"not finished after {seconds} s (an "
                                            "infinite loop that ignores the interrupt?): the grader stopped the kernel")
        self.stopped.seconds = seconds
        return self.stopped


# --- in this process (trusted answers only) -------------------------------------------------


class _IPythonStandIn:
    """Enough of ``get_ipython()`` for the magics a notebook may hold (they do nothing here)."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = run_line_magic


def run_in_process(nb, resources: dict) -> list[Problem]:
    """Run ``nb`` in this process with the grading policy; fills in its outputs."""
    assignment, student = identity(resources)
    own = resources.get("backprop_lab", {})
    run = GradingRun(nb, master_for(resources), assignment, student, own.get("seed"))
    run.problems[:0] = take_restore_problems(nb)
    namespace = {"__name__": "__main__", "get_ipython": _IPythonStandIn}
    previous = os.environ.get(GRADING_ENV)
    os.environ[GRADING_ENV] = "1"
    found = run.judge_for(judge.LocalTransport(namespace))
    try:
        armed = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip() or not run.runs(cell):
                continue
            if index in run.refusals:
                cell.outputs = [error_output("Tampering", run.refusals[index])]
                continue
            if not armed:
                armed = True
                run_source(kernel_setup(run.setup), namespace)
            if cells.is_test_cell(cell):
                cell.outputs = run.judge_test(found, cell) if run.setup else [error_output(*NO_SETUP)]
                run.finish_cell(cell, index)
                continue
            # Its own file name, its lines kept (as a kernel keeps a cell's): an error in learner code
            # is told with the failing line.
            cell.outputs = run_source(run.kernel_source(cell), namespace, name=f"<cell {index}>")
            run.run_trusted(found, cell)
            run.finish_cell(cell, index)
    finally:
        _restore_env(previous)
    return run.problems


def _restore_env(previous: str | None) -> None:
    if previous is None:
        os.environ.pop(GRADING_ENV, None)
    else:
        os.environ[GRADING_ENV] = previous
