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

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from autograder import course
from autograder.service import config as grading
from autograder.service.client import ServiceUnavailable, request

sys.path.insert(0, str(course.REPO_ROOT / "tests"))
import corpus  # noqa: E402  (the suite's notebooks)

ASSIGNMENT = "01_chain_rule"


class StandInHub(BaseHTTPRequestHandler):
    """``GET /hub/api/user`` with ``token <name>``: the user <name>, allowed to use the service."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        token = self.headers.get("Authorization", "").removeprefix("token ").strip()
        body = {"kind": "service", "name": grading.SERVICE_NAME, "scopes": []} if token == "service" else {
            "kind": "user", "name": token, "admin": False, "groups": [], "scopes": [grading.ACCESS_SCOPE]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(state: Path) -> tuple[subprocess.Popen, str, ThreadingHTTPServer]:
    hub = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    port = free_port()
    config = grading.ServiceConfig(state_dir=state, masters=course.REPO_ROOT / course.SOURCE_DIR, port=port,
                                   checks_per_hour=10_000)
    env = {**os.environ, **config.to_env(), "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.server_port}/hub/api",
           "JUPYTERHUB_API_TOKEN": "service", "JUPYTERHUB_SERVICE_NAME": grading.SERVICE_NAME,
           "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}", "JUPYTERHUB_SERVICE_PREFIX": grading.PREFIX}
    process = subprocess.Popen([sys.executable, str(course.REPO_ROOT / "hub" / "grading_service.py")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}{grading.PREFIX}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(f"{url}api/status", "warm-up")[0] == 200:
                return process, url, hub
        except ServiceUnavailable:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the grading service did not start")


def one_check(url: str, learner: str, notebook: str) -> float:
    started = time.perf_counter()
    status, state = request(f"{url}api/checks", learner, {"assignment": ASSIGNMENT, "notebook": notebook})
    assert status == 202, state
    while state["state"] in ("queued", "running"):
        time.sleep(0.1)
        state = request(f"{url}api/checks/{state['id']}", learner)[1]
    assert state["state"] == "done" and state["report"]["score"] == state["report"]["max_score"], state
    return time.perf_counter() - started


def level(url: str, learners: int, notebook: str) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    with ThreadPoolExecutor(learners) as pool:
        waits = list(pool.map(lambda i: one_check(url, f"learner{learners}-{i}", notebook), range(learners)))
    return time.perf_counter() - started, np.array(waits)


def main() -> None:
    levels = [int(n) for n in os.environ.get("BENCH_SERVICE_LEVELS", "1,10,50").split(",")]
    import nbformat

    notebook = nbformat.writes(corpus.submission("correct", ASSIGNMENT))
    with tempfile.TemporaryDirectory(prefix="bench-grading-service-") as state:
        process, url, hub = start_service(Path(state))
        try:
            workers = request(f"{url}api/status", "warm-up")[1]["workers"]
            print(f"the grading service: {workers} workers on {len(os.sched_getaffinity(0))} cores, sandboxed "
                  f"kernels{' as throwaway users' if os.geteuid() == 0 else ''}; one check of {ASSIGNMENT} per "
                  "learner, all at once", flush=True)
            one_check(url, "warm-up", notebook)  # the workers import the engine once
            alone = None
            print(f"{'learners':>8}  {'wall':>7}  {'checks/s':>8}  {'p50 wait':>8}  {'p95 wait':>8}  p95 / alone")
            for learners in levels:
                wall, waits = level(url, learners, notebook)
                p50, p95 = np.percentile(waits, 50), np.percentile(waits, 95)
                alone = alone or p50
                print(f"{learners:>8}  {wall:6.1f}s  {learners / wall:8.2f}  {p50:7.1f}s  {p95:7.1f}s  "
                      f"{p95 / alone:5.1f}x", flush=True)
        finally:
            process.terminate()
            process.wait(30)
            hub.shutdown()


if __name__ == "__main__":
    main()
