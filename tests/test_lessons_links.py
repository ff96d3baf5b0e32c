"""Every failed test points to the lesson section that teaches its idea: the table in
autograder/lessons.py covers every graded function, and every link opens a real heading."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder import cells, course, lessons


def _anchors(lesson: str) -> set[str]:
    notebook = nbformat.read(course.REPO_ROOT / lessons.LESSONS_DIR / f"{lesson}.ipynb", as_version=4)
    found = set()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^#{1,6}\s+(.*)$", line)
                if match:
                    found.add(lessons.anchor(match.group(1)))
    return found


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_every_graded_function_has_a_lesson_section(assignment):
    master = cells.master_from_notebook(course.source_notebook(assignment))
    functions = {cell.grade_id for cell in master if cell.solution}
    assert functions <= set(lessons.SECTIONS.get(assignment, {})), functions - set(lessons.SECTIONS[assignment])
    for cell in master:
        if cell.is_test:
            assert lessons.section_of(assignment, cell.grade_id), cell.grade_id


@pytest.mark.parametrize("assignment", sorted(lessons.SECTIONS))
def test_every_link_opens_a_real_heading(assignment):
    for function, (lesson, heading) in lessons.SECTIONS[assignment].items():
        assert lessons.anchor(heading) in _anchors(lesson), (function, lesson, heading)


def test_the_anchor_is_jupyterlabs():
    assert lessons.anchor("4. Backward pass, one step at a time") == "4.-Backward-pass,-one-step-at-a-time"
    assert lessons.anchor("3. What `backward()` computes") == "3.-What-backward()-computes"
    assert lessons.section_of("03_manual_backprop", "test_affine_backward_hidden") == (
        "lessons/03_manual_backprop.ipynb#4.-Backward-pass,-one-step-at-a-time")
    assert lessons.function_of("02_computational_graphs", "test_Value_mul") == "Value_mul"
