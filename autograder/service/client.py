"""The check cell's side of the grading service: send the saved notebook, show the wait, show the report.

The hub tells each learner's server where the service is (:data:`~.config.URL_ENV`); the request
carries the server's own hub token (``JUPYTERHUB_API_TOKEN``). The notebook is only read: a
check never changes the learner's file and is never a submission.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from .config import URL_ENV

SERVICE_NOTE = ("Checked with every test, hidden ones included, by your course's grading service "
                "(nothing was submitted; your notebook is unchanged).")


class ServiceUnavailable(RuntimeError):
    """The service could not be reached or did not answer as it should."""


def service_url() -> str | None:
    return os.environ.get(URL_ENV) or None


def request(url: str, token: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    """(HTTP status, JSON answer) of a GET, or of a POST when ``body`` is given."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {"error": error.reason}
    except (OSError, ValueError) as error:
        raise ServiceUnavailable(str(error)) from error


class Status:
    """One line that changes while the learner waits (a display that updates in a notebook)."""

    def __init__(self) -> None:
        self.handle, self.last = None, None
        try:
            from IPython import get_ipython

            if get_ipython() is not None:
                from IPython.display import display

                self.handle = display({"text/plain": ""}, raw=True, display_id=True)
        except ImportError:
            pass

    def show(self, text: str) -> None:
        if text == self.last:
            return
        self.last = text
        if self.handle is not None:
            self.handle.update({"text/plain": text}, raw=True)
        else:
            print(text, flush=True)


def waiting_text(state: dict) -> str:
    if state.get("state") == "running" or state.get("position") is None:
        return "Checking… your notebook is being graded now."
    position = state["position"]
    ahead = "next in the queue" if position == 0 else f"{position} checks ahead of yours in the queue"
    return f"Checking… {ahead}, about {state.get('estimate_seconds', 0):g} s."


def to_report(path: Path, answer: dict):
    """The service's answer as a :class:`autograder.grading.Report`."""
    from ..grading import Report, TestResult
    from ..problems import Problem

    report = Report(notebook=str(path))
    report.results = [TestResult(t["grade_id"], t["points"], t["max_points"], t.get("message"))
                      for t in answer.get("tests", [])]
    report.problems = [Problem(p["kind"], p["message"], p.get("cell", "")) for p in answer.get("problems", [])]
    if answer.get("error") and not report.error:
        report.problems.append(Problem("autograde_failed", answer["error"]))
    return report


def check_with_service(url: str, assignment_id: str, path: Path, token: str | None = None,
                       poll_seconds: float = 1.0, timeout: float = 900):
    """Have the service grade ``path``; print the report and return it (None when no check ran)."""
    from ..selfcheck import format_report

    token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
    url = url if url.endswith("/") else url + "/"
    status, state = request(f"{url}api/checks", token, {"assignment": assignment_id,
                                                        "notebook": path.read_text(errors="replace")})
    if status == 429:
        print(state.get("error", "You have used your checks for this hour."))
        return None
    if status != 202 or "id" not in state:
        raise ServiceUnavailable(f"HTTP {status}: {state.get('error', state)}")
    line = Status()
    deadline = time.monotonic() + timeout
    while state.get("state") in ("queued", "running"):
        line.show(waiting_text(state))
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"no report within {timeout:g} s")
        time.sleep(poll_seconds)
        status, state = request(f"{url}api/checks/{state['id']}", token)
        if status != 200:
            raise ServiceUnavailable(f"HTTP {status}: {state.get('error', state)}")
    answer = state.get("report") or {}
    report = to_report(path, answer)
    left = f"Checks left this hour: {state.get('checks_left')} of {state.get('checks_per_hour')}."
    line.show(f"{SERVICE_NOTE}\n{format_report(report)}\n{left}")
    return report
