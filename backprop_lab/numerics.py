"""The one sigmoid and the one numerical derivative that every lesson and module of the course uses.

* :func:`sigmoid`: ``1 / (1 + exp(-z))`` without overflow, exact in both tails, keeping float32
  as float32 (lesson 05 checks gradients in both precisions).
* :func:`central_difference`: ``(f(x + h) - f(x - h)) / 2h``, the slope of a function at ``x``;
  with an elementwise ``f`` and an array ``x``, the derivative at every point at once.
* :func:`forward_difference`: ``(f(x + h) - f(x)) / h``, the less accurate one-sided variant
  that lesson 05 compares it with.
* :func:`numerical_gradient`: the gradient of a scalar function of an array, one entry at a
  time, by either difference.

Pure numpy: importing it draws no widgets and no plots. ``backprop_lab.activations``,
``backprop_lab.mlp``, ``backprop_lab.calculus`` and ``backprop_lab.gradcheck`` re-export these
names, so a lesson may import them from the module it is about.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow and exact in both tails: exp only ever sees -|z|.

    Floating inputs keep their dtype (float32 stays float32); anything else becomes float64.
    """
    z = np.asarray(z)
    small = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    upper = 1 / (1 + small)  # sigma(|z|)
    return np.where(z >= 0, upper, small * upper)[()]  # sigma(-|z|) = e^-|z| sigma(|z|)


def central_difference(f: Callable, x, h: float = 1e-5):
    """The slope of ``f`` at ``x`` measured by a small symmetric step: (f(x+h) - f(x-h)) / 2h.

    Its error falls like h^2. For an elementwise ``f``, an array ``x`` gives the slope at every point.
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def forward_difference(f: Callable, x, h: float = 1e-5):
    """The one-sided slope (f(x+h) - f(x)) / h: one evaluation cheaper, its error falls only like h."""
    return (f(x + h) - f(x)) / h


DIFFERENCES = {"central": central_difference, "forward": forward_difference}


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5, method: str = "central"):
    """Finite-difference gradient of scalar ``f`` at the array ``x``, one entry at a time.

    ``method`` is ``"central"`` ((f(x+h) - f(x-h)) / 2h, error O(h^2)) or ``"forward"``
    ((f(x+h) - f(x)) / h, error O(h)). Each entry is perturbed **in place** and restored to its
    saved value, so ``x`` ends exactly as it began, and ``f`` may ignore its argument and read
    the array itself (a loss that closes over a network's weights).
    """
    if method not in DIFFERENCES:
        raise ValueError(f"method must be 'central' or 'forward', got {method!r}")
    difference = DIFFERENCES[method]
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]

        def f_of_entry(value, index=index):
            x[index] = value  # one entry moves, every other stays
            return f(x)

        gradient[index] = difference(f_of_entry, saved, h)
        x[index] = saved
    return gradient
