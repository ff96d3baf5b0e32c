"""Lesson 04: activations, their derivatives, the two classification losses, and their plots.

The reference implementations here are what lesson 04 plots and what the suite checks
numerically (``tests/test_lesson_04_activations.py``): every curve in :data:`CURVES` pairs a
function with the derivative drawn beside it. Conventions follow the course contract:
``*_grad(z)`` is the elementwise derivative with respect to the input ``z``; losses are means
(over the batch for softmax cross-entropy, over all elements for BCE) and their gradients
include that ``1/N``.

In a lesson::

    from backprop_lab.activations import ActivationExplorer, plot_all_curves

    plot_all_curves()          # a static figure: reads without widgets
    ActivationExplorer()       # a selector that redraws the function and its derivative
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .lab import Lab
from .numerics import sigmoid  # the course's one sigmoid, re-exported for lesson 04

#: Where binary cross-entropy clips probabilities: p is kept inside [BCE_EPS, 1 - BCE_EPS].
BCE_EPS = 1e-12
#: A derivative smaller than this (in absolute value) counts as saturated in the plots.
SATURATION_THRESHOLD = 0.01


# --- activations and their derivatives --------------------------------------------------


def sigmoid_grad(z):
    """sigma'(z) = sigma(z) (1 - sigma(z)): the identity is applied to sigma(z), not to z."""
    s = sigmoid(z)
    return s * (1 - s)


def sigmoid_grad_from_output(a):
    """The same derivative written in terms of the output a = sigma(z) (step 03's cache)."""
    return a * (1 - a)


def tanh(z):
    return np.tanh(z)


def tanh_grad(z):
    """tanh'(z) = 1 - tanh(z)**2."""
    return 1 - np.tanh(z) ** 2


def relu(z):
    return np.maximum(z, 0.0)


def relu_grad(z):
    """1 where z > 0, else 0 (the course's convention at the kink z = 0)."""
    return (np.asarray(z) > 0).astype(float)


def leaky_relu(z, alpha=0.01):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha=0.01):
    """1 where z > 0, alpha where z <= 0."""
    return np.where(np.asarray(z) > 0, 1.0, alpha)


# --- softmax and the two classification losses ------------------------------------------


def log_softmax(logits):
    """Row-wise log-probabilities by the log-sum-exp trick: finite for logits of any size."""
    logits = np.asarray(logits, dtype=float)
    shifted = logits - logits.max(axis=1, keepdims=True)  # the largest entry of each row is 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits):
    """Row-wise softmax; subtracting each row's max changes nothing mathematically but keeps exp <= 1."""
    return np.exp(log_softmax(logits))


def naive_softmax(logits):
    """exp(z) / sum(exp(z)) as written on paper: overflows to inf / inf = nan for large logits."""
    exps = np.exp(logits)
    return exps / exps.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and its fused gradient.

    dlogits = (softmax(logits) - onehot(labels)) / N: no division by a probability anywhere.
    """
    logits = np.asarray(logits, dtype=float)
    n = logits.shape[0]
    rows = np.arange(n)
    log_probs = log_softmax(logits)
    loss = -log_probs[rows, labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1
    return loss, dlogits / n


def binary_cross_entropy(p, y, eps=BCE_EPS):
    """Mean BCE over all elements and its gradient with respect to p, with p clipped to [eps, 1 - eps]."""
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dp = (p - y) / (p * (1 - p)) / p.size
    return loss, dp


# --- 1-D slices of the losses, so that they can be plotted like activations ---------------

_OTHER_LOGITS = 2  # the curve's softmax has three classes: the true one at z, two others at 0


def _logits_with_true_class_at(z):
    z = np.atleast_1d(np.asarray(z, dtype=float))
    return np.column_stack([z] + [np.zeros_like(z)] * _OTHER_LOGITS)


def cross_entropy_vs_true_logit(z):
    """Softmax cross-entropy of one example as its true-class logit z moves (other logits 0)."""
    return -log_softmax(_logits_with_true_class_at(z))[:, 0]


def cross_entropy_vs_true_logit_grad(z):
    """dL/dz for that example: p_true - 1, read from the fused gradient (times N to undo the mean)."""
    logits = _logits_with_true_class_at(z)
    _, dlogits = softmax_cross_entropy(logits, np.zeros(len(logits), dtype=int))
    return dlogits[:, 0] * len(logits)


def bce_vs_p(p, y=1.0):
    """Binary cross-entropy of one prediction p against label y, elementwise."""
    p = np.asarray(p, dtype=float)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def bce_vs_p_grad(p, y=1.0):
    """dL/dp for one prediction, read from binary_cross_entropy (times the size to undo the mean)."""
    p = np.asarray(p, dtype=float)
    _, dp = binary_cross_entropy(p, np.full_like(p, y))
    return dp * p.size


# --- what the lesson plots ----------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """A function and its derivative, drawn side by side on ``x``."""

    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    x: np.ndarray
    function_label: str
    derivative_label: str
    xlabel: str = "z"
    kinks: tuple[float, ...] = field(default=())  # points where the function has no derivative
    note: str = ""

    def points_away_from_kinks(self, margin=1e-3):
        """The plotted x values farther than ``margin`` from every kink: where a slope can be measured."""
        keep = np.ones(self.x.shape, dtype=bool)
        for kink in self.kinks:
            keep &= np.abs(self.x - kink) > margin
        return self.x[keep]


LEAKY_ALPHA_SHOWN = 0.1  # the plots use a larger alpha than the default 0.01 so the slope is visible

CURVES: dict[str, Curve] = {
    "sigmoid": Curve(
        sigmoid, sigmoid_grad, np.linspace(-8, 8, 401), r"$\sigma(z)$", r"$\sigma'(z)=\sigma(z)(1-\sigma(z))$"
    ),
    "tanh": Curve(tanh, tanh_grad, np.linspace(-5, 5, 401), r"$\tanh(z)$", r"$\tanh'(z)=1-\tanh^2(z)$"),
    "ReLU": Curve(
        relu, relu_grad, np.linspace(-4, 4, 401), r"$\max(z, 0)$", r"$\mathbb{1}[z>0]$", kinks=(0.0,),
        note="0 for every z <= 0: a dead unit gets no gradient",
    ),
    "leaky ReLU": Curve(
        partial(leaky_relu, alpha=LEAKY_ALPHA_SHOWN),
        partial(leaky_relu_grad, alpha=LEAKY_ALPHA_SHOWN),
        np.linspace(-4, 4, 401),
        rf"leaky ReLU, $\alpha={LEAKY_ALPHA_SHOWN}$",
        r"$1$ if $z>0$ else $\alpha$",
        kinks=(0.0,),
    ),
    "softmax + CE": Curve(
        cross_entropy_vs_true_logit,
        cross_entropy_vs_true_logit_grad,
        np.linspace(-8, 8, 401),
        r"$L=-\log p_{\mathrm{true}}$ (other logits 0)",
        r"$\partial L/\partial z_{\mathrm{true}} = p_{\mathrm{true}}-1$",
        xlabel="logit of the true class",
        note="small only when the prediction is already right",
    ),
    "BCE": Curve(
        bce_vs_p,
        bce_vs_p_grad,
        np.linspace(0.01, 0.99, 393),
        r"$L=-\log p$ (label $y=1$)",
        r"$\partial L/\partial p=-1/p$",
        xlabel="predicted probability p",
        note="y = 0 is the mirror image: L = -log(1 - p)",
    ),
}


def saturated(derivative_values, threshold=SATURATION_THRESHOLD):
    """Boolean mask: where the derivative is too small to pass a useful gradient back."""
    return np.abs(derivative_values) < threshold


def saturated_intervals(name, threshold=SATURATION_THRESHOLD):
    """The stretches of the plotted range of curve ``name`` where it is saturated, as (first x, last x)."""
    curve = CURVES[name]
    mask = saturated(curve.derivative(curve.x), threshold)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    runs = zip(edges[::2], edges[1::2], strict=True)  # [start, stop) index pairs of each saturated run
    return [(float(curve.x[start]), float(curve.x[stop - 1])) for start, stop in runs]


def plot_curve(name, axes, threshold=SATURATION_THRESHOLD):
    """Draw curve ``name`` on two axes: the function left, its derivative right, saturation shaded."""
    curve = CURVES[name]
    values, slopes = curve.function(curve.x), curve.derivative(curve.x)
    mask = saturated(slopes, threshold)
    for ax, y, colour, label in (
        (axes[0], values, "tab:blue", curve.function_label),
        (axes[1], slopes, "tab:red", curve.derivative_label),
    ):
        ax.plot(curve.x, y, color=colour, lw=2, label=label)
        ax.fill_between(
            curve.x, 0, 1, where=mask, transform=ax.get_xaxis_transform(), color="0.5", alpha=0.2, lw=0,
            label=f"|derivative| < {threshold:g}" if mask.any() else None,
        )
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel(curve.xlabel)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{name}")
    axes[1].set_title(f"{name}: derivative" + (f"\n({curve.note})" if curve.note else ""), fontsize=9)


def plot_all_curves(names=None, threshold=SATURATION_THRESHOLD):
    """A static figure: one row per curve, function and derivative side by side."""
    names = list(names or CURVES)
    fig, grid = plt.subplots(len(names), 2, figsize=(9, 2.6 * len(names)), squeeze=False)
    for name, axes in zip(names, grid, strict=True):
        plot_curve(name, axes, threshold)
    fig.tight_layout()
    return fig


def plot_sigmoid_trap(z=None):
    """sigma'(z) computed right, s(1 - s) with s = sigma(z), beside the trap z(1 - z), with the gap."""
    z = np.linspace(-6, 6, 241) if z is None else z
    right, trap = sigmoid_grad(z), sigmoid_grad_from_output(z)
    fig, (left, middle) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(z, right, color="tab:green", lw=2, label=r"$s(1-s)$ with $s=\sigma(z)$ (right)")
    left.plot(z, trap, color="tab:red", lw=2, ls="--", label=r"$z(1-z)$ (the trap)")
    left.set_ylim(-1.5, 0.5)
    left.set_title("the same identity fed two different inputs")
    middle.plot(z, np.abs(trap - right), color="tab:red", lw=2)
    middle.set_yscale("log")
    middle.set_title(r"$|z(1-z) - \sigma'(z)|$")
    for ax in (left, middle):
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower center")
    fig.tight_layout()
    return fig


# --- the interactive selector -------------------------------------------------------------


class ActivationExplorer(Lab):
    """Choose a curve with the toggle buttons; both panels redraw and the status line says where
    the curve saturates.

    There are six curves and their pictures never change, so all six are drawn once when the
    explorer is made (about a second) and a click only swaps the figure and its PNG: matplotlib
    needs some 190 ms to draw and encode one of them, far beyond what feels instant.

    Testable without a browser: set ``explorer.selector.value = "tanh"`` and read
    :meth:`plotted_data` (the x, function and derivative values now drawn) or ``explorer.status``.
    """

    def __init__(self, initial="sigmoid", threshold=SATURATION_THRESHOLD):
        self.threshold = threshold
        #: Each curve's figure, its two axes and its PNG, drawn once.
        self.pictures: dict[str, tuple[Figure, np.ndarray, bytes]] = {}
        for name in CURVES:
            figure = Figure(figsize=(9, 3.2))
            axes = figure.subplots(1, 2)
            plot_curve(name, axes, threshold)
            figure.tight_layout()
            self.figure = figure
            self.pictures[name] = (figure, axes, self.render_png())
        super().__init__(self.pictures[initial][0])
        self.axes = self.pictures[initial][1]
        self.selector = widgets.ToggleButtons(options=list(CURVES), value=initial, description="curve")
        self.watch(self.selector)
        self.update()

    def controls(self):
        return [self.selector]

    def draw(self):
        name = self.selector.value
        self.figure, self.axes, _ = self.pictures[name]
        stretches = saturated_intervals(name, self.threshold)
        where = " and ".join(f"[{first:g}, {last:g}]" for first, last in stretches) or "nowhere on this range"
        self.status.value = f"{html.escape(name)}: |derivative| < {self.threshold:g} (saturated) {where}"

    def render(self) -> bytes:
        """The chosen curve's picture, drawn when the explorer was made."""
        return self.pictures[self.selector.value][2]

    def plotted_data(self):
        """The curve drawn now: ``x``, the ``function`` values and the ``derivative`` values."""
        function_line, derivative_line = self.axes[0].lines[0], self.axes[1].lines[0]
        return {"x": function_line.get_xdata(), "function": function_line.get_ydata(),
                "derivative": derivative_line.get_ydata()}
