"""Step 04: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
    solution_answers,
)

ASSIGNMENT = "04_activation_derivatives"

STABLE_SOFTMAX = """
import numpy as np
def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
"""

WRONG_ANSWERS = [
    # sigmoid_grad
    WrongAnswer(
        "sigmoid_grad",
        "def sigmoid_grad(z):\n    return z * (1 - z)",
        "apply s(1-s) to sigmoid(z), not z",
    ),
    WrongAnswer(
        "sigmoid_grad",
        "import numpy as np\ndef sigmoid_grad(z):\n    return 1 / (1 + np.exp(-z))",
        "that is sigmoid(z) itself",
    ),
    WrongAnswer(  # right on paper, inf / inf = nan at z = -1000
        "sigmoid_grad",
        "import numpy as np\ndef sigmoid_grad(z):\n    return np.exp(-z) / (1 + np.exp(-z)) ** 2",
        "compute s = sigma(z) first",
    ),
    WrongAnswer(  # no listed mistake: s * (s - 1)
        "sigmoid_grad",
        "import numpy as np\ndef sigmoid_grad(z):\n    s = 1 / (1 + np.exp(-z))\n    return s * (s - 1)",
        "it has the opposite sign",
        diagnosed=True,
    ),
    # tanh_grad
    WrongAnswer("tanh_grad", "def tanh_grad(z):\n    return 1 - z**2", "apply 1 - t**2 to tanh(z), not z"),
    WrongAnswer(
        "tanh_grad", "import numpy as np\ndef tanh_grad(z):\n    return 1 - np.tanh(z)", "square tanh(z)"
    ),
    WrongAnswer("tanh_grad", "import numpy as np\ndef tanh_grad(z):\n    t = np.tanh(z)\n    return t * (1 - t)",
                "t * (1 - t) is the sigmoid pattern"),
    WrongAnswer(  # no listed mistake: tanh(z)**2 - 1
        "tanh_grad", "import numpy as np\ndef tanh_grad(z):\n    return np.tanh(z) ** 2 - 1",
        "it has the opposite sign", diagnosed=True,
    ),
    # relu_grad
    WrongAnswer(
        "relu_grad",
        "import numpy as np\ndef relu_grad(z):\n    return (z >= 0).astype(float)",
        "relu_grad at exactly 0 must be 0",
    ),
    WrongAnswer(
        "relu_grad", "import numpy as np\ndef relu_grad(z):\n    return np.maximum(z, 0)", "that is relu(z) itself"
    ),
    WrongAnswer("relu_grad", "import numpy as np\ndef relu_grad(z):\n    return np.sign(z)",
                "np.sign(z) is -1 where z < 0"),
    # leaky_relu_grad
    WrongAnswer(
        "leaky_relu_grad",
        "import numpy as np\ndef leaky_relu_grad(z, alpha=0.01):\n    return np.where(z > 0, 1.0, 0.01)",
        "leaky_relu_grad must use alpha where z <= 0",
    ),
    WrongAnswer(
        "leaky_relu_grad",
        "import numpy as np\ndef leaky_relu_grad(z, alpha=0.01):\n    return np.where(z >= 0, 1.0, alpha)",
        "at exactly z = 0 the derivative is alpha",
    ),
    WrongAnswer(
        "leaky_relu_grad",
        "import numpy as np\ndef leaky_relu_grad(z, alpha=0.0):\n    return np.where(z > 0, 1.0, alpha)",
        "the default alpha must be 0.01",
    ),
    # softmax
    WrongAnswer(
        "softmax",
        "import numpy as np\ndef softmax(z):\n    e = np.exp(z)\n    return e / e.sum(axis=1, keepdims=True)",
        "subtract the row max before exp",
    ),
    WrongAnswer(
        "softmax",
        "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max(axis=0))\n    return e / e.sum(axis=0)",
        "softmax over the wrong axis",
    ),
    WrongAnswer(
        "softmax",
        "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum(axis=1, keepdims=True)",
        "subtract each row's own max",
    ),
    WrongAnswer(
        "softmax",
        "import numpy as np\n"
        "def softmax(z):\n"
        "    z -= z.max(axis=1, keepdims=True)\n"
        "    np.exp(z, out=z)\n"
        "    z /= z.sum(axis=1, keepdims=True)\n"
        "    return z",
        "must leave its inputs as it found them",
    ),
    # softmax_cross_entropy
    WrongAnswer(
        "softmax_cross_entropy",
        STABLE_SOFTMAX
        + "def softmax_cross_entropy(logits, labels):\n"
        "    n = len(labels)\n"
        "    p = softmax(logits)\n"
        "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    d = p.copy()\n"
        "    d[np.arange(n), labels] -= 1\n"
        "    return loss, d",
        "missing 1/N",
    ),
    WrongAnswer(
        "softmax_cross_entropy",
        STABLE_SOFTMAX
        + "def softmax_cross_entropy(logits, labels):\n"
        "    n = len(labels)\n"
        "    p = softmax(logits)\n"
        "    loss = -np.log(p[np.arange(n), labels]).sum()\n"
        "    d = p.copy()\n"
        "    d[np.arange(n), labels] -= 1\n"
        "    return loss, d / n",
        "the loss is the mean over the batch, not the sum",
    ),
    WrongAnswer(  # stable softmax but log(softmax): -log(0) = inf for a confidently wrong row
        "softmax_cross_entropy",
        STABLE_SOFTMAX
        + "def softmax_cross_entropy(logits, labels):\n"
        "    n = len(labels)\n"
        "    p = softmax(logits)\n"
        "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    d = p.copy()\n"
        "    d[np.arange(n), labels] -= 1\n"
        "    return loss, d / n",
        "log-probabilities",
    ),
    WrongAnswer(
        "softmax_cross_entropy",
        STABLE_SOFTMAX
        + "def softmax_cross_entropy(logits, labels):\n"
        "    n = len(labels)\n"
        "    p = softmax(logits)\n"
        "    onehot = np.eye(logits.shape[1])[labels]\n"
        "    loss = -np.log(p[np.arange(n), labels]).mean()\n"
        "    return loss, (onehot - p) / n",
        "the sign is flipped",
    ),
    # binary_cross_entropy
    WrongAnswer(
        "binary_cross_entropy",
        "import numpy as np\n"
        "def binary_cross_entropy(p, y):\n"
        "    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n"
        "    return loss, (p - y) / (p * (1 - p)) / p.size",
        "clip p away from 0 and 1",
    ),
    WrongAnswer(
        "binary_cross_entropy",
        "import numpy as np\n"
        "def binary_cross_entropy(p, y):\n"
        "    p = np.clip(p, 1e-12, 1 - 1e-12)\n"
        "    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n"
        "    return loss, (p - y) / p.size",
        "is the gradient with respect to the logit z",
    ),
    WrongAnswer(
        "binary_cross_entropy",
        "import numpy as np\n"
        "def binary_cross_entropy(p, y):\n"
        "    p = np.clip(p, 1e-12, 1 - 1e-12)\n"
        "    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n"
        "    return loss, (p - y) / (p * (1 - p))",
        "missing 1/n",
    ),

    # softmax_backward
    WrongAnswer(
        "softmax_backward",
        "def softmax_backward(dout, cache):\n    return dout * cache * (1 - cache)",
        "that treats softmax as elementwise",
    ),
    WrongAnswer(
        "softmax_backward",
        "import numpy as np\n"
        "def softmax_backward(dout, cache):\n"
        "    return cache * (dout - np.sum(dout * cache))",
        "each row on its own",
    ),
    WrongAnswer(
        "softmax_backward",
        "import numpy as np\n"
        "def softmax_backward(dout, cache):\n"
        "    return -cache * np.sum(dout * cache, axis=1, keepdims=True)",
        "the diagonal term p * dout is missing",
    ),
    WrongAnswer(
        "softmax_backward",
        "def softmax_backward(dout, cache):\n    return dout * cache",
        "the derivative of exp alone",
    ),
    # gelu_grad
    WrongAnswer(
        "gelu_grad",
        "import numpy as np\n"
        "def gelu_grad(z):\n"
        "    return 0.5 * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))",
        "only half of the product rule",
    ),
    WrongAnswer(
        "gelu_grad",
        "import numpy as np\n"
        "def gelu_grad(z):\n"
        "    t = np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))\n"
        "    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2)",
        "the inner derivative du/dz is missing",
    ),
    WrongAnswer(
        "gelu_grad",
        "import numpy as np\n"
        "def gelu_grad(z):\n"
        "    c = np.sqrt(2 / np.pi)\n"
        "    t = np.tanh(c * (z + 0.044715 * z**3))\n"
        "    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * c * (1 + 0.044715 * z**2)",
        "the factor 3 is missing",
    ),
    WrongAnswer(
        "gelu_grad",
        "import math\nimport numpy as np\n"
        "def gelu_grad(z):\n"
        "    phi = 0.5 * (1 + np.vectorize(math.erf)(z / np.sqrt(2)))\n"
        "    return phi + z * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)",
        "derivative of the exact GELU",
    ),
    WrongAnswer(  # right on paper, but sech**2 through exp overflows: inf / inf at z = 1000
        "gelu_grad",
        "import numpy as np\n"
        "def gelu_grad(z):\n"
        "    c = np.sqrt(2 / np.pi)\n"
        "    u = c * (z + 0.044715 * z**3)\n"
        "    sech2 = 4 * np.exp(2 * u) / (np.exp(2 * u) + 1) ** 2\n"
        "    return 0.5 * (1 + np.tanh(u)) + 0.5 * z * sech2 * c * (1 + 3 * 0.044715 * z**2)",
        "rather than with exp",
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    WrongAnswer(  # worked in the (C, N) layout and never transposed back
        "softmax", "import numpy as np\ndef softmax(z):\n    zt = z.T\n    e = np.exp(zt - zt.max(axis=0))\n"
        "    return e / e.sum(axis=0)", "it is the transpose of the expected value", diagnosed=True,
    ),
    WrongAnswer(  # the gradient built one class at a time: (C, N) instead of (N, C)
        "softmax_cross_entropy",
        STABLE_SOFTMAX
        + "def softmax_cross_entropy(logits, labels):\n"
        "    p, rows = softmax(logits), np.arange(len(labels))\n"
        "    by_class = np.stack([p[:, k] - (labels == k) for k in range(p.shape[1])])\n"
        "    return -np.log(p[rows, labels]).mean(), by_class / len(labels)",
        "it is the transpose of the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # one row's Jacobian product at a time, stacked as columns instead of rows
        "softmax_backward",
        "import numpy as np\ndef softmax_backward(dout, cache):\n"
        "    return np.column_stack([(np.diag(p) - np.outer(p, p)) @ d for p, d in zip(cache, dout)])",
        "it is the transpose of the expected value",
        diagnosed=True,
    ),
    WrongAnswer(  # the 0.5 of GELU = 0.5 z (1 + tanh(u)) left out of both terms
        "gelu_grad",
        "import numpy as np\ndef gelu_grad(z):\n"
        "    c = np.sqrt(2 / np.pi)\n"
        "    t = np.tanh(c * (z + 0.044715 * z**3))\n"
        "    return (1 + t) + z * (1 - t**2) * c * (1 + 3 * 0.044715 * z**2)",
        "twice the expected value",
        diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


# Written differently from the solution: symmetric exp(-|z|) sigmoid, sech**2, heaviside, a
# blend for leaky ReLU, logsumexp over the last axis, a one-hot matrix and gathering by
# multiplication, and BCE with a different clip (1e-7, like Keras) and the two-term gradient.
INDEPENDENT_ANSWERS = {
    "sigmoid_grad": """
import numpy as np

def sigmoid_grad(z):
    e = np.exp(-np.abs(np.asarray(z, dtype=float)))  # sigma'(z) is even: use |z|, e <= 1
    return e / (1 + e) ** 2
""",
    "tanh_grad": """
import numpy as np

def tanh_grad(z):
    return 1.0 / np.cosh(z) ** 2  # sech^2 z; cosh overflows to inf far out, giving 0
""",
    "relu_grad": """
import numpy as np

def relu_grad(z):
    return np.heaviside(z, 0.0)
""",
    "leaky_relu_grad": """
import numpy as np

def leaky_relu_grad(z, alpha=0.01):
    positive = np.greater(z, 0).astype(float)
    return alpha + (1.0 - alpha) * positive
""",
    "softmax": """
import numpy as np

def _logsumexp(z):
    top = np.max(z, axis=-1, keepdims=True)
    return top + np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))

def softmax(z):
    return np.exp(z - _logsumexp(z))
""",
    "softmax_cross_entropy": """
import numpy as np

def softmax_cross_entropy(logits, labels):
    count, classes = logits.shape
    onehot = np.zeros((count, classes))
    for row, label in enumerate(labels):
        onehot[row, label] = 1.0
    log_probs = logits - _logsumexp(logits)
    loss = -np.sum(onehot * log_probs) / count
    return float(loss), (softmax(logits) - onehot) / count
""",
    "binary_cross_entropy": """
import numpy as np

def binary_cross_entropy(p, y):
    q = np.minimum(np.maximum(p, 1e-7), 1 - 1e-7)
    elementwise = -(y * np.log(q) + (1 - y) * np.log1p(-q))
    dq = (-y / q + (1 - y) / (1 - q)) / q.size
    return elementwise.mean(), dq
""",
    "softmax_backward": """
import numpy as np

def softmax_backward(dout, cache):
    # build each row's Jacobian diag(p) - p p^T and multiply by its transpose
    rows = []
    for p, g in zip(cache, dout):
        jacobian = np.diag(p) - np.outer(p, p)
        rows.append(jacobian.T @ g)
    return np.stack(rows)
""",
    "gelu_grad": """
import numpy as np

def gelu_grad(z):
    # GELU = z * sigmoid(2u): differentiate that form (sigmoid through tanh, no overflow)
    z = np.asarray(z, dtype=float)
    k = np.sqrt(2 / np.pi)
    two_u = 2 * k * (z + 0.044715 * z**3)
    s = 0.5 * (1 + np.tanh(0.5 * two_u))
    return s + z * s * (1 - s) * 2 * k * (1 + 0.134145 * z**2)
""",
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


# BCE has no single right clip: a guard added inside the logs (eps = 1e-8), not np.clip, must pass too.
ADDITIVE_EPSILON_BCE = """
import numpy as np

def binary_cross_entropy(p, y):
    eps = 1e-8
    loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
    dp = (-y / (p + eps) + (1 - y) / (1 - p + eps)) / np.size(p)
    return loss, dp
"""


def test_another_boundary_guard_for_bce_also_gets_full_marks():
    assert_full_marks(ASSIGNMENT, {**solution_answers(ASSIGNMENT), "binary_cross_entropy": ADDITIVE_EPSILON_BCE})


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
