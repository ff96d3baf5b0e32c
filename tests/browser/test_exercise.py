"""An exercise, as a learner works on it: type a solution, save, run the self-check, read the report."""

from __future__ import annotations

import re
import time

import pytest

from autograder import course

from . import jupyterlab as lab
from .conftest import save_screenshot

ASSIGNMENT = "01_chain_rule"
EXERCISE = f"{course.EXERCISES_DIR}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
# One solution, typed on one line so the editor's auto-indent has nothing to add. CodeMirror
# closes brackets as they are typed and steps over the closing ones, so the text comes out as typed.
SOLVED_FUNCTION = "compose_derivative"
TYPED_SOLUTION = "def compose_derivative(df, g, dg): return lambda x: df(g(x)) * dg(x)"
REPORT_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (course.REPO_ROOT / EXERCISE).is_file(), reason=f"{EXERCISE} is not generated yet"),
]


def wait_for_saved(path, text: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        saved = path.read_text()
        if text in saved:
            return saved
        time.sleep(0.2)
    raise AssertionError(f"{path.name} on disk never contained the typed solution (was it saved?)")


def test_exercise_typed_solution_is_graded_by_the_self_check(page, lab_server):
    panel = lab.open_notebook(page, EXERCISE)

    # Type the solution over the stub, as a learner would.
    cell = lab.cell_containing(panel, f"def {SOLVED_FUNCTION}(")
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(TYPED_SOLUTION)
    assert editor.inner_text().strip() == TYPED_SOLUTION, "the editor does not hold what was typed"
    save_screenshot(page, "exercise-typed")

    page.keyboard.press("Control+S")
    wait_for_saved(lab_server.root / EXERCISE, "return lambda x: df(g(x)) * dg(x)")

    check_cell = lab.cell_containing(panel, "check_my_work(")
    check_cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    output = check_cell.locator(".jp-Cell-outputArea")
    output.get_by_text(re.compile(r"Score: \S+ / \S+")).wait_for(timeout=REPORT_TIMEOUT_MS)
    lab.wait_until_run(page, panel, every_cell=False)
    check_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    save_screenshot(page, "exercise-self-check-report")

    report = output.inner_text()
    assert not lab.error_outputs(check_cell), f"the self-check cell shows an error:\n{report}"
    results = {grade_id: mark for mark, grade_id in re.findall(r"^(PASS|FAIL)\s+\S+\s+(\S+)\s*$", report, re.MULTILINE)}
    typed = {grade_id: mark for grade_id, mark in results.items() if grade_id.startswith(f"test_{SOLVED_FUNCTION}")}
    untouched = {grade_id: mark for grade_id, mark in results.items() if grade_id not in typed}
    assert typed and set(typed.values()) == {"PASS"}, f"the typed solution should pass its tests:\n{report}"
    assert untouched and set(untouched.values()) == {"FAIL"}, f"the untouched stubs should fail:\n{report}"
    score, max_score = map(float, re.search(r"Score: (\S+) / (\S+)", report).groups())
    assert 0 < score < max_score, f"one function of four solved should earn part of the marks:\n{report}"
