"""Autograding a class: our parallel grader against serial ``nbgrader autograde``, side by side.

N submissions of the suite's parity corpus (correct, partly done, untouched, wrong, broken and hostile) over every
assignment are collected into two identical course folders. One is graded by the plain
``nbgrader autograde ASSIGNMENT`` command, assignment after assignment (nbgrader is serial);
the other by ``autograder.classroom.grade_class`` on every core. Both use the course's
configuration, so the grades must be identical (checked and printed). Printed: both wall
times, the speed-up, and what one notebook costs against a bare kernel start, overall and per step.

``BENCH_AUTOGRADE_N`` sets N (default 24). Infinite loops are left out: their time limit
would dominate both runs equally.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path

from autograder import course

sys.path.insert(0, str(course.REPO_ROOT / "tests"))
import corpus  # noqa: E402  (the suite's parity corpus, tests/corpus.py)

from autograder.classroom import grade_class

KINDS = ("correct", "partial", "untouched", "correct", "invalid_json", "warnings", "sys_exit", "tamper_numpy",
         "os_exit", "edited_tests", "deleted_tests", "huge_output")


def batch(size: int) -> list[tuple[str, str, str]]:
    """(student, assignment, kind): every assignment in turn, the kinds mixed."""
    pairs = zip(cycle(course.assignment_ids()), cycle(KINDS), strict=False)
    return [(f"student{i:03d}", assignment, kind) for i, (assignment, kind) in zip(range(size), pairs, strict=False)]


def scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {
            (a.name, s.student.id): sorted((g.name, g.auto_score) for n in s.notebooks for g in n.grades)
            for a in gradebook.assignments for s in a.submissions
        }


def serial_nbgrader(root: Path, assignments: list[str]) -> float:
    started = time.perf_counter()
    for assignment_id in assignments:
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment_id, "--force"],
                       cwd=root, capture_output=True, check=False)
    return time.perf_counter() - started


def bare_kernel_start(repeats: int = 5) -> float:
    """Seconds to start a kernel, run one empty cell and stop it: the floor for any notebook."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    with tempfile.TemporaryDirectory() as sockets:

        class IpcKernelManager(AsyncKernelManager):  # like the grader's kernels (and no TCP warning)
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.transport, self.ip = "ipc", f"{sockets}/kernel"

        started = time.perf_counter()
        for _ in range(repeats):
            NotebookClient(notebook, kernel_name="python3", kernel_manager_class=IpcKernelManager,
                           shutdown_kernel="immediate").execute()
        return (time.perf_counter() - started) / repeats


def main() -> None:
    size = int(os.environ.get("BENCH_AUTOGRADE_N", "24"))
    submissions = batch(size)
    assignments = sorted({a for _, a, _ in submissions})
    workspace = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        serial_root, parallel_root = workspace / "serial" / "course", workspace / "parallel" / "course"
        for root in (serial_root, parallel_root):
            corpus.build_class(root, submissions)
        print(f"{size} submissions over {len(assignments)} assignments; {os.cpu_count()} cores", flush=True)

        serial_seconds = serial_nbgrader(serial_root, assignments)
        print(f"serial `nbgrader autograde`:     {serial_seconds:7.1f} s  ({serial_seconds / size:.2f} s per notebook)",
              flush=True)
        summary = grade_class(parallel_root, progress=False)
        parallel_seconds = summary.seconds
        print(f"parallel `autograder grade` x{summary.workers}: {parallel_seconds:7.1f} s  "
              f"({parallel_seconds / size:.2f} s per notebook)")
        print(f"speed-up: {serial_seconds / parallel_seconds:.2f}x")
        print(f"same grades as nbgrader: {'yes' if scores(serial_root) == scores(parallel_root) else 'NO'}")
        print(f"could not be graded: {len(summary.failed)} (as intended: the batch holds broken notebooks)")
        for outcome in summary.failed:
            print(f"  {outcome.reason}")

        kernel = bare_kernel_start()
        graded = summary.graded
        per_notebook = sum(o.seconds for o in graded) / max(1, len(graded))
        print(f"bare kernel start + stop:      {kernel:5.2f} s")
        print(f"one graded notebook (worker):  {per_notebook:5.2f} s  -> overhead {per_notebook - kernel:+.2f} s "
              "over a bare kernel (nbgrader bookkeeping, sandbox, the notebook's own cells)")
        # What a graded notebook costs per step (a step whose kernel imports torch pays for it here).
        for assignment in assignments:
            times = [o.seconds for o in graded if o.assignment_id == assignment]
            if times:
                print(f"  {assignment:<28} {sum(times) / len(times):5.2f} s per notebook ({len(times)} graded)")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
