"""The real nbgrader pipeline: every assignment's solution autogrades to full marks and the
untouched exercise to zero, and our fast grader agrees with nbgrader on both."""

import shutil

import pytest
from nbgrader.api import Gradebook

from autograder import course
from autograder.grading import grade_notebook

ASSIGNMENTS = course.assignment_ids()


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A throwaway course with two students per assignment, autograded by nbgrader."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(course.REPO_ROOT / course.SOURCE_DIR, root / course.SOURCE_DIR)
    config = course.nbgrader_config(root, db_url=f"sqlite:///{root / 'gradebook.db'}")
    api = course.nbgrader_api(config)
    students = {"solved": course.solution_notebook, "untouched": course.exercise_notebook}
    for assignment_id in ASSIGNMENTS:
        assert api.generate_assignment(assignment_id)["success"]
        for student, notebook_of in students.items():
            target = root / "submitted" / student / assignment_id
            target.mkdir(parents=True)
            shutil.copy(notebook_of(assignment_id), target / f"{assignment_id}.ipynb")
            result = api.autograde(assignment_id, student)
            assert result["success"], result.get("error") or result.get("log")
    with Gradebook(config.CourseDirectory.db_url, course.COURSE_ID) as gradebook:
        yield {
            (assignment_id, student): (submission.score, submission.max_score)
            for assignment_id in ASSIGNMENTS
            for student in students
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
    for student, notebook in (("solved", course.solution_notebook), ("untouched", course.exercise_notebook)):
        report = grade_notebook(notebook(assignment_id), master)
        assert (report.score, report.max_score) == graded_course[(assignment_id, student)]
