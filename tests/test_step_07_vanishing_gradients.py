"""Step 07: realistic wrong answers lose points with a message that names the mistake, and a
correct implementation written differently from the solution earns full marks."""

import numpy as np
import pytest
from grading_support import (
    WrongAnswer,
    assert_full_marks,
    assert_kernel_agrees,
    assert_loses_points_with_message,
    first_wrong_answer_per_function,
)

from backprop_lab import deep_nets

ASSIGNMENT = "07_vanishing_gradients"

# A correct layer_grad_norms with one line replaced by `{mistake}`: the realistic slips.
GRAD_NORMS_TEMPLATE = """
import numpy as np

def layer_grad_norms(weights, X, y, activation):
    f = {{"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}}[activation]
    df = {{"sigmoid": lambda z, a: a * (1 - a), "tanh": lambda z, a: 1 - a**2,
          "relu": lambda z, a: (z > 0) * 1.0}}[activation]
    hs, zs, h = [X], [], X
    for i, W in enumerate(weights):
        z = h @ W
        zs.append(z)
        {forward}
        hs.append(h)
    delta = {seed}
    norms = []
    for i in reversed(range(len(weights))):
        if {has_derivative}:
            delta = delta * df(zs[i], hs[i + 1])
        norms.append({norm})
        delta = delta @ weights[i].T
    return np.array({order})
"""
GRAD_NORMS_RIGHT = {
    "forward": "h = z if i == len(weights) - 1 else f(z)",
    "seed": "2 * (h - y) / h.size",
    "norm": "np.linalg.norm(hs[i].T @ delta)",
    "order": "norms[::-1]",
    "has_derivative": "i < len(weights) - 1",
}


def grad_norms_with(**mistake):
    return GRAD_NORMS_TEMPLATE.format(**{**GRAD_NORMS_RIGHT, **mistake})


WRONG_ANSWERS = [
    WrongAnswer(
        "xavier_init",
        "import numpy as np\ndef xavier_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, np.sqrt(1 / fan_in), size=(fan_in, fan_out))",
        "xavier_init's std is sqrt(2 / (fan_in + fan_out))",
    ),
    WrongAnswer(
        "xavier_init",
        "import numpy as np\ndef xavier_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, 2 / (fan_in + fan_out), size=(fan_in, fan_out))",
        "rng.normal's scale is the standard deviation",
    ),
    WrongAnswer(
        "xavier_init",
        "import numpy as np\ndef xavier_init(fan_in, fan_out, rng):\n"
        "    limit = np.sqrt(6 / (fan_in + fan_out))\n"
        "    return rng.uniform(-limit, limit, size=(fan_in, fan_out))",
        "draw with rng.normal, not rng.uniform",
    ),
    WrongAnswer(
        "xavier_init",
        "import numpy as np\ndef xavier_init(fan_in, fan_out, rng):\n"
        "    return np.random.normal(0, np.sqrt(2 / (fan_in + fan_out)), size=(fan_in, fan_out))",
        "must draw from the rng it is given",
    ),
    WrongAnswer(
        "xavier_init",
        "import numpy as np\ndef xavier_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, np.sqrt(2 / (fan_in + fan_out)), size=(fan_out, fan_in))",
        "It looks transposed",
    ),
    WrongAnswer(
        "he_init",
        "import numpy as np\ndef he_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, np.sqrt(1 / fan_in), size=(fan_in, fan_out))",
        "he_init's std is sqrt(2 / fan_in), not sqrt(1 / fan_in)",
    ),
    WrongAnswer(
        "he_init",
        "import numpy as np\ndef he_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, np.sqrt(2 / fan_out), size=(fan_in, fan_out))",
        "not sqrt(2 / fan_out)",
    ),
    WrongAnswer(
        "he_init",
        "import numpy as np\ndef he_init(fan_in, fan_out, rng):\n"
        "    return rng.normal(0, np.sqrt(2 / (fan_in + fan_out)), size=(fan_in, fan_out))",
        "that is Xavier's std",
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(forward="h = f(z)", has_derivative="True"),
        "the last layer must be linear: no activation after it",
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(seed="2 * (h - y) / len(h)"),
        "the MSE gradient needs 1/N over all elements",
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(seed="(h - y) / h.size"),
        "the factor 2 is missing",
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(order="norms"),
        "the norms must be listed first layer first",
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(norm="np.sum((hs[i].T @ delta) ** 2)"),
        "square root of the sum of squares",
    ),
    WrongAnswer(
        "residual_forward",
        "import numpy as np\ndef residual_forward(x, W):\n    return np.maximum(x @ W, 0), (x, W)",
        "the identity path x is missing",
    ),
    WrongAnswer(
        "residual_forward",
        "import numpy as np\ndef residual_forward(x, W):\n    return np.maximum(x + x @ W, 0), (x, W)",
        "relu applies to x @ W only, before the addition",
    ),
    WrongAnswer(
        "residual_forward",
        "import numpy as np\ndef residual_forward(x, W):\n    return x + np.maximum(x @ W, 0), (x, W, x @ W)",
        "the cache must be the tuple (x, W)",
    ),
    WrongAnswer(
        "residual_backward",
        "def residual_backward(dout, cache):\n"
        "    x, W = cache\n"
        "    dz = dout * (x @ W > 0)\n"
        "    return dz @ W.T, x.T @ dz",
        "dx must include the identity path: dx = dout +",
    ),
    WrongAnswer(
        "residual_backward",
        "def residual_backward(dout, cache):\n"
        "    x, W = cache\n"
        "    return dout + dout @ W.T, x.T @ dout",
        "the gradient through relu is gated",
    ),
    WrongAnswer(
        "residual_backward",
        "def residual_backward(dout, cache):\n"
        "    x, W = cache\n"
        "    dz = dout * (x @ W > 0)\n"
        "    return dout + dz @ W.T, dz.T @ x",
        "not its transpose",
    ),
    WrongAnswer(
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]",
        "clip_by_global_norm must use the norm over ALL gradients together, not each one separately",
    ),
    WrongAnswer(
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n"
        "    if norm > max_norm:\n"
        "        for g in grads:\n"
        "            g *= max_norm / norm\n"
        "    return grads",
        "was modified",
    ),
    WrongAnswer(
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n"
        "    if norm <= max_norm:\n"
        "        return list(grads)\n"
        "    return [g * (max_norm / norm) for g in grads]",
        "must return copies, not the same arrays",
    ),
    WrongAnswer(
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n"
        "    return [g * (max_norm / norm) for g in grads]",
        "scale only when the global norm exceeds max_norm",
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong)


# Written differently from the solution: Box-Muller-free but via standard_normal and scaling,
# a recursive backward pass with explicit Jacobian-vector products, einsum, and a
# clipping written with a generator and np.multiply.
INDEPENDENT_ANSWERS = {
    "xavier_init": """
import math

def xavier_init(fan_in, fan_out, rng):
    variance = 2.0 / (fan_in + fan_out)
    return rng.standard_normal((fan_in, fan_out)) * math.sqrt(variance)
""",
    "he_init": """
import math

def he_init(fan_in, fan_out, rng):
    return math.sqrt(2.0 / fan_in) * rng.standard_normal(size=(fan_in, fan_out))
""",
    "layer_grad_norms": """
import numpy as np

_SLOPES = {
    "sigmoid": (lambda z: np.exp(-np.logaddexp(0.0, -z)), lambda z: np.exp(-np.logaddexp(0.0, -z)) ** 2 * np.exp(-z)),
    "tanh": (np.tanh, lambda z: 1.0 / np.cosh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.heaviside(z, 0.0)),
}


def _backprop(weights, h, target, phi, dphi, norms):
    W, rest = weights[0], weights[1:]
    z = np.einsum("nd,dm->nm", h, W)
    if not rest:
        dz = 2.0 * (z - target) / z.size
    else:
        dh = _backprop(rest, phi(z), target, phi, dphi, norms)
        dz = dh * dphi(z)
    norms.insert(0, float(np.sqrt(np.einsum("dm,dm->", h.T @ dz, h.T @ dz))))
    return np.einsum("nm,dm->nd", dz, W)


def layer_grad_norms(weights, X, y, activation):
    phi, dphi = _SLOPES[activation]
    norms = []
    _backprop(list(weights), X, y, phi, dphi, norms)
    return np.asarray(norms)
""",
    "residual_forward": """
def residual_forward(x, W):
    branch = x.dot(W)
    branch[branch < 0] = 0.0
    return branch + x, (x, W)
""",
    "residual_backward": """
import numpy as np

def residual_backward(dout, cache):
    x, W = cache
    gated = np.where(x.dot(W) > 0, dout, 0.0)
    return gated.dot(W.T) + dout, np.einsum("nd,nm->dm", x, gated)
""",
    "clip_by_global_norm": """
import numpy as np

def clip_by_global_norm(grads, max_norm):
    squares = [float(np.vdot(g, g)) for g in grads]
    total = sum(squares) ** 0.5
    factor = 1.0 if total <= max_norm else max_norm / total
    return [np.multiply(g, factor) for g in grads]
""",
}


def test_an_independent_correct_implementation_gets_full_marks():
    assert_full_marks(ASSIGNMENT, INDEPENDENT_ANSWERS)


# --- the reference in backprop_lab.deep_nets, which the lesson and the lab rely on ----------


def test_reference_grad_norms_match_finite_differences_with_and_without_residuals():
    rng = np.random.default_rng(0)
    weights = deep_nets.network_weights(4, 5, "xavier", rng, residual=True)
    X, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 1))
    for activation in deep_nets.ACTIVATIONS:
        for residual in (False, True):
            _, grads = deep_nets.loss_and_grads(weights, X, y, activation, residual)
            for index, W in enumerate(weights):
                numeric = np.zeros_like(W)
                for position in np.ndindex(W.shape):
                    saved = W[position]
                    W[position] = saved + 1e-6
                    upper = deep_nets.loss_and_grads(weights, X, y, activation, residual)[0]
                    W[position] = saved - 1e-6
                    lower = deep_nets.loss_and_grads(weights, X, y, activation, residual)[0]
                    W[position] = saved
                    numeric[position] = (upper - lower) / 2e-6
                assert np.allclose(grads[index], numeric, rtol=1e-5, atol=1e-8), (activation, residual, index)


def test_reference_residual_block_and_clipping():
    rng = np.random.default_rng(1)
    x, W, dout = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), rng.normal(size=(4, 3))
    y, cache = deep_nets.residual_forward(x, W)
    dx, dW = deep_nets.residual_backward(dout, cache)
    gate = x @ W > 0
    assert np.allclose(y, x + np.where(gate, x @ W, 0))
    assert np.allclose(dx, dout + (dout * gate) @ W.T) and np.allclose(dW, x.T @ (dout * gate))

    grads = [np.array([3.0, 4.0]), np.array([[12.0]])]
    clipped = deep_nets.clip_by_global_norm(grads, 6.5)
    assert deep_nets.global_norm(clipped) == pytest.approx(6.5)
    assert np.allclose(clipped[0], [1.5, 2.0]) and grads[0][0] == 3.0
    kept = deep_nets.clip_by_global_norm(grads, 100.0)
    assert all(k is not g and np.array_equal(k, g) for k, g in zip(kept, grads, strict=True))


def test_reference_initialisers_have_the_documented_spread():
    rng = np.random.default_rng(2)
    assert deep_nets.xavier_init(300, 500, rng).std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)
    assert deep_nets.he_init(300, 500, rng).std() == pytest.approx(np.sqrt(2 / 300), rel=0.02)
    assert deep_nets.init_weights([300, 400], "small", rng)[0].std() == pytest.approx(0.01, rel=0.02)


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
