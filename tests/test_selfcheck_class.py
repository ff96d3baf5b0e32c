"""The check cell in a class: the student's environment has the released exercise (nbgrader's
exchange) and the course's package, but not the instructor masters (``source/``).

There the check grades with the visible tests of the exercise as released (never with the test
cells of the learner's own copy, which the learner can edit), says that the hidden tests run
when the instructor grades, and never shows a traceback. The course folder these tests build
is a stand-in for what hub/classroom.py installs; tests/hub/ runs the real thing on a hub.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from grading_support import test_points

from autograder import cells, course, selfcheck

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
