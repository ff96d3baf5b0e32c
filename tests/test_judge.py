"""Judgement outside the learner's reach: attacks from inside the kernel gain nothing.

Each submission below rewrites the grading kernel from inside, in ways the static scan does not
see (issue 12). The test cells run in the grader's process (autograder/judge.py), so none of it
touches the verdict. Every case is graded through the real sandboxed kernel.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest
from grading_support import STUDENT, solution_answers, with_answers

from autograder import course, pipelines
from autograder.grading import grade_notebook

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_chain_rule"

#: Wrong answers for every function of step 01: zeros of the right kind.
ZERO = {
    "compose_derivative": "def compose_derivative(df, g, dg):\n    return lambda x: 0 * x\n",
    "dh_dx": "def dh_dx(x):\n    return 0 * x\n",
    "dz_dt": "def dz_dt(t):\n    return 0 * t\n",
    "neuron_gradients": "def neuron_gradients(w, x, b):\n    return 0 * w, 0 * x, 0 * b\n",
    "least_squares_gradient": "def least_squares_gradient(A, x, b):\n    return 0 * x\n",
}

#: Wraps the kernel's execute handler so that every reply says ok, and silences tracebacks.
FORGED_REPLIES = """\
g = get_ipython
ip = g()
original = ip.kernel.do_execute


async def always_ok(*args, **kwargs):
    try:
        await original(*args, **kwargs)
    except BaseException:
        pass
    return {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}


ip.kernel.do_execute = always_ok
ip.showtraceback = lambda *args, **kwargs: None
"""

#: A tracer (installed without writing `settrace`) that widens the comparison's tolerance.
WIDENING_TRACER = """\
import operator
import sys


def widen(frame, event, arg):
    if event == "call" and frame.f_code.co_name in ("_allclose", "check_close"):
        operator.attrgetter("f_locals")(frame)["atol"] = float("inf")
    return widen


operator.attrgetter("settrace")(sys)(widen)
"""

#: Replaces the builtin `abs` that the comparison calls.
REPLACED_BUILTIN = """\
import operator

operator.attrgetter("__self__")(print).abs = lambda v: 0 * v
"""

#: Answers whose `__array__` walks the stack to the grader's expected array.
STACK_WALKER = """\
import operator
import sys

import numpy as np


class Answer:
    def __array__(self, dtype=None, copy=None):
        frame = operator.attrgetter("_getframe")(sys)(1)
        while frame is not None:
            found = operator.attrgetter("f_locals")(frame)
            for name in ("expected_array", "expected"):
                if name in found and isinstance(found[name], np.ndarray):
                    return found[name]
            frame = operator.attrgetter("f_back")(frame)
        return np.zeros(1)
"""
STACK_ANSWERS = {name: re.sub(r"0 \* \w+", "Answer()", code) for name, code in ZERO.items()}
STACK_ANSWERS["compose_derivative"] = STACK_WALKER + "\n\n" + STACK_ANSWERS["compose_derivative"]

#: Rebinds the check helpers in the notebook's namespace while a test runs.
REBIND_HELPERS = """\
import __main__ as _m

_main = _m


def _silence():
    _main.check_close = _main.check_true = _main.check_callable = lambda *args, **kwargs: None
"""
REBINDING_ANSWERS = {
    name: code.replace("):\n", "):\n    _silence()\n", 1) for name, code in ZERO.items()
}
REBINDING_ANSWERS["compose_derivative"] = REBIND_HELPERS + "\n\n" + REBINDING_ANSWERS["compose_derivative"]

#: Wrong answers that zero the test's input arrays in place.
ZEROED_INPUTS = {
    "compose_derivative": ("def compose_derivative(df, g, dg):\n"
                           "    def derivative(x):\n        x[...] = 0\n        return 0 * x\n"
                           "    return derivative\n"),
    "dh_dx": "def dh_dx(x):\n    x[...] = 0\n    return 0 * x\n",
    "dz_dt": "def dz_dt(t):\n    t[...] = 0\n    return 0 * t\n",
    "neuron_gradients": ("def neuron_gradients(w, x, b):\n    for v in (w, x, b):\n"
                         "        if hasattr(v, 'shape'):\n            v[...] = 0\n"
                         "    return 0 * w, 0 * x, 0 * b\n"),
    "least_squares_gradient": ("def least_squares_gradient(A, x, b):\n    A[...] = 0\n    x[...] = 0\n"
                               "    b[...] = 0\n    return 0 * x\n"),
}

#: A correct answer that prints, base64-encoded, every source line the kernel has seen.
LEAKER = """\
import base64
import linecache

import numpy as np


def dh_dx(x):
    seen = "".join(line for lines in list(linecache.cache.values()) if len(lines) > 2 for line in lines[2])
    print("LEAK", base64.b64encode(seen.encode()).decode())
    return 3 * (x**2 + 1) ** 2 * 2 * x
"""


def _grade(tmp_path: Path, assignment: str, answers: dict[str, str], first_cell: str | None = None):
    notebook = with_answers(assignment, answers)
    if first_cell is not None:
        setup = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "setup")
        notebook.cells.insert(setup + 1, nbformat.v4.new_code_cell(first_cell))
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    return grade_notebook(path, course.source_notebook(assignment), student=STUDENT)


def _points(report) -> list[tuple[str, float]]:
    return [(r.grade_id, r.points) for r in report.results if r.points]


@pytest.mark.parametrize("assignment", ["01_chain_rule", "04_activation_derivatives", "05_gradient_checking",
                                        "06_pytorch_autograd"])
def test_forged_kernel_replies_earn_nothing(tmp_path, assignment):
    report = _grade(tmp_path, assignment, {}, first_cell=FORGED_REPLIES)
    assert report.max_score > 0 and report.score == 0, _points(report)


@pytest.mark.parametrize(("cell", "answers"), [
    pytest.param(WIDENING_TRACER, ZERO, id="a tracer that widens the tolerance"),
    pytest.param(REPLACED_BUILTIN, ZERO, id="a replaced builtin abs"),
    pytest.param(None, STACK_ANSWERS, id="an __array__ that walks the stack"),
    pytest.param(None, REBINDING_ANSWERS, id="check helpers rebound through __main__ during a test"),
    pytest.param(None, ZEROED_INPUTS, id="inputs zeroed in place"),
])
def test_rewriting_the_kernel_from_inside_earns_nothing(tmp_path, cell, answers):
    report = _grade(tmp_path, ASSIGNMENT, answers, first_cell=cell)
    assert report.error is None, report.error
    assert report.max_score > 0 and report.score == 0, _points(report)


def test_learner_code_cannot_print_a_hidden_test(tmp_path):
    answers = {**solution_answers(ASSIGNMENT), "dh_dx": LEAKER}
    report = _grade(tmp_path, ASSIGNMENT, answers)
    assert report.score == report.max_score  # a correct answer: full marks
    printed = "".join(o.get("text", "") for c in report.executed.cells for o in c.get("outputs", []))
    leaks = re.findall(r"LEAK (\S*)", printed)
    assert leaks, "the answer printed nothing"
    seen = "\n".join(base64.b64decode(leak).decode() for leak in leaks)
    hidden = pipelines.hidden_lines(nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4))
    assert hidden and not [line for line in hidden if line in seen]


# --- the codec: only data crosses ----------------------------------------------------------


def test_the_codec_never_unpickles_and_refuses_objects():
    import io

    import numpy as np

    from autograder.judge_agent import CodecError, decode, encode

    def refuse(value):
        raise TypeError(type(value).__name__)

    value = {"a": (1, 2.5, float("nan"), 1j, None, "s"), "b": [np.arange(6).reshape(2, 3), np.float32(1.5)]}
    back = decode(encode(value, refuse), refuse)
    assert back["a"][:2] == (1, 2.5) and np.isnan(back["a"][2]) and back["a"][3:] == (1j, None, "s")
    assert (back["b"][0] == value["b"][0]).all() and back["b"][1].dtype == np.float32
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    pickled = {"array": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(CodecError):
        decode(pickled, refuse)
    with pytest.raises(TypeError):
        encode(object(), refuse)
    with pytest.raises(CodecError):
        decode(encode([[[1]]], refuse), refuse, depth=31)  # nested too deeply


def test_a_learner_object_is_a_proxy_named_like_it():
    from autograder.judge import Judge, LocalTransport

    namespace = {}
    exec("class Point:\n    def __init__(self, x):\n        self.x = x\n    def norm(self):\n"
         "        return abs(self.x)\n", namespace)
    judge = Judge(LocalTransport(namespace), {"Point"})
    point = judge.namespace["Point"](-2.0)
    assert type(point).__name__ == "Point" and not callable(point)
    assert point.x == -2.0 and point.norm() == 2.0 and isinstance(point, judge.namespace["Point"])
    point.x = 3.0
    assert point.norm() == 3.0
