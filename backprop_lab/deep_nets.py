"""Deep bias-free MLPs in numpy: the reference behind lesson 07 and its depth lab.

A network is a list of weight matrices ``weights[l]`` of shape ``(fan_in, fan_out)`` acting on
row-vector batches ``X`` of shape ``(N, D)``. Every layer but the last applies an activation
(``'sigmoid'``, ``'tanh'`` or ``'relu'``); the last is linear; the loss is the MSE averaged over
all elements. With ``residual=True`` every hidden layer whose input and output widths agree
becomes a residual block ``h + act(h @ W)``.

The functions the exercise grades (``xavier_init``, ``he_init``, ``layer_grad_norms``,
``residual_forward``, ``residual_backward``, ``clip_by_global_norm``) have the contract's
signatures, so the lesson and the suite can check claims on this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .numerics import sigmoid

ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: "naive" is N(0, 1) and "small" N(0, 0.01^2): two scales chosen without looking at fan-in.
INITIALISERS = ("naive", "small", "xavier", "he")
NAIVE_STD = 1.0
SMALL_STD = 0.01


# --- activations ------------------------------------------------------------------------


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


def activation_grad(z: np.ndarray, a: np.ndarray, activation: str) -> np.ndarray:
    """The derivative of the activation at ``z``, given its output ``a = activate(z)``."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a**2
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")


# --- initialisers -----------------------------------------------------------------------


def naive_init(fan_in: int, fan_out: int, rng: np.random.Generator, std: float = NAIVE_STD) -> np.ndarray:
    """N(0, std^2) whatever the layer's size: the variance of the output grows with fan_in."""
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def xavier_init(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """Glorot & Bengio (2010): Var(W) = 2 / (fan_in + fan_out), for tanh (slope 1 at 0)."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def he_init(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He et al. (2015): Var(W) = 2 / fan_in, because ReLU zeroes half of its inputs."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def small_init(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 0.01^2): small enough that signals shrink layer after layer."""
    return naive_init(fan_in, fan_out, rng, std=SMALL_STD)


_INITIALISER_FUNCTIONS = {"naive": naive_init, "small": small_init, "xavier": xavier_init, "he": he_init}


def init_weights(layer_sizes: Sequence[int], scheme: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Weights for a network with these layer sizes (input first, output last)."""
    if scheme not in _INITIALISER_FUNCTIONS:
        raise ValueError(f"unknown initialiser {scheme!r}; choose one of {INITIALISERS}")
    init = _INITIALISER_FUNCTIONS[scheme]
    return [init(fan_in, fan_out, rng) for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)]


def network_weights(
    depth: int, width: int, scheme: str, rng: np.random.Generator, residual: bool = False
) -> list[np.ndarray]:
    """``depth`` weight matrices for inputs of ``width`` features and one output.

    With ``residual``, the hidden (square) layers become residual branches and are scaled by
    1/sqrt(number of branches), as GPT-2 does: the sum of the branches then keeps the variance
    of one branch instead of growing with depth.
    """
    weights = init_weights([width] * depth + [1], scheme, rng)
    branches = depth - 1
    if residual and branches > 0:
        weights[:-1] = [W / np.sqrt(branches) for W in weights[:-1]]
    return weights


# --- forward and backward ---------------------------------------------------------------


@dataclass
class _LayerCache:
    inputs: np.ndarray
    pre_activation: np.ndarray | None  # None for the linear last layer
    output: np.ndarray
    residual: bool


def forward(
    weights: Sequence[np.ndarray], X: np.ndarray, activation: str, residual: bool = False
) -> tuple[np.ndarray, list[_LayerCache]]:
    """The network's output and what the backward pass needs from each layer."""
    h, caches = X, []
    last = len(weights) - 1
    for index, W in enumerate(weights):
        z = h @ W
        if index == last:
            caches.append(_LayerCache(h, None, z, False))
            h = z
            continue
        a = activate(z, activation)
        skip = residual and W.shape[0] == W.shape[1]
        caches.append(_LayerCache(h, z, a, skip))
        h = h + a if skip else a
    return h, caches


def backward(dout: np.ndarray, weights: Sequence[np.ndarray], caches: list[_LayerCache], activation: str):
    """Gradients of the loss with respect to every weight matrix, given dL/d(output)."""
    grads: list[np.ndarray] = [np.empty(0)] * len(weights)
    upstream = dout
    for index in range(len(weights) - 1, -1, -1):
        cache, W = caches[index], weights[index]
        if cache.pre_activation is None:
            dz = upstream
        else:
            dz = upstream * activation_grad(cache.pre_activation, cache.output, activation)
        grads[index] = cache.inputs.T @ dz
        downstream = dz @ W.T
        upstream = upstream + downstream if cache.residual else downstream
    return grads


def mse(y_pred: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements and its gradient (with the 1/N)."""
    diff = y_pred - y
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def loss_and_grads(
    weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, activation: str, residual: bool = False
) -> tuple[float, list[np.ndarray]]:
    y_pred, caches = forward(weights, X, activation, residual)
    loss, dy_pred = mse(y_pred, y)
    return loss, backward(dy_pred, weights, caches, activation)


def layer_grad_norms(
    weights: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray, activation: str, residual: bool = False
) -> np.ndarray:
    """The Frobenius norm of dL/dW_l for every layer l, first layer first."""
    with np.errstate(over="ignore", invalid="ignore"):
        _, grads = loss_and_grads(weights, X, y, activation, residual)
        return np.array([np.sqrt(np.sum(g**2)) for g in grads])


def activation_stds(weights: Sequence[np.ndarray], X: np.ndarray, activation: str) -> np.ndarray:
    """The standard deviation of every hidden layer's pre-activations ``z = h @ W``."""
    _, caches = forward(weights, X, activation)
    return np.array([c.pre_activation.std() for c in caches if c.pre_activation is not None])


# --- a residual block -------------------------------------------------------------------


def residual_forward(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """y = x + relu(x @ W): the block adds a correction to an identity path."""
    return x + np.maximum(x @ W, 0.0), (x, W)


def residual_backward(dout: np.ndarray, cache: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dW): dx = dout (the identity path) + the path through relu(x @ W)."""
    x, W = cache
    dz = dout * (x @ W > 0)
    return dout + dz @ W.T, x.T @ dz


# --- exploding gradients: clipping ------------------------------------------------------


def global_norm(grads: Sequence[np.ndarray]) -> float:
    """The norm of all gradients together, as if they were one long vector."""
    return float(np.sqrt(sum(np.sum(g**2) for g in grads)))


def clip_by_global_norm(grads: Sequence[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """Copies of ``grads`` scaled by one common factor so that their global norm is <= max_norm."""
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads]


# --- training on a small synthetic regression task --------------------------------------


def regression_task(n: int, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X ~ N(0, 1) of shape (n, dim) and a smooth target y = sin(X @ a) of shape (n, 1)."""
    X = rng.normal(size=(n, dim))
    direction = rng.normal(size=(dim, 1)) / np.sqrt(dim)
    return X, np.sin(2.0 * X @ direction)


def train_sgd(
    weights: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    activation: str,
    *,
    lr: float,
    steps: int,
    residual: bool = False,
    max_norm: float | None = None,
) -> np.ndarray:
    """Plain full-batch SGD on copies of ``weights``; the loss before each step (nan once it overflows)."""
    weights = [W.copy() for W in weights]
    losses = np.full(steps, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            loss, grads = loss_and_grads(weights, X, y, activation, residual)
            if not np.isfinite(loss):
                break
            losses[step] = loss
            if max_norm is not None:
                grads = clip_by_global_norm(grads, max_norm)
            for W, g in zip(weights, grads, strict=True):
                W -= lr * g
    return losses
