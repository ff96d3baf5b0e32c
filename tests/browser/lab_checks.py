"""What three labs must show, beyond responding to every control: the gradient-check lab of
lesson 05, the autograd lab of lesson 06 and the depth lab's diagnostics of lesson 07.

``tests/browser/test_lessons.py`` runs each after Run All of its lesson, on the lab as it first
appears, in the same page (one run of the lesson serves both). Each control changes the picture
the browser draws, nothing turns red, and screenshots of each state land in
``artifacts/screenshots/``.

The labs draw SVG (the kernel sends coordinates, the browser paints them), shown as an image;
the checks read the SVG's text from the page to check what is drawn, not only that it changed.
"""

from __future__ import annotations

import re
import urllib.parse

from . import jupyterlab as lab
from .conftest import save_screenshot

_SVG_TEXT_JS = """
async (cell) => {
  const img = cell.querySelector('.jp-Cell-outputArea img');
  if (!img) return '';
  const response = await fetch(img.getAttribute('src'));
  return await response.text();
}
"""


def lab_cell(panel, source: str):
    """The lab's cell (the code cell whose source contains ``source``), scrolled into view, drawn."""
    cell = lab.cell_containing(panel, source)
    cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    cell.locator(".jp-Cell-outputArea img").first.wait_for()
    return cell


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


def gradient_check_lab_moves_h_and_injects_a_bug(page, panel, console):
    cell = lab_cell(panel, "GradCheckLab()")
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


def autograd_lab_steps_through_backward_and_accumulates(page, panel, console):
    cell = lab_cell(panel, "AutogradLab()")
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
    status = change(page, cell, "calling backward() after zero_grad()",
                    cell.get_by_role("button", name="loss.backward()").click)
    assert "exactly one gradient" in status, "after zero_grad() the next backward() starts afresh"
    save_screenshot(page, "06-autograd-lab-after")
    assert_clean(panel, console, "lesson 06's lab")


def depth_lab_draws_its_diagnostics(page, panel, console):
    cell = lab_cell(panel, 'DepthLab(depth=10, activation="sigmoid"')
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


#: lesson -> what its lab must show, checked right after Run All.
LAB_CHECKS = {
    "05_gradient_checking": gradient_check_lab_moves_h_and_injects_a_bug,
    "06_pytorch_autograd": autograd_lab_steps_through_backward_and_accumulates,
    "07_vanishing_gradients": depth_lab_draws_its_diagnostics,
}
