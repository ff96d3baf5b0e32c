"""The labs of lessons 05 and 06 and the depth lab's diagnostics, as a learner uses them in
JupyterLab: each control changes the picture the browser draws, nothing turns red, and
screenshots of each state land in ``artifacts/screenshots/``.

The labs draw SVG (the kernel sends coordinates, the browser paints them), shown as an image;
the tests read the SVG's text from the page to check what is drawn, not only that it changed.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest

from autograder import course

from . import jupyterlab as lab
from .conftest import save_screenshot

pytestmark = pytest.mark.browser

_SVG_TEXT_JS = """
async (cell) => {
  const img = cell.querySelector('.jp-Cell-outputArea img');
  if (!img) return '';
  const response = await fetch(img.getAttribute('src'));
  return await response.text();
}
"""


def open_lab(page, lab_server, lesson: str, source: str):
    """Open a lesson, run it, and return the cell whose source contains ``source``."""
    panel = lab.open_notebook(page, lab_server.lab_url(f"{course.LESSONS_DIR}/{lesson}.ipynb"))
    state = lab.run_all(page, panel)
    assert state["errors"] == 0, "\n---\n".join(lab.error_outputs(panel))
    cell = lab.cell_containing(panel, source)
    cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    cell.locator(".jp-Cell-outputArea img").first.wait_for()
    return panel, cell


def svg_of(cell) -> str:
    """The SVG the lab's image shows now (fetched from the image's own blob URL)."""
    return urllib.parse.unquote(cell.evaluate(_SVG_TEXT_JS))


def change(page, cell, what: str, action) -> str:
    """Do ``action()`` and wait for the lab's new picture; returns the status line then."""
    before = lab.figure_of(cell)
    action()
    lab.wait_for_new_figure(page, cell, before, what)
    return status_of(cell)


def pick(cell, label: str):
    return lambda: cell.locator(f"{lab.DROPDOWN} select").first.select_option(label=label)


def status_of(cell) -> str:
    return cell.locator(".jp-Cell-outputArea .widget-html-content").last.inner_text()


def assert_clean(panel, console, when: str) -> None:
    errors = lab.error_outputs(panel)
    assert not errors, f"{when}: cells show errors:\n" + "\n---\n".join(errors)
    assert not console.errors(lab.HARMLESS_CONSOLE_ERRORS), f"{when}: browser console errors {console.errors()}"


def test_gradient_check_lab_moves_h_and_injects_a_bug(page, lab_server, console):
    panel, cell = open_lab(page, lab_server, "05_gradient_checking", "GradCheckLab()")
    save_screenshot(page, "05-gradcheck-lab-before")
    assert "fails for W1, b1" in status_of(cell), "the lab opens on the planted missing transpose"
    assert "W1" in svg_of(cell) and "forward difference" in svg_of(cell)

    status = change(page, cell, "moving h with the keyboard",
                    lambda: lab.move_slider_with_keyboard(page, cell.locator(lab.SLIDER).first))
    assert re.search(r"h = 2e-05|h = 6e-06", status), status

    status = change(page, cell, "choosing the correct backward pass", pick(cell, "correct backward pass"))
    assert "passes for every parameter" in status
    save_screenshot(page, "05-gradcheck-lab-correct")

    status = change(page, cell, "injecting the db2 bug", pick(cell, "bug: db2 averaged, not summed"))
    assert "fails for b2" in status
    save_screenshot(page, "05-gradcheck-lab-after")
    assert_clean(panel, console, "lesson 05's lab")


def test_autograd_lab_steps_through_backward_and_accumulates(page, lab_server, console):
    panel, cell = open_lab(page, lab_server, "06_pytorch_autograd", "AutogradLab()")
    save_screenshot(page, "06-autograd-lab-before")
    assert "exactly one gradient" in status_of(cell)

    slider = cell.locator(lab.SLIDER).first
    handle = slider.locator(".noUi-handle").first
    for expected in (3, 2):
        handle.focus()
        status = change(page, cell, "stepping back through backward()", lambda: page.keyboard.press("ArrowLeft"))
        assert f"showing {expected} of 4 writes" in status
    assert "None" in svg_of(cell), "parameters not yet reached show .grad = None"
    save_screenshot(page, "06-autograd-lab-halfway")

    status = change(page, cell, "calling backward() a second time",
                    cell.get_by_role("button", name="loss.backward()").click)
    assert "accumulates" in status and "2 ×" in status
    save_screenshot(page, "06-autograd-lab-accumulated")

    status = change(page, cell, "zero_grad()", cell.get_by_role("button", name="optimizer.zero_grad()").click)
    assert "None" in status
    save_screenshot(page, "06-autograd-lab-after")
    assert_clean(panel, console, "lesson 06's lab")


def test_depth_lab_draws_its_diagnostics(page, lab_server, console):
    panel, cell = open_lab(page, lab_server, "07_vanishing_gradients", 'DepthLab(depth=10, activation="sigmoid"')
    svg = svg_of(cell)
    for title in ("gradient norm per layer", "update / weights", "activations at initialisation",
                  "their gradients", "saturated units", "rule of thumb 1e-3"):
        assert title in svg, f"the depth lab should draw {title!r}"
    save_screenshot(page, "07-depth-lab-diagnostics-before")

    change(page, cell, "choosing relu", pick(cell, "relu"))
    assert "dead units" in svg_of(cell)
    depth = cell.locator(lab.SLIDER).first
    change(page, cell, "dragging the depth slider", lambda: lab.move_slider_with_mouse(page, depth))
    save_screenshot(page, "07-depth-lab-diagnostics-after")
    assert_clean(panel, console, "lesson 07's lab")
