"""Gradient checking, the code lesson 05 shares: a reference numerical gradient, the relative
error, error-versus-h curves, a two-layer network with a planted bug, and per-entry heatmaps.

The lesson reads like this::

    from backprop_lab import gradcheck as gc

    numeric = gc.numerical_gradient(lambda _: mlp.loss(params, X, y), params["W1"])
    gc.relative_error(numeric, analytic["W1"])

The network is lesson 03's (:mod:`backprop_lab.mlp`: ``mlp.init_params``, ``mlp.loss``,
``mlp.PARAM_NAMES``); the numerical gradient is the course's one (:mod:`backprop_lab.numerics`),
re-exported here. ``numerical_gradient`` perturbs ``x`` **in place** and calls ``f(x)``: ``f`` may ignore its
argument and read the array itself (a loss that closes over the network's weights), which is how
one checks every parameter of a network with one function.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from .mlp import PARAM_NAMES, loss, sigmoid
from .numerics import numerical_gradient

__all__ = [
    "check_network", "derivative_errors", "entrywise_relative_error", "loglog_slope", "mystery_grads",
    "numerical_gradient", "planted_bug_grads", "plot_error_heatmaps", "plot_error_vs_h", "relative_error",
    "show_fix", "show_source", "two_layer_grads",
]


# --- how far apart two gradients are ------------------------------------------------


def relative_error(a, b) -> float:
    """``norm(a - b) / (norm(a) + norm(b))``: 0 for equal arrays, 1 for opposite ones, 0.0 for two zeros."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def entrywise_relative_error(a, b) -> np.ndarray:
    """``|a - b| / (|a| + |b|)`` for every entry (0 where both are 0): what the heatmaps show."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.abs(a) + np.abs(b)
    return np.divide(np.abs(a - b), scale, out=np.zeros_like(scale), where=scale > 0)


# --- error against the step h -------------------------------------------------------------


def derivative_errors(f, df, x0: float, steps, method: str = "central", dtype=np.float64) -> np.ndarray:
    """|finite difference - f'(x0)| for each step h, computed in ``dtype`` (float64 or float32)."""
    x = np.array([x0], dtype=dtype)
    exact = float(df(np.float64(x0)))
    errors = []
    for h in steps:
        estimate = numerical_gradient(f, x, h=dtype(h), method=method)
        errors.append(abs(float(estimate[0]) - exact))
    return np.array(errors)


def loglog_slope(steps, errors) -> float:
    """The slope of log(error) against log(h), fitted by least squares: the order of the error."""
    slope, _ = np.polyfit(np.log10(steps), np.log10(errors), 1)
    return float(slope)


def plot_error_vs_h(steps, curves: Mapping[str, np.ndarray], title: str = "", ax=None):
    """Log-log plot of derivative error against the step h, one line per curve; returns the figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for label, errors in curves.items():
        # An error that is exactly 0 (a lucky rounding) has no logarithm: draw it at the floor.
        ax.loglog(steps, np.maximum(errors, 1e-18), marker=".", label=label)
    ax.set_xlabel("step h")
    ax.set_ylabel("|estimate - exact derivative|")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax.figure


# --- the network with a planted bug ----------------------------------------------------
# Lesson 03's network (backprop_lab.mlp: row-vector batches, sigmoid output, MSE, mlp's names),
# its backward pass written out three times on purpose: with a planted bug, fixed, and with
# a second bug. The lesson prints them and diffs them, so each must read on its own.


def planted_bug_grads(params, X, y) -> dict:
    """The two-layer network's backward pass, as a learner wrote it. One line is wrong."""
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    h = sigmoid(X @ W1 + b1)
    y_pred = sigmoid(h @ W2 + b2)
    dy_pred = 2 * (y_pred - y) / y_pred.size
    dz2 = dy_pred * y_pred * (1 - y_pred)
    dW2, db2 = h.T @ dz2, dz2.sum(axis=0)
    dh = dz2 @ W2
    dz1 = dh * h * (1 - h)
    dW1, db1 = X.T @ dz1, dz1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def two_layer_grads(params, X, y) -> dict:
    """The same backward pass, fixed."""
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    h = sigmoid(X @ W1 + b1)
    y_pred = sigmoid(h @ W2 + b2)
    dy_pred = 2 * (y_pred - y) / y_pred.size
    dz2 = dy_pred * y_pred * (1 - y_pred)
    dW2, db2 = h.T @ dz2, dz2.sum(axis=0)
    dh = dz2 @ W2.T
    dz1 = dh * h * (1 - h)
    dW1, db1 = X.T @ dz1, dz1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def mystery_grads(params, X, y) -> dict:
    """Another version of the backward pass, with a different wrong line: the lesson's second hunt."""
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    h = sigmoid(X @ W1 + b1)
    y_pred = sigmoid(h @ W2 + b2)
    dy_pred = 2 * (y_pred - y) / y_pred.size
    dz2 = dy_pred * y_pred * (1 - y_pred)
    dW2, db2 = h.T @ dz2, dz2.mean(axis=0)
    dh = dz2 @ W2.T
    dz1 = dh * h * (1 - h)
    dW1, db1 = X.T @ dz1, dz1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def check_network(grads_fn, params, X, y, h: float = 1e-5) -> dict:
    """Per parameter: the analytic gradient, the numerical one, their relative error, and the
    relative error of every entry (the heatmap). The loss closes over ``params``, so
    ``numerical_gradient`` perturbs the network's own weights."""
    analytic = grads_fn(params, X, y)
    report = {}
    for name in PARAM_NAMES:
        numeric = numerical_gradient(lambda _: loss(params, X, y), params[name], h=h)
        report[name] = {
            "analytic": analytic[name],
            "numeric": numeric,
            "relative_error": relative_error(analytic[name], numeric),
            "entrywise": entrywise_relative_error(analytic[name], numeric),
        }
    return report


def plot_error_heatmaps(report: Mapping[str, Mapping], title: str = ""):
    """One heatmap per parameter of the per-entry relative error (log colour scale, 1e-12..1).

    Dark is agreement to many digits; yellow entries disagree. Biases are drawn as one row.
    """
    grids = {name: np.atleast_2d(entry["entrywise"]) for name, entry in report.items()}
    columns = [grid.shape[1] for grid in grids.values()]
    rows = max(grid.shape[0] for grid in grids.values())
    fig, axes = plt.subplots(1, len(grids), figsize=(0.65 * sum(columns) + 2.5, 0.6 * rows + 1.6),
                             width_ratios=columns, layout="constrained")
    norm = LogNorm(vmin=1e-12, vmax=1.0)
    for ax, (name, entry) in zip(axes, report.items(), strict=True):
        errors = grids[name]
        image = ax.imshow(np.clip(errors, 1e-12, 1.0), norm=norm, cmap="viridis")
        for (row, col), value in np.ndenumerate(errors):
            ax.text(col, row, f"{value:.0e}", ha="center", va="center", fontsize=7,
                    color="black" if value > 1e-3 else "white")
        ax.set_title(f"{name}   rel. error {entry['relative_error']:.1e}", fontsize=9)
        ax.set_xticks(range(errors.shape[1]))
        ax.set_yticks(range(errors.shape[0]))
    fig.colorbar(image, ax=axes, shrink=0.8, label="|analytic - numeric| / (|analytic| + |numeric|)")
    fig.suptitle(title)
    return fig


# --- showing code in a lesson -------------------------------------------------------------


def show_source(function) -> str:
    """The source of ``function``, for a lesson to print."""
    return inspect.getsource(function)


def _body_lines(function) -> list[str]:
    """The lines of a function after its signature and docstring."""
    lines = inspect.getsource(function).splitlines()
    first_statement = ast.parse(textwrap.dedent("\n".join(lines))).body[0].body[0]
    has_docstring = isinstance(first_statement, ast.Expr) and isinstance(first_statement.value, ast.Constant)
    start = first_statement.end_lineno if has_docstring else first_statement.lineno - 1
    return lines[start:]


def show_fix(before, after) -> str:
    """A unified diff between two functions' bodies: the lines a fix changed."""
    lines = difflib.unified_diff(
        _body_lines(before), _body_lines(after), fromfile=before.__name__, tofile=after.__name__, lineterm="", n=1
    )
    return "\n".join(lines)
