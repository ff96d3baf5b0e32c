"""The real nbgrader pipeline: every assignment's solution autogrades to full marks and the
untouched exercise to zero, and our fast grader agrees with nbgrader on both.

The class is graded by `autograder.classroom.grade_class` (nbgrader's autograde converter on
every core, the same grades as serial `nbgrader autograde`: tests/test_autograder_classroom.py)."""

import pytest
from nbgrader.api import Gradebook

from autograder import course, synthetic
from autograder.classroom import grade_class
from autograder.grading import grade_notebook

ASSIGNMENTS = course.assignment_ids()
STUDENTS = {"solved": ("correct", course.solution_notebook), "untouched": ("untouched", course.exercise_notebook)}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A throwaway course with two students per assignment, autograded by nbgrader."""
    root = tmp_path_factory.mktemp("course") / "course"
    batch = [(student, a, kind) for a in ASSIGNMENTS for student, (kind, _) in STUDENTS.items()]
    synthetic.build_class(root, batch)
    summary = grade_class(root, progress=False)
    assert not summary.failed, summary.text()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course.COURSE_ID) as gradebook:
        yield {
            (assignment_id, student): (submission.score, submission.max_score)
            for assignment_id in ASSIGNMENTS
            for student in STUDENTS
            for submission in [gradebook.find_submission(assignment_id, student)]
        }


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_solution_autogrades_to_full_marks(graded_course, assignment_id):
    score, max_score = graded_course[(assignment_id, "solved")]
    assert max_score > 0
    assert score == max_score


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_untouched_exercise_autogrades_to_zero(graded_course, assignment_id):
    score, max_score = graded_course[(assignment_id, "untouched")]
    assert max_score > 0
    assert score == 0


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_fast_grader_agrees_with_nbgrader(graded_course, assignment_id):
    master = course.source_notebook(assignment_id)
    for student, (_, notebook) in STUDENTS.items():
        report = grade_notebook(notebook(assignment_id), master)
        assert (report.score, report.max_score) == graded_course[(assignment_id, student)]
