"""Grade a whole class with nbgrader, in parallel on every core.

nbgrader's ``autograde`` is serial (upstream issues 174 and 1456) and pays its start-up for
every command. :func:`grade_class` runs nbgrader's own ``Autograde`` converter for one
(assignment, student) submission at a time in a pool of worker processes, each of which loads
nbgrader once. Every submission goes through exactly the code and configuration a serial
``nbgrader autograde`` would use, so the grades are the same; only the order differs. Students
are created in the gradebook before the workers start, so that no two workers race to create
the same row. SQLite (the default) and PostgreSQL (``db_url``) both work.

A submission that cannot be graded never stops the batch: it is reported with the reason
(a notebook that is not valid JSON, a kernel that died), and the grade export says so too.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import pipelines
from .course import SOURCE_DIR
from .grading import invalid_notebook_problem
from .misconceptions import ClassMistakes
from .misconceptions import collect as collect_mistakes
from .problems import Kind, Problem
from .problems import in_gradebook as problems_in_gradebook

SUBMITTED_DIR = "submitted"
#: Where nbgrader's full log of a submission that could not be graded is kept, in the course folder.
LOG_DIR = "grading-logs"


@dataclass(frozen=True)
class Outcome:
    """How grading one submission went."""

    assignment_id: str
    student_id: str
    seconds: float
    problems: tuple[Problem, ...] = ()
    log: str = ""  # where nbgrader's full log of a submission that could not be graded is kept

    @property
    def graded(self) -> bool:
        return not any(p.stops_grading for p in self.problems)

    @property
    def reason(self) -> str:
        """What went wrong, in sentences (empty when nothing did)."""
        return "; ".join(p.message for p in self.problems if p.flags)

    def record(self) -> dict:
        return {"assignment_id": self.assignment_id, "student_id": self.student_id, "graded": self.graded,
                "seconds": self.seconds, "reason": self.reason, "log": self.log,
                "problems": [p.record() for p in self.problems]}


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    #: How many students made each named mistake, per assignment and test (:mod:`autograder.misconceptions`).
    mistakes: ClassMistakes = field(default_factory=ClassMistakes)

    @property
    def graded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.graded]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.graded]

    def text(self) -> str:
        lines = [
            f"graded {len(self.graded)} of {len(self.outcomes)} submissions in {self.seconds:.1f} s "
            f"on {self.workers} worker{'s' if self.workers != 1 else ''}"
        ]
        noted = [o for o in self.graded if o.reason]
        if noted:
            lines.append(f"graded with a problem ({len(noted)}):")
            lines += [f"  {o.student_id} / {o.assignment_id}: {o.reason}" for o in noted]
        if self.failed:
            lines.append(f"could not be graded ({len(self.failed)}):")
            for o in self.failed:
                lines.append(f"  {o.student_id} / {o.assignment_id}: {o.reason}")
                if o.log:
                    lines.append(f"    nbgrader's full log: {o.log}")
        if self.graded:
            lines.append(self.mistakes.text())
        return "\n".join(lines)


def find_submissions(root: Path, assignments: Iterable[str] = (), students: Iterable[str] = ()) -> list[tuple]:
    """(assignment, student) of every folder ``submitted/<student>/<assignment>`` under ``root``."""
    wanted_assignments, wanted_students = set(assignments), set(students)
    found = []
    for folder in sorted((Path(root) / SUBMITTED_DIR).glob("*/*")):
        student, assignment = folder.parent.name, folder.name
        chosen_assignment = not wanted_assignments or assignment in wanted_assignments
        chosen_student = not wanted_students or student in wanted_students
        if folder.is_dir() and chosen_assignment and chosen_student:
            found.append((assignment, student))
    return found


def unreadable_notebooks(root: Path, assignment_id: str, folder: Path) -> list[Problem]:
    """Why the notebooks of a submitted ``folder`` cannot be graded, if they cannot."""
    found = sorted(folder.glob("*.ipynb"))
    expected = sorted(p.name for p in (Path(root) / SOURCE_DIR / assignment_id).glob("*.ipynb"))
    problems = [p for p in map(invalid_notebook_problem, found) if p is not None]
    if expected and not {p.name for p in found} & set(expected):
        problems.append(Problem.wrong_notebook([p.name for p in found], " and ".join(expected)))
    return problems


# --- one worker -------------------------------------------------------------------------

_worker_api = None


def _start_worker(root: str, db_url: str | None, overrides: dict) -> None:
    global _worker_api
    _quiet_library_warnings()
    config = pipelines.load_course_config(Path(root), db_url)
    for section, values in overrides.items():
        for name, value in values.items():
            setattr(config[section], name, value)
    _worker_api = pipelines.nbgrader_api(config)


def _quiet_library_warnings() -> None:
    """nbgrader's own SQLAlchemy and nbformat warnings say nothing about the submissions."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    warnings.filterwarnings("ignore", message="Cell is missing an id field")


def _grade_one(assignment_id: str, student_id: str, root: str) -> Outcome:
    started = time.perf_counter()
    folder = Path(root) / SUBMITTED_DIR / student_id / assignment_id
    unreadable = unreadable_notebooks(Path(root), assignment_id, folder)
    result = _worker_api.autograde(assignment_id, student_id, force=True, create=True)
    seconds = time.perf_counter() - started
    problems = list(unreadable)
    if not result.get("success") and not unreadable:
        problems.append(Problem.of(Kind.AUTOGRADE_FAILED, reason=_last_error(result)))
    log = _keep_log(Path(root), assignment_id, student_id, result) if problems else ""
    return Outcome(assignment_id, student_id, seconds, tuple(problems), log)


def _keep_log(root: Path, assignment_id: str, student_id: str, result: dict) -> str:
    path = root / LOG_DIR / assignment_id / f"{student_id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((result.get("log") or "") + (result.get("error") or ""))
    return str(path)


def _last_error(result: dict) -> str:
    text = result.get("error") or result.get("log") or "autograde failed"
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "ERROR" in line]
    return (errors or lines or ["autograde failed"])[-1].strip()[:300]


# --- the class --------------------------------------------------------------------------


def _create_students(db_url: str, students: set[str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        for student in sorted(students):
            gradebook.update_or_create_student(student)


def _worker_context():
    """Workers forked from a server that only imported the grader: a process that has run torch (the
    judge computes a hidden test's expected values with it) cannot be forked safely, as torch's
    OpenMP threads do not survive a fork and the child hangs in its first parallel operation."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def grade_class(
    root: Path,
    assignments: Iterable[str] = (),
    students: Iterable[str] = (),
    workers: int | None = None,
    db_url: str | None = None,
    progress: bool = True,
    overrides: dict | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> Summary:
    """Autograde every submission under ``root/submitted`` with nbgrader, ``workers`` at a time.

    ``overrides`` maps configuration sections to traits (``{"HardenedExecute": {"timeout": 5}}``).
    """
    root = Path(root).resolve()
    db_url = pipelines.load_course_config(root, db_url).CourseDirectory.db_url
    jobs = find_submissions(root, assignments, students)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    summary = Summary(workers=workers)
    if not jobs:
        return summary
    _create_students(db_url, {student for _, student in jobs})
    started = time.perf_counter()
    context = _worker_context()
    bar = _progress_bar(len(jobs), progress)
    with ProcessPoolExecutor(workers, context, _start_worker, (str(root), db_url, overrides or {})) as pool:
        futures = [pool.submit(_grade_one, assignment, student, str(root)) for assignment, student in jobs]
        for future in as_completed(futures):
            outcome = future.result()
            summary.outcomes.append(outcome)
            bar.update(1)
            if on_done:
                on_done(outcome)
    bar.close()
    summary.seconds = time.perf_counter() - started
    stored = problems_in_gradebook(db_url)
    summary.outcomes = sorted(
        (replace(o, problems=o.problems + tuple(stored.get((o.assignment_id, o.student_id), ())))
         for o in summary.outcomes),
        key=lambda o: (o.assignment_id, o.student_id),
    )
    summary.mistakes = collect_mistakes(root, [(o.assignment_id, o.student_id) for o in summary.graded])
    return summary


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, shown: bool):
    if not shown:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="notebook", desc="autograding", dynamic_ncols=True)
