"""The instructor workflow of docs/instructors.md, end to end with the real nbgrader exchange
on one machine: generate, release, fetch and submit for several students, collect, autograde
(our parallel grader), generate and release feedback, fetch feedback, export grades.

As root every "student" has the same uid: submit needs --student, collect needs
--ExchangeCollect.check_owner=False (both are in the documented workflow)."""

from __future__ import annotations

import csv
import html
import re
import subprocess
from pathlib import Path

import commands
import corpus
import nbformat
import pytest
from grading_support import test_points

from autograder import course

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"
WRONG_DH_DX = "def dh_dx(x):\n    return 3 * (x**2 + 1) ** 2\n"  # forgot the inner derivative
#: A line of the hidden test of dh_dx: it must never reach a student.
HIDDEN_LINE = 'f"dh_dx(x) for x of shape {shape}"'


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """An nbgrader command run by whoever owns ``cwd``: each has their own Jupyter folders.

    nbgrader remembers submissions in the Jupyter data folder; sharing one (every student is
    root here) would hand each student everyone's feedback.
    """
    jupyter = {"JUPYTER_CONFIG_DIR": str(cwd / ".jupyter"), "JUPYTER_DATA_DIR": str(cwd / ".jupyter-data")}
    return commands.run("nbgrader", args, cwd=cwd, env=jupyter)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def student_answer(student: str, fetched: Path) -> None:
    """What each student hands in, written over the notebook they fetched."""
    if student == "alice":
        nbformat.write(corpus.submission("correct", ASSIGNMENT), fetched)
    elif student == "bob":
        notebook = corpus.submission("correct", ASSIGNMENT)
        cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "dh_dx")
        cell.source = WRONG_DH_DX
        nbformat.write(notebook, fetched)
    elif student == "dave":  # a right answer that prints every cell the kernel has seen, hidden tests too
        notebook = corpus.submission("correct", ASSIGNMENT)
        cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "dh_dx")
        cell.source = LEAKING_DH_DX
        nbformat.write(notebook, fetched)
    elif student == "erin":  # her own notes quote the hidden-test markers
        notebook = corpus.submission("correct", ASSIGNMENT)
        notebook.cells.insert(3, nbformat.v4.new_code_cell("# ### BEGIN HIDDEN TESTS\n# ### END HIDDEN TESTS\n"))
        nbformat.write(notebook, fetched)
    else:  # carol's laptop crashed while saving
        fetched.write_text(fetched.read_text()[:500])


LEAKING_DH_DX = """import linecache


def dh_dx(x):
    for lines in list(linecache.cache.values()):
        print("".join(lines[2]))
    return 6 * x * (x**2 + 1) ** 2
"""
STUDENTS = ("alice", "bob", "carol", "dave", "erin")


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    base = tmp_path_factory.mktemp("workflow")
    instructor, exchange = base / "course", base / "exchange"
    ok(commands.run("autograder", ["init-course", str(instructor), "--exchange", str(exchange)], cwd=base))
    ok(nbgrader("generate_assignment", ASSIGNMENT, cwd=instructor))
    ok(nbgrader("release_assignment", ASSIGNMENT, cwd=instructor))
    student_flags = ["--course", course.COURSE_ID, f"--Exchange.root={exchange}"]
    homes = {}
    for student in STUDENTS:
        home = homes[student] = base / student
        home.mkdir()
        ok(nbgrader("fetch_assignment", ASSIGNMENT, *student_flags, cwd=home))
        student_answer(student, home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        ok(nbgrader("submit", ASSIGNMENT, *student_flags, f"--student={student}", cwd=home))
    ok(nbgrader("collect", ASSIGNMENT, "--ExchangeCollect.check_owner=False", cwd=instructor))
    grading = commands.run("autograder", ["grade", ASSIGNMENT, "--workers=2"], cwd=instructor)
    ok(nbgrader("generate_feedback", ASSIGNMENT, cwd=instructor))
    ok(nbgrader("release_feedback", ASSIGNMENT, cwd=instructor))
    for student in STUDENTS:
        ok(nbgrader("fetch_feedback", ASSIGNMENT, *student_flags, f"--student={student}", cwd=homes[student]))
    ok(nbgrader("export", "--to=grades.csv", cwd=instructor))
    return {"instructor": instructor, "homes": homes, "grading": grading}


def fetched_feedback(home: Path) -> list[Path]:
    return sorted((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))


def test_grading_summary_names_the_submission_that_could_not_be_graded(workflow):
    grading = workflow["grading"]
    assert grading.returncode == 1  # not every submission could be graded
    assert "graded 4 of 5 submissions" in grading.stdout
    assert "carol / 01_chain_rule: 01_chain_rule.ipynb is not a valid notebook" in grading.stdout


def test_every_student_who_handed_in_a_notebook_fetches_feedback(workflow):
    assert fetched_feedback(workflow["homes"]["alice"])
    assert fetched_feedback(workflow["homes"]["bob"])
    assert not fetched_feedback(workflow["homes"]["carol"])  # nothing was graded, nothing to show


def page_text(path: Path) -> str:
    """What a student reads on an HTML page: tags (ANSI colour spans too) removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_feedback_says_what_failed_and_why_without_hidden_test_code(workflow):
    text = page_text(fetched_feedback(workflow["homes"]["bob"])[0])
    assert HIDDEN_LINE not in text
    assert "BEGIN HIDDEN TESTS" not in text and "fresh_rng()" not in text
    assert "you forgot the inner derivative du/dx = 2x" in text  # the hidden test's message
    assert "a hidden test: its code and traceback are not shown" in text


def test_printing_the_hidden_tests_from_a_graded_answer_shows_nothing_of_them(workflow):
    text = page_text(fetched_feedback(workflow["homes"]["dave"])[0])
    assert "linecache.cache" in text  # the printing did happen (his own cell is in the output)
    assert HIDDEN_LINE not in text and "fresh_rng()" not in text
    # The hidden tests ran in the grader's process: the kernel never held a line of one to print.
    assert "a line of a hidden test was removed" not in text


def test_a_learner_quoting_the_hidden_markers_still_gets_feedback(workflow):
    assert fetched_feedback(workflow["homes"]["erin"])


def test_export_has_every_student_with_a_status(workflow):
    rows = {r["student_id"]: r for r in csv.DictReader((workflow["instructor"] / "grades.csv").open())}
    assert (rows["alice"]["status"], float(rows["alice"]["score"])) == ("graded", test_points(ASSIGNMENT)[1])
    assert rows["bob"]["status"] == "graded" and 0 < float(rows["bob"]["score"]) < test_points(ASSIGNMENT)[1]
    assert rows["carol"]["status"] == "not graded"
    assert "not a valid notebook" in rows["carol"]["reason"]


def test_the_course_folder_is_private_to_the_instructor(workflow):
    assert workflow["instructor"].stat().st_mode & 0o077 == 0
