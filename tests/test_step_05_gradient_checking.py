"""Step 05: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
)

ASSIGNMENT = "05_gradient_checking"


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
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong)


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
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
