"""Each lesson against Binder's limits: wall time and the kernel's peak memory when it runs top to bottom.

mybinder.org gives a session about 2 GB of memory (the whole container: the Jupyter server
takes ~100-150 MB of it) and the course asks every lesson to run in under 60 s. Each lesson is
executed in a fresh kernel, as "Restart Kernel and Run All Cells" does; the time includes the
kernel's start. Peak memory is the kernel's high-water mark of resident memory (``VmHWM`` in
``/proc/<pid>/status``), read while it runs and once more after the last cell.

``python -m benchmarks lessons`` runs this alone; ``python -m benchmarks.bench_lessons 03`` runs
the lessons whose name contains ``03``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder import course

TIME_LIMIT_S = 60
MEMORY_LIMIT_MB = 2048
CELL_TIMEOUT_S = 300
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class LessonRun:
    name: str
    cells: int
    seconds: float
    peak_mb: float
    error: str = ""

    @property
    def within_limits(self) -> bool:
        return not self.error and self.seconds < TIME_LIMIT_S and self.peak_mb < MEMORY_LIMIT_MB


def high_water_mark_mb(pid: int) -> float:
    """Peak resident memory of a process so far, in MB (0 once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakMemory:
    """Samples a kernel's high-water mark in the background while it runs."""

    def __init__(self, client: NotebookClient, interval_s: float = 0.05) -> None:
        self.client = client
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def kernel_pid(self) -> int | None:
        manager = getattr(self.client, "km", None)
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def read(self) -> None:
        pid = self.kernel_pid()
        if pid:
            self.peak_mb = max(self.peak_mb, high_water_mark_mb(pid))

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.read()

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_lesson(path: Path) -> LessonRun:
    notebook = nbformat.read(path, as_version=4)
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    error = ""
    with PeakMemory(client) as memory:
        # The last reading happens after the last cell, before the kernel is shut down.
        client.on_notebook_complete = lambda **_: memory.read()
        started = time.perf_counter()
        try:
            # The kernel's own start-up chatter (a TCP transport warning) would drown the table.
            client.execute(stderr=subprocess.DEVNULL)
        except Exception as failure:  # noqa: BLE001 - a failing lesson is reported, the others still run
            last_line = ANSI_COLOUR.sub("", str(failure)).strip().splitlines()[-1]
            error = f"{type(failure).__name__}: {last_line[:80]}"
        seconds = time.perf_counter() - started
    return LessonRun(path.stem, cells, seconds, memory.peak_mb, error)


def format_table(runs: list[LessonRun]) -> str:
    header = f"{'lesson':<28} {'cells':>5} {'time':>8} {'limit':>6} {'peak RSS':>10} {'limit':>8}  verdict"
    lines = [header, "-" * len(header)]
    for run in runs:
        verdict = "ok" if run.within_limits else (run.error or "OVER THE LIMIT")
        lines.append(
            f"{run.name:<28} {run.cells:>5} {run.seconds:>7.1f}s {TIME_LIMIT_S:>5}s "
            f"{run.peak_mb:>7.0f} MB {MEMORY_LIMIT_MB:>5} MB  {verdict}"
        )
    return "\n".join(lines)


def main(selected: list[str] | None = None) -> list[LessonRun]:
    lessons = [p for p in course.lesson_notebooks() if not selected or any(s in p.stem for s in selected)]
    print(f"Running {len(lessons)} lessons, each in a fresh kernel (Binder: {MEMORY_LIMIT_MB} MB, course: "
          f"{TIME_LIMIT_S} s per lesson)", flush=True)
    runs = []
    for path in lessons:
        runs.append(run_lesson(path))
        print(f"  {path.stem}: {runs[-1].seconds:.1f} s, {runs[-1].peak_mb:.0f} MB", flush=True)
    print(format_table(runs))
    over = [run.name for run in runs if not run.within_limits]
    print(f"{len(runs) - len(over)} of {len(runs)} lessons within the limits" + (f"; not: {over}" if over else ""))
    return runs


if __name__ == "__main__":
    main(sys.argv[1:])
