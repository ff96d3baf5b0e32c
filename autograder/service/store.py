"""The grading service's queue and the instructor's log: one SQLite table in the service's state folder.

A check is *acknowledged* when its row is committed; the learner gets its id only then. A
restart puts every check that was being graded back in the queue (:meth:`Store.recover`), so
nothing acknowledged is lost. The queue is fair: the next check graded belongs to the learner
who was served least recently (round robin by learner), so one learner's flood waits behind
everyone else's first check. Each learner may ask for ``checks_per_hour`` checks in any hour.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .config import MAX_ATTEMPTS

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id TEXT PRIMARY KEY,
    learner TEXT NOT NULL,
    assignment TEXT NOT NULL,
    created REAL NOT NULL,
    state TEXT NOT NULL,            -- queued, running, done, failed
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    finished REAL,
    score REAL,
    max_score REAL,
    report TEXT,                    -- what the learner sees (autograder.service.report), JSON
    notebook BLOB                   -- the learner's notebook, dropped once it is graded
);
CREATE INDEX IF NOT EXISTS checks_state ON checks (state);
CREATE INDEX IF NOT EXISTS checks_learner ON checks (learner, created);
"""
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: Seconds a check is assumed to take before any has been timed.
DEFAULT_SECONDS = 3.0


class CapReached(Exception):
    """The learner has used their checks for this hour."""

    def __init__(self, cap: int, next_allowed: float) -> None:
        self.cap, self.next_allowed = cap, next_allowed
        when = time.strftime("%H:%M:%S", time.localtime(next_allowed))
        wait = max(1, round((next_allowed - time.time()) / 60))
        super().__init__(f"You have used your {cap} checks for this hour. Your next check is allowed at {when} "
                         f"(in about {wait} min). Your notebook is unchanged, and nothing was submitted.")


@dataclass
class Job:
    id: str
    learner: str
    assignment: str
    attempts: int
    notebook: bytes


class Store:
    """The queue and log; safe to use from several threads of one process."""

    def __init__(self, path: Path, checks_per_hour: int) -> None:
        self.path, self.checks_per_hour = Path(path), checks_per_hour
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged check survives a power cut
            self._db.executescript(SCHEMA)
        self.path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- learners ---------------------------------------------------------------------------

    def submit(self, learner: str, assignment: str, notebook: bytes, now: float | None = None) -> str:
        """Queue a check; its id once it is committed. Raises :class:`CapReached`."""
        now = time.time() if now is None else now
        check_id = secrets.token_urlsafe(16)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                recent = [row[0] for row in self._db.execute(
                    "SELECT created FROM checks WHERE learner = ? AND created > ? ORDER BY created",
                    (learner, now - 3600))]
                if len(recent) >= self.checks_per_hour:
                    raise CapReached(self.checks_per_hour, recent[len(recent) - self.checks_per_hour] + 3600)
                self._db.execute("INSERT INTO checks (id, learner, assignment, created, state, notebook) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (check_id, learner, assignment, now, QUEUED, notebook))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return check_id

    def checks_left(self, learner: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        (count,) = self._read("SELECT count(*) FROM checks WHERE learner = ? AND created > ?",
                              (learner, now - 3600))[0]
        return max(0, self.checks_per_hour - count)

    def get(self, check_id: str, learner: str) -> dict | None:
        """The check ``check_id`` if it is ``learner``'s, else None (nobody sees another's checks)."""
        rows = self._read("SELECT id, learner, assignment, created, state, attempts, score, max_score, report "
                          "FROM checks WHERE id = ? AND learner = ?", (check_id, learner))
        if not rows:
            return None
        row = dict(rows[0])
        row["report"] = json.loads(row["report"]) if row["report"] else None
        return row

    # --- the fair queue ---------------------------------------------------------------------

    def fair_order(self) -> list[str]:
        """Queued check ids in the order they will be graded: round robin over learners, the learner
        served least recently first, each learner's own checks oldest first."""
        with self._lock:
            queued = self._db.execute("SELECT id, learner, created FROM checks WHERE state = ? ORDER BY created",
                                      (QUEUED,)).fetchall()
            served = dict(self._db.execute("SELECT learner, max(started) FROM checks WHERE started IS NOT NULL "
                                           "GROUP BY learner").fetchall())
        first_queued, rank, keyed = {}, {}, []
        for row in queued:
            first_queued.setdefault(row["learner"], row["created"])
        for row in queued:
            learner = row["learner"]
            rank[learner] = rank.get(learner, -1) + 1
            keyed.append(((rank[learner], served.get(learner) or 0.0, first_queued[learner], learner), row["id"]))
        return [check_id for _, check_id in sorted(keyed)]

    def claim(self, now: float | None = None) -> Job | None:
        """The next check to grade, marked running (None when the queue is empty)."""
        now = time.time() if now is None else now
        for check_id in self.fair_order():
            with self._lock:
                updated = self._db.execute("UPDATE checks SET state = ?, started = ?, attempts = attempts + 1 "
                                           "WHERE id = ? AND state = ?", (RUNNING, now, check_id, QUEUED)).rowcount
                if updated:
                    row = self._db.execute("SELECT id, learner, assignment, attempts, notebook FROM checks "
                                           "WHERE id = ?", (check_id,)).fetchone()
                    return Job(row["id"], row["learner"], row["assignment"], row["attempts"], bytes(row["notebook"]))
        return None

    def position(self, check_id: str) -> int | None:
        """How many queued checks will be graded before this one (None once it is no longer queued)."""
        order = self.fair_order()
        return order.index(check_id) if check_id in order else None

    def seconds_per_check(self) -> float:
        rows = self._read("SELECT finished - started FROM checks WHERE state = ? AND finished IS NOT NULL "
                          "ORDER BY finished DESC LIMIT 20", (DONE,))
        return sum(r[0] for r in rows) / len(rows) if rows else DEFAULT_SECONDS

    # --- workers ----------------------------------------------------------------------------

    def finish(self, check_id: str, report: dict, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._write("UPDATE checks SET state = ?, finished = ?, score = ?, max_score = ?, report = ?, notebook = NULL "
                    "WHERE id = ?", (DONE, now, report.get("score"), report.get("max_score"), json.dumps(report),
                                     check_id))

    def fail(self, check_id: str, message: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        report = {"error": message, "tests": [], "notes": [], "score": None, "max_score": None}
        self._write("UPDATE checks SET state = ?, finished = ?, report = ?, notebook = NULL WHERE id = ?",
                    (FAILED, now, json.dumps(report), check_id))

    def retry_or_fail(self, check_id: str, why: str) -> str:
        """A worker died grading ``check_id``: queue it again, or answer with an error after
        :data:`MAX_ATTEMPTS` tries. Returns the check's new state."""
        (attempts,) = self._read("SELECT attempts FROM checks WHERE id = ?", (check_id,))[0]
        if attempts < MAX_ATTEMPTS:
            # Back at its place: a retried check does not wait behind its learner's turn again.
            self._write("UPDATE checks SET state = ?, started = NULL WHERE id = ? AND state = ?",
                        (QUEUED, check_id, RUNNING))
            return QUEUED
        self.fail(check_id, f"The grader stopped while checking this notebook ({why}), {attempts} times: it was not "
                            "graded. Your notebook is unchanged; try again later, or ask your instructor.")
        return FAILED

    def recover(self) -> int:
        """At start-up: the checks a stopped service was grading go back to the queue (or fail after
        :data:`MAX_ATTEMPTS` tries). Returns how many were found."""
        running = [row[0] for row in self._read("SELECT id FROM checks WHERE state = ?", (RUNNING,))]
        for check_id in running:
            self.retry_or_fail(check_id, "the service restarted")
        return len(running)

    def counts(self) -> dict[str, int]:
        return {state: count for state, count in self._read("SELECT state, count(*) FROM checks GROUP BY state")}

    # --- the instructor's log -----------------------------------------------------------------

    def log(self, since: float = 0.0, learner: str | None = None) -> list[dict]:
        """Every check since ``since``: who, when, which assignment, its state and score."""
        sql = ("SELECT learner, assignment, created, started, finished, state, attempts, score, max_score "
               "FROM checks WHERE created >= ?")
        args: tuple = (since,)
        if learner:
            sql, args = sql + " AND learner = ?", (*args, learner)
        return [dict(row) for row in self._read(sql + " ORDER BY created", args)]
