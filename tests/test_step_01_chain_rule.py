"""Step 01: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
)

ASSIGNMENT = "01_chain_rule"

WRONG_ANSWERS = [
    WrongAnswer(
        "compose_derivative",
        "def compose_derivative(df, g, dg):\n    return lambda x: df(x) * dg(x)",
        "f' must be evaluated at the inner value g(x)",
    ),
    WrongAnswer(
        "compose_derivative",
        "def compose_derivative(df, g, dg):\n    return lambda x: df(g(x))",
        "you forgot to multiply by the inner derivative",
    ),
    WrongAnswer(
        "compose_derivative",
        "def compose_derivative(df, g, dg):\n    return df(g(1.0)) * dg(1.0)",
        "should be a function",
    ),
    WrongAnswer(
        "dh_dx",
        "def dh_dx(x):\n    return 3 * (x**2 + 1) ** 2",
        "you forgot the inner derivative",
    ),
    WrongAnswer(
        "dh_dx",
        "def dh_dx(x):\n    return 3 * (x**2 + 1) ** 2 * x",
        "the inner derivative of x**2 + 1 is 2x, not x",
    ),
    WrongAnswer(  # no listed mistake: the general diagnosis names the factor
        "dh_dx",
        "def dh_dx(x):\n    return 12 * x * (x**2 + 1) ** 2",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(
        "dz_dt",
        "import numpy as np\ndef dz_dt(t):\n    return 2 * np.sin(t) * t**2 * np.cos(t)",
        "add the path through y",
    ),
    WrongAnswer(
        "dz_dt",
        "import numpy as np\ndef dz_dt(t):\n    return np.sin(t) ** 2 * 2 * t",
        "add the path through x",
    ),
    WrongAnswer(  # no listed mistake: each path's factor 2 counted twice
        "dz_dt",
        "import numpy as np\ndef dz_dt(t):\n    return 2 * (2 * np.sin(t) * t**2 * np.cos(t) + np.sin(t) ** 2 * 2 * t)",
        "twice the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # no listed mistake: sigma'(z) written as s * (s - 1)
        "neuron_gradients",
        "import numpy as np\n"
        "def neuron_gradients(w, x, b):\n"
        "    a = 1 / (1 + np.exp(-(w * x + b)))\n"
        "    s = a * (a - 1)\n"
        "    return s * x, s * w, s",
        "it has the opposite sign",
        diagnosed=True,
    ),
    WrongAnswer(
        "neuron_gradients",
        "import numpy as np\n"
        "def neuron_gradients(w, x, b):\n"
        "    z = w * x + b\n"
        "    s = z * (1 - z)\n"
        "    return s * x, s * w, s",
        "apply the formula to sigma(z), not to z",
    ),
    WrongAnswer(
        "neuron_gradients",
        "import numpy as np\n"
        "def neuron_gradients(w, x, b):\n"
        "    a = 1 / (1 + np.exp(-(w * x + b)))\n"
        "    return a * (1 - a) * w, a * (1 - a) * x, a * (1 - a)",
        "multiplied by the wrong input",
    ),
    WrongAnswer(
        "neuron_gradients",
        "import numpy as np\n"
        "def neuron_gradients(w, x, b):\n"
        "    a = 1 / (1 + np.exp(-(w * x + b)))\n"
        "    return [a * (1 - a) * x, a * (1 - a) * w, a * (1 - a)]",
        "must return a tuple of three values",
    ),

    # least_squares_gradient
    WrongAnswer(
        "least_squares_gradient",
        "def least_squares_gradient(A, x, b):\n    return A.T @ (A @ x - b)",
        "the factor 2 from the derivative of the square is missing",
    ),
    WrongAnswer(
        "least_squares_gradient",
        "def least_squares_gradient(A, x, b):\n    return 2 * A.T @ (b - A @ x)",
        "the sign is flipped",
    ),
    WrongAnswer(
        "least_squares_gradient",
        "def least_squares_gradient(A, x, b):\n    return 2 * A @ (A @ x - b)",
        "through the transpose A.T",
    ),
    WrongAnswer(
        "least_squares_gradient",
        "def least_squares_gradient(A, x, b):\n    return 2 * A.T @ A @ x",
        "b is missing",
    ),
    WrongAnswer(  # no listed mistake: d(r.r) = dr.r + r.dr, and then each term doubled again
        "least_squares_gradient",
        "def least_squares_gradient(A, x, b):\n"
        "    r = A @ x - b\n"
        "    return 2 * A.T @ r + 2 * A.T @ r",
        "twice the expected value",
        diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


# Written differently from the solution: math module-free numpy, explicit local derivatives,
# a closure class instead of a nested function, tanh form of the sigmoid.
INDEPENDENT_ANSWERS = {
    "compose_derivative": '''
class _ChainRule:
    def __init__(self, outer_derivative, inner, inner_derivative):
        self.parts = (outer_derivative, inner, inner_derivative)

    def __call__(self, x):
        outer_derivative, inner, inner_derivative = self.parts
        u = inner(x)
        return inner_derivative(x) * outer_derivative(u)


def compose_derivative(df, g, dg):
    return _ChainRule(df, g, dg)
''',
    "dh_dx": '''
import numpy as np

def dh_dx(x):
    x = np.asarray(x, dtype=float)
    return 6 * x**5 + 12 * x**3 + 6 * x  # (x^2+1)^3 expanded, then differentiated term by term
''',
    "dz_dt": '''
import numpy as np

def dz_dt(t):
    # z(t) = sin(t)^2 t^2, differentiated with the product rule
    return 2 * np.sin(t) * np.cos(t) * t**2 + np.sin(t) ** 2 * 2 * t
''',
    "neuron_gradients": '''
import numpy as np

def neuron_gradients(w, x, b):
    z = np.multiply(w, x) + b
    sigma = 0.5 * (1 + np.tanh(z / 2))
    local = sigma - sigma**2
    return (local * x, local * w, local)
''',
    "least_squares_gradient": '''
import numpy as np

def least_squares_gradient(A, x, b):
    # the normal-equations form, one entry at a time: dL/dx_j = sum_i 2 r_i A_ij
    residual = np.dot(A, x) - b
    return np.array([2 * np.sum(residual * A[:, j]) for j in range(A.shape[1])])
''',
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
