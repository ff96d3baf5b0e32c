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


# A correct gradient_profile with one piece replaced: the realistic slips.
PROFILE_TEMPLATE = """
import numpy as np

def gradient_profile(gain, activation, X, y, depth, rng):
    shapes = [(X.shape[1], X.shape[1])] * (depth - 1) + [(X.shape[1], y.shape[1])]
    weights = [rng.normal(0.0, {std}, size=shape) for shape in {order}]
    weights = {reorder}
    f = {{"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}}[{act}]
    zs, h = [], X
    for W in weights:
        zs.append(h @ W)
        h = f(zs[-1])
    delta = 2 * (zs[-1] - y) / y.size
    norms = [np.linalg.norm(delta)]
    for i in range(depth - 1, 0, -1):
        a = f(zs[i - 1])
        slope = {{"sigmoid": a * (1 - a), "tanh": 1 - a**2, "relu": (zs[i - 1] > 0) * 1.0}}[{act}]
        upstream = delta @ weights[i].T
        delta = upstream * slope
        norms.append(np.linalg.norm({recorded}))
    return np.array(norms[::-1])
"""
PROFILE_RIGHT = {"std": "gain / np.sqrt(shape[0])", "order": "shapes", "reorder": "weights", "act": "activation",
                 "recorded": "delta"}


def profile_with(**mistake):
    return PROFILE_TEMPLATE.format(**{**PROFILE_RIGHT, **mistake})


def most_even_with(choose: str) -> str:
    return f"""
import numpy as np

def most_even_gain(activation, X, y, depth, gains, seed):
    spreads = []
    for gain in gains:
        norms = gradient_profile(gain, activation, X, y, depth, np.random.default_rng(seed))
        spreads.append({{"log": np.log10(norms.max() / norms.min()), "ratio": norms[0] / norms[-1]}})
    return {choose}
"""


BATCHNORM_FORWARD_TEMPLATE = """
import numpy as np

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis={axis}, keepdims=True)
    var = x.var(axis={axis}, keepdims=True, ddof={ddof})
    x_hat = (x - mu) / {std}
    return gamma * x_hat + beta, (x, x_hat, mu, var, gamma, eps)
"""


def batchnorm_forward_with(axis="0", ddof="0", std="np.sqrt(var + eps)"):
    return BATCHNORM_FORWARD_TEMPLATE.format(axis=axis, ddof=ddof, std=std)


# The staged backward pass (one node of the graph at a time), with the slips people make.
BATCHNORM_BACKWARD_TEMPLATE = """
import numpy as np

def batchnorm_backward(dout, cache):
    x, x_hat, mu, var, gamma, eps = cache
    n = x.shape[0]
    dgamma = {dgamma}
    dbeta = dout.sum(axis={beta_axis})
    dx_hat = dout * gamma
    inv_std = 1 / np.sqrt(var + eps)
    dvar = np.sum(dx_hat * (x - mu), axis=0) * -0.5 * inv_std**3
    dmu = -np.sum(dx_hat * inv_std, axis=0)
    dx = dx_hat * inv_std{var_path}{mean_path}
    return dx, dgamma, dbeta
"""
BATCHNORM_BACKWARD_RIGHT = {
    "dgamma": "np.sum(dout * x_hat, axis=0)", "beta_axis": "0",
    "var_path": " + dvar * 2 * (x - mu) / n", "mean_path": " + dmu / n",
}


def batchnorm_backward_with(**mistake):
    """The cell redefines the forward pass too: the staged backward needs its six-part cache."""
    return batchnorm_forward_with() + BATCHNORM_BACKWARD_TEMPLATE.format(**{**BATCHNORM_BACKWARD_RIGHT, **mistake})


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
    WrongAnswer(  # the activation's derivative at the layer's output: sigmoid'(sigmoid(z))
        "layer_grad_norms",
        grad_norms_with().replace("df(zs[i], hs[i + 1])", "df(hs[i + 1], f(hs[i + 1]))"),
        "the activation's derivative is evaluated at the wrong place",
        diagnosed=True,
    ),
    WrongAnswer(  # the output form a * (1 - a) applied to z
        "layer_grad_norms",
        grad_norms_with().replace("df(zs[i], hs[i + 1])", "df(zs[i], zs[i])"),
        "the activation's derivative is evaluated at the wrong place",
        diagnosed=True,
    ),
    WrongAnswer(
        "layer_grad_norms",
        grad_norms_with(has_derivative="False"),
        "the activation's derivative is missing from the backward pass",
        diagnosed=True,
    ),
    WrongAnswer(  # the weight gradient from the layer's output instead of its input
        "layer_grad_norms",
        grad_norms_with(norm="np.linalg.norm(hs[i + 1].T @ delta)"),
        "the loop over layers is off by one",
        diagnosed=True,
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
        "dx must include the identity path",
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
        "this is dW's transpose",
    ),
    WrongAnswer(  # W not transposed on the way back: square W, so the shapes cannot tell
        "residual_backward",
        "def residual_backward(dout, cache):\n"
        "    x, W = cache\n"
        "    dz = dout * (x @ W > 0)\n"
        "    return dout + dz @ W, x.T @ dz",
        "W must be transposed",
    ),
    WrongAnswer(  # keeps only the identity path of the residual block
        "residual_backward",
        "def residual_backward(dout, cache):\n"
        "    x, W = cache\n"
        "    dz = dout * (x @ W > 0)\n"
        "    return dout, x.T @ dz",
        "the contribution through the branch relu(x @ W)",
        diagnosed=True,
    ),
    WrongAnswer(  # the scale upside down, capped at 1: the gradients never shrink
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n"
        "    return [g * min(1.0, norm / max_norm) for g in grads]",
        "yet the gradients came back unchanged",
    ),
    WrongAnswer(  # the scale upside down: the gradients grow
        "clip_by_global_norm",
        "import numpy as np\ndef clip_by_global_norm(grads, max_norm):\n"
        "    norm = np.sqrt(sum(np.sum(g**2) for g in grads))\n"
        "    return [g * (norm / max_norm if norm > max_norm else 1.0) for g in grads]",
        "the scale is upside down",
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
    WrongAnswer("gradient_profile", profile_with(std="gain / shape[0]"), "not gain / fan_in"),
    WrongAnswer("gradient_profile", profile_with(std="gain**2 / shape[0]"), "not the variance"),
    WrongAnswer("gradient_profile", profile_with(order="shapes[::-1]", reorder="weights[::-1]"),
                "draw the weights first layer first"),
    WrongAnswer("gradient_profile", profile_with(act='"tanh"'), "use the activation you are given"),
    WrongAnswer("gradient_profile", profile_with(recorded="upstream"), "one step short"),
    WrongAnswer(
        "gradient_profile",
        profile_with().replace(
            "    return np.array(norms[::-1])", "    return layer_grad_norms(weights, X, y, activation)"
        ),
        "not of the weight gradients",
    ),
    WrongAnswer("most_even_gain", most_even_with('gains[int(np.argmax([s["log"] for s in spreads]))]'),
                "the gain with the LARGEST spread",
                also=("a tiny ratio such as first / last is a vanished gradient",)),  # the advice, not a claim
    WrongAnswer("most_even_gain", most_even_with('gains[int(np.argmin([s["ratio"] for s in spreads]))]'),
                "a tiny ratio such as first / last is a vanished gradient",
                also=("the gain with the LARGEST spread",)),  # true here: that gain has the largest spread
    WrongAnswer("most_even_gain", most_even_with('{"relu": np.sqrt(2), "tanh": 1.0, "sigmoid": 4.0}[activation]'),
                "must return one of the gains"),
    WrongAnswer("batchnorm_forward", batchnorm_forward_with(ddof="1"), "divides by N, not N - 1"),
    WrongAnswer("batchnorm_forward", batchnorm_forward_with(axis="1"), "not each example over its features"),
    WrongAnswer("batchnorm_forward", batchnorm_forward_with(std="(np.sqrt(var) + eps)"),
                "eps goes inside the square root"),
    WrongAnswer("batchnorm_backward", batchnorm_backward_with(mean_path=""), "misses the path through the batch mean"),
    WrongAnswer("batchnorm_backward", batchnorm_backward_with(var_path=""),
                "misses the path through the batch variance"),
    WrongAnswer("batchnorm_backward", batchnorm_backward_with(var_path="", mean_path=""),
                "treats the batch mean and variance as constants"),
    WrongAnswer("batchnorm_backward", batchnorm_backward_with(dgamma="dout.sum(axis=0)"),
                "dgamma weights dout by the normalised input x_hat"),
    WrongAnswer("batchnorm_backward", batchnorm_backward_with(beta_axis="1"), "sum over the batch axis 0"),
    WrongAnswer(  # the unbiased variance's backward on the biased forward
        "batchnorm_backward",
        batchnorm_backward_with(var_path=" + dvar * 2 * (x - mu) / (n - 1)"),
        "the variance's path divides by N - 1",
    ),
    WrongAnswer(
        "batchnorm_backward",
        batchnorm_backward_with(mean_path=" + np.mean(dx_hat * inv_std, axis=1, keepdims=True) * -1"),
        "the mean's path is averaged over the features (axis 1)",
    ),

    # Slips no listed mistake covers: the general diagnosis names them (diagnosed=True).
    WrongAnswer(  # dL/dz of the last layer without the 2 from the square: every norm is half
        "gradient_profile",
        profile_with().replace("delta = 2 * (zs[-1] - y) / y.size", "delta = (zs[-1] - y) / y.size"),
        "the factor 2 (from the derivative of a square) is missing",
        diagnosed=True,
    ),
    WrongAnswer(  # the compact formula with its subtraction the wrong way round: dx flips sign
        "batchnorm_backward",
        "import numpy as np\n"
        "def batchnorm_backward(dout, cache):\n"
        "    x_hat, gamma, inv_std = cache\n"
        "    dx_hat = dout * gamma\n"
        "    dx = inv_std * (dx_hat.mean(axis=0) + x_hat * (dx_hat * x_hat).mean(axis=0) - dx_hat)\n"
        "    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)",
        "it has the opposite sign",
        diagnosed=True,
    ),
]


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=str)
def test_wrong_answer_loses_points_and_names_the_mistake(wrong):
    assert_loses_points_with_message(ASSIGNMENT, wrong, WRONG_ANSWERS)


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
    # recursion from the output back, the weights built with standard_normal and scaled afterwards
    "gradient_profile": """
import numpy as np

_PHI = {"sigmoid": lambda z: 0.5 * (1 + np.tanh(z / 2)), "tanh": np.tanh, "relu": lambda z: z * (z > 0)}
_DPHI = {"sigmoid": lambda z: 0.25 / np.cosh(z / 2) ** 2, "tanh": lambda z: 1 / np.cosh(z) ** 2,
         "relu": lambda z: np.heaviside(z, 0.0)}


def _deltas(weights, h, y, activation):
    z = h @ weights[0]
    if len(weights) == 1:
        return [2.0 * (z - y) / z.size]
    later = _deltas(weights[1:], _PHI[activation](z), y, activation)
    return [(later[0] @ weights[1].T) * _DPHI[activation](z)] + later


def gradient_profile(gain, activation, X, y, depth, rng):
    widths = [X.shape[1]] * depth + [y.shape[1]]
    weights = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        weights.append(rng.standard_normal((fan_in, fan_out)) * (gain / fan_in**0.5))
    return np.array([np.sqrt(np.sum(d * d)) for d in _deltas(weights, X, y, activation)])
""",
    "most_even_gain": """
import math

def most_even_gain(activation, X, y, depth, gains, seed):
    def spread(gain):
        norms = gradient_profile(gain, activation, X, y, depth, np.random.default_rng(seed))
        return math.log10(float(max(norms)) / float(min(norms)))
    return min(gains, key=spread)
""",
    # np.var-free statistics, the compact form of the backward pass written with einsum
    "batchnorm_forward": """
import numpy as np

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    n = x.shape[0]
    centred = x - np.einsum("nd->d", x) / n
    variance = np.einsum("nd,nd->d", centred, centred) / n
    scale = (variance + eps) ** -0.5
    normalised = centred * scale
    return normalised * gamma + beta, {"x_hat": normalised, "scale": scale, "gamma": gamma}
""",
    "batchnorm_backward": """
import numpy as np

def batchnorm_backward(dout, cache):
    x_hat, scale, gamma = cache["x_hat"], cache["scale"], cache["gamma"]
    n = dout.shape[0]
    dbeta = np.einsum("nd->d", dout)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dx = (gamma * scale / n) * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
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


def test_the_variance_of_a_unit_needs_the_second_moment_of_its_inputs_not_their_variance():
    """Exercise 07, section 1: Var(z) = n_in Var(W) E[h^2], which differs from Var(h) when h has a mean."""
    rng = np.random.default_rng(0)
    n_in, samples = 50, 40_000
    h = 1 / (1 + np.exp(-rng.normal(size=(samples, n_in))))  # sigmoid outputs: mean 0.5
    W = rng.normal(0.0, 0.3, size=(samples, n_in))  # a fresh W for each sample
    z = np.sum(h * W, axis=1)
    assert z.var() == pytest.approx(n_in * 0.09 * np.mean(h**2), rel=0.03)
    assert abs(z.var() - n_in * 0.09 * h.var()) > 0.5 * z.var()


@pytest.mark.slow
def test_the_sandboxed_kernel_grades_as_the_in_process_engine():
    """The answer tests above run in this process; the real grader's kernel must agree with them."""
    assert_kernel_agrees(ASSIGNMENT, first_wrong_answer_per_function(WRONG_ANSWERS))
