"""The grading service under load: throughput and latency at 1, 10 and 50 concurrent learners.

The real service (hub/grading_service.py: its queue, worker pool sized to this machine and
sandboxed kernels) runs as a subprocess; a stand-in for the hub's REST API answers its token
look-ups (``GET /hub/api/user``), so no hub, Unix account or browser is needed and the figures
are the service's own. Each level sends one check of step 01 (correct answers) per learner, all
at once, and waits for every report. Printed per level: wall time, checks per second, p50 and
p95 of what a learner waits (from sending to the report), and how much longer the p95 wait is
than a check alone. ``BENCH_SERVICE_LEVELS`` (default ``1,10,50``) sets the levels.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from autograder import course
from autograder.service.client import request

sys.path.insert(0, str(course.REPO_ROOT / "tests"))
import corpus  # noqa: E402  (the suite's notebooks)
from service_support import Service  # noqa: E402  (the service with a stand-in for the hub's API)

ASSIGNMENT = "01_chain_rule"


def one_check(service: Service, learner: str, notebook: str) -> float:
    started = time.perf_counter()
    state = service.wait(learner, service.submit(learner, notebook)["id"])
    assert state["state"] == "done" and state["report"]["score"] == state["report"]["max_score"], state
    return time.perf_counter() - started


def level(service: Service, learners: int, notebook: str) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    with ThreadPoolExecutor(learners) as pool:
        waits = list(pool.map(lambda i: one_check(service, f"learner{learners}-{i}", notebook), range(learners)))
    return time.perf_counter() - started, np.array(waits)


def main() -> None:
    levels = [int(n) for n in os.environ.get("BENCH_SERVICE_LEVELS", "1,10,50").split(",")]
    import nbformat

    notebook = nbformat.writes(corpus.submission("correct", ASSIGNMENT))
    with tempfile.TemporaryDirectory(prefix="bench-grading-service-") as state:
        service = Service(Path(state)).start()
        try:
            workers = request(f"{service.url}api/status", "warm-up")[1]["workers"]
            print(f"the grading service: {workers} workers on {len(os.sched_getaffinity(0))} cores, sandboxed "
                  f"kernels{' as throwaway users' if os.geteuid() == 0 else ''}; one check of {ASSIGNMENT} per "
                  "learner, all at once", flush=True)
            level(service, workers, notebook)  # every worker starts and imports the engine once, before timing
            alone = None
            print(f"{'learners':>8}  {'wall':>7}  {'checks/s':>8}  {'p50 wait':>8}  {'p95 wait':>8}  p95 / alone")
            for learners in levels:
                wall, waits = level(service, learners, notebook)
                p50, p95 = np.percentile(waits, 50), np.percentile(waits, 95)
                alone = alone or p50
                print(f"{learners:>8}  {wall:6.1f}s  {learners / wall:8.2f}  {p50:7.1f}s  {p95:7.1f}s  "
                      f"{p95 / alone:5.1f}x", flush=True)
        finally:
            service.close()


if __name__ == "__main__":
    main()
