"""``nbgrader collect`` with the course's configuration, attacked from the exchange.

Each hostile inbound folder below got through nbgrader's own collect: a link to a file only the
instructor may read reached the student's feedback, a link loop copied the whole exchange into
one student's submission and stopped the collection of the others, and a resubmission was
silently ignored. Here each is refused (or collected anew) and the others are collected."""

from __future__ import annotations

import os
from pathlib import Path

import commands
import corpus
import nbformat
import pytest

from autograder import course, pipelines
from autograder.exchange import unsafe_reason

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"
EARLY, LATE = "2026-12-01 09:00:00.000000 UTC", "2026-12-01 10:00:00.000000 UTC"


def _hand_in(inbound: Path, student: str, timestamp: str, kind: str = "correct") -> Path:
    """A submission as `nbgrader submit` leaves it in the exchange."""
    folder = inbound / f"{student}+{ASSIGNMENT}+{timestamp}+{abs(hash(student + timestamp)) % 10**6}"
    folder.mkdir()
    nbformat.write(corpus.submission(kind, ASSIGNMENT), folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(timestamp)
    return folder


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    base = tmp_path_factory.mktemp("collect")
    root, exchange = base / "course", base / "exchange"
    corpus.build_class(root, [], exchange=exchange)
    api = pipelines.nbgrader_api(pipelines.load_course_config(root))
    assert api.generate_assignment(ASSIGNMENT)["success"]
    inbound = exchange / course.COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    secret = base / "instructor-only.txt"
    secret.write_text("THE GRADEBOOK PASSWORD")
    secret.chmod(0o600)

    _hand_in(inbound, "alice", EARLY)
    (_hand_in(inbound, "mallory", EARLY) / "notes.txt").symlink_to(secret)
    (_hand_in(inbound, "loopy", EARLY) / "everyone").symlink_to(inbound)
    os.mkfifo(_hand_in(inbound, "piper", EARLY) / "pipe")
    with open(_hand_in(inbound, "hugo", EARLY) / "big.bin", "wb") as handle:
        handle.truncate(60 * 1024**2)  # sparse: 60 MB to the grader's eyes, nothing on disk
    (inbound / f"linda+{ASSIGNMENT}+{EARLY}+1").symlink_to(_hand_in(inbound, "alice2", EARLY))
    # bob hands in a wrong answer, is collected, then hands in again.
    _hand_in(inbound, "bob", EARLY, kind="untouched")
    first = commands.run("nbgrader", ["collect", ASSIGNMENT, "--ExchangeCollect.check_owner=False"], cwd=root)
    _hand_in(inbound, "bob", LATE)
    second = commands.run("nbgrader", ["collect", ASSIGNMENT, "--ExchangeCollect.check_owner=False"], cwd=root)
    return {"root": root, "first": first, "second": second, "secret": secret}


def _submitted(collected, student: str) -> Path:
    return collected["root"] / "submitted" / student / ASSIGNMENT


def test_honest_submissions_are_collected_whatever_the_others_hold(collected):
    assert collected["first"].returncode == 0, collected["first"].stderr
    assert (_submitted(collected, "alice") / f"{ASSIGNMENT}.ipynb").is_file()
    assert (_submitted(collected, "alice2") / f"{ASSIGNMENT}.ipynb").is_file()


@pytest.mark.parametrize(("student", "reason"), [
    ("mallory", "it holds a link: notes.txt"),
    ("loopy", "it holds a link: everyone"),
    ("piper", "which is not a file"),
    ("hugo", "it is larger than 50 MB"),
    ("linda", "the submission folder is a link"),
])
def test_a_hostile_folder_is_refused_with_its_reason(collected, student, reason):
    assert not _submitted(collected, student).exists()
    log = collected["first"].stdout + collected["first"].stderr
    assert f"NOT COLLECTED: the submission of {student}" in log and reason in log, log


def test_nothing_of_the_instructors_reaches_a_submission(collected):
    submitted = collected["root"] / "submitted"
    for path in submitted.rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file():
            assert b"THE GRADEBOOK PASSWORD" not in path.read_bytes(), path


def test_a_resubmission_is_collected(collected):
    timestamp = (_submitted(collected, "bob") / "timestamp.txt").read_text()
    assert timestamp == LATE
    assert "Updating submission: bob" in collected["second"].stdout + collected["second"].stderr


def test_the_check_follows_nothing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "loop").symlink_to(tmp_path)
    assert "link" in unsafe_reason(tmp_path / "a", 10, 10**6, 4)
    deep = tmp_path / "d" / "1" / "2" / "3" / "4" / "5"
    deep.mkdir(parents=True)
    assert "nested deeper than 4" in unsafe_reason(tmp_path / "d", 10, 10**6, 4)
