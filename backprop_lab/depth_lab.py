"""The depth lab: watch gradients vanish and explode as a network gets deeper.

In a lesson::

    from backprop_lab.depth_lab import DepthLab

    DepthLab()

Controls: depth (1 to 50), width, activation, initialisation, residual connections and
gradient clipping (which affects only the training run). Every
change recomputes, on a small synthetic regression task, the norm of dL/dW for every layer
(left panel, log scale) and a short run of SGD (right panel), and summarises the result in a
status line ("gradients vanish: layer 1 gets 2e-05 of the last layer's norm").

Tests drive it without a browser: set ``lab.sliders["depth"].value``, ``lab.dropdowns[...]`` or
``lab.toggles["residual"]`` / ``["clip"]``, then read ``lab.report`` (the numbers), ``lab.status.value`` and the
artists of ``lab.figure``; :meth:`DepthLab.plotted_data` gives the drawn curves (the lab follows
:class:`backprop_lab.lab.Lab`).
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import deep_nets
from .lab import Lab, Verdict, plain_log_ticks

#: Verdicts: layer 1 gets less than VANISH_RATIO (more than EXPLODE_RATIO) of the last layer's norm.
VANISH_RATIO = 1e-3
EXPLODE_RATIO = 1e3
#: Any gradient norm above this is exploding, whatever the ratio (ReLU scales all layers alike).
EXPLODE_NORM = 1e6
#: Every gradient norm below this is vanishing, whatever the ratio.
TINY_NORM = 1e-8

BATCH = 32
STEPS = 30
LEARNING_RATE = 0.02
#: The global-norm threshold used when the lab's "clip gradients" box is ticked.
CLIP_NORM = 1.0

INIT_LABELS = {
    "naive N(0, 1)": "naive",
    "small N(0, 0.01²)": "small",
    "Xavier (Glorot)": "xavier",
    "He (Kaiming)": "he",
}


@dataclass
class DepthReport:
    """What one setting of the lab produced."""

    norms: np.ndarray  # ||dL/dW_l|| for each layer, first first
    losses: np.ndarray  # training loss before each SGD step; nan once it overflowed
    baseline: float  # the loss of always predicting the mean target
    verdict: Verdict  # kind "vanishing", "exploding" or "healthy", and a sentence that explains it


def diagnose(norms: np.ndarray) -> Verdict:
    """A verdict on a profile of per-layer gradient norms: vanishing, exploding or healthy, and why."""
    norms = np.asarray(norms, dtype=float)
    if not np.isfinite(norms).all():
        return Verdict("exploding", "gradients explode: they overflow float64 (inf or nan)")
    largest = norms.max()
    if largest > EXPLODE_NORM:
        return Verdict("exploding", f"gradients explode: the largest layer gradient norm is {largest:.0e}")
    if largest < TINY_NORM:
        return Verdict("vanishing", f"gradients vanish: no layer's gradient norm exceeds {largest:.0e}")
    if norms[-1] == 0:
        return Verdict("vanishing", "gradients vanish: the last layer gets no gradient at all")
    ratio = norms[0] / norms[-1]
    sentence = f"layer 1 gets {ratio:.0e} of the last layer's norm"
    if ratio < VANISH_RATIO:
        return Verdict("vanishing", f"gradients vanish: {sentence}")
    if ratio > EXPLODE_RATIO:
        return Verdict("exploding", f"gradients explode towards the input: {sentence}")
    return Verdict("healthy", f"gradients flow: {sentence}")


def run_experiment(
    depth: int,
    activation: str,
    init: str,
    residual: bool = False,
    width: int = 32,
    clip: bool = False,
    seed: int = 0,
    steps: int = STEPS,
    lr: float = LEARNING_RATE,
) -> DepthReport:
    """Per-layer gradient norms at initialisation and a short SGD run, for one setting."""
    rng = np.random.default_rng(seed)
    X, y = deep_nets.regression_task(BATCH, width, rng)
    weights = deep_nets.network_weights(depth, width, init, rng, residual)
    norms = deep_nets.layer_grad_norms(weights, X, y, activation, residual)
    max_norm = CLIP_NORM if clip else None
    losses = deep_nets.train_sgd(weights, X, y, activation, lr=lr, steps=steps, residual=residual, max_norm=max_norm)
    return DepthReport(norms, losses, float(np.mean((y - y.mean()) ** 2)), diagnose(norms))


def _plottable(values: np.ndarray) -> np.ndarray:
    """Values a log axis can show: zeros, inf and nan become gaps (nan)."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _log_limits(values: np.ndarray, min_decades: float = 2.0) -> tuple[float, float]:
    """Log-axis limits around the finite values, at least ``min_decades`` decades tall."""
    shown = values[np.isfinite(values)]
    if shown.size == 0:
        return 1e-3, 1e3
    low, high = np.log10(shown.min()) - 0.5, np.log10(shown.max()) + 0.5
    missing = max(0.0, min_decades - (high - low)) / 2
    return 10 ** (low - missing), 10 ** (high + missing)


class DepthLab(Lab):
    """The widget: controls, a two-panel figure and a status line."""

    png_dpi = None  # the figure's own (80)

    def __init__(
        self,
        depth: int = 10,
        activation: str = "sigmoid",
        init: str = "naive",
        residual: bool = False,
        width: int = 32,
        clip: bool = False,
        seed: int = 0,
    ) -> None:
        # A fixed layout and few log ticks: constrained layout and minor tick labels would
        # triple the time one redraw takes.
        super().__init__(Figure(figsize=(10, 3.6), dpi=80))
        self.seed = seed
        style = {"description_width": "initial"}
        self.sliders = {
            "depth": widgets.IntSlider(depth, min=1, max=50, description="depth", continuous_update=False),
            "width": widgets.IntSlider(width, min=8, max=64, step=8, description="width", continuous_update=False),
        }
        self.dropdowns = {
            "activation": widgets.Dropdown(options=deep_nets.ACTIVATIONS, value=activation, description="activation"),
            "init": widgets.Dropdown(options=INIT_LABELS, value=init, description="initialisation", style=style),
        }
        self.toggles = {
            "residual": widgets.Checkbox(residual, description="residual connections"),
            "clip": widgets.Checkbox(clip, description=f"clip gradients (global norm {CLIP_NORM:g})"),
        }
        self._build_figure()
        self.report: DepthReport | None = None
        self.watch(*self.controls())
        self.update()

    def controls(self) -> list[widgets.ValueWidget]:
        return [*self.sliders.values(), *self.dropdowns.values(), *self.toggles.values()]

    def settings(self) -> dict:
        return {name: control.value for name, control in {**self.sliders, **self.dropdowns, **self.toggles}.items()}

    def _build_figure(self) -> None:
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        self.grad_axes, self.loss_axes = self.figure.subplots(1, 2)
        (self.grad_line,) = self.grad_axes.semilogy([], [], "o-", ms=3, color="C0")
        (self.gap_marks,) = self.grad_axes.plot([], [], "x", color="C3", ms=8, label="zero, inf or nan")
        self.grad_axes.set(xlabel="layer (1 = next to the input)", ylabel="‖dL/dW‖", title="gradient norm per layer")
        self.grad_axes.grid(True, which="major", alpha=0.3)
        (self.loss_line,) = self.loss_axes.semilogy([], [], ".-", ms=4, color="C1", label="training loss")
        self.baseline_line = self.loss_axes.axhline(1.0, color="grey", ls="--", label="predict the mean")
        (self.diverged_mark,) = self.loss_axes.plot([], [], "x", color="C3", ms=10, label="overflowed")
        self.loss_axes.set(xlabel="SGD step", ylabel="MSE", title=f"{STEPS} steps of SGD (lr {LEARNING_RATE})")
        self.loss_axes.legend(loc="upper right", fontsize=8)
        self.loss_axes.grid(True, which="major", alpha=0.3)

    @property
    def verdict(self) -> Verdict | None:
        return self.report.verdict if self.report else None

    def draw(self) -> None:
        """Recompute for the current settings and redraw."""
        self.report = run_experiment(**self.settings(), seed=self.seed)
        self._draw_gradients(self.report.norms)
        self._draw_losses(self.report.losses, self.report.baseline)
        self.status.value = self.report.verdict.html()

    def plotted_data(self) -> dict[str, np.ndarray]:
        """The curves drawn now: gradient norm per ``layer`` (``grad_norm``), loss per SGD ``step`` (``loss``)."""
        return {"layer": np.asarray(self.grad_line.get_xdata()), "grad_norm": np.asarray(self.grad_line.get_ydata()),
                "step": np.asarray(self.loss_line.get_xdata()), "loss": np.asarray(self.loss_line.get_ydata())}

    def _draw_gradients(self, norms: np.ndarray) -> None:
        layers = np.arange(1, len(norms) + 1)
        shown = _plottable(norms)
        self.grad_line.set_data(layers, shown)
        low, high = _log_limits(shown)
        gaps = np.isnan(shown)
        # Zeros sit at the bottom of the axis, overflows at the top: visible, never silently dropped.
        self.gap_marks.set_data(layers[gaps], np.where(norms[gaps] == 0, low, high))
        self.grad_axes.set_xlim(0.5, len(norms) + 0.5)
        self.grad_axes.set_ylim(low, high)
        plain_log_ticks(self.grad_axes)

    def _draw_losses(self, losses: np.ndarray, baseline: float) -> None:
        steps = np.arange(len(losses))
        shown = _plottable(losses)
        self.loss_line.set_data(steps, shown)
        self.baseline_line.set_ydata([baseline, baseline])
        low, high = _log_limits(np.append(shown, baseline))
        overflowed = np.flatnonzero(np.isnan(shown))
        self.diverged_mark.set_data(steps[overflowed[:1]], [high] * min(1, overflowed.size))
        self.loss_axes.set_xlim(-0.5, len(losses))
        self.loss_axes.set_ylim(low, high)
        plain_log_ticks(self.loss_axes)

    def rows(self) -> list[widgets.Widget]:
        top = widgets.HBox([self.sliders["depth"], self.sliders["width"], self.toggles["residual"]])
        middle = widgets.HBox([self.dropdowns["activation"], self.dropdowns["init"], self.toggles["clip"]])
        return [top, middle, self.status]
