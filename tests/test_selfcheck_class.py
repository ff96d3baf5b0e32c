"""The check cell in a class: the student's environment has the released exercise (nbgrader's
exchange) and the course's package, but not the instructor masters (``source/``).

There the check grades with the visible tests of the exercise as released (never with the test
cells of the learner's own copy, which the learner can edit), says that the hidden tests run
when the instructor grades, and never shows a traceback. The course folder these tests build
is a stand-in for what hub/classroom.py installs; tests/hub/ runs the real thing on a hub.
"""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from grading_support import test_points

from autograder import cells, course, selfcheck
from autograder.service import client
from autograder.service import config as grading

ASSIGNMENT = "01_chain_rule"
REPO = Path(__file__).resolve().parent.parent
VISIBLE_POINTS = test_points(ASSIGNMENT, hidden=False)[1]  # the visible tests of 01_chain_rule


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's world: no source/, an exchange holding the released exercise, a fetched copy."""
    installed = tmp_path / "site-packages"  # where the course's package is installed: no masters there
    installed.mkdir()
    monkeypatch.setattr(course, "REPO_ROOT", installed)
    exchange = tmp_path / "exchange"
    outbound = exchange / course.COURSE_ID / "outbound" / ASSIGNMENT
    outbound.mkdir(parents=True)
    shutil.copy(REPO / course.EXERCISES_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", outbound)
    monkeypatch.setattr(selfcheck, "_nbgrader_exchange", lambda: (exchange, ""))
    monkeypatch.delenv(grading.URL_ENV, raising=False)  # no grading service unless a test starts one
    home = tmp_path / "home" / course.COURSE_ID / ASSIGNMENT  # nbgrader fetches to <course>/<assignment>/
    home.mkdir(parents=True)
    monkeypatch.chdir(home)
    return home / f"{ASSIGNMENT}.ipynb"


def learner_notebook(target: Path, solved: bool, edit_tests: bool = False) -> Path:
    source = REPO / (course.SOLUTIONS_DIR if solved else course.EXERCISES_DIR) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(str(source), as_version=4)
    if edit_tests:  # a learner "fixes" the visible tests of their own copy
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                cell.source = "pass"
    nbformat.write(notebook, str(target))
    return target


@pytest.mark.slow
def test_solved_exercise_passes_the_visible_tests_and_names_the_hidden_ones(student, capsys):
    learner_notebook(student, solved=True)
    report = selfcheck.check_my_work(ASSIGNMENT)
    out = capsys.readouterr().out
    assert report is not None and report.score == report.max_score == VISIBLE_POINTS, out
    assert "PASS  1/1  test_dh_dx" in out and "test_dh_dx_hidden" not in out
    held_back = "({} tests, {:g} more points)".format(*test_points(ASSIGNMENT, hidden=True))
    assert "Hidden tests run when your instructor grades" in out and held_back in out
    assert "Traceback" not in out


@pytest.mark.slow
def test_the_released_tests_grade_not_the_learners_edited_copy(student, capsys):
    learner_notebook(student, solved=False, edit_tests=True)
    report = selfcheck.check_my_work(ASSIGNMENT)
    out = capsys.readouterr().out
    assert report is not None and report.score == 0 and report.max_score == VISIBLE_POINTS, out
    assert "FAIL  0/1  test_dh_dx" in out and "not implemented yet" in out


def test_without_any_tests_on_the_computer_it_says_so_plainly(student, capsys, monkeypatch):
    monkeypatch.setattr(selfcheck, "_nbgrader_exchange", lambda: (student.parent / "nowhere", ""))
    learner_notebook(student, solved=True)
    assert selfcheck.check_my_work(ASSIGNMENT) is None
    out = capsys.readouterr().out
    assert "are not on this computer" in out and "hidden ones included" in out and "Traceback" not in out


def test_a_failing_check_is_a_sentence_not_a_traceback(student, capsys, monkeypatch):
    import autograder.grading

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(autograder.grading, "grade_notebook", broken)
    learner_notebook(student, solved=True)
    assert selfcheck.check_my_work(ASSIGNMENT) is None
    out = capsys.readouterr().out
    assert "The check could not run (OSError: no space left on device)" in out and "Traceback" not in out


def test_hidden_tests_are_the_test_cells_the_release_emptied():
    released = REPO / course.EXERCISES_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    hidden = [c.grade_id for c in cells.master_from_notebook(course.source_notebook(ASSIGNMENT))
              if c.is_test and cells.HIDDEN_BEGIN in c.source]
    assert len(hidden) >= 4 and selfcheck.hidden_test_ids(released) == hidden


# --- with the course's grading service (autograder/service; tests/hub runs the real one) --------

REPORT = {"assignment": ASSIGNMENT, "score": 3.0, "max_score": 12.0, "error": None, "notes": [], "problems": [],
          "tests": [{"grade_id": "test_compose_derivative", "points": 1.0, "max_points": 1.0, "passed": True,
                     "message": None},
                    {"grade_id": "test_compose_derivative_hidden", "points": 2.0, "max_points": 2.0, "passed": True,
                     "message": None},
                    {"grade_id": "test_dh_dx_hidden", "points": 0.0, "max_points": 2.0, "passed": False,
                     "message": "dh/dx is off by a factor of 2 at x = 0.3"}]}


class StandInService(BaseHTTPRequestHandler):
    """Answers as the grading service does: queued, then running, then the report (or the cap)."""

    answers: list = []
    seen: list = []

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, self.headers["Authorization"], body))
        self._send(*self.answers.pop(0))

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append((self.path, self.headers["Authorization"], None))
        self._send(*self.answers.pop(0))

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def service(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(grading.URL_ENV, f"http://127.0.0.1:{server.server_port}{grading.PREFIX}")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "the-servers-token")
    monkeypatch.setattr(client.time, "sleep", lambda seconds: None)
    StandInService.seen = []
    yield StandInService
    server.shutdown()


def state(name: str, **extra) -> dict:
    return {"id": "abc", "assignment": ASSIGNMENT, "state": name, "report": None, "checks_per_hour": 8,
            "checks_left": 7, **extra}


def test_with_a_service_the_check_shows_the_wait_then_every_tests_report(student, service, capsys):
    learner_notebook(student, solved=False)
    saved = student.read_bytes()
    service.answers = [(202, state("queued", position=2, estimate_seconds=6.0)),
                       (200, state("queued", position=0, estimate_seconds=2.0)), (200, state("running")),
                       (200, state("done", report=REPORT))]
    report = selfcheck.check_my_work(ASSIGNMENT)
    out = capsys.readouterr().out
    assert "Checking… 2 checks ahead of yours in the queue, about 6 s." in out
    assert "Checking… next in the queue, about 2 s." in out and "being graded now" in out
    assert client.SERVICE_NOTE in out and "Checks left this hour: 7 of 8." in out
    assert "PASS  2/2  test_compose_derivative_hidden" in out and "dh/dx is off by a factor of 2" in out
    assert report.score == 3.0 and report.max_score == 5.0
    path, token, body = service.seen[0]
    assert path == f"{grading.PREFIX}api/checks" and token == "token the-servers-token"
    assert body == {"assignment": ASSIGNMENT, "notebook": saved.decode()}
    assert [p for p, _, _ in service.seen[1:]] == [f"{grading.PREFIX}api/checks/abc"] * 3
    assert student.read_bytes() == saved  # the learner's file is only read
    assert "Visible tests only" not in out


def test_at_the_cap_the_learner_is_told_when_the_next_check_is_allowed(student, service, capsys):
    learner_notebook(student, solved=False)
    cap = "You have used your 8 checks for this hour. Your next check is allowed at 14:05:00 (in about 12 min)."
    service.answers = [(429, {"error": cap, "checks_per_hour": 8, "next_allowed": 0})]
    assert selfcheck.check_my_work(ASSIGNMENT) is None
    out = capsys.readouterr().out
    assert cap in out and "Visible tests only" not in out and "Traceback" not in out


@pytest.mark.slow
def test_a_service_that_does_not_answer_leaves_the_visible_tests(student, monkeypatch, capsys):
    monkeypatch.setenv(grading.URL_ENV, "http://127.0.0.1:9/services/grading/")  # nothing listens there
    learner_notebook(student, solved=True)
    report = selfcheck.check_my_work(ASSIGNMENT)
    out = capsys.readouterr().out
    assert "grading service did not answer" in out and "Visible tests only" in out, out
    assert report is not None and report.score == VISIBLE_POINTS and "Traceback" not in out
