"""Step 05: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import numpy as np
import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
    solution_answers,
)

ASSIGNMENT = "05_gradient_checking"
#: The reference solutions: some wrong answers below are one of them with one slip edited in.
SOLUTIONS = solution_answers(ASSIGNMENT)


def _numerical_gradient(loop_body: str, loop: str = "for index in np.ndindex(x.shape):") -> str:
    """A numerical_gradient whose loop body is one learner's version."""
    body = "\n".join("        " + line for line in loop_body.strip().splitlines())
    return (
        "import numpy as np\n"
        "def numerical_gradient(f, x, h=1e-5):\n"
        "    gradient = np.zeros_like(x, dtype=float)\n"
        f"    {loop}\n"
        f"{body}\n"
        "    return gradient\n"
    )


def _relative_error(expression: str) -> str:
    return (
        "import numpy as np\n"
        "def relative_error(a, b):\n"
        "    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)\n"
        f"    return {expression}\n"
    )


def _gradient_check(returned: str) -> str:
    return (
        "def gradient_check(f, grad_f, x, tol=1e-7):\n"
        "    rel_error = relative_error(grad_f(x), numerical_gradient(f, x))\n"
        f"    return {returned}\n"
    )


# A correct tanh_net_grads with some of the planted bugs left in (or a fix gone wrong).
TANH_NET_TEMPLATE = """
def tanh_net_grads(params, X, y):
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    z1 = X @ W1 + b1
    h = np.tanh(z1)
    y_pred = h @ W2 + b2
    dy_pred = 2 * (y_pred - y) / y_pred.size
    dW2 = {dW2}
    db2 = dy_pred.sum(axis=0)
    dh = dy_pred @ W2.T
    dz1 = {dz1}
    dW1 = X.T @ dz1
    db1 = {db1}
    return {{"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}}
"""
TANH_NET_RIGHT = {"dW2": "h.T @ dy_pred", "dz1": "dh * (1 - h**2)", "db1": "dz1.sum(axis=0)"}


def tanh_net_with(**changes: str) -> str:
    return TANH_NET_TEMPLATE.format(**{**TANH_NET_RIGHT, **changes})


def _sparse_check(choose: str, numeric: str, error: str) -> str:
    """A sparse_gradient_check whose choice of entries, estimate and error are one learner's."""
    return f"""
def sparse_gradient_check(f, analytic, x, num_checks, rng, h=1e-5):
    indices, rel_errors = [], []
    for _ in range(num_checks):
        index = {choose}
        saved = x[index]
        {numeric}
        x[index] = saved
        a = analytic[index]
        rel_errors.append({error})
        indices.append(index)
    return indices, np.array(rel_errors)
"""


RANDOM_INDEX = "tuple(int(rng.integers(n)) for n in x.shape)"
CENTRAL = "x[index] = saved + h; up = f(x); x[index] = saved - h; n = (up - f(x)) / (2 * h)"
RELATIVE = "0.0 if abs(a) + abs(n) == 0 else abs(a - n) / (abs(a) + abs(n))"

WRONG_ANSWERS = [
    WrongAnswer(
        "numerical_gradient",
        _numerical_gradient("""
saved = x[index]
f_here = f(x)
x[index] = saved + h
gradient[index] = (f(x) - f_here) / h
x[index] = saved
"""),
        "looks like forward differences: use (f(x+h) - f(x-h)) / 2h",
    ),
    WrongAnswer(
        "numerical_gradient",
        _numerical_gradient("""
saved = x[index]
x[index] = saved + h
upper = f(x)
x[index] = saved - h
lower = f(x)
x[index] = saved
gradient[index] = (upper - lower) / h
"""),
        "divide by 2h",
    ),
    WrongAnswer(
        "numerical_gradient",
        _numerical_gradient("""
gradient[index] = (f(x + h) - f(x - h)) / (2 * h)
"""),
        "perturb one entry at a time",
        also=("f saw no change: perturb the entries of x itself",),  # x + h is a new array: true as well
    ),
    WrongAnswer(
        "numerical_gradient",
        _numerical_gradient(
            """
saved = x[i].copy()
x[i] = saved + h
upper = f(x)
x[i] = saved - h
lower = f(x)
x[i] = saved
gradient[i] = (upper - lower) / (2 * h)
""",
            loop="for i in range(x.shape[0]):",
        ),
        "x[i] on a multi-dimensional array is a whole row",
        also=("perturb one entry at a time",),  # the advice that follows
    ),
    WrongAnswer(  # correct for a pure f, but f may read the caller's array
        "numerical_gradient",
        _numerical_gradient("""
shifted = x.copy()
shifted[index] = x[index] + h
upper = f(shifted)
shifted[index] = x[index] - h
gradient[index] = (upper - f(shifted)) / (2 * h)
"""),
        "f saw no change: perturb the entries of x itself, in place (not a copy)",
    ),
    WrongAnswer(  # undoing the steps instead of putting back the saved value
        "numerical_gradient",
        _numerical_gradient("""
x[index] += h
upper = f(x)
x[index] -= 2 * h
lower = f(x)
x[index] += h
gradient[index] = (upper - lower) / (2 * h)
"""),
        "x was modified: restore each entry after perturbing it",
    ),
    WrongAnswer(
        "numerical_gradient",
        _numerical_gradient("""
saved = x[index]
x[index] = saved + h
upper = f(x)
x[index] = saved - h
gradient[index] = (upper - f(x)) / (2 * h)
"""),
        "x was modified: restore each entry after perturbing it",
    ),
    WrongAnswer(
        "relative_error",
        _relative_error("float(np.linalg.norm(a - b))"),
        "relative_error must divide by norm(a) + norm(b)",
    ),
    WrongAnswer(
        "relative_error",
        _relative_error("float(np.linalg.norm(a - b) / np.linalg.norm(a))"),
        "relative_error must divide by norm(a) + norm(b), not by norm(a) alone",
    ),
    WrongAnswer(
        "relative_error",
        _relative_error("float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))"),
        "relative_error must divide by norm(a) + norm(b)",
    ),
    WrongAnswer(
        "relative_error",
        _relative_error("float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))"),
        "0/0: return 0.0 when both are zero",
    ),
    WrongAnswer(  # Python floats: ZeroDivisionError instead of nan
        "relative_error",
        _relative_error("float(np.linalg.norm(a - b)) / (float(np.linalg.norm(a)) + float(np.linalg.norm(b)))"),
        "0/0: return 0.0 when both are zero",
    ),
    WrongAnswer(
        "gradient_check",
        _gradient_check("rel_error > tol, rel_error"),
        "gradient_check must compare rel_error with tol, passing when it is below",
    ),
    WrongAnswer(
        "gradient_check",
        _gradient_check("rel_error, rel_error < tol"),
        "return (passed, rel_error)",
    ),
    WrongAnswer(
        "gradient_check",
        _gradient_check("rel_error < 1e-7, rel_error"),
        "use the tol argument",
    ),
    *(
        # The buggy function has several bugs: a test may name one that is still there, or say that
        # the answer is still the buggy one; both are true of an answer that fixed part of them.
        WrongAnswer("tanh_net_grads", tanh_net_with(**changes), says,
                    also=("still what buggy_tanh_net_grads returns", "the tanh derivative is taken at the wrong array"))
        for changes, says in [
            ({"dz1": "dh * (1 - z1**2)"},
             "the tanh derivative is taken at the wrong array: it is 1 - tanh(z1)**2 = 1 - h**2, not 1 - z1**2"),
            ({"db1": "dz1.mean(axis=0)"}, "db1 divides by the batch size twice"),
            ({"dW2": "z1.T @ dy_pred"}, "the second layer's input is h = tanh(z1)"),
            # the hunt stopped after the first fix: the second bug hid behind it
            ({"dz1": "dh * (1 - z1**2)", "db1": "dz1.mean(axis=0)"}, "still what buggy_tanh_net_grads returns"),
            ({"dW2": "dy_pred.T @ h"}, "It looks transposed"),
        ]
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check(RANDOM_INDEX, "here = f(x); x[index] = saved + h; n = (f(x) - here) / h", RELATIVE),
        "looks like forward differences",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check(RANDOM_INDEX, CENTRAL, "abs(a - n)"),
        "divide it by |a| + |n|",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check("np.unravel_index(int(rng.integers(x.size)), x.shape)", CENTRAL, RELATIVE).replace(
            "    indices, rel_errors = [], []",
            "    numeric_all = numerical_gradient(f, x, h)\n    indices, rel_errors = [], []",
        ),
        "evaluate f only twice per checked entry",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check("list(np.ndindex(x.shape))[_]", CENTRAL, RELATIVE),
        "choose them at random with rng",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check("tuple(np.random.randint(n) for n in x.shape)", CENTRAL, RELATIVE),
        "choose the entries with the rng you are given",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check("int(rng.integers(x.size))", CENTRAL, RELATIVE).replace("x[index]", "x.flat[index]")
        .replace("analytic[index]", "analytic.flat[index]"),
        "each index must be a tuple of x.ndim",
    ),
    WrongAnswer(
        "sparse_gradient_check",
        _sparse_check(RANDOM_INDEX, CENTRAL, "abs(a - n) / (abs(a) + abs(n))"),
        "0/0: the relative error is 0.0 when both are zero",
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    WrongAnswer(  # (f(x-h) - f(x+h)) / 2h: the subtraction the wrong way round
        "numerical_gradient",
        SOLUTIONS["numerical_gradient"].replace("(f_plus - f_minus) / (2 * h)", "(f_minus - f_plus) / (2 * h)"),
        "it has the opposite sign",
        diagnosed=True,
    ),
    WrongAnswer(  # the mean of the two norms as the scale: the relative difference of another textbook
        "relative_error",
        "import numpy as np\n"
        "def relative_error(a, b):\n"
        "    scale = (np.linalg.norm(a) + np.linalg.norm(b)) / 2\n"
        "    if scale == 0:\n"
        "        return 0.0\n"
        "    return float(np.linalg.norm(a - b) / scale)",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # its own relative error inline, with the mean of the norms as the scale
        "gradient_check",
        "import numpy as np\n"
        "def gradient_check(f, grad_f, x, tol=1e-7):\n"
        "    numeric = numerical_gradient(f, x)\n"
        "    analytic = grad_f(x)\n"
        "    scale = (np.linalg.norm(analytic) + np.linalg.norm(numeric)) / 2\n"
        "    rel_error = 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)\n"
        "    return rel_error < tol, rel_error",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # dL/dy_pred without the 2 from the square: every gradient is half
        "tanh_net_grads",
        "import numpy as np\n"
        "def tanh_net_grads(params, X, y):\n"
        "    W1, b1, W2, b2 = (params[name] for name in ('W1', 'b1', 'W2', 'b2'))\n"
        "    h = np.tanh(X @ W1 + b1)\n"
        "    dy_pred = (h @ W2 + b2 - y) / y.size\n"
        "    dz1 = dy_pred @ W2.T * (1 - h**2)\n"
        "    return {'W1': X.T @ dz1, 'b1': dz1.sum(axis=0), 'W2': h.T @ dy_pred, 'b2': dy_pred.sum(axis=0)}",
        "the factor 2 (from the derivative of a square) is missing",
        diagnosed=True,
    ),
    WrongAnswer(  # the mean of |a| and |n| as the scale of each entry's relative error
        "sparse_gradient_check",
        SOLUTIONS["sparse_gradient_check"].replace("scale = abs(analytic[index]) + abs(numeric)",
                                                   "scale = (abs(analytic[index]) + abs(numeric)) / 2"),
        "twice the expected value",
        diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


# Written differently from the solution: np.nditer over multi-indices, the two evaluations in a
# loop over signed steps, norms as square roots of sums of squares, an explicit bool.
INDEPENDENT_ANSWERS = {
    "numerical_gradient": '''
import numpy as np

def numerical_gradient(f, x, h=1e-5):
    gradient = np.empty(x.shape)
    walker = np.nditer(x, flags=["multi_index"])
    for _ in walker:
        i = walker.multi_index
        original = float(x[i])
        values = []
        for step in (h, -h):
            x[i] = original + step
            values.append(float(f(x)))
        x[i] = original
        gradient[i] = (values[0] - values[1]) / (h + h)
    return gradient
''',
    "relative_error": '''
import math
import numpy as np

def _length(v):
    return math.sqrt(float(np.sum(np.square(v))))

def relative_error(a, b):
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    total = _length(a) + _length(b)
    return _length(a - b) / total if total > 0 else 0.0
''',
    "gradient_check": '''
def gradient_check(f, grad_f, x, tol=1e-7):
    analytic = grad_f(x)
    error = relative_error(numerical_gradient(f, x), analytic)
    return bool(error < tol), error
''',
    # the layers as small functions chained backwards, 1/cosh^2 for the tanh derivative, einsum
    "tanh_net_grads": '''
import numpy as np

def tanh_net_grads(params, X, y):
    pre = np.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]
    hidden = np.tanh(pre)
    residual = hidden @ params["W2"] + params["b2"] - y
    d_out = residual * (2.0 / residual.size)
    d_pre = np.einsum("nk,hk->nh", d_out, params["W2"]) / np.cosh(pre) ** 2
    return {
        "W2": np.einsum("nh,nk->hk", hidden, d_out),
        "b2": np.einsum("nk->k", d_out),
        "W1": np.einsum("nd,nh->dh", X, d_pre),
        "b1": np.einsum("nh->h", d_pre),
    }
''',
    # flat positions from rng.choice turned into tuples, one loop over signed steps, np.divide
    "sparse_gradient_check": '''
import numpy as np

def sparse_gradient_check(f, analytic, x, num_checks, rng, h=1e-5):
    positions = rng.choice(x.size, size=num_checks, replace=True)
    indices = [tuple(int(i) for i in np.unravel_index(p, x.shape)) for p in positions]
    errors = np.empty(num_checks)
    for k, index in enumerate(indices):
        original = x[index]
        values = []
        for step in (h, -h):
            x[index] = original + step
            values.append(f(x))
        x[index] = original
        estimate = (values[0] - values[1]) / (2 * h)
        top, bottom = abs(analytic[index] - estimate), abs(analytic[index]) + abs(estimate)
        errors[k] = top / bottom if bottom > 0 else 0.0
    return indices, errors
''',
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


def test_central_differences_are_about_1e5_times_more_accurate_than_forward_ones_at_h_1e_5():
    """The exercise says so (section 1): ~1e-6 against ~1e-11, round-off included."""
    h, x = 1e-5, np.linspace(-1.0, 1.0, 41)
    forward = np.abs((np.exp(x + h) - np.exp(x)) / h - np.exp(x))
    central = np.abs((np.exp(x + h) - np.exp(x - h)) / (2 * h) - np.exp(x))
    assert 1e-6 < np.median(forward) < 1e-5 and 1e-12 < np.median(central) < 1e-10
    assert 2e4 < np.median(forward) / np.median(central) < 5e5


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
