"""The grading sandbox, by attack: each limit and each isolation claim of autograder/sandbox.py has a
hostile submission here that would succeed without it. Grading runs as root here, so the kernel
runs as a throwaway user, in bubblewrap's jail, under prlimit's limits.

One probe notebook tries every attack in one learner cell and prints what happened; each test
reads its own line. Attacks that cost points (memory, loops, the course's own code) are graded
on their own."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import py_compile
import shutil
import socket
import threading
from pathlib import Path

import corpus
import nbformat
import pytest
from traitlets.config import Config

from autograder import checks, course, sandbox
from autograder.grading import grade_notebook
from autograder.problems import Kind

pytestmark = [pytest.mark.slow]

ASSIGNMENT = "01_chain_rule"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the throwaway user needs root")


@pytest.fixture(scope="module", autouse=True)
def _jail_is_there():
    if not sandbox.can_jail():
        if os.environ.get("CI") == "true":
            pytest.fail("bubblewrap (bwrap) is missing: .ci/run installs it")
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


def _with_cell(notebook, source: str, after: str = "setup"):
    position = next(i for i, c in enumerate(notebook.cells)
                    if c.metadata.get("nbgrader", {}).get("grade_id") == after) + 1
    notebook.cells.insert(position, nbformat.v4.new_code_cell(source))
    return notebook


def _grade(tmp_path: Path, notebook, assignment_id: str = ASSIGNMENT, cell_timeout: int = 8, **options):
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    path = folder / f"{assignment_id}.ipynb"
    nbformat.write(notebook, path)
    return grade_notebook(path, course.source_notebook(assignment_id), student="attacker", cell_timeout=cell_timeout,
                          submission_timeout=60, **options)


def _printed(report, marker: str) -> dict:
    text = "".join(o.get("text", "") for c in report.executed.cells if c.cell_type == "code" for o in c.outputs)
    line = next(line for line in text.splitlines() if line.startswith(marker))
    return ast.literal_eval(line.removeprefix(marker + " "))


# --- one probe: everything it tries must fail --------------------------------------------------

PROBE = '''
import os, socket, subprocess, sys

def attempt(label, action):
    try:
        result = action()
        results[label] = "ALLOWED " + repr(result)[:60]
    except BaseException as error:
        results[label] = "denied " + type(error).__name__

results = {}
attempt("connect to the grader's machine", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
attempt("read the instructor masters", lambda: open(REPO + "/source/01_chain_rule/01_chain_rule.ipynb").read(20))
attempt("read the solutions", lambda: open(REPO + "/solutions/01_chain_rule/01_chain_rule.ipynb").read(20))
attempt("import the course's code", lambda: __import__("backprop_lab"))
attempt("read the gradebook", lambda: open(COURSE + "/gradebook.db", "rb").read(20))
attempt("write into the exchange", lambda: open(EXCHANGE + "/forged.ipynb", "w").write("{}"))
attempt("write into the repository", lambda: open(REPO + "/autograder/evil.py", "w").write("x = 1"))
attempt("read root's files", lambda: open("/root/.bashrc").read(20))
attempt("write a 100 MB file", lambda: open("big.bin", "wb").write(b"0" * 100_000_000))
attempt("start 200 processes", lambda: [subprocess.Popen(["sleep", "30"]) for _ in range(200)])
print("PROBE", results)
'''


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """A listener on the grader's loopback, a course folder and an exchange, and the probe graded with
    the static scan off: the jail alone must stop every attempt."""
    base = tmp_path_factory.mktemp("probe")
    course_root, exchange = base / "course", base / "exchange"
    (course_root / "source").mkdir(parents=True)
    (course_root / "gradebook.db").write_bytes(b"SQLite format 3\x00 every grade")
    exchange.mkdir()
    exchange.chmod(0o777)  # as nbgrader needs it: everyone may write
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    connections = []
    waiter = threading.Thread(target=lambda: _accept(listener, connections), daemon=True)
    waiter.start()
    source = (PROBE.replace("PORT", str(listener.getsockname()[1])).replace("REPO", repr(str(course.REPO_ROOT)))
              .replace("COURSE", repr(str(course_root))).replace("EXCHANGE", repr(str(exchange))))
    notebook = _with_cell(corpus.submission("correct", ASSIGNMENT), source)
    config = Config()
    config.Exchange.root = str(exchange)  # the exchange the kernel must not touch, as nbgrader is told
    folder = base / "submission"
    folder.mkdir()
    path = folder / f"{ASSIGNMENT}.ipynb"
    nbformat.write(notebook, path)
    report = grade_notebook(path, course.source_notebook(ASSIGNMENT), student="attacker", cell_timeout=20,
                            course_root=str(course_root), config=config, scan_for_tampering=False)
    listener.close()
    waiter.join(timeout=1)
    return {"report": report, "results": _printed(report, "PROBE"), "connections": connections,
            "exchange": exchange}


def _accept(listener, connections):
    with contextlib.suppress(OSError):
        connections.append(listener.accept())


ATTACKS = ["connect to the grader's machine", "read the instructor masters",
           "read the solutions", "import the course's code", "read the gradebook", "write into the exchange",
           "write into the repository", "read root's files", "write a 100 MB file"]


@needs_root
@pytest.mark.parametrize("attack", ATTACKS)
def test_every_attack_of_the_probe_is_denied(probe, attack):
    assert probe["results"][attack].startswith("denied"), probe["results"]


@needs_root
def test_no_connection_reached_the_grader(probe):
    assert probe["connections"] == []
    assert not (probe["exchange"] / "forged.ipynb").exists()
    assert not (course.REPO_ROOT / "autograder" / "evil.py").exists()


@needs_root
def test_a_process_flood_is_capped(probe):
    assert probe["results"]["start 200 processes"].startswith("denied"), probe["results"]


@needs_root
def test_the_probe_still_earns_its_points(probe):
    """The limits stop the attacks, not honest work: the correct answers keep full marks."""
    report = probe["report"]
    assert report.score == report.max_score > 0


# --- attacks that cost points -------------------------------------------------------------------

HOG = "import numpy as np\nhog = np.ones(3 * 1024**3 // 8)\nprint('ALLOCATED', hog.sum())\n"


def test_a_memory_hog_is_stopped_and_named_and_the_other_points_kept(tmp_path):
    notebook = corpus.submission("correct", ASSIGNMENT)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "neuron_gradients")
    cell.source = HOG + cell.source
    report = _grade(tmp_path, notebook)
    assert [p.kind for p in report.problems] == [Kind.OUT_OF_MEMORY]
    assert "ran out of memory (the grader's limit is 2 GB)" in report.problems[0].message
    # The MemoryError stops that cell before `def neuron_gradients`: its tests fail, no others.
    failed = {r.grade_id for r in report.results if not r.passed}
    assert failed == {"test_neuron_gradients", "test_neuron_gradients_hidden"}


DEAF_LOOP = ("\nimport signal\n\n\ndef dz_dt(t):\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "    while True:\n        pass\n")


def test_a_loop_that_ignores_the_interrupt_is_stopped_and_earlier_points_are_kept(tmp_path):
    notebook = corpus.submission("correct", ASSIGNMENT)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "dz_dt")
    cell.source += DEAF_LOOP
    # Step 01's cells take milliseconds: a 4 s limit and 1 s of grace leave room on a busy machine.
    report = _grade(tmp_path, notebook, cell_timeout=4, interrupt_grace=1)
    points = {r.grade_id: r.points for r in report.results}
    assert points["test_compose_derivative"] == 1 and points["test_dh_dx_hidden"] == 2  # before the loop
    assert points["test_dz_dt"] == 0 and points["test_neuron_gradients"] == 0  # the loop, and after it
    assert {p.kind for p in report.problems} == {Kind.TIMEOUT, Kind.STOPPED}
    assert "ignored the grader's interrupt" in report.notes[-1]


COURSE_ANSWERS = "from backprop_lab.activations import sigmoid_grad, tanh_grad, relu_grad, leaky_relu_grad\n"


@pytest.mark.parametrize("scan", [True, False], ids=["refused-by-the-scan", "hidden-by-the-jail"])
def test_answers_imported_from_the_course_earn_nothing(tmp_path, scan):
    """A one-line import of the course's reference code earned 21/21 on step 04: now 0 for those
    functions, with one clear sentence, whether the static scan or the jail stops it."""
    assignment_id = "04_activation_derivatives"
    notebook = corpus.submission("untouched", assignment_id)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid_grad")
    cell.source = COURSE_ANSWERS
    report = _grade(tmp_path, notebook, assignment_id, scan_for_tampering=scan)
    assert report.score == 0
    said = " ".join(report.notes)
    assert "the course's own code" in said, report.notes


def test_reading_the_course_solutions_earns_nothing(tmp_path):
    solutions = course.solution_notebook("04_activation_derivatives")
    notebook = corpus.submission("untouched", "04_activation_derivatives")
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid_grad")
    cell.source = (f"import json\ncells = json.load(open({str(solutions)!r}))['cells']\n"
                   "answer = next(''.join(c['source']) for c in cells if 'def sigmoid_grad' in ''.join(c['source']))\n"
                   "print(answer)\n")
    report = _grade(tmp_path, notebook, "04_activation_derivatives")
    assert report.score == 0
    assert [p.kind for p in report.problems] == [Kind.COURSE_CODE]


def test_a_link_in_the_submission_is_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    secret.chmod(0o600)
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "data.txt").symlink_to(secret)
    notebook = _with_cell(corpus.submission("correct", ASSIGNMENT),
                          "import os\nprint('LINK', {'exists': os.path.exists('data.txt')})\n")
    report = _grade(tmp_path, notebook)
    assert _printed(report, "LINK") == {"exists": False}
    shutil.rmtree(folder)


#: Answers taken from the grader's own package by imports the static scan cannot see: a numerical
#: gradient (the check helpers' own) for step 05, the capstone's reference split for step 08, and,
#: failing the import, the compiled module read from its cache.
GRADER_ANSWERS = {
    "05_gradient_checking": ("numerical_gradient", "test_numerical_gradient", '''
import glob, importlib, marshal, os, types
try:
    numerical_gradient = importlib.import_module("autograder" + ".checks").reference_gradient
except ImportError:
    package = os.path.dirname(importlib.import_module("autograder").__file__)
    cached = glob.glob(os.path.join(package, "__pycache__", "checks.*.pyc"))
    module = types.ModuleType("autograder.stolen")
    module.__package__ = "autograder"
    exec(marshal.loads(open(cached[0], "rb").read()[16:]), module.__dict__)
    numerical_gradient = module.reference_gradient
'''),
    "08_capstone": ("train_val_split", "test_train_val_split", '''
import importlib
train_val_split = importlib.import_module("autograder" + ".reference_08").split
'''),
}


@pytest.mark.parametrize("assignment_id", sorted(GRADER_ANSWERS))
def test_answers_taken_from_the_graders_own_package_earn_nothing(tmp_path, assignment_id):
    """The check helpers and the tests' reference code run in the judge only: the jail leaves the
    kernel just the judge's agent (sandbox.KERNEL_MODULES). With the whole package visible, these
    earned 3 points on step 05 and 3 on step 08."""
    grade_id, test, code = GRADER_ANSWERS[assignment_id]
    # A compiled copy of the check helpers beside them, as an installed package has: hidden too.
    py_compile.compile(checks.__file__, cfile=importlib.util.cache_from_source(checks.__file__), doraise=True)
    notebook = corpus.submission("untouched", assignment_id)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = code
    report = _grade(tmp_path, notebook, assignment_id)
    earned = {r.grade_id: r.points for r in report.results if r.grade_id.startswith(test)}
    assert earned and set(earned.values()) == {0}, earned
    assert report.score == 0
