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

from autograder import cells, course
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
    hidden = cells.hidden_lines(nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4))
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
    pickled = base64.b64encode(buffer.getvalue()).decode()
    pointer = base64.b64encode(np.array([id(value)], dtype=np.uint64).tobytes()).decode()
    forged = [
        {"array": pickled},  # a pickled .npy file
        {"array": ["|O", [1], pointer]},  # an object array: its bytes would be a pointer
        {"array": ["<U1", [1], base64.b64encode(b"abcd").decode()]},  # text, not numbers
        {"array": ["<f8", [2], pointer]},  # fewer bytes than its shape needs
        {"scalar": ["<f8", [2], base64.b64encode(np.zeros(2).tobytes()).decode()]},  # a "scalar" with a shape
    ]
    for data in forged:
        with pytest.raises(CodecError):
            decode(data, refuse)
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


# --- step 08, judged outside the kernel ------------------------------------------------------

CAPSTONE = "08_capstone"

#: affine_forward and affine_backward zero their inputs in place and return what zeros give
#: (relu is right): the expected values, computed after the call from the same arrays, agree.
CAPSTONE_ZEROED_INPUTS = {"affine_forward": """\
def affine_forward(x, w, b):
    x[...], w[...], b[...] = 0, 0, 0
    return x @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dout[...] = 0
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
"""}


def test_forged_kernel_replies_earn_nothing_on_the_capstone(tmp_path):
    """While step 08 ran its tests in the kernel, the untouched stubs with forged replies scored 36/36."""
    report = _grade(tmp_path, CAPSTONE, {}, first_cell=FORGED_REPLIES)
    assert report.max_score > 0 and report.score == 0, _points(report)


def test_capstone_inputs_zeroed_in_place_earn_nothing(tmp_path):
    """Zeroing the test's inputs in place scored the two affine tests (2 points) in the kernel."""
    report = _grade(tmp_path, CAPSTONE, CAPSTONE_ZEROED_INPUTS)
    assert report.error is None, report.error
    assert report.max_score > 0 and report.score == 0, _points(report)


# --- what comes back from learner code: containers, generators, callbacks ---------------------

#: Learner code that changes what it is given, draws from a given generator, and calls back.
LEARNER = """\
import numpy as np


def fill(stats, items):
    stats["mean"] = np.ones(2)   # a key added
    del stats["old"]             # a key removed
    stats["kept"] += 1           # an array of the dict, changed in place
    items.append(3)
    items[0] = "first"


def step(params, lr):
    params["W"] *= 2                    # in place: the judge's own array
    params["b"] = params["b"] - lr      # rebound: a new array
    return params


def draw(rng, X):
    rng.shuffle(X)
    return int(rng.integers(10**6))


def square(x):
    return x * x


def twice(f, x):
    return f(x) + f(x)


def remember(f, x, seen):
    seen["value"] = f(x)
    return seen["value"]


def fails(x):
    raise ValueError(f"no good at {x}")


def same(a, b):
    return a is b
"""
LEARNER_NAMES = {"fill", "step", "draw", "square", "twice", "remember", "fails", "same"}


@pytest.fixture(scope="module")
def kernel():
    """A plain kernel (the grader's sandbox is not needed for the suite's own code) with the agent."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("import autograder.judge_agent as _agent\n_agent.install(get_ipython())\n"
                                           + LEARNER, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        yield manager
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.fixture(params=["local", pytest.param("kernel", marks=pytest.mark.slow)])
def learner(request):
    """The judge's proxies for LEARNER, through the in-process agent or the kernel's."""
    from autograder.execute import KernelTransport
    from autograder.judge import Judge, LocalTransport

    if request.param == "local":
        namespace = {}
        exec(LEARNER, namespace)  # noqa: S102 - the suite's own code
        transport = LocalTransport(namespace)
    else:
        transport = KernelTransport(request.getfixturevalue("kernel"), "_agent", 100_000, 5.0)
        transport.start_cell(60)
    judge = Judge(transport, LEARNER_NAMES)
    try:
        yield judge.namespace
    finally:
        transport.finish()
        if request.param == "kernel":
            transport.close()


def test_dicts_and_lists_given_to_learner_code_come_back_changed(learner):
    import numpy as np

    kept = np.zeros(1)
    stats, items = {"old": 1.0, "kept": kept}, [1, 2]
    assert learner["fill"](stats, items) is None
    assert sorted(stats) == ["kept", "mean"] and np.array_equal(stats["mean"], np.ones(2))
    assert stats["kept"] is kept and kept[0] == 1  # the judge's own array, changed in place
    assert items == ["first", 2, 3]

    W, b = np.ones((2, 2)), np.zeros(2)
    params = {"W": W, "b": b}
    assert learner["step"](params, 0.5) is params  # the result is the very dict it was given
    assert params["W"] is W and np.array_equal(W, 2 * np.ones((2, 2)))
    assert params["b"] is not b and np.array_equal(params["b"], [-0.5, -0.5]) and np.array_equal(b, [0, 0])
    assert learner["same"](params, params) and learner["same"](W, W) and not learner["same"](W, W.copy())  # one object


def test_a_generator_given_to_learner_code_moves_on_as_it_would_in_the_kernel(learner):
    import numpy as np

    rng, same = np.random.default_rng(7), np.random.default_rng(7)
    X, shuffled = np.arange(10), np.arange(10)
    same.shuffle(shuffled)
    assert learner["draw"](rng, X) == int(same.integers(10**6))
    assert np.array_equal(X, shuffled)
    assert rng.normal() == same.normal()  # the test's generator drew what learner code drew


def test_a_function_of_the_test_may_call_learner_code(learner):
    square, twice = learner["square"], learner["twice"]
    assert twice(lambda x: square(x) + 1, 3.0) == 20.0
    assert twice(lambda x: twice(lambda y: square(y), x), 2.0) == 16.0  # two levels deep
    seen = {}
    assert learner["remember"](lambda x: twice(square, x), 3.0, seen) == 18.0
    assert seen == {"value": 18.0}  # the outer call's dict comes back, after the nested ones
    with pytest.raises(ValueError, match="no good at 2.0"):  # the learner's own error, not the callback's
        twice(lambda x: learner["fails"](x), 2.0)


#: Lists the test gave, rewritten in place so that the test's own loop checks nothing (03: the
#: gradients' layers) or checks the sizes the answer built (02: an MLP without its hidden layers).
#: Lists come back from learner code, so these tests give copies.
EMPTIED_LAYERS = """\
def mlp_loss_and_grads(weights, biases, X, y):
    a = X
    for W, b in zip(weights, biases):
        a = 1 / (1 + np.exp(-(a @ W + b)))
    weights.clear()
    biases.clear()
    return np.mean((a - y) ** 2), [], []
"""


def _without_hidden_layers() -> str:
    code = solution_answers("02_computational_graphs")["MLP"]
    old = "        sizes = [n_inputs] + list(layer_sizes)\n"
    assert old in code
    new = "        sizes = [n_inputs] + list(layer_sizes)[-1:]\n        layer_sizes[:] = sizes[1:]\n"
    return code.replace(old, new)


@pytest.mark.parametrize(("assignment", "grade_id", "code"), [
    pytest.param("03_manual_backprop", "mlp_loss_and_grads", EMPTIED_LAYERS, id="03: layers emptied"),
    pytest.param("02_computational_graphs", "MLP", None, id="02: sizes rewritten"),
])
def test_lists_rewritten_in_place_earn_nothing(tmp_path, assignment, grade_id, code):
    answers = {**solution_answers(assignment), grade_id: code or _without_hidden_layers()}
    report = _grade(tmp_path, assignment, answers)
    assert report.error is None, report.error
    earned = [(r.grade_id, r.points) for r in report.results if r.grade_id.startswith(f"test_{grade_id}")]
    assert earned and not [points for _, points in earned if points], earned
