"""A class on JupyterHub, end to end, in Chromium through the proxy.

One hub for the module (tests/hub/conftest.py): an instructor, two students (Ann and Bob) and
the grader account that runs the formgrader service. The tests run in file order, as a class
does: the instructor releases, Ann solves part of the exercise, checks it and submits, Bob
submits a wrong answer, the instructor collects, grades with ``python -m autograder grade`` and
releases feedback, each student fetches their own, and the export holds both grades. Then the
walls: what a student can neither read, nor reach, nor open from a kernel.

Screenshots of every step land in artifacts/screenshots/hub/.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from browser import jupyterlab as lab
from browser.conftest import VIEWPORT
from grading_support import test_points, wait_for

from .conftest import REPO, SCREENSHOTS, classroom, screenshot

pytestmark = pytest.mark.hub

ASSIGNMENT = "01_chain_rule"
ANN_SOLUTION = "def compose_derivative(df, g, dg): return lambda x: df(g(x)) * dg(x)"
BOB_SOLUTION = "def compose_derivative(df, g, dg): return lambda x: df(g(x))"  # forgot the inner derivative
CHECK_TIMEOUT_MS = 240_000
STUDENT_SCORES = [3.0, 0.0]  # Ann: compose_derivative's visible (1) and hidden (2) tests; Bob: nothing passes
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)


class Sessions:
    """One logged-in browser context per user, kept for the module."""

    def __init__(self, chromium, settings) -> None:
        self.chromium, self.settings, self.pages = chromium, settings, {}

    def page(self, user: str):
        if user not in self.pages:
            context = self.chromium.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{self.settings.url}/hub/login")
            page.fill("#username_input", user)
            page.fill("#password_input", self.settings.passwords[user])
            page.click("#login_submit")
            page.locator("#jp-main-statusbar").wait_for(timeout=150_000)  # the user's JupyterLab
            page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)
            self.pages[user] = page
        return self.pages[user]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module", autouse=True)
def _fresh_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture(scope="module")
def sessions(hub_class, chromium):
    settings, _ = hub_class
    sessions = Sessions(chromium, settings)
    yield sessions
    sessions.close()


@pytest.fixture(scope="module")
def settings(hub_class):
    return hub_class[0]


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request, sessions):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for user, page in sessions.pages.items():
            screenshot(page, f"FAILED-{request.node.name}-{user}")


def ann(settings) -> str:
    return settings.students[0]


def bob(settings) -> str:
    return settings.students[1]


def instructor(settings) -> str:
    return settings.instructors[0]


def fetched_notebook(settings, user: str) -> Path:
    return Path("/home") / user / settings.course_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


# --- the formgrader -------------------------------------------------------------------------


def formgrader(sessions, settings):
    page = sessions.page(instructor(settings))
    page.goto(f"{settings.url}/services/{settings.course_id}/formgrader")
    row = page.locator("tr", has_text=ASSIGNMENT).first
    row.wait_for(timeout=120_000)
    return page, row


def formgrader_action(page, row, icon: str, what: str) -> None:
    """Click one of an assignment's actions and wait for nbgrader's success dialog."""
    row.locator(f".glyphicon-{icon}").click()
    dialog = page.locator("#success-modal, #error-modal").first
    dialog.wait_for(timeout=180_000)
    text = dialog.inner_text()
    assert dialog.get_attribute("id") == "success-modal", f"{what} failed in the formgrader:\n{text}"
    dialog.locator("button.btn-primary").click()
    page.locator("#success-modal").wait_for(state="detached")
    page.locator("tr", has_text=ASSIGNMENT).first.wait_for()


def test_the_instructor_releases_the_assignment_in_the_formgrader(sessions, settings):
    page = sessions.page(instructor(settings))
    screenshot(page, "01-instructor-jupyterlab")
    page, row = formgrader(sessions, settings)
    screenshot(page, "02-instructor-formgrader")
    formgrader_action(page, row, "education", "generating the student version")
    formgrader_action(page, row, "cloud-upload", "releasing")
    page.locator("tr", has_text=ASSIGNMENT).first.locator(".label-success", has_text="released").wait_for()
    screenshot(page, "03-instructor-released")
    released = settings.exchange / settings.course_id / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert released.is_file(), "the release did not reach the exchange"
    assert "BEGIN HIDDEN TESTS" not in released.read_text()


# --- the students ---------------------------------------------------------------------------


def assignment_list(page):
    lab.menu(page, "Nbgrader", "Assignment List")
    panel = page.locator(".jp-MainAreaWidget:visible").last
    panel.locator("#released_assignments_list, #fetched_assignments_list").first.wait_for()
    return panel


def fetch_and_solve(page, settings, user: str, solution: str, shot: str):
    panel = assignment_list(page)
    released = panel.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT, exact=True).wait_for(timeout=60_000)
    screenshot(page, f"{shot}-assignment-list")
    released.get_by_role("button", name="Fetch").first.click()
    panel.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT, exact=True).first.wait_for(timeout=60_000)
    notebook = fetched_notebook(settings, user)
    assert notebook.is_file(), f"Fetch did not put the exercise in {notebook}"

    page.goto(f"{settings.url}/user/{user}/lab/tree/{settings.course_id}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    notebook_panel = lab.wait_for_notebook(page)
    cell = lab.cell_containing(notebook_panel, "def compose_derivative(")
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(solution)
    page.keyboard.press("Control+S")
    wait_for(lambda: "return lambda x: df(g(x))" in notebook.read_text(), f"{user}'s notebook to be saved")
    screenshot(page, f"{shot}-solved")
    return notebook_panel


def submit(page, settings, user: str) -> None:
    panel = assignment_list(page)
    fetched = panel.locator("#fetched_assignments_list")
    fetched.get_by_role("button", name="Submit").first.click()
    panel.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
    inbound = settings.exchange / settings.course_id / "inbound"
    wait_for(lambda: any(p.name.startswith(f"{user}+{ASSIGNMENT}+") for p in inbound.iterdir()),
             f"{user}'s submission in the exchange")


def test_student_a_fetches_solves_checks_and_submits(sessions, settings):
    user = ann(settings)
    page = sessions.page(user)
    notebook_panel = fetch_and_solve(page, settings, user, ANN_SOLUTION, "04-student-a")
    notebook = fetched_notebook(settings, user)

    saved = notebook.read_bytes()
    check_cell = lab.cell_containing(notebook_panel, "check_my_work(")
    check_cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    output = check_cell.locator(".jp-Cell-outputArea")
    # The hub runs the course's grading service: the check shows every test, hidden ones included.
    output.get_by_text("Checks left this hour").wait_for(timeout=CHECK_TIMEOUT_MS)
    check_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    screenshot(page, "05-student-a-check-cell")
    report = output.inner_text()
    assert not lab.error_outputs(check_cell) and "Traceback" not in report, report
    assert "hidden ones included, by your course's grading service" in report, report
    assert re.search(r"PASS\s+1/1\s+test_compose_derivative\b", report), report
    assert re.search(r"PASS\s+2/2\s+test_compose_derivative_hidden\b", report), report  # hidden-test feedback
    assert re.search(r"FAIL\s+0/\d+\s+test_dh_dx_hidden\b", report), report
    assert f"Score: {STUDENT_SCORES[0]:g} / {test_points(ASSIGNMENT)[1]:g}" in report, report
    assert not [line for line in hidden_test_lines() if line in report], report  # and no hidden test code
    assert notebook.read_bytes() == saved  # a check never changes the learner's file...
    inbound = settings.exchange / settings.course_id / "inbound"
    assert not list(inbound.glob(f"{user}+*")) if inbound.is_dir() else True  # ...nor submits it

    submit(page, settings, user)
    screenshot(page, "06-student-a-submitted")


HIDDEN_PROBE = textwrap.dedent("""
    import json, os, sys
    needles, found = json.loads(sys.argv[1]), []
    for top in sys.argv[2:]:
        for folder, _, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read(5_000_000)
                except OSError:
                    continue
                found += [path for needle in needles if needle.encode() in data][:1]
    print(json.dumps(found))
""")


def test_the_students_environment_still_holds_no_hidden_test(settings):
    """What Ann can read (her home, the class's environment, the exchange, her kernel's environment
    variables) holds no line of a hidden test, even after the service gave her hidden-test feedback."""
    user = ann(settings)
    needles = hidden_test_lines()  # (the markers themselves are in the check helpers' code: not a test)
    site = next((settings.venv / "lib").glob("python3*/site-packages"))
    places = [f"/home/{user}", str(site / "autograder"), str(site / "backprop_lab"), str(settings.exchange)]
    probe = classroom.as_user(settings, user, [str(settings.venv / "bin" / "python"), "-c", HIDDEN_PROBE,
                                               json.dumps(needles), *places], Path("/home") / user, "students")
    assert json.loads(probe.stdout) == [], probe.stdout
    assert (Path("/home") / user / settings.course_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()  # it looked
    # The same probe, as root, finds the master: an empty answer above is not a blind probe.
    found = subprocess.run([sys.executable, "-c", HIDDEN_PROBE, json.dumps(needles), str(REPO / "source" / ASSIGNMENT)],
                           capture_output=True, text=True, check=True)
    assert json.loads(found.stdout) == [str(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")], found.stdout


def test_student_b_submits_a_wrong_answer(sessions, settings):
    user = bob(settings)
    page = sessions.page(user)
    fetch_and_solve(page, settings, user, BOB_SOLUTION, "07-student-b")
    submit(page, settings, user)
    screenshot(page, "08-student-b-submitted")


# --- grading --------------------------------------------------------------------------------


def test_the_instructor_collects_grades_and_releases_feedback(sessions, settings):
    page, row = formgrader(sessions, settings)
    formgrader_action(page, row, "cloud-download", "collecting")
    submitted = settings.course_dir / "submitted"
    assert {p.name for p in submitted.iterdir()} == set(settings.students)
    screenshot(page, "09-instructor-collected")

    # What the instructor types in the formgrader's terminal: the course's parallel grader.
    graded = classroom.as_grader(settings, settings.venv / "bin" / "python", "-m", "autograder", "grade", ASSIGNMENT,
                                 check=False)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "graded 2 of 2 submissions" in graded.stdout, graded.stdout

    page, row = formgrader(sessions, settings)
    formgrader_action(page, row, "comment", "generating feedback")
    formgrader_action(page, row, "envelope", "releasing feedback")
    page.goto(f"{settings.url}/services/{settings.course_id}/formgrader/manage_submissions/{ASSIGNMENT}")
    page.locator("tr", has_text=ann(settings)).first.wait_for()
    screenshot(page, "10-instructor-graded-submissions")


def hidden_test_lines() -> list[str]:
    """Lines of the master's hidden tests that the released exercise does not show anyway, and that
    are the test's own: a line the course's package holds too (``except ValueError as error:``)
    is everywhere, and says nothing."""
    master = nbformat.read(str(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    released = nbformat.read(str(REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    visible = "\n".join(cell.source for cell in released.cells)  # a line inside a visible one is visible
    # ... nor one of the solution's (a learner's answer may hold it: Ann's does).
    answers = "\n".join(HIDDEN.sub("", cell.source) for cell in master.cells)
    package_code = "\n".join(path.read_text() for package in ("autograder", "backprop_lab")
                             for path in (REPO / package).rglob("*.py"))
    lines = []
    for cell in master.cells:
        for block in HIDDEN.findall(cell.source):
            lines += [line.strip() for line in block.splitlines()
                      if len(line.strip()) > 12 and not line.strip().startswith("#") and line.strip() not in visible
                      and line.strip() not in package_code and line.strip() not in answers]
    assert len(lines) > 10, f"the master has too few hidden test lines to look for: {lines}"
    return lines


@pytest.mark.parametrize("student", [0, 1], ids=["student-a", "student-b"])
def test_each_student_fetches_their_own_feedback_without_hidden_test_code(sessions, settings, student):
    user = settings.students[student]
    page = sessions.page(user)
    panel = assignment_list(page)
    panel.get_by_role("button", name="Fetch Feedback").first.click()
    feedback_dir = fetched_notebook(settings, user).parent / "feedback"
    feedback = wait_for(lambda: sorted(feedback_dir.glob(f"*/{ASSIGNMENT}.html")), f"{user}'s feedback")
    assert len(feedback) == 1, feedback
    text = html.unescape(re.sub(r"<[^>]+>", " ", feedback[0].read_text()))
    score = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert score, f"no score in the feedback:\n{text[:2000]}"
    assert float(score.group(1)) == STUDENT_SCORES[student], f"{user} got another student's feedback: {score.group(0)}"
    leaked = [line for line in hidden_test_lines() if line in text]
    assert not leaked, f"the feedback shows hidden test code: {leaked[:3]}"

    relative = feedback[0].relative_to(Path("/home") / user)
    page.goto(f"{settings.url}/user/{user}/files/{relative}")
    hidden_cell = page.get_by_text("test_compose_derivative_hidden").first
    hidden_cell.wait_for()
    hidden_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
    screenshot(page, f"11-{'student-a' if student == 0 else 'student-b'}-feedback")


def test_the_export_holds_both_grades(settings):
    exported = classroom.as_grader(settings, settings.venv / "bin" / "nbgrader", "export", "--to", "grades.csv")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with (settings.course_dir / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENT}
    assert set(rows) == set(settings.students), rows
    assert [float(rows[s]["score"]) for s in settings.students] == STUDENT_SCORES, rows
    assert all(rows[s]["status"] == "graded" for s in settings.students), rows


# --- the walls ------------------------------------------------------------------------------

PROBE = textwrap.dedent("""
    import json, os, sys
    results = {}
    for path in sys.argv[1:]:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").close()
            results[path] = "read"
        except PermissionError:
            results[path] = "denied"
        except FileNotFoundError:
            results[path] = "missing"
    print(json.dumps(results, indent=1))
""")


def private_paths(settings) -> list[str]:
    master = f"source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    return [
        f"/home/{ann(settings)}",
        f"/home/{ann(settings)}/{settings.course_id}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        str(settings.course_dir),
        str(settings.course_dir / "gradebook.db"),
        str(settings.course_dir / master),
        str(settings.course_dir / "submitted"),
        str(REPO / master),
        str(REPO / f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"),
    ]


def test_student_b_cannot_read_a_home_the_course_folder_the_gradebook_or_the_masters(settings):
    paths = private_paths(settings)
    for path in paths:  # they are there: a "missing" would prove nothing
        assert Path(path).exists(), path
    probe = classroom.as_user(settings, bob(settings), [str(settings.venv / "bin" / "python"), "-c", PROBE, *paths],
                              Path("/home") / bob(settings), "students")
    results = json.loads(probe.stdout)
    assert results == {path: "denied" for path in paths}, results


def test_a_student_cannot_reach_the_formgrader(sessions, settings):
    page = sessions.page(bob(settings))
    for path in ("formgrader", "formgrader/api/assignments", "lab"):
        response = page.goto(f"{settings.url}/services/{settings.course_id}/{path}")
        assert response.status == 403, f"a student opened /services/{settings.course_id}/{path} ({response.status})"
    screenshot(page, "12-student-formgrader-forbidden")
    assert not page.locator("tr", has_text=ASSIGNMENT).count()


def test_a_students_kernel_cannot_open_the_masters(sessions, settings):
    user = ann(settings)
    probe = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                              "display_name": "Python 3 (ipykernel)"}})
    probe.cells = [nbformat.v4.new_code_cell(PROBE.replace("sys.argv[1:]", repr(private_paths(settings)[2:])))]
    path = Path("/home") / user / "probe.ipynb"
    nbformat.write(probe, str(path))
    shutil.chown(path, user, user)
    page = sessions.page(user)
    # Wait for the kernel before running: a Shift+Enter pressed while the notebook is still loading is lost.
    page.goto(f"{settings.url}/user/{user}/lab/tree/probe.ipynb")
    panel = lab.wait_for_notebook(page)
    state = lab.run_all(page, panel)
    assert not lab.error_outputs(panel), lab.error_outputs(panel)
    output = panel.locator(".jp-OutputArea-output").first
    assert output.count(), f"the probe printed nothing: {state}"
    screenshot(page, "13-student-kernel-denied")
    results = json.loads(output.inner_text())
    assert results and set(results.values()) == {"denied"}, results


def test_the_hub_started_every_server_as_its_own_user(settings):
    """The walls above hold because each server runs as its user, not as root."""
    import psutil

    owners = {}
    for process in psutil.process_iter(["cmdline", "username"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "jupyterhub-singleuser" in cmdline and str(settings.venv) in cmdline:
            owners.setdefault(process.info["username"], 0)
            owners[process.info["username"]] += 1
    assert "root" not in owners, owners
    assert {ann(settings), bob(settings), instructor(settings), settings.grader} <= set(owners), owners
    assert subprocess.run(["id", settings.grader], capture_output=True, check=False).returncode == 0
