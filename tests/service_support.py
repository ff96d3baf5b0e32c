"""The real grading service (hub/grading_service.py) without a hub: a stand-in answers its token look-ups.

JupyterHub's ``HubAuth`` asks the hub's ``GET /hub/api/user`` who a token belongs to; here the
token *is* the learner's name, allowed to use the service. Everything else is the service's own:
its queue, worker pool and sandboxed kernels. The benchmark (benchmarks/bench_grading_service.py)
and tests/test_grading_service.py use it; tests/hub/ runs the service behind a real hub.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from autograder import course
from autograder.service import config as grading
from autograder.service.client import ServiceUnavailable, request


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """hub/grading_service.py on ``state`` (a folder), on a free port of 127.0.0.1."""

    def __init__(self, state: Path, workers: int | None = None, checks_per_hour: int = 10_000) -> None:
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), StandInHub)
        threading.Thread(target=self.hub.serve_forever, daemon=True).start()
        self.port = free_port()
        self.config = grading.ServiceConfig(state_dir=state, masters=course.REPO_ROOT / course.SOURCE_DIR,
                                            port=self.port, checks_per_hour=checks_per_hour)
        if workers:
            self.config.workers = workers
        self.url = f"http://127.0.0.1:{self.port}{grading.PREFIX}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Service:
        env = {**os.environ, **self.config.to_env(),
               "JUPYTERHUB_API_URL": f"http://127.0.0.1:{self.hub.server_port}/hub/api",
               "JUPYTERHUB_API_TOKEN": "service", "JUPYTERHUB_SERVICE_NAME": grading.SERVICE_NAME,
               "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{self.port}", "JUPYTERHUB_SERVICE_PREFIX": grading.PREFIX}
        self.process = subprocess.Popen([sys.executable, str(course.REPO_ROOT / "hub" / "grading_service.py")],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if request(f"{self.url}api/status", "warm-up")[0] == 200:
                    return self
            except ServiceUnavailable:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("the grading service did not start")

    def submit(self, learner: str, notebook: str, assignment: str = "01_chain_rule") -> dict:
        status, state = request(f"{self.url}api/checks", learner, {"assignment": assignment, "notebook": notebook})
        assert status == 202, (status, state)
        return state

    def wait(self, learner: str, check_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, state = request(f"{self.url}api/checks/{check_id}", learner)
            assert status == 200, (status, state)
            if state["state"] not in ("queued", "running"):
                return state
            time.sleep(0.1)
        raise AssertionError(f"check {check_id} not answered within {timeout} s")

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(30)

    def close(self) -> None:
        self.stop()
        self.hub.shutdown()
