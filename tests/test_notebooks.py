"""Every lesson and every solution notebook runs top to bottom without an error, every untouched
exercise grades to zero, and every notebook in the repository is committed clean: no outputs, no
execution counts."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import course
from autograder.grading import grade_notebook

LESSONS = course.lesson_notebooks()
SOLUTIONS = [course.solution_notebook(a) for a in course.assignment_ids()]
ALL_NOTEBOOKS = sorted(
    path
    for folder in ("lessons", "source", "exercises", "solutions")
    for path in (course.REPO_ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in path.parts
)


def _ids(paths):
    return [str(p.relative_to(course.REPO_ROOT)) for p in paths]


def execute(path: Path):
    """Run a notebook in its own folder, as Jupyter does; raises on the first cell error."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return notebook


def _text_outputs(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_runs_top_to_bottom(path):
    execute(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_runs_and_its_self_check_reports_full_marks(path):
    notebook = execute(path)
    report = _text_outputs(notebook.cells[-1])
    score = re.search(r"Score: (\S+) / (\S+)", report)
    assert score, f"the self-check cell printed no score:\n{report}"
    assert score.group(1) == score.group(2), report


@pytest.mark.parametrize("assignment_id", course.assignment_ids())
def test_untouched_exercise_grades_to_zero(assignment_id):
    """By the one engine, in this process: an untouched exercise runs no learner code the kernel
    would treat otherwise (each step's kernel test shows the two agree). Through nbgrader: the
    class tests, on 01."""
    report = grade_notebook(course.exercise_notebook(assignment_id), course.source_notebook(assignment_id),
                            student="suite", in_process=True)
    assert report.error is None, report.error
    assert report.max_score > 0 and report.score == 0, [(r.grade_id, r.points) for r in report.results]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} carry outputs or execution counts: clear them before committing"


def test_the_course_has_a_lesson_and_an_assignment_for_every_step():
    steps = [p.stem for p in LESSONS if p.stem != "00_start_here"]
    assert steps == course.assignment_ids(), "each step needs lessons/NN_name.ipynb and source/NN_name/"
