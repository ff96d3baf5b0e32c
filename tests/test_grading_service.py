"""The grading service's queue, workers and reports, without a hub (tests/hub/test_grading_service.py
runs the whole service behind a real JupyterHub).

Each guarantee has a test that fails without it: the queue is fair across learners, the hourly
cap holds and says when the next check is allowed, a restart loses no acknowledged check, a
worker that dies has its check retried (or answered with a clear error), and no report carries
a hidden test's code.
"""

from __future__ import annotations

import json
import os
import signal
import time

import nbformat
import pytest
from grading_support import wait_for

from autograder import cells, course
from autograder.grading import Report, TestResult
from autograder.problems import Problem
from autograder.service import config, report
from autograder.service.store import FAILED, QUEUED, RUNNING, CapReached, Store
from autograder.service.workers import WorkerPool

ASSIGNMENT = "01_chain_rule"


def notebook_bytes(kind: str = "correct") -> bytes:
    import corpus

    return nbformat.writes(corpus.submission(kind, ASSIGNMENT)).encode()


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "checks.sqlite", checks_per_hour=5)
    yield store
    store.close()


def test_one_learners_flood_waits_behind_everyone_elses_first_check(store):
    flood = [store.submit("flooder", ASSIGNMENT, b"{}", now=100 + i) for i in range(5)]
    ann = store.submit("ann", ASSIGNMENT, b"{}", now=200)
    bob = store.submit("bob", ASSIGNMENT, b"{}", now=201)
    # First come first served would put Ann sixth: round robin puts her second.
    assert store.position(ann) == 1 and store.position(bob) == 2
    order = [store.claim(now=300 + i).id for i in range(7)]
    assert order == [flood[0], ann, bob, *flood[1:]]


def test_a_learner_who_served_last_goes_to_the_back(store):
    first = store.submit("ann", ASSIGNMENT, b"{}", now=100)
    assert store.claim(now=101).id == first
    again = store.submit("ann", ASSIGNMENT, b"{}", now=102)
    bob = store.submit("bob", ASSIGNMENT, b"{}", now=103)
    assert store.fair_order() == [bob, again]


def test_the_hourly_cap_holds_and_says_when_the_next_check_is_allowed(store):
    for i in range(5):
        store.submit("ann", ASSIGNMENT, b"{}", now=1000 + i)
    with pytest.raises(CapReached) as refused:
        store.submit("ann", ASSIGNMENT, b"{}", now=1500)
    assert refused.value.cap == 5 and refused.value.next_allowed == 1000 + 3600
    assert "5 checks for this hour" in str(refused.value) and "next check is allowed at" in str(refused.value)
    store.submit("bob", ASSIGNMENT, b"{}", now=1500)  # the cap is per learner
    store.submit("ann", ASSIGNMENT, b"{}", now=1000 + 3601)  # an hour later, one more
    assert store.checks_left("ann", now=1000 + 3601) == 1  # 1002..1004 and the new one count


def test_a_learner_reads_only_their_own_checks(store):
    ann = store.submit("ann", ASSIGNMENT, b"{}")
    assert store.get(ann, "ann")["id"] == ann
    assert store.get(ann, "bob") is None


def test_a_restart_loses_no_acknowledged_check(tmp_path):
    path = tmp_path / "checks.sqlite"
    before = Store(path, checks_per_hour=10)
    ids = [before.submit(f"learner{i}", ASSIGNMENT, notebook_bytes()) for i in range(3)]
    running = before.claim()
    assert running.id == ids[0]
    del before  # the service is killed: no clean shutdown, one check half graded

    after = Store(path, checks_per_hour=10)
    assert after.recover() == 1
    assert after.fair_order() == ids
    assert after.claim().notebook == notebook_bytes()
    assert after.get(ids[0], "learner0")["attempts"] == 2


def test_a_check_whose_worker_dies_twice_is_answered_with_a_clear_error(store):
    check = store.submit("ann", ASSIGNMENT, b"{}")
    store.claim()
    assert store.retry_or_fail(check, "its grading process exited with -9") == QUEUED
    store.claim()
    assert store.retry_or_fail(check, "its grading process exited with -9") == FAILED
    answer = store.get(check, "ann")
    assert answer["state"] == FAILED
    assert "stopped while checking this notebook" in answer["report"]["error"]
    assert "unchanged" in answer["report"]["error"]


def test_no_message_carries_a_hidden_tests_code():
    master = course.source_notebook(ASSIGNMENT)
    secret = max(cells.hidden_lines(nbformat.read(master, as_version=4)), key=len)
    graded = Report(notebook="x.ipynb", results=[
        TestResult("test_compose_derivative_hidden", 0.0, 2.0, f"ValueError: ['{secret}']"),
        TestResult("test_dh_dx", 0.0, 1.0, "AssertionError: dh/dx is wrong at x=0.5"),
        TestResult("test_compose_derivative", 0.0, 1.0, "x" * 5000),
    ], problems=[Problem("tampering", f"cell 3: {secret}", "cell 3")])
    public = report.public_report(graded, master, ASSIGNMENT)
    text = json.dumps(public)
    assert secret not in text
    assert public["tests"][0]["message"] == report.WITHHELD
    assert public["tests"][1]["message"] == "AssertionError: dh/dx is wrong at x=0.5"  # a sentence stays
    assert len(public["tests"][2]["message"]) <= report.MAX_MESSAGE_CHARS
    assert "executed" not in public and "traceback" not in text.lower()


# --- the worker pool, grading for real (in the sandbox when run as root) ------------------------


@pytest.fixture
def pool(tmp_path):
    service = config.ServiceConfig(state_dir=tmp_path / "state", masters=course.REPO_ROOT / course.SOURCE_DIR,
                                   workers=1, checks_per_hour=10)
    store = Store(service.state_dir / "checks.sqlite", service.checks_per_hour)
    pool = WorkerPool(store, service)
    yield pool
    pool.stop()
    store.close()


def slow_correct_notebook(seconds: float) -> bytes:
    import corpus

    notebook = corpus.submission("correct", ASSIGNMENT)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source += f"\nimport time\ntime.sleep({seconds})\n"
    return nbformat.writes(notebook).encode()


@pytest.mark.slow
def test_a_worker_that_dies_loses_no_check(pool):
    store = pool.store
    check = store.submit("ann", ASSIGNMENT, slow_correct_notebook(3))
    pool.start()
    wait_for(lambda: store.get(check, "ann")["state"] == RUNNING and pool.pids(), "the check to start", 60, 0.1)
    time.sleep(0.5)  # inside the grading
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGKILL)
    done = wait_for(lambda: (c := store.get(check, "ann"))["state"] not in (QUEUED, RUNNING) and c,
                    "the retried check", 120, 0.1)
    assert done["state"] == "done" and done["attempts"] == 2, done
    assert done["report"]["score"] == done["report"]["max_score"] > 0, done["report"]
    assert pool.pids() and pool.pids() != [pid]
    assert not list((pool.work_dir).glob(f"{pid}/*")), "the dead worker's notebooks were left behind"


@pytest.mark.slow
def test_a_killed_service_answers_every_acknowledged_check_after_its_restart(tmp_path):
    """The real service (hub/grading_service.py), killed with checks queued and one being graded."""
    from service_support import Service

    service = Service(tmp_path / "state", workers=1).start()
    try:
        notebooks = {"ann": notebook_bytes().decode(), "bob": notebook_bytes("untouched").decode()}
        checks = {learner: service.submit(learner, notebook)["id"] for learner, notebook in notebooks.items()}
        service.stop(kill=True)  # SIGKILL: the queue is all that is left (its workers die with it)
        service.start()
        answers = {learner: service.wait(learner, check_id) for learner, check_id in checks.items()}
    finally:
        service.close()
    assert {a["state"] for a in answers.values()} == {"done"}, answers
    assert answers["ann"]["report"]["score"] == answers["ann"]["report"]["max_score"] > 0, answers
    assert answers["bob"]["report"]["score"] == 0, answers
