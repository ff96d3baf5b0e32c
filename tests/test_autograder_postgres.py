"""The class flow against a real PostgreSQL gradebook (nbgrader's db_url): the suite starts its
own server (Debian's `postgresql` package) in a temporary folder on a free port. Skipped with a
message when the server is not installed, except in CI (CI=true), where that is a failure."""

from __future__ import annotations

import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import commands
import corpus
import pytest
from grading_support import test_points
from nbgrader.api import Gradebook

from autograder.classroom import grade_class

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ASSIGNMENT = "01_chain_rule"
BATCH = [
    ("alice", ASSIGNMENT, "correct"),
    ("bob", ASSIGNMENT, "untouched"),
    ("carol", ASSIGNMENT, "invalid_json"),
    ("dave", ASSIGNMENT, "tamper_numpy"),
]
PASSWORD = "grader-only-secret"  # in the grader's configuration, never in a kernel's environment


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(*command: str) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres_url():
    bin_dir = postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (apt-get install -y postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must install it (.ci/run does)")
        pytest.skip(message)
    data = Path(tempfile.mkdtemp(prefix="bpl-postgres-"))
    password_file = data / "password"
    password_file.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        shutil.chown(password_file, "postgres")
    cluster, port = data / "cluster", free_port()
    subprocess.run(as_postgres(str(bin_dir / "initdb"), "-D", str(cluster), "-U", "postgres", "-A", "scram-sha-256",
                               f"--pwfile={password_file}"), check=True, capture_output=True)
    server = subprocess.Popen(
        as_postgres(str(bin_dir / "postgres"), "-D", str(cluster), "-p", str(port), "-k", str(data),
                    "-c", "listen_addresses=127.0.0.1"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
        _wait_until_ready(url)
        _create_database(url, "gradebook")
        yield f"{url}/gradebook"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def _wait_until_ready(url: str, seconds: float = 60) -> None:
    import psycopg2

    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg2.connect(f"{url}/postgres").close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _create_database(url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(f"{url}/postgres")
    connection.autocommit = True
    connection.cursor().execute(f"CREATE DATABASE {name}")
    connection.close()


@pytest.fixture(scope="module")
def graded(postgres_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("pg") / "course"
    corpus.build_class(root, BATCH, db_url=postgres_url)
    summary = grade_class(root, workers=2, progress=False)
    return {"root": root, "summary": summary, "db_url": postgres_url}


def test_the_gradebook_is_postgres(graded):
    assert not (graded["root"] / "gradebook.db").exists()
    with Gradebook(graded["db_url"]) as gradebook:
        assert gradebook.db.bind.dialect.name == "postgresql"


def test_parallel_grades_land_in_postgres(graded):
    with Gradebook(graded["db_url"]) as gradebook:
        scores = {s.student.id: s.score for s in gradebook.find_assignment(ASSIGNMENT).submissions}
    assert scores == {"alice": test_points(ASSIGNMENT)[1], "bob": 0.0, "carol": 0.0, "dave": 0.0}
    assert [o.student_id for o in graded["summary"].failed] == ["carol"]


def test_export_from_postgres_has_the_status(graded):
    target = graded["root"] / "grades.csv"
    assert commands.run("nbgrader", ["export", f"--to={target}"], cwd=graded["root"]).returncode == 0
    rows = {r["student_id"]: r for r in csv.DictReader(target.open())}
    assert rows["carol"]["status"] == "not graded"
    assert rows["bob"]["status"] == "graded"
