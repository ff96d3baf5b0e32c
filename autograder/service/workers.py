"""The grading service's worker pool: each worker is a thread that owns one grading process.

The grading process (``python -m autograder.service.workers``) imports the engine once and
grades one check after another with :func:`autograder.grading.grade_notebook`: each in the
sandbox of :mod:`autograder.sandbox` (a throwaway uid, no network, the limits, a scratch folder
removed afterwards), with the course folder and the exchange hidden from the kernel. The
notebook is written to a private folder of the service's state (mode 0700) and removed after.

If a grading process dies or stops answering, its thread starts a new one and the check goes
back to the queue; after :data:`~.config.MAX_ATTEMPTS` tries the learner gets a clear error.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .config import JOB_TIMEOUT_SECONDS, ServiceConfig
from .store import Job, Store


class WorkerDied(Exception):
    pass


class Worker(threading.Thread):
    """One slot of the pool: claims checks from the store and has its grading process grade them."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        super().__init__(name=f"grading-worker-{number}", daemon=True)
        self.pool, self.process = pool, None

    def run(self) -> None:
        while not self.pool.stopping.is_set():
            job = self.pool.store.claim()
            if job is None:
                self.pool.wake.wait(0.5)
                self.pool.wake.clear()
                continue
            self.pool.busy += 1
            try:
                self.pool.store.finish(job.id, self.grade(job))
            except WorkerDied as died:
                self.stop_process()
                if not self.pool.stopping.is_set():
                    self.pool.store.retry_or_fail(job.id, str(died))
                    self.pool.wake.set()
            except Exception as error:  # the service's own bug: the learner gets a sentence
                self.pool.store.fail(job.id, f"The check could not run ({type(error).__name__}: {error}).")
            finally:
                self.pool.busy -= 1

    def grade(self, job: Job) -> dict:
        master = self.pool.config.master(job.assignment)
        if master is None:
            return {"error": f"{job.assignment} is not an assignment of this course", "tests": [], "notes": [],
                    "problems": [], "score": None, "max_score": None}
        if self.process is None or self.process.poll() is not None:
            self.process = self.pool.start_process()
        request = {"id": job.id, "learner": job.learner, "assignment": job.assignment, "master": str(master),
                   "notebook": base64.b64encode(job.notebook).decode()}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except OSError as error:
            raise WorkerDied(f"its grading process could not be reached: {error}") from error
        ready, _, _ = select.select([self.process.stdout], [], [], JOB_TIMEOUT_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            what = "did not answer in time" if not ready else f"exited with {self.process.poll()}"
            raise WorkerDied(f"its grading process {what}")
        return json.loads(line)

    def stop_process(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.kill()
            self.process.wait()
            shutil.rmtree(self.pool.work_dir / str(self.process.pid), ignore_errors=True)
            self.process = None


class WorkerPool:
    def __init__(self, store: Store, config: ServiceConfig) -> None:
        self.store, self.config = store, config
        self.stopping, self.wake = threading.Event(), threading.Event()
        self.busy = 0
        self.work_dir = config.state_dir / "work"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.chmod(0o700)
        self.workers = [Worker(self, n) for n in range(config.workers)]

    def start_process(self) -> subprocess.Popen:
        env = {**os.environ, **self.config.to_env()}
        return subprocess.Popen([sys.executable, "-m", "autograder.service.workers", "--state",
                                 str(self.config.state_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=env, cwd=str(self.work_dir))

    def start(self) -> WorkerPool:
        for worker in self.workers:
            worker.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        for worker in self.workers:
            worker.stop_process()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process is not None and w.process.poll() is None]


# --- the grading process --------------------------------------------------------------------


def _die_with_parent() -> None:
    """The grading process ends with the service (Linux' PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def grade_request(request: dict, config: ServiceConfig, work_dir: Path) -> dict:
    from traitlets.config import Config

    from ..grading import grade_notebook
    from .report import public_report

    folder = Path(tempfile.mkdtemp(prefix="check-", dir=work_dir))
    try:
        notebook = folder / f"{request['assignment']}.ipynb"
        notebook.write_bytes(base64.b64decode(request["notebook"]))
        options = {"course_root": config.course_root} if config.course_root else {}
        if config.exchange:
            options["config"] = Config({"Exchange": {"root": config.exchange}})
        started = time.perf_counter()
        report = grade_notebook(notebook, Path(request["master"]), student=request["learner"], **options)
        result = public_report(report, Path(request["master"]), request["assignment"])
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def serve(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.service.workers")
    parser.add_argument("--state", required=True, help="the service's state folder (names the process)")
    parser.parse_args(argv)
    _die_with_parent()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever grading prints goes to the service's log
    config = ServiceConfig.from_env()
    work_dir = Path.cwd() / str(os.getpid())
    work_dir.mkdir(mode=0o700, exist_ok=True)
    from ..grading import grade_notebook  # noqa: F401  (imported once, before the first check)

    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = grade_request(request, config, work_dir)
        except Exception as error:
            result = {"error": f"the check could not run ({type(error).__name__}: {error})", "tests": [],
                      "notes": [], "problems": [], "score": None, "max_score": None}
        answers.write(json.dumps(result) + "\n")
        answers.flush()
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
