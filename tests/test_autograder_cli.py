"""The learner's side: `python -m autograder check` and `fresh`, and the notebook's last cell."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import commands
import nbformat
import pytest
from grading_support import test_points

from autograder import cli, course, selfcheck
from autograder.grading import Report, TestResult

ASSIGNMENT = "01_chain_rule"
MAX = test_points(ASSIGNMENT)[1]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` (tests/commands.py: its own process, without the imports' start-up)."""
    return commands.run("autograder", args, cwd=cwd or Path.cwd())


@pytest.fixture
def learner_copy(tmp_path: Path):
    """Where a learner keeps an exercise: a folder of their own, the notebook under its own name."""

    def copy(notebook: Path) -> Path:
        target = tmp_path / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(notebook, target)
        return target

    return copy


@pytest.mark.slow
def test_check_a_solved_exercise_passes_quietly(learner_copy):
    notebook = learner_copy(course.solution_notebook(ASSIGNMENT))
    before = notebook.read_bytes()
    result = run_cli("check", str(notebook))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  2/2  test_dh_dx_hidden" in result.stdout
    assert f"Score: {MAX:g} / {MAX:g}" in result.stdout
    assert result.stderr == ""  # no kernel chatter ("Kernel is running over TCP ...")
    assert notebook.read_bytes() == before  # graded on a copy


@pytest.mark.slow
def test_check_json_reports_every_test_with_its_message(learner_copy):
    notebook = learner_copy(course.exercise_notebook(ASSIGNMENT))
    result = run_cli("check", "--json", str(notebook))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["full_marks"] is False and report["score"] == 0 and report["max_score"] == MAX
    tests = report["notebooks"][0]["tests"]
    assert {t["grade_id"] for t in tests} >= {"test_dh_dx", "test_dh_dx_hidden"}
    assert all(not t["passed"] and "not implemented yet" in t["message"] for t in tests)


def test_check_a_missing_notebook_is_a_clear_error(tmp_path):
    result = run_cli("check", str(tmp_path / "01_chain_rule.ipynb"))
    assert result.returncode == 2
    assert "01_chain_rule.ipynb does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_a_notebook_that_is_not_an_exercise_is_a_clear_error(tmp_path):
    notebook = tmp_path / "my_notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    result = run_cli("check", str(notebook))
    assert result.returncode == 2
    assert "not one of the course's exercises" in result.stderr


def test_check_an_invalid_notebook_says_it_could_not_be_graded(learner_copy, tmp_path):
    notebook = learner_copy(course.exercise_notebook(ASSIGNMENT))
    notebook.write_text(notebook.read_text()[:300])
    result = run_cli("check", str(notebook))
    assert result.returncode == 1
    assert "could not be graded" in result.stdout and "not a valid notebook" in result.stdout


def test_check_all_grades_every_exercise_with_a_progress_line(monkeypatch, capsys):
    graded = []

    def fake_grade(notebook, master, **options):  # the plumbing only: grading itself is tested above
        graded.append(Path(notebook).stem)
        return Report(str(notebook), [TestResult("test_x", 1.0, 1.0)])

    monkeypatch.setattr("autograder.grading.grade_notebook", fake_grade)
    assert cli.main(["check", "--all", "--json"]) == 0
    captured = capsys.readouterr()
    assert graded == course.assignment_ids()
    count = len(graded)
    assert [line.split(" checking")[0] for line in captured.err.splitlines()] == [
        f"[{n}/{count}]" for n in range(1, count + 1)
    ]
    assert json.loads(captured.out)["max_score"] == count


@pytest.mark.slow
def test_check_my_work_cell_prints_the_report(learner_copy, capsys, monkeypatch):
    notebook = learner_copy(course.exercise_notebook(ASSIGNMENT))
    monkeypatch.chdir(notebook.parent)  # where Jupyter runs the notebook's kernel
    report = selfcheck.check_my_work(ASSIGNMENT)
    out = capsys.readouterr().out
    assert report is not None and report.score == 0
    assert "FAIL  0/1  test_dh_dx" in out and f"Score: 0 / {MAX:g}" in out


def test_check_my_work_does_nothing_inside_a_grading_kernel(monkeypatch, capsys):
    monkeypatch.setenv(course.GRADING_ENV, "1")
    assert selfcheck.check_my_work(ASSIGNMENT) is None
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_fresh_copy_keeps_the_old_work_beside_it(learner_copy):
    notebook = learner_copy(course.solution_notebook(ASSIGNMENT))
    own_work = notebook.read_bytes()
    result = run_cli("fresh", str(notebook))
    assert result.returncode == 0, result.stderr
    kept = [p for p in notebook.parent.glob(f"{ASSIGNMENT}.*.ipynb")]
    assert len(kept) == 1 and kept[0].read_bytes() == own_work
    assert str(kept[0].name) in result.stdout
    fresh = nbformat.read(notebook, as_version=4)
    published = nbformat.read(course.exercise_notebook(ASSIGNMENT), as_version=4)
    assert [c.source for c in fresh.cells] == [c.source for c in published.cells]
