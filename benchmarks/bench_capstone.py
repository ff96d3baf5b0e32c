"""Step 08 against Binder's limits on one core: the capstone lesson and its solved exercise, each run
top to bottom in a fresh kernel pinned to one CPU with one BLAS thread, as a Binder session runs them.

Binder gives about 2 GB and the course asks every notebook to finish in 60 s. The exercise's
time includes its last cell, the self-check that grades the saved notebook in a second kernel
(the digits training runs twice: once in the notebook, once while grading).

On a shared machine the wall time measures the neighbours too, so the table also gives the CPU
time of the kernel and of the processes it waited for (the self-check's grading kernel): on a
core of its own, as on Binder, a notebook takes about that long. The verdict uses the CPU time
when the wall time is over the limit.

``python -m benchmarks capstone`` runs this alone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder import course

from .bench_lessons import CELL_TIMEOUT_S, MEMORY_LIMIT_MB, TIME_LIMIT_S, PeakMemory

ASSIGNMENT = "08_capstone"
SINGLE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@contextlib.contextmanager
def one_core():
    """Kernels started inside inherit one CPU (the first this process may use) and one BLAS thread."""
    affinity = os.sched_getaffinity(0)
    saved = {name: os.environ.get(name) for name in SINGLE_THREAD}
    os.sched_setaffinity(0, {min(affinity)})
    os.environ.update(SINGLE_THREAD)
    try:
        yield
    finally:
        os.sched_setaffinity(0, affinity)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of a process and of the children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


class PeakMemoryAndCpu(PeakMemory):
    """Also samples the kernel's CPU time: the last sample is taken after the last cell."""

    cpu_seconds = 0.0

    def read(self) -> None:
        super().read()
        pid = self.kernel_pid()
        if pid:
            self.cpu_seconds = max(self.cpu_seconds, cpu_seconds(pid))


def run(path: Path) -> dict:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with PeakMemoryAndCpu(client) as memory:
        client.on_notebook_complete = lambda **_: memory.read()
        started = time.perf_counter()
        client.execute(stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    return {"name": f"{path.parent.name}/{path.stem}", "wall": wall, "cpu": memory.cpu_seconds,
            "peak_mb": memory.peak_mb}


def main() -> list:
    notebooks = [course.REPO_ROOT / course.LESSONS_DIR / f"{ASSIGNMENT}.ipynb", course.solution_notebook(ASSIGNMENT)]
    print("The capstone on one core (Binder: 2048 MB, course: 60 s per notebook)", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    runs = []
    with one_core():
        for path in notebooks:
            runs.append(run(path))
    header = f"{'notebook':<32} {'wall':>7} {'CPU':>7} {'limit':>6} {'peak RSS':>9} {'limit':>8}  verdict"
    print(header + "\n" + "-" * len(header))
    for r in runs:
        fits = min(r["wall"], r["cpu"]) < TIME_LIMIT_S and r["peak_mb"] < MEMORY_LIMIT_MB
        print(f"{r['name']:<32} {r['wall']:>6.1f}s {r['cpu']:>6.1f}s {TIME_LIMIT_S:>5}s {r['peak_mb']:>6.0f} MB "
              f"{MEMORY_LIMIT_MB:>5} MB  {'ok' if fits else 'OVER THE LIMIT'}")
    print(f"load average after: {os.getloadavg()[0]:.1f} (2 cores here; the wall time includes waiting for them)")
    return runs


if __name__ == "__main__":
    main()
