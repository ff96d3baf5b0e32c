"""Every lesson, as a learner meets it in JupyterLab: run all, use each lab, answer a quiz.

Lessons are discovered on disk, so a lesson is tested from the moment its notebook lands.
Each lab's controls are found in the page (sliders, dropdowns, toggle buttons, buttons,
checkboxes) and each one is used; a slider both with the keyboard and with the mouse. After every move the
lab's figure must change (a new image) and no cell may show an error. Before/after screenshots
of each lab go to ``artifacts/screenshots/``. Three labs must also show particular things, checked
first, on the lab as it appears after Run All (``lab_checks.py``).
"""

from __future__ import annotations

import pytest

from autograder import course

from . import jupyterlab as lab
from .conftest import save_screenshot
from .lab_checks import LAB_CHECKS

LESSONS = [p for p in course.lesson_notebooks() if p.stem != "00_start_here"]
#: Lessons whose contract (../shared/CURRICULUM.md and the widget plan) includes an interactive lab.
LESSONS_WITH_LABS = {
    "02_computational_graphs",
    "03_manual_backprop",
    "04_activation_derivatives",
    "07_vanishing_gradients",
}

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_in_jupyterlab(page, console, lesson):
    """Run all, then use every lab and answer a quiz: nothing red anywhere, every figure responds."""
    panel = lab.open_notebook(page, f"{course.LESSONS_DIR}/{lesson.name}")
    state = lab.run_all(page, panel)
    assert_no_errors(panel, f"{lesson.name} after Run All")
    assert state["unrun"] == 0, f"{state['unrun']} cells of {lesson.name} did not run"

    if lesson.stem in LAB_CHECKS:
        LAB_CHECKS[lesson.stem](page, panel, console)
    cells = lab.lab_cells(panel)
    if lesson.stem in LESSONS_WITH_LABS:
        assert cells, f"{lesson.name} should have an interactive lab, but none rendered"
    for number, cell in enumerate(cells, start=1):
        name = f"{lesson.stem}-lab{number}"
        cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        save_screenshot(page, f"{name}-before")
        moves = use_every_control(page, cell)
        assert moves, f"{name}: no control could be used"
        assert_no_errors(panel, f"{name} after {moves}")
        cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        save_screenshot(page, f"{name}-after")

    answer_a_quiz(page, panel, lesson)
    logged = "\n---\n".join(lab.log_console_entries(page))
    assert not logged, f"{lesson.name}: the log console holds errors (did a widget callback raise?):\n{logged}"
    assert not console.errors(lab.HARMLESS_CONSOLE_ERRORS), f"{lesson.name}: browser console errors {console.errors()}"


def assert_no_errors(panel, when: str) -> None:
    errors = lab.error_outputs(panel)
    assert not errors, f"{when}, cells show errors:\n" + "\n---\n".join(errors)


def answer_a_quiz(page, panel, lesson) -> None:
    """Every lesson closes with self-check quizzes: pick an answer, press Check, read feedback."""
    quizzes = panel.locator(lab.QUIZ)
    assert quizzes.count() > 0, f"{lesson.name} shows no self-check quiz (are the widgets rendering?)"
    quiz = quizzes.last
    quiz.scroll_into_view_if_needed()
    quiz.locator(".widget-radio-box label").first.click()
    quiz.get_by_role("button", name="Check").click()
    feedback = quiz.locator(".widget-html-content").last
    page.wait_for_function("(el) => /^(Correct|Not quite)/.test(el.textContent.trim())", arg=feedback.element_handle())
    save_screenshot(page, f"{lesson.stem}-quiz")


def use_every_control(page, cell) -> list[str]:
    """Use each control of one lab, waiting after each for a new figure; returns what was done."""
    done = []
    outputs = cell.locator(".jp-Cell-outputArea")
    for slider in outputs.locator(lab.SLIDER).all():
        label = slider.locator(".widget-label").first.inner_text().strip() or "slider"
        for move in (lab.move_slider_with_keyboard, lab.move_slider_with_mouse):
            before = lab.figure_of(cell)
            how = move(page, slider)
            lab.wait_for_new_figure(page, cell, before, f"moving {label!r} with {how}")
            done.append(f"{label}: {how}")
    for dropdown in outputs.locator(f"{lab.DROPDOWN} select").all():
        options = dropdown.locator("option").all_inner_texts()
        current = dropdown.evaluate("select => select.selectedIndex")
        choice = options[(current + 1) % len(options)]
        before = lab.figure_of(cell)
        dropdown.select_option(label=choice)
        lab.wait_for_new_figure(page, cell, before, f"choosing {choice!r}")
        done.append(f"dropdown: {choice}")
    for group in outputs.locator(lab.TOGGLE_BUTTONS).all():
        button = group.locator("button:not(.mod-active)").first
        choice = button.inner_text().strip()
        before = lab.figure_of(cell)
        button.click()
        lab.wait_for_new_figure(page, cell, before, f"clicking {choice!r}")
        done.append(f"toggle: {choice}")
    for button in outputs.locator(lab.BUTTON).all():
        name = button.inner_text().strip()
        before = lab.figure_of(cell)
        button.click()
        lab.wait_for_new_figure(page, cell, before, f"clicking {name!r}")
        done.append(f"button: {name}")
    for checkbox in outputs.locator(f"{lab.CHECKBOX} input[type=checkbox]").all():
        before = lab.figure_of(cell)
        checkbox.click()
        lab.wait_for_new_figure(page, cell, before, "ticking a checkbox")
        done.append("checkbox")
    return done
