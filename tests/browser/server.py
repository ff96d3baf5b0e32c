"""A throwaway JupyterLab server for the browser tests: its own port, Jupyter dirs and course copy.

The server serves a *copy* of the course (lessons, exercises, source) so that notebooks the
tests run, type into and save never touch the checkout. Everything Jupyter would write under
``~`` goes to the server's own directories instead, and :meth:`LabServer.stop` ends the server
and every process it started (kernels included), then says if any survived.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from autograder import course

#: What a learner's copy of the course holds (solutions stay with the instructor).
COURSE_DIRS = (course.LESSONS_DIR, course.EXERCISES_DIR, course.SOURCE_DIR)
#: JupyterLab settings that keep the UI quiet and predictable, as a learner would set them once.
LAB_SETTINGS = {
    # The "get notified about Jupyter news?" popup covers the notebook on first start.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
START_TIMEOUT = 90
#: Run the server so that it gets SIGTERM when the pytest process that started it dies: a run
#: killed before its teardown (an aborted CI job, a killed xdist worker) leaves no server behind.
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


class ServerError(RuntimeError):
    """The server did not start or did not stop cleanly; the message carries its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1:<free port>, rooted at a copy of the course under ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.root = home / "course"
        self.exchange = home / "exchange"
        self.log_path = home / "server.log"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lab_url(self, path: str = "") -> str:
        """The JupyterLab URL that opens ``path`` (relative to the course root) in a fresh workspace."""
        tree = f"/tree/{path}" if path else ""
        return f"{self.url}/lab{tree}?reset&token={self.token}"

    # -- set-up ---------------------------------------------------------------------------
    def _copy_course(self) -> None:
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.backup-*.ipynb")
        for name in COURSE_DIRS:
            if (course.REPO_ROOT / name).is_dir():
                shutil.copytree(course.REPO_ROOT / name, self.root / name, ignore=ignore)

    def _jupyter_dirs(self) -> dict[str, str]:
        names = {
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }
        dirs = {variable: self.home / name for variable, name in names.items()}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        return {variable: str(path) for variable, path in dirs.items()}

    def _write_settings(self, settings_dir: Path) -> None:
        for relative, values in LAB_SETTINGS.items():
            path = settings_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def _write_nbgrader_config(self, config_dir: Path) -> None:
        """The course's own nbgrader configuration, rooted at the copy, with a private exchange."""
        self.exchange.mkdir(mode=0o777, exist_ok=True)
        self.exchange.chmod(0o777)  # nbgrader insists that everyone can write to the exchange
        (config_dir / "nbgrader_config.py").write_text(
            textwrap.dedent(f"""\
                from pathlib import Path

                from autograder.course import nbgrader_config

                c = get_config()  # noqa: F821
                c.merge(nbgrader_config(Path({str(self.root)!r})))
                c.Exchange.root = {str(self.exchange)!r}
                """)
        )

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "IPYTHON"))}
        env.update(self._jupyter_dirs())
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["HOME"] = str(self.home)  # anything that still reaches for ~ lands in the throwaway home
        return env

    def release(self, assignment_id: str) -> None:
        """Release an exercise to the exchange, as an instructor would, so learners can fetch it."""
        result = subprocess.run(
            ["nbgrader", "release_assignment", assignment_id, "--force"],
            cwd=self.root, env=self.environment(), capture_output=True, text=True, timeout=120,
        )
        if result.returncode:
            raise ServerError(f"nbgrader release_assignment {assignment_id} failed:\n{result.stderr}")

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every notebook session and kernel, as closing a notebook with "Shut Down Kernel" does."""
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")
        for kernel in self.api("GET", "kernels"):
            self.api("DELETE", f"kernels/{kernel['id']}")

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> LabServer:
        self._copy_course()
        env = self.environment()
        self._write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        self._write_nbgrader_config(Path(env["JUPYTER_CONFIG_DIR"]))
        command = [
            *DIE_WITH_PARENT, sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp: the tests open notebooks in one loaded JupyterLab (jupyterlab.open_notebook).
            "--LabApp.expose_app_in_browser=True",
        ]
        with self.log_path.open("wb") as log:
            # A session of its own: stop() can signal the server and everything in its group.
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise ServerError(f"jupyter lab did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> list[str]:
        """Stop the server and everything it started; return descriptions of processes that survived.

        Kernels run in sessions of their own, so the whole process tree is recorded first, the
        server is asked to shut down (SIGTERM: it stops its kernels), and stragglers are killed.
        """
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        _, alive = psutil.wait_procs(tree, timeout=10)
        survivors = []
        for process in alive:
            try:
                description = f"{process.pid} {' '.join(process.cmdline()[:3])}"
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue  # already dead; its new parent reaps it
                process.kill()
            except psutil.NoSuchProcess:
                continue
            survivors.append(description)
        return survivors
