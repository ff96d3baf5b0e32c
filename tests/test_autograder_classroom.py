"""A whole class graded with the real nbgrader: every assignment's solution autogrades to full
marks; every kind of the parity corpus (edited, broken and
hostile submissions) gets its right grade; our parallel grader gives exactly the grades of
serial ``nbgrader autograde``; the learner's self-check gives exactly nbgrader's per-test
grades; the export tells "could not be graded" from a real zero and says why; and student code
cannot reach the gradebook or other students' work. One class, graded once for the module."""

from __future__ import annotations

import ast
import csv
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import commands
import corpus
import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import cells, course
from autograder.checks import MISTAKE_MIME
from autograder.classroom import grade_class
from autograder.grading import grade_notebook
from autograder.problems import Kind

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"
OTHER = next((a for a in course.assignment_ids() if a != ASSIGNMENT), None)
KINDS = [kind for kind in corpus.KINDS if kind != "correct"]
#: The corpus on one assignment, graded serially by plain nbgrader too.
SERIAL_BATCH = (
    [("correct", ASSIGNMENT, "correct")]
    + [(kind, ASSIGNMENT, kind) for kind in KINDS]
    + [("snoop", ASSIGNMENT, "snoop"), ("renamed", ASSIGNMENT, "renamed")]
)
#: ... a second student with the same known mistakes (the misconception counts), and every other
#: assignment's solution through nbgrader. (Each step's untouched exercise grades to zero in
#: tests/test_notebooks.py, in this process: the kernel grades it the same, each step's kernel
#: test shows; restored test cells are the corpus's, on ASSIGNMENT.)
BATCH = SERIAL_BATCH + [("named_mistakes_too", ASSIGNMENT, "named_mistakes")] + [
    ("correct", assignment_id, "correct") for assignment_id in course.assignment_ids() if assignment_id != ASSIGNMENT
]
#: Short limits keep the infinite loop cheap: the first timed-out cell waits `timeout`, later ones 2 s.
CONFIG_LINES = (
    "c.HardenedExecute.timeout = 8",
    "c.HardenedExecute.timeout_after_timeout = 2",
    "c.HardenedExecute.submission_timeout = 40",
)


def _world_readable_dir(prefix: str) -> Path:
    """A folder any user could enter, like a careless instructor's: the grader must lock it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def _scores(db_url: str) -> dict[tuple[str, str], dict[str, float | None]]:
    """(assignment, student) -> {grade cell: auto score}, for every submission."""
    with Gradebook(db_url) as gradebook:
        return {
            (assignment.name, submission.student.id): {
                grade.name: grade.auto_score for notebook in submission.notebooks for grade in notebook.grades
            }
            for assignment in gradebook.assignments
            for submission in assignment.submissions
        }


def _build(folder: Path, batch) -> Path:
    root = folder / "course"
    corpus.build_class(root, batch, exchange=folder / "exchange", config_lines=CONFIG_LINES)
    root.chmod(0o755)  # as lax as it gets: the grader itself has to protect the course
    return root


@pytest.fixture(scope="module")
def graded_classes():
    """The same batch graded twice: by our parallel grader and by serial `nbgrader autograde`."""
    parallel_dir, serial_dir = _world_readable_dir("bpl-parallel-"), _world_readable_dir("bpl-serial-")
    try:
        parallel_root, serial_root = _build(parallel_dir, BATCH), _build(serial_dir, SERIAL_BATCH)
        summary = grade_class(parallel_root, workers=2, progress=False)
        # Serial nbgrader grades 01 alone (cells of milliseconds) while this process makes the
        # learners' checks that need a sandboxed kernel: each waits out an infinite loop's time
        # limit, and both would otherwise wait alone.
        with ThreadPoolExecutor(1) as serial:
            serial_run = serial.submit(commands.run, "nbgrader", ["autograde", ASSIGNMENT, "--force"], cwd=serial_root)
            kernel_checks = {(student, assignment_id): _self_check(parallel_root, student, assignment_id, kind)
                             for student, assignment_id, kind in BATCH if kind not in corpus.BENIGN}
            serial_run.result()
        db = "sqlite:///{}/gradebook.db"
        yield {
            "summary": summary,
            "parallel": _scores(db.format(parallel_root)),
            "serial": _scores(db.format(serial_root)),
            "root": parallel_root,
            "kernel_checks": kernel_checks,
        }
    finally:
        shutil.rmtree(parallel_dir, ignore_errors=True)
        shutil.rmtree(serial_dir, ignore_errors=True)


def _self_check(root: Path, student: str, assignment_id: str, kind: str):
    """The learner's check of a submission, with the class's time limits (or what it raised)."""
    submitted = next((root / "submitted" / student / assignment_id).glob("*.ipynb"))
    try:
        return grade_notebook(submitted, course.source_notebook(assignment_id), student=student,
                              in_process=kind in corpus.BENIGN, cell_timeout=8, submission_timeout=40,
                              timeout_after_timeout=2)
    except Exception as error:  # noqa: BLE001 - raised again by the test of this submission
        return error


def test_parallel_grades_equal_serial_nbgrader_autograde(graded_classes):
    parallel, serial = graded_classes["parallel"], graded_classes["serial"]
    assert set(parallel) == {(a, s) for s, a, _ in BATCH}
    assert {key: parallel[key] for key in serial} == serial
    assert set(serial) == {(a, s) for s, a, _ in SERIAL_BATCH}


def test_the_gradebook_holds_the_masters_cells(graded_classes):
    """nbgrader restores cells from the gradebook, the self-check from source/: the same cells."""
    with Gradebook(f"sqlite:///{graded_classes['root']}/gradebook.db") as gradebook:
        for assignment_id in course.assignment_ids():
            from_notebook = cells.master_from_notebook(course.source_notebook(assignment_id))
            order = [cell.grade_id for cell in from_notebook]
            from_gradebook = cells.master_from_gradebook(gradebook, assignment_id, assignment_id, order)
            # An answer cell's source is the instructor's in source/ and the stub in the gradebook:
            # the rule never uses it (a learner's answer is always the learner's).
            assert [_shown(c) for c in from_gradebook] == [_shown(c) for c in from_notebook]


def _shown(cell: cells.MasterCell) -> tuple:
    return (cell.grade_id, cell.cell_type, cell.locked, cell.solution, cell.points, cell.protected and cell.source)


@pytest.mark.parametrize(("student", "assignment_id", "kind"), BATCH, ids=[f"{s}-{a}" for s, a, _ in BATCH])
def test_self_check_gives_the_instructors_grades(graded_classes, student, assignment_id, kind):
    """What a learner's check reports is what nbgrader gives them, test by test."""
    # The suite's benign kinds run in this process (the kernel grades them the same: each step's
    # kernel test); loops, exits, tampering and snooping ran in the real sandboxed kernel, in the fixture.
    report = graded_classes["kernel_checks"].get((student, assignment_id))
    if report is None:
        report = _self_check(graded_classes["root"], student, assignment_id, kind)
    if isinstance(report, Exception):
        raise report
    by_nbgrader = graded_classes["parallel"][(assignment_id, student)]
    if kind == "invalid_json":
        assert report.error and "not a valid notebook" in report.error
        assert set(by_nbgrader.values()) == {None}
    elif kind == "renamed":  # nbgrader skips a notebook it does not know; the self-check is told the file
        assert set(by_nbgrader.values()) == {None}
    else:
        assert {r.grade_id: r.points for r in report.results} == by_nbgrader


def _total(scores: dict[str, float | None]) -> float | None:
    values = [v for v in scores.values() if v is not None]
    return sum(values) if values else None


@pytest.mark.parametrize(("student", "assignment_id", "kind"), BATCH, ids=[f"{s}-{a}" for s, a, _ in BATCH])
def test_every_submission_gets_its_right_grade(graded_classes, student, assignment_id, kind):
    scores = graded_classes["parallel"][(assignment_id, student)]
    total, maximum = _total(scores), _max_score(assignment_id)
    expected = {"snoop": "full", "renamed": "ungraded"}.get(kind) or corpus.EXPECTED[kind]
    if expected == "full":
        assert total == maximum, scores
    elif expected == "zero":
        assert total == 0, scores
    elif expected == "partial":
        assert total is not None and 0 < total < maximum, scores
    else:  # ungraded: an unreadable or renamed notebook has no scores
        assert total is None, scores


def _max_score(assignment_id: str) -> float:
    notebook = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    return sum(
        float(c.metadata["nbgrader"]["points"]) for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    )


def test_the_batch_never_stops_and_the_summary_says_why(graded_classes):
    summary = graded_classes["summary"]
    assert len(summary.outcomes) == len(BATCH)
    failed = {o.student_id: o for o in summary.failed}
    assert set(failed) == {"invalid_json", "renamed"}
    assert [p.kind for p in failed["invalid_json"].problems] == [Kind.INVALID_NOTEBOOK]
    assert "renamed" in failed["renamed"].reason and f"expected {ASSIGNMENT}.ipynb" in failed["renamed"].reason
    assert Path(failed["renamed"].log).is_file()  # nbgrader's own log, where the summary says
    kinds = {(o.assignment_id, o.student_id): {p.kind for p in o.problems} for o in summary.graded}
    expected = {"os_exit": {Kind.KERNEL_DIED}, "infinite_loop": {Kind.TIMEOUT}, "correct": set(),
                "duplicated_answer": {Kind.DUPLICATE_ANSWER}, "fake_points": {Kind.UNKNOWN_CELL},
                "lost_metadata": {Kind.RECOVERED_ANSWER}, "readded_tests": set(),
                "tamper_numpy": set()}  # the tests run in the judge: such a cell runs, and gains nothing
    for student, problem_kinds in expected.items():
        assert kinds[(ASSIGNMENT, student)] == problem_kinds, student
    text = summary.text()
    assert "could not be graded (2)" in text and "nbgrader's full log" in text
    assert "two cells share the grade id compose_derivative" in text


def test_export_tells_could_not_be_graded_from_a_real_zero(graded_classes):
    root = graded_classes["root"]
    target = root / "grades.csv"
    assert commands.run("nbgrader", ["export", f"--to={target}"], cwd=root).returncode == 0
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(target.open())}
    untouched = rows[(ASSIGNMENT, "untouched")]
    assert (untouched["status"], float(untouched["score"])) == ("graded", 0.0)
    invalid = rows[(ASSIGNMENT, "invalid_json")]
    assert invalid["status"] == "not graded"
    assert "not a valid notebook" in invalid["reason"]
    renamed = rows[(ASSIGNMENT, "renamed")]
    assert renamed["status"] == "not graded" and "renamed" in renamed["reason"]
    died = rows[(ASSIGNMENT, "os_exit")]  # a kernel that dies keeps the grade it earned, and says so
    assert died["status"] == "graded" and "kernel died" in died["reason"]
    assert rows[(ASSIGNMENT, "infinite_loop")]["status"] == "graded"
    assert "ran longer than 8 s" in rows[(ASSIGNMENT, "infinite_loop")]["reason"]
    fake = rows[(ASSIGNMENT, "fake_points")]
    assert (fake["status"], float(fake["score"]), float(fake["max_score"])) == ("graded", 0.0, _max_score(ASSIGNMENT))
    assert "claims 100 points" in fake["reason"]
    if OTHER:  # a student enrolled in the gradebook who never submitted OTHER
        assert rows[(OTHER, "os_exit")]["status"] == "not submitted"


def test_an_infinite_loop_costs_the_time_limit_once(graded_classes):
    """Two test cells call the looping function: the first waits the full limit, the second 2 s."""
    path = graded_classes["root"] / "autograded" / "infinite_loop" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    stopped = [o.evalue for c in notebook.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "error" and o.ename == "CellTimeoutError"]
    assert [message.split(" s ")[0] for message in stopped] == ["not finished after 8", "not finished after 2"]


def test_huge_outputs_are_cut_short(graded_classes):
    path = graded_classes["root"] / "autograded" / "huge_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 1_000_000  # the submission printed 2 MB
    assert "output truncated by the grader" in path.read_text()


def _snoop_results(root: Path) -> dict[str, str]:
    notebook = nbformat.read(root / "autograded" / "snoop" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    line = next(line for line in text.splitlines() if line.startswith("SNOOP"))
    return ast.literal_eval(line.removeprefix("SNOOP "))


@pytest.mark.skipif(os.geteuid() != 0, reason="the kernel runs as a throwaway user only when grading as root")
def test_student_code_cannot_read_other_work_or_change_the_gradebook(graded_classes):
    results = _snoop_results(graded_classes["root"])
    assert results and all(value.startswith("denied") for value in results.values()), results
    assert all(score != 99 for scores in graded_classes["parallel"].values() for score in scores.values())
    with Gradebook(f"sqlite:///{graded_classes['root']}/gradebook.db") as gradebook:
        manual = [g.manual_score for s in gradebook.assignments for sub in s.submissions for n in sub.notebooks
                  for g in n.grades]
    assert 99 not in manual


# --- every assignment: its solution ----------------------------------------------------------


@pytest.mark.parametrize("assignment_id", course.assignment_ids())
def test_solution_autogrades_to_full_marks(graded_classes, assignment_id):
    solved = _total(graded_classes["parallel"][(assignment_id, "correct")])
    assert solved == _max_score(assignment_id) > 0


# --- the class's misconceptions -------------------------------------------------------------


def test_the_summary_counts_each_named_mistake_per_test(graded_classes):
    """Two students made the known mistakes of corpus.NAMED_MISTAKES; nobody else named any of them."""
    counts = graded_classes["summary"].mistakes.students
    for test, key in corpus.NAMED_MISTAKE_KEYS[ASSIGNMENT].items():
        assert counts[(ASSIGNMENT, test, key)] == {"named_mistakes", "named_mistakes_too"}, (test, key)
    text = graded_classes["summary"].text()
    assert "2 students  01_chain_rule / test_dh_dx: you forgot the inner derivative du/dx = 2x" in text
    assert "taught in lessons/01_chain_rule.ipynb#2.-The-chain-rule-for-one-variable" in text


def test_a_named_mistakes_record_is_data_the_learner_never_sees(graded_classes):
    """The record rides in the test cell's outputs as an empty display record: nothing of it shows
    in the autograded notebook that feedback is made from (a stdout line did)."""
    path = graded_classes["root"] / "autograded" / "named_mistakes" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    test = next(c for c in nbformat.read(path, as_version=4).cells if cells.grade_id(c) == "test_dh_dx")
    shown = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in test.outputs]
    assert not any("named mistake" in text or '"key"' in text for text in shown), shown
    assert [o.data[MISTAKE_MIME]["key"] for o in test.outputs if MISTAKE_MIME in o.get("data", {})] == [
        corpus.NAMED_MISTAKE_KEYS[ASSIGNMENT]["test_dh_dx"]]


def test_the_export_and_the_html_report_show_the_misconceptions(graded_classes, tmp_path):
    from autograder.export import mistakes_path
    from autograder.misconceptions import write_html

    root = graded_classes["root"]
    target = tmp_path / "grades.csv"
    assert commands.run("nbgrader", ["export", f"--to={target}"], cwd=root).returncode == 0
    rows = list(csv.DictReader(mistakes_path(target).open()))
    by_test = {(r["assignment"], r["test"], r["mistake"]): r for r in rows}
    dh_dx = by_test[(ASSIGNMENT, "test_dh_dx", "you forgot the inner derivative du/dx = 2x")]
    assert dh_dx["students"] == "2" and dh_dx["lesson_section"].startswith("lessons/01_chain_rule.ipynb#")
    assert any(r["test"] == "test_dz_dt" and "constant factor" in r["mistake"] for r in rows)
    page = write_html(graded_classes["summary"].mistakes, tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and "you forgot the inner derivative du/dx = 2x" in page
    assert "lessons/01_chain_rule.ipynb#4.-Two-paths:-the-multivariable-chain-rule" in page
