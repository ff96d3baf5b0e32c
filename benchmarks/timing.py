"""Timing shared by the benchmarks: wall and CPU time of repeated calls, median and p90.

Wall time is what a learner waits; the CPU time of this process is printed beside it because
on a shared machine the wall clock also measures everyone else's load.
"""

import contextlib
import io
import time
from collections.abc import Callable

import numpy as np


def quietly():
    """Swallow stdout: outside a kernel a widget's Output prints whatever it displays."""
    return contextlib.redirect_stdout(io.StringIO())


def time_calls(action: Callable[[int], object], repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of wall and CPU time of ``action(i)`` for i in range(repeats)."""
    wall, cpu = [], []
    for i in range(repeats):
        with quietly():
            started, started_cpu = time.perf_counter(), time.process_time()
            action(i)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return np.array(wall), np.array(cpu)


def describe(name: str, timings: tuple[np.ndarray, np.ndarray]) -> str:
    wall, cpu = (seconds * 1e3 for seconds in timings)
    return (
        f"{name:<30} wall: median {np.median(wall):5.1f} ms, p90 {np.percentile(wall, 90):5.1f} ms"
        f"   cpu: median {np.median(cpu):5.1f} ms, p90 {np.percentile(cpu, 90):5.1f} ms"
    )
