"""The course's reference 2-layer network in numpy: the seed network of lesson 03.

``X (N, D) -> affine(W1, b1) -> sigmoid -> affine(W2, b2) -> output -> MSE`` with row-vector
batches, ``W1 (D, H)``, ``b1 (H,)``, ``W2 (H, K)``, ``b2 (K,)``, the loss averaged over all
elements of ``y`` (its gradient carries that ``1/N``), float64. ``params`` and ``grads`` are
dicts with the keys ``W1 b1 W2 b2``. The output is a sigmoid, as in the contract; the
learning-rate lab also trains the same network with a plain linear output (``output="linear"``),
whose loss is not bounded and can truly diverge.

In a lesson or a later step::

    from backprop_lab import mlp

    params = mlp.init_params(hidden=4, seed=0)
    loss, grads = mlp.loss_and_grads(params, mlp.XOR_X, mlp.XOR_Y)
    losses = mlp.train(params, mlp.XOR_X, mlp.XOR_Y, lr=1.0, epochs=5000)

The names are the course's for this network everywhere (lesson 03, the learning-rate lab,
lesson 05's bug hunt, lesson 06): ``z1 = X @ W1 + b1``, hidden activations ``h = sigmoid(z1)``,
``z2 = h @ W2 + b2``, output ``y_pred``; backwards ``dy_pred``, ``dz2``, ``dh``, ``dz1`` and the
gradients ``dW1 db1 dW2 db2`` under the keys ``W1 b1 W2 b2`` (:data:`PARAM_NAMES`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .numerics import sigmoid

__all__ = [
    "OUTPUTS", "PARAM_NAMES", "XOR_X", "XOR_Y", "Cache", "backward", "forward", "init_params", "loss",
    "loss_and_grads", "mse", "predict_grid", "sgd_step", "sigmoid", "train",
]

PARAM_NAMES = ("W1", "b1", "W2", "b2")
OUTPUTS = ("sigmoid", "linear")

#: XOR: the four corners of the unit square and their labels, the smallest problem a network
#: without a hidden layer cannot solve.
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def init_params(
    n_in: int = 2,
    hidden: int = 4,
    n_out: int = 1,
    seed: int | np.random.Generator = 0,
    scale: float = 1.0,
    bias_scale: float = 0.0,
) -> dict:
    """Weights drawn from N(0, scale^2); biases zero, or drawn from N(0, bias_scale^2).

    ``seed`` is a number or a ``numpy.random.Generator`` (which is drawn from, in the order
    W1, b1, W2, b2). Lesson 05 gives the biases a scale so that a bug in their gradients shows.
    """
    rng = np.random.default_rng(seed)

    def bias(size: int) -> np.ndarray:
        return rng.normal(0.0, bias_scale, size=size) if bias_scale else np.zeros(size)

    W1 = rng.normal(0.0, scale, size=(n_in, hidden))
    b1 = bias(hidden)
    W2 = rng.normal(0.0, scale, size=(hidden, n_out))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": bias(n_out)}


class Cache(NamedTuple):
    """What the forward pass keeps for the backward pass."""

    X: np.ndarray  # the input: dW1 = X.T @ dz1
    h: np.ndarray  # the hidden activations: dW2 = h.T @ dz2, and sigmoid' = h (1 - h)
    y_pred: np.ndarray  # the output: the output sigmoid's slope is y_pred (1 - y_pred)
    output: str


def forward(params: dict, X: np.ndarray, output: str = "sigmoid") -> tuple[np.ndarray, Cache]:
    """The prediction ``y_pred`` (N, K) and the values the backward pass needs."""
    h = sigmoid(X @ params["W1"] + params["b1"])
    z2 = h @ params["W2"] + params["b2"]
    if output == "sigmoid":
        y_pred = sigmoid(z2)
    elif output == "linear":
        y_pred = z2
    else:
        raise ValueError(f"unknown output {output!r}; choose one of {OUTPUTS}")
    return y_pred, Cache(X, h, y_pred, output)


def mse(y_pred: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """mean((y_pred - y)^2) over all elements, and its gradient 2 (y_pred - y) / y.size."""
    error = y_pred - y
    return float(np.vdot(error, error)) / error.size, 2.0 * error / error.size


def backward(params: dict, cache: Cache, dy_pred: np.ndarray) -> dict:
    """Gradients of the loss for every parameter, given dL/dy_pred."""
    dz2 = dy_pred * cache.y_pred * (1.0 - cache.y_pred) if cache.output == "sigmoid" else dy_pred
    dh = dz2 @ params["W2"].T
    dz1 = dh * cache.h * (1.0 - cache.h)
    return {
        "W1": cache.X.T @ dz1,
        "b1": dz1.sum(axis=0),
        "W2": cache.h.T @ dz2,
        "b2": dz2.sum(axis=0),
    }


def loss(params: dict, X: np.ndarray, y: np.ndarray, output: str = "sigmoid") -> float:
    """The MSE loss alone: what a numerical gradient differentiates."""
    y_pred, _ = forward(params, X, output)
    return mse(y_pred, y)[0]


def loss_and_grads(params: dict, X: np.ndarray, y: np.ndarray, output: str = "sigmoid") -> tuple[float, dict]:
    """One forward and one backward pass: the MSE loss and its gradients."""
    y_pred, cache = forward(params, X, output)
    value, dy_pred = mse(y_pred, y)
    return value, backward(params, cache, dy_pred)


def sgd_step(params: dict, grads: dict, lr: float) -> None:
    """Plain gradient descent, in place: every parameter moves against its gradient."""
    for name, grad in grads.items():
        params[name] -= lr * grad


def train(
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    epochs: int,
    output: str = "sigmoid",
    stop_above: float = np.inf,
) -> np.ndarray:
    """Full-batch gradient descent for ``epochs`` steps, updating ``params`` in place.

    Returns the loss measured before each step. Training stops early, with the offending loss
    as the last entry, once the loss is not finite or exceeds ``stop_above``: a diverged run
    need not be followed until it overflows.
    """
    losses = np.empty(epochs)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            value, grads = loss_and_grads(params, X, y, output)
            losses[epoch] = value
            if not value <= stop_above:  # also true for nan
                return losses[: epoch + 1]
            sgd_step(params, grads, lr)
    return losses


def predict_grid(params: dict, output: str = "sigmoid", lo: float = -0.5, hi: float = 1.5, n: int = 101) -> np.ndarray:
    """The network's output on an n x n grid over [lo, hi]^2 (rows: x2, columns: x1)."""
    axis = np.linspace(lo, hi, n)
    x1, x2 = np.meshgrid(axis, axis)
    with np.errstate(over="ignore", invalid="ignore"):
        y_pred, _ = forward(params, np.column_stack([x1.ravel(), x2.ravel()]), output)
    return y_pred[:, 0].reshape(n, n)
