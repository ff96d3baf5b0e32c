"""The grading service behind a real JupyterHub: authentication, isolation, fairness and load.

One class for the module (tests/hub/conftest.py): the hub starts the grading service
(hub/grading_service.py) as it does for a real class. The learners here are hub users with
tokens made through the hub's REST API (with the class's ``class-admin`` token); they need no
Unix account, since the service never starts a server for them. Each of the service's
guarantees has a hostile test:

- a learner reads only their own checks (another learner's check id: 404; no token: 403);
- a check cannot read the masters, the gradebook, the service's queue or another learner's home;
- a report never carries hidden test code, even from a function that raises the kernel's history;
- a notebook that hits the memory limit is told so, with the test's name;
- one learner's flood meets the hourly cap and cannot push another learner's check back;
- 50 learners at once, mixed correct, wrong and hostile: every check answered, with the grades
  ``grade_notebook`` gives the same notebooks.

The queue's restart and a dying worker are tested without a hub (tests/test_grading_service.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import corpus
import nbformat
import pytest

from autograder import cells, course
from autograder.grading import grade_notebook
from autograder.service import config as grading
from autograder.service.client import request

from .conftest import CHECKS_PER_HOUR, running_class

pytestmark = pytest.mark.hub

ASSIGNMENT = "01_chain_rule"
LOAD_LEARNERS = 50
LOAD_SECONDS = 300
#: The load test's notebooks: correct, wrong, untouched and hostile (tampering, a dying kernel).
LOAD_KINDS = ("correct", "partial", "untouched", "correct", "tamper_numpy", "os_exit", "edited_tests")


class Hub:
    """The hub's REST API as the class's ``class-admin`` service, and the grading service as learners."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.admin_token = settings.admin_token_file.read_text().strip()
        self.url = f"http://127.0.0.1:{settings.grading_port}{grading.PREFIX}"
        self.tokens: dict[str, str] = {}
        self.accounts: list[str] = []

    def api(self, method: str, path: str, body=None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.settings.url}/hub/api/{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.admin_token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} /hub/api/{path}: {error.code} {error.read().decode()}") from error

    def learners(self, names: list[str], in_course: bool = True) -> list[str]:
        """Hub users (no Unix account) with a token that may call the grading service."""
        new = [name for name in names if name not in self.tokens]
        if new:
            # PAM's hub knows only the machine's accounts: one each, in one go, without a home, a shell or
            # a password (locked: "!"), as nobody logs in as them.
            subprocess.run(["newusers"], input="".join(f"{n}:!:::::/usr/sbin/nologin\n" for n in new), text=True,
                           check=True)
            self.accounts += new
            subprocess.run(["chpasswd", "--encrypted"], input="".join(f"{n}:!\n" for n in new), text=True,
                           check=True)
            self.api("POST", "users", {"usernames": new})
            if in_course:
                self.api("POST", f"groups/nbgrader-{self.settings.course_id}/users", {"users": new})
            for name in new:
                scopes = [grading.ACCESS_SCOPE] if in_course else []
                self.tokens[name] = self.api("POST", f"users/{name}/tokens",
                                             {"scopes": scopes, "expires_in": 3600, "note": "grading tests"})["token"]
        return [self.tokens[name] for name in names]

    def submit(self, token: str, notebook: str, assignment: str = ASSIGNMENT) -> tuple[int, dict]:
        return request(f"{self.url}api/checks", token, {"assignment": assignment, "notebook": notebook})

    def state(self, token: str, check_id: str) -> tuple[int, dict]:
        return request(f"{self.url}api/checks/{check_id}", token)

    def wait(self, token: str, check_id: str, seconds: float = 240) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, state = self.state(token, check_id)
            assert status == 200, (status, state)
            if state["state"] not in ("queued", "running"):
                return state
            time.sleep(0.3)
        raise AssertionError(f"check {check_id} not answered within {seconds} s")

    def check(self, token: str, notebook: str) -> dict:
        status, state = self.submit(token, notebook)
        assert status == 202, (status, state)
        return self.wait(token, state["id"])


@pytest.fixture(scope="module")
def grading_class() -> Iterator:
    """A class of its own (not the browser tests' hub_class): its fixture, and so its xdist worker, differ."""
    with running_class() as running:
        yield running


@pytest.fixture(scope="module")
def hub(grading_class) -> Iterator[Hub]:
    hub_class = grading_class
    hub = Hub(hub_class[0])
    try:
        (token,) = hub.learners([f"{hub_class[0].students[0]}-probe"])
        deadline = time.monotonic() + 90
        while request(f"{hub.url}api/status", token)[0] != 200 if _listening(hub.url) else True:
            if time.monotonic() > deadline:  # the hub starts the service with itself
                pytest.fail(f"the grading service did not answer on {hub.url}:\n{hub_class[1].log_tail()}")
            time.sleep(0.5)
        yield hub
    finally:  # the accounts never ran anything (no server, no home): userdel is all they need
        for account in hub.accounts:
            subprocess.run(["userdel", account], capture_output=True, check=False)


def _listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def name(hub: Hub, label: str) -> str:
    return f"{hub.settings.students[0]}-{label}"


def notebook_of(kind: str) -> str:
    return nbformat.writes(corpus.submission(kind, ASSIGNMENT))


def with_answer(code: str) -> str:
    """The exercise with its first answer cell (compose_derivative) replaced by ``code``."""
    notebook = corpus.submission("correct", ASSIGNMENT)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "compose_derivative")
    cell.source = code
    return nbformat.writes(notebook)


def test_a_learner_reads_only_their_own_checks(hub):
    ann, bob = hub.learners([name(hub, "own-a"), name(hub, "own-b")])
    status, state = hub.submit(ann, notebook_of("correct"))
    assert status == 202 and state["state"] in ("queued", "running") and state["checks_left"] >= 0, state
    assert hub.state(bob, state["id"])[0] == 404  # Bob asks for Ann's check
    assert hub.state("", state["id"])[0] == 403  # nobody
    (outsider,) = hub.learners([name(hub, "outsider")], in_course=False)  # a hub user not in the course
    assert hub.submit(outsider, notebook_of("correct"))[0] == 403
    done = hub.wait(ann, state["id"])
    assert done["state"] == "done" and done["report"]["score"] == done["report"]["max_score"] > 0, done


SNOOP = '''import os

def compose_derivative(df, g, dg):
    found = []
    for path in {paths!r}:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").read(16)
            found.append("read")
        except PermissionError:
            found.append("denied")
        except OSError:
            found.append("missing")
    raise ValueError("|".join(found))
'''


def test_a_check_cannot_read_the_masters_the_gradebook_the_queue_or_another_learners_home(hub):
    settings = hub.settings
    gradebook = settings.course_dir / "gradebook.db"
    if not gradebook.exists():
        gradebook.touch(mode=0o600)
    paths = [str(settings.course_dir / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), str(gradebook),
             str(settings.grading_state / "checks.sqlite"), str(Path("/home") / settings.students[1] / ".bashrc"),
             str(course.source_notebook(ASSIGNMENT)), str(settings.course_dir)]
    for path in paths:
        assert Path(path).exists(), path  # there to be read: "missing" must mean hidden
    (snoop,) = hub.learners([name(hub, "snoop")])
    report = hub.check(snoop, with_answer(SNOOP.format(paths=paths)))["report"]
    message = next(t["message"] for t in report["tests"] if t["grade_id"] == "test_compose_derivative")
    found = re.search(r"\b((?:read|denied|missing)(?:\|(?:read|denied|missing))*)\b", message)
    assert found and len(found.group(1).split("|")) == len(paths), report
    results = dict(zip(paths, found.group(1).split("|"), strict=True))
    assert "read" not in results.values(), results


def test_a_report_never_carries_hidden_test_code(hub):
    """The answer raises the kernel's input history. The hidden test's code never enters the kernel
    (the judge runs it in the grader), and a message quoting one is withheld anyway (report.py)."""
    (leaker,) = hub.learners([name(hub, "leak")])
    leak = "def compose_derivative(df, g, dg):\n    raise ValueError('\\n'.join(In))\n"
    answer = hub.check(leaker, with_answer(leak))
    text = json.dumps(answer)
    hidden = cells.hidden_lines(nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4))
    leaked = [line for line in hidden if json.dumps(line)[1:-1] in text]
    assert not leaked, leaked
    hidden = next(t for t in answer["report"]["tests"] if t["grade_id"] == "test_compose_derivative_hidden")
    assert not hidden["passed"] and hidden["message"], hidden  # the learner's history came back: no test in it
    assert "Traceback" not in text and "BEGIN HIDDEN" not in text


def test_a_notebook_that_runs_out_of_memory_is_told_so(hub):
    (hog,) = hub.learners([name(hub, "hog")])
    code = ("import numpy as np\n\ndef compose_derivative(df, g, dg):\n"
            "    block = np.ones(3 * 1024**3 // 8)\n    return lambda x: df(g(x)) * dg(x)\n")
    report = hub.check(hog, with_answer(code))["report"]
    notes = " ".join(report["notes"])
    gigabytes = course.MEMORY_LIMIT_BYTES / 1024**3
    assert re.search(rf"test_compose_derivative\w* ran out of memory \(the grader's limit is {gigabytes:g} GB\)",
                     notes), report
    assert next(t for t in report["tests"] if t["grade_id"] == "test_compose_derivative")["points"] == 0


def test_one_learners_flood_meets_the_cap_and_cannot_push_others_back(hub):
    flooder, victim = hub.learners([name(hub, "flood"), name(hub, "victim")])
    correct = notebook_of("correct")
    flood = [hub.submit(flooder, correct) for _ in range(CHECKS_PER_HOUR)]
    assert all(status == 202 for status, _ in flood), flood
    status, refused = hub.submit(flooder, correct)
    assert status == 429, refused
    assert f"your {CHECKS_PER_HOUR} checks for this hour" in refused["error"], refused
    assert "next check is allowed at" in refused["error"] and refused["next_allowed"] > time.time()
    status, mine = hub.submit(victim, correct)
    assert status == 202 and mine["position"] == 0, mine  # before the flood's remaining checks
    victim_done = hub.wait(victim, mine["id"])
    assert victim_done["state"] == "done"
    still_waiting = [hub.state(flooder, state["id"])[1]["state"] for _, state in flood]
    assert still_waiting.count("queued") >= 1, still_waiting  # the victim did not wait for the whole flood
    for _, state in flood:
        assert hub.wait(flooder, state["id"])["state"] == "done"


def expected_points(kind: str, student: str) -> dict[str, float]:
    """``grade_notebook``'s grades for a notebook: in this process for the kinds a trusted run grades
    exactly as a kernel does (corpus.BENIGN), in the sandbox, as the service does, for the others."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{ASSIGNMENT}.ipynb"
        path.write_text(notebook_of(kind))
        report = grade_notebook(path, course.source_notebook(ASSIGNMENT), student=student,
                                in_process=kind in corpus.BENIGN)
    return {r.grade_id: r.points for r in report.results}


def test_fifty_learners_at_once_all_get_the_right_report(hub):
    names = [name(hub, f"load{i:02d}") for i in range(LOAD_LEARNERS)]
    tokens = hub.learners(names)
    kinds = [LOAD_KINDS[i % len(LOAD_KINDS)] for i in range(LOAD_LEARNERS)]
    notebooks = {kind: notebook_of(kind) for kind in set(kinds)}

    def one(i: int) -> tuple[float, dict]:
        started = time.monotonic()
        state = hub.check(tokens[i], notebooks[kinds[i]])
        return time.monotonic() - started, state

    started = time.monotonic()
    with ThreadPoolExecutor(LOAD_LEARNERS) as pool:
        answers = list(pool.map(one, range(LOAD_LEARNERS)))
    wall = time.monotonic() - started
    assert wall < LOAD_SECONDS, f"50 checks took {wall:.0f} s"
    assert [a["state"] for _, a in answers] == ["done"] * LOAD_LEARNERS, [a for _, a in answers if a["state"] != "done"]
    expected = {kind: expected_points(kind, names[kinds.index(kind)]) for kind in set(kinds)}
    for i, (_, answer) in enumerate(answers):
        got = {t["grade_id"]: t["points"] for t in answer["report"]["tests"]}
        assert got == expected[kinds[i]], (names[i], kinds[i], got, expected[kinds[i]])
    latencies = sorted(seconds for seconds, _ in answers)
    print(f"\n50 concurrent checks: {wall:.1f} s wall, {LOAD_LEARNERS / wall:.2f} checks/s, "
          f"p50 {latencies[len(latencies) // 2]:.1f} s, p95 {latencies[int(len(latencies) * 0.95)]:.1f} s")

    # The instructor's log holds every check: who, when, which assignment, the score.
    log = subprocess.run([sys.executable, "-m", "autograder.service", "log", "--state", str(hub.settings.grading_state),
                          "--json"], capture_output=True, text=True, check=True)
    rows = {row["learner"]: row for row in json.loads(log.stdout)}
    for i, learner in enumerate(names):
        assert rows[learner]["assignment"] == ASSIGNMENT and rows[learner]["state"] == "done"
        assert rows[learner]["score"] == sum(expected[kinds[i]].values())
    # A check is never a submission.
    inbound = hub.settings.exchange / hub.settings.course_id / "inbound"
    assert not [p for p in inbound.glob("*") if p.name.split("+")[0] in names]
