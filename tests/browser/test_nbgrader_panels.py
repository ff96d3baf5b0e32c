"""nbgrader's JupyterLab panels work for this course: the instructor's formgrader and the
learner's assignment list load, show the course's assignments, and log no errors.

The server's nbgrader configuration is the course's own (``autograder.course.nbgrader_config``)
rooted at the server's copy of the course, with a private exchange (see ``server.py``).

Console messages that count as errors are every ``console.error`` (from the page or the
formgrader's iframe; a failed HTTP request logs one too) and every uncaught page error, except
those in ``jupyterlab.HARMLESS_CONSOLE_ERRORS``. Warnings do not count: the one these panels log
is Chromium noting that the formgrader's iframe is sandboxed with scripts and same-origin allowed.
"""

from __future__ import annotations

import pytest

from autograder import course

from . import jupyterlab as lab
from .conftest import save_screenshot

ASSIGNMENT = "01_chain_rule"
HARMLESS = lab.HARMLESS_CONSOLE_ERRORS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (course.REPO_ROOT / course.EXERCISES_DIR / ASSIGNMENT).is_dir(), reason=f"{ASSIGNMENT} is not generated yet"
    ),
]


@pytest.fixture(scope="module")
def released(lab_server):
    """The instructor has released the assignment, so learners can see it."""
    lab_server.release(ASSIGNMENT)
    return ASSIGNMENT


def open_panel(page, item: str):
    lab.menu(page, "Nbgrader", item)
    return page.locator(".jp-MainAreaWidget:visible").last


def test_formgrader_lists_the_course_assignments(page, lab_server, console, released):
    panel = open_panel(page, "Formgrader")
    frame = panel.frame_locator("iframe")
    row = frame.locator("#main-table tr, table tr").filter(has_text=released).first
    row.wait_for(timeout=60_000)
    frame.get_by_text("Loading, please wait...").wait_for(state="hidden")
    save_screenshot(page, "nbgrader-formgrader")
    assert not console.errors(HARMLESS), f"the formgrader logged errors: {console.errors(HARMLESS)}"


def test_assignment_list_fetches_the_released_assignment(page, lab_server, console, released):
    panel = open_panel(page, "Assignment List")
    released_list = panel.locator("#released_assignments_list")
    released_list.get_by_text(released, exact=True).wait_for(timeout=60_000)
    save_screenshot(page, "nbgrader-assignment-list")

    released_list.get_by_role("button", name="Fetch").first.click()
    panel.locator("#fetched_assignments_list").get_by_text(released, exact=True).first.wait_for(timeout=60_000)
    assert (lab_server.root / released / f"{released}.ipynb").is_file(), "Fetch did not copy the notebook"
    save_screenshot(page, "nbgrader-assignment-list-fetched")
    assert not console.errors(HARMLESS), f"the assignment list logged errors: {console.errors(HARMLESS)}"
