"""The grading engine on its own, in this process: the one restore rule, typed problems, and
deterministic, replayable seeds. (That nbgrader gives the same grades on the same corpus is
tests/test_autograder_classroom.py; that the kernel grades as this process does is each step's
test_the_sandboxed_kernel_grades_as_the_in_process_engine.)"""

from __future__ import annotations

from pathlib import Path

import corpus
import nbformat
import pytest
from grading_support import STUDENT

from autograder import cells, course, seeds
from autograder.grading import grade_notebook
from autograder.problems import Kind, Problem, from_comment, to_comment

ASSIGNMENTS = course.assignment_ids()
#: Kinds whose expected grade needs at least two answer cells to mean anything ("partial"), or a
#: function to wrap (a class cannot be wrapped by "warnings"): 02's first answer cell is a class
#: (its later cells are stages of it), 06 has classes.
NEEDS_FUNCTIONS = {"partial", "warnings"}
CANNOT = {"02_computational_graphs": {"warnings"}, "06_pytorch_autograd": NEEDS_FUNCTIONS}


def _grade(path: Path, assignment_id: str, **options):
    return grade_notebook(path, course.source_notebook(assignment_id), student=STUDENT, in_process=True, **options)


def _cases():
    for assignment_id in ASSIGNMENTS:
        for kind in corpus.BENIGN:
            if kind in CANNOT.get(assignment_id, ()):
                continue
            yield pytest.param(assignment_id, kind, id=f"{assignment_id}-{kind}")


@pytest.mark.parametrize(("assignment_id", "kind"), list(_cases()))
def test_every_edit_a_learner_makes_gets_its_right_grade(tmp_path, assignment_id, kind):
    report = _grade(corpus.write(tmp_path / f"{assignment_id}.ipynb", kind, assignment_id), assignment_id)
    expected = corpus.EXPECTED[kind]
    master_points = sum(c.points for c in cells.master_from_notebook(course.source_notebook(assignment_id))
                        if c.is_test)
    assert report.max_score == master_points  # nobody adds points by claiming them
    if expected == "full":
        assert report.score == report.max_score, [(r.grade_id, r.message) for r in report.results if not r.passed]
    elif expected == "zero":
        assert report.score == 0
    else:
        assert 0 < report.score < report.max_score


def _problems(kind: str, assignment_id: str = "01_chain_rule") -> list[Problem]:
    notebook = corpus.submission(kind, assignment_id)
    return cells.restore(notebook, cells.master_from_notebook(course.source_notebook(assignment_id)))[1]


def test_the_rule_says_what_it_had_to_do():
    assert {p.kind for p in _problems("correct")} == set()
    assert {p.kind for p in _problems("deleted_tests")} == {Kind.RESTORED_CELL}
    assert {p.kind for p in _problems("duplicated_answer")} == {Kind.DUPLICATE_ANSWER}
    assert {p.kind for p in _problems("lost_metadata")} == {Kind.RECOVERED_ANSWER}
    assert {p.kind for p in _problems("readded_tests")} == set()
    fake = _problems("fake_points")
    assert [p.kind for p in fake] == [Kind.UNKNOWN_CELL] and "claims 100 points" in fake[0].message
    redefined = _problems("redefined_at_end")
    assert {p.kind for p in redefined} == {Kind.RECOVERED_ANSWER, Kind.RESTORED_CELL}


def test_moved_tests_run_where_the_instructor_put_them():
    master = cells.master_from_notebook(course.source_notebook("01_chain_rule"))
    restored, _ = cells.restore(corpus.submission("moved_tests", "01_chain_rule"), master)
    assert [cells.grade_id(c) for c in restored.cells] == [c.grade_id for c in master]


def test_learner_cells_stay_behind_the_answer_they_follow():
    notebook = corpus.submission("correct", "01_chain_rule")
    answer = next(i for i, c in enumerate(notebook.cells) if cells.grade_id(c) == "dh_dx")
    notebook.cells.insert(answer + 1, nbformat.v4.new_code_cell("helper = 1"))
    notebook.cells.insert(0, nbformat.v4.new_code_cell("first = 1"))
    restored, _ = cells.restore(notebook, cells.master_from_notebook(course.source_notebook("01_chain_rule")))
    order = [cells.grade_id(c) or c.source for c in restored.cells]
    assert order.index("first = 1") == order.index("compose_derivative") - 1
    assert order.index("helper = 1") == order.index("dh_dx") + 1 == order.index("test_dh_dx") - 1


def test_problems_survive_the_gradebook_comment():
    problems = [Problem.of(Kind.TIMEOUT, "test_x", seconds=8),
                Problem.of(Kind.TAMPERING, "cell 3", message="a message with --> and <!-- in it")]
    text = to_comment(problems)
    assert "Grading note: test_x ran longer than 8 s" in text
    assert from_comment(text) == problems
    assert from_comment("a comment an instructor typed") == []


# --- seeds ------------------------------------------------------------------------------------

#: Right for 1-D input only: the hidden test's random shapes decide its grade.
ONE_D_ONLY = (
    "import numpy as np\ndef dh_dx(x):\n    return np.array([6 * float(v) * (float(v) ** 2 + 1) ** 2 for v in x])\n"
)


def _one_d_only(tmp_path: Path) -> Path:
    notebook = corpus.submission("correct", "01_chain_rule")
    next(c for c in notebook.cells if cells.grade_id(c) == "dh_dx").source = ONE_D_ONLY
    path = tmp_path / "01_chain_rule.ipynb"
    nbformat.write(notebook, path)
    return path


def _outcome(report):
    return [(r.grade_id, r.points, r.message) for r in report.results]


def test_the_same_submission_gets_the_same_grade_every_time(tmp_path):
    path = _one_d_only(tmp_path)
    outcomes = {tuple(_outcome(_grade(path, "01_chain_rule"))) for _ in range(10)}
    assert len(outcomes) == 1


def test_each_student_draws_their_own_values():
    draws = {seeds.test_seed("01_chain_rule", student, "test_dh_dx_hidden") for student in ("ada", "bo", "cy")}
    assert len(draws) == 3
    assert seeds.test_seed("01_chain_rule", "ada", "test_x") != seeds.test_seed("01_chain_rule", "ada", "test_y")


def test_a_failing_hidden_test_names_its_seed_and_the_seed_replays_it(tmp_path):
    path = _one_d_only(tmp_path)
    # Some student's seed makes the hidden test draw a 2-D shape: find one, then replay it by seed.
    for student in (f"student{i}" for i in range(40)):
        report = grade_notebook(path, course.source_notebook("01_chain_rule"), student=student, in_process=True)
        failed = [r for r in report.results if r.grade_id == "test_dh_dx_hidden" and not r.passed]
        if failed:
            break
    else:
        pytest.fail("no seed drew a shape the 1-D-only answer gets wrong")
    seed = seeds.test_seed("01_chain_rule", student, "test_dh_dx_hidden")
    assert seeds.replay_hint(seed) in failed[0].message
    replayed = _grade(path, "01_chain_rule", seed=seed).result("test_dh_dx_hidden")
    assert replayed.message == failed[0].message


def test_only_checks_one_function_and_what_comes_before_it():
    report = _grade(course.solution_notebook("01_chain_rule"), "01_chain_rule", only="dh_dx")
    assert [r.grade_id for r in report.results] == [
        "test_compose_derivative", "test_compose_derivative_hidden", "test_dh_dx", "test_dh_dx_hidden"]
    assert report.score == report.max_score
    with pytest.raises(course.CourseError, match="no tests of 'dh_dz'"):
        _grade(course.solution_notebook("01_chain_rule"), "01_chain_rule", only="dh_dz")
