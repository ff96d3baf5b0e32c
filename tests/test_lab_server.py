"""`make lab` really starts JupyterLab and serves the course's start page."""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from autograder import course

START_PAGE = "lessons/00_start_here.ipynb"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()


def wait_for(url: str, token: str, server: subprocess.Popen, seconds: float = 120) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"`make lab` exited with {server.returncode} before serving")
        try:
            return fetch(url, token)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} within {seconds} s")


@pytest.fixture
def lab_server(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    isolated = {
        name: str(tmp_path / name.lower())
        for name in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"
        )
    }
    lab_args = f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --ServerApp.token={token} --allow-root"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={lab_args}"],
        cwd=course.REPO_ROOT,
        env={**os.environ, **isolated},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # one process group: make and the server stop together
    )
    try:
        yield f"http://127.0.0.1:{port}", token, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_make_lab_serves_the_start_page(lab_server):
    base, token, server = lab_server
    contents = json.loads(wait_for(f"{base}/api/contents/{START_PAGE}", token, server))
    assert contents["type"] == "notebook"
    text = json.dumps(contents["content"])
    assert "Backprop Lab" in text and "How to check an exercise" in text

    lab_page = fetch(f"{base}/lab/tree/{START_PAGE}", token).decode()
    assert "JupyterLab" in lab_page or "jupyter-config-data" in lab_page

    kernels = json.loads(fetch(f"{base}/api/kernelspecs", token))
    assert "python3" in kernels["kernelspecs"], "the course's kernel must be available"
