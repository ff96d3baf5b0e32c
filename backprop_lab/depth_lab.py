"""The depth lab: watch gradients vanish and explode as a network gets deeper.

In a lesson::

    from backprop_lab.depth_lab import DepthLab

    DepthLab()

Controls: depth (1 to 50), width, activation, initialisation, residual connections, batch
normalisation (over the batch, before every hidden activation, no learned scale or shift) and
gradient clipping (which affects only the training run). Every change recomputes, on a small
synthetic regression task, the norm of dL/dW for every layer (log scale), a short run of SGD,
the update-to-data ratio of the first step per layer, and at initialisation histograms of a
few layers' activations and gradients and the share of saturated (or dead) units per layer. A
status line summarises it ("gradients vanish: layer 1 gets 2e-05 of the last layer's norm").
The browser draws the six panels from SVG the lab writes (:mod:`backprop_lab.svgfig`).

Tests drive it without a browser: set ``lab.sliders["depth"].value``, ``lab.dropdowns[...]`` or
``lab.toggles["residual"]`` / ``["clip"]`` / ``["batch_norm"]``, then read ``lab.report`` (the
numbers), ``lab.status.value`` and :meth:`DepthLab.plotted_data` (the drawn curves; the lab
follows :class:`backprop_lab.lab.Lab`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np

from . import deep_nets
from .lab import Lab, Verdict
from .svgfig import SvgFigure

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
#: Added to the batch variance before the square root, as torch.nn.BatchNorm1d does.
BATCH_NORM_EPS = 1e-5

INIT_LABELS = {
    "naive N(0, 1)": "naive",
    "small N(0, 0.01²)": "small",
    "Xavier (Glorot)": "xavier",
    "He (Kaiming)": "he",
}


#: A unit is saturated when the slope of its activation is below this: sigmoid outside about
#: (0.03, 0.97), tanh with |a| above about 0.985. A ReLU unit is dead when it is 0 for the whole batch.
SATURATED_SLOPE = 0.03
#: The practitioner's rule of thumb (Karpathy): one step should change a weight matrix by about
#: a thousandth of its size, std(lr * dW) / std(W) ~ 1e-3.
UPDATE_RATIO_TARGET = 1e-3
#: The layers whose histograms are drawn: at most this many, evenly spread, first and last included.
HISTOGRAM_LAYERS = 5
HISTOGRAM_BINS = 40


@dataclass
class DepthReport:
    """What one setting of the lab produced."""

    norms: np.ndarray  # ||dL/dW_l|| for each layer, first first
    losses: np.ndarray  # training loss before each SGD step; nan once it overflowed
    baseline: float  # the loss of always predicting the mean target
    verdict: Verdict  # kind "vanishing", "exploding" or "healthy", and a sentence that explains it
    # Diagnostics at initialisation, one entry per hidden layer (every layer but the last):
    activations: list[np.ndarray] = field(default_factory=list)  # the layer's activation outputs a_l, (batch, width)
    activation_grads: list[np.ndarray] = field(default_factory=list)  # dL/da_l
    inactive_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # saturated (sigmoid, tanh) or dead (relu)
    update_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))  # std(lr * step_l) / std(W_l), every layer


def inactive_share(a: np.ndarray, activation: str) -> float:
    """The share of a layer's units that pass (almost) no gradient.

    sigmoid and tanh: the entries of ``a`` (batch x units) whose slope is below SATURATED_SLOPE;
    relu: the units that are 0 for every example of the batch (dead: they never learn again).
    """
    if activation == "relu":
        return float(np.mean(np.all(a <= 0, axis=0)))
    slope = a * (1 - a) if activation == "sigmoid" else 1 - a**2
    return float(np.mean(slope < SATURATED_SLOPE))


def update_to_data_ratio(step: np.ndarray, W: np.ndarray) -> float:
    """std(update) / std(W): how big one SGD step is compared with the weights it changes."""
    return float(np.std(step) / np.std(W))


def _profile_and_train(weights, X, y, activation, residual, lr, steps, max_norm, batch_norm=False):
    """The lab's whole computation in one loop: the same numbers as ``deep_nets.layer_grad_norms``
    (step 0) and ``deep_nets.train_sgd``, plus what the diagnostics need from step 0.

    The reference functions build a cache object per layer and go through the general
    ``activate``; this loop is their arithmetic with nothing else (the suite checks both agree).
    With ``batch_norm`` every hidden layer normalises its pre-activations over the batch
    (no learned scale or shift, as ``torch.nn.BatchNorm1d(affine=False)`` in training mode,
    against which the suite checks it).
    """
    weights = [W.copy() for W in weights]
    last = len(weights) - 1
    skips = [residual and index < last and W.shape[0] == W.shape[1] for index, W in enumerate(weights)]
    act, slope = _ACTIVATION_PAIRS[activation]
    losses = np.full(steps, np.nan)
    first = None
    for step in range(max(steps, 1)):
        h, inputs, outputs = X, [], []
        for index, W in enumerate(weights):
            inputs.append(h)
            z = h @ W
            if index == last:
                h = z
            else:
                inverse_std = None
                if batch_norm:
                    centred = z - z.mean(axis=0)
                    inverse_std = 1.0 / np.sqrt(np.mean(centred**2, axis=0) + BATCH_NORM_EPS)
                    z = centred * inverse_std
                a = act(z)
                outputs.append((z, a, inverse_std))
                h = h + a if skips[index] else a
        diff = h - y
        loss = float(np.mean(diff**2))
        if first is not None and (step == steps - 1 or not np.isfinite(loss)):
            # The last step's gradients would only move weights nobody looks at again.
            losses[step] = loss if np.isfinite(loss) else np.nan
            break
        upstream = 2.0 * diff / diff.size
        grads, activation_grads = [None] * len(weights), [None] * last
        for index in range(last, -1, -1):
            if index == last:
                dz = upstream
            else:
                activation_grads[index] = upstream
                z, a, inverse_std = outputs[index]
                dz = upstream * slope(z, a)
                if inverse_std is not None:  # back through the normalisation; z is the normalised value
                    dz = inverse_std * (dz - dz.mean(axis=0) - z * np.mean(dz * z, axis=0))
            grads[index] = inputs[index].T @ dz
            if index == 0:
                break  # nothing flows into the input
            downstream = dz @ weights[index].T
            upstream = upstream + downstream if skips[index] else downstream
        if first is None:
            first = ([np.sqrt(np.sum(g**2)) for g in grads], [a for _, a, _ in outputs], activation_grads)
        if step >= steps or not np.isfinite(loss):
            break
        losses[step] = loss
        if max_norm is not None:
            grads = deep_nets.clip_by_global_norm(grads, max_norm)
        if step == 0:
            ratios = [update_to_data_ratio(lr * g, W) for g, W in zip(grads, weights, strict=True)]
        for W, g in zip(weights, grads, strict=True):
            W -= lr * g
    norms, activations, activation_grads = first
    if steps == 0 or not np.isfinite(losses[0]):
        ratios = [np.nan] * len(weights)
    return np.array(norms), losses, activations, activation_grads, np.array(ratios)


_ACTIVATION_PAIRS = {
    "sigmoid": (deep_nets.sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
}


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
    batch_norm: bool = False,
) -> DepthReport:
    """Per-layer gradient norms at initialisation, the diagnostics, and a short SGD run, for one setting."""
    rng = np.random.default_rng(seed)
    X, y = deep_nets.regression_task(BATCH, width, rng)
    weights = deep_nets.network_weights(depth, width, init, rng, residual)
    max_norm = CLIP_NORM if clip else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        norms, losses, activations, activation_grads, ratios = _profile_and_train(
            weights, X, y, activation, residual, lr, steps, max_norm, batch_norm)
        shares = np.array([inactive_share(a, activation) for a in activations])
    return DepthReport(norms, losses, float(np.mean((y - y.mean()) ** 2)), diagnose(norms), activations,
                       activation_grads, shares, ratios)


def histogram_layers(hidden_layers: int, count: int = HISTOGRAM_LAYERS) -> np.ndarray:
    """Which hidden layers (1-based) get a histogram: up to ``count``, evenly spread, first and last."""
    if hidden_layers <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.round(np.linspace(1, hidden_layers, min(count, hidden_layers))).astype(int))


def activation_histograms(activations: list[np.ndarray], layers: np.ndarray, activation: str):
    """(bin centres, one density per chosen layer) of the activation values."""
    if activation == "sigmoid":
        edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    elif activation == "tanh":
        edges = np.linspace(-1, 1, HISTOGRAM_BINS + 1)
    else:
        chosen = [activations[layer - 1] for layer in layers]
        finite = np.concatenate([a[np.isfinite(a)] for a in chosen]) if chosen else np.zeros(1)
        top = float(np.percentile(finite, 99)) if finite.size else 1.0
        edges = np.linspace(0, top if top > 0 else 1.0, HISTOGRAM_BINS + 1)
    return _histograms([activations[layer - 1] for layer in layers], edges)


def gradient_histograms(activation_grads: list[np.ndarray], layers: np.ndarray):
    """(bin centres in log10 |dL/da|, one density per chosen layer): vanishing shows as a shift left."""
    logs = []
    for layer in layers:
        g = np.abs(activation_grads[layer - 1])
        with np.errstate(divide="ignore"):
            logs.append(np.log10(g[np.isfinite(g) & (g > 0)]))
    pooled = np.concatenate(logs) if logs else np.zeros(0)
    low, high = (np.floor(pooled.min()), np.ceil(pooled.max())) if pooled.size else (-10.0, 0.0)
    if high - low < 2:
        low, high = low - 1, high + 1
    return _histograms(logs, np.linspace(low, high, HISTOGRAM_BINS + 1))


def _histograms(samples: list[np.ndarray], edges: np.ndarray):
    """Bin centres and each sample's share per bin (values outside the edges count in the end bins)."""
    centres = (edges[:-1] + edges[1:]) / 2
    shares = []
    for values in samples:
        values = np.asarray(values, dtype=float).ravel()
        values = np.clip(values[np.isfinite(values)], edges[0], edges[-1])
        counts, _ = np.histogram(values, bins=edges)
        shares.append(counts / max(values.size, 1))
    return centres, shares


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


#: Colours of the histogram lines, first chosen layer (next to the input) to last.
LAYER_COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]


class DepthLab(Lab):
    """The widget: controls, six panels drawn by the browser (SVG), and a status line.

    Top row: the gradient norm per layer, the SGD run, the update-to-data ratio per layer.
    Bottom row, at initialisation: histograms of a few layers' activations and of their
    gradients (log10 |dL/da|), and the share of saturated (or dead) units per layer.
    """

    def __init__(
        self,
        depth: int = 10,
        activation: str = "sigmoid",
        init: str = "naive",
        residual: bool = False,
        width: int = 32,
        clip: bool = False,
        seed: int = 0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__(SvgFigure(1000, 560))
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
            "batch_norm": widgets.Checkbox(batch_norm, description="batch normalisation"),
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
        figure = self.figure
        top, bottom, width, height = 30, 315, 250, 200
        self.grad_axes = figure.panel(75, top, width, height, ylog=True, title="gradient norm per layer",
                                      xlabel="layer (1 = next to the input)", ylabel="‖dL/dW‖")
        self.loss_axes = figure.panel(405, top, width, height, ylog=True, xlabel="SGD step", ylabel="MSE",
                                      title=f"{STEPS} steps of SGD (lr {LEARNING_RATE})")
        self.ratio_axes = figure.panel(735, top, width, height, ylog=True, title="update / weights, first step",
                                       xlabel="layer", ylabel="std(lr·dW) / std(W)")
        self.activation_axes = figure.panel(75, bottom, width, height, title="activations at initialisation",
                                            ylabel="share of values")
        self.gradient_axes = figure.panel(405, bottom, width, height, title="their gradients",
                                          xlabel="log10 |dL/da|", ylabel="share of values")
        self.inactive_axes = figure.panel(735, bottom, width, height, title="saturated units",
                                          xlabel="layer", ylabel="share of units")

    @property
    def verdict(self) -> Verdict | None:
        return self.report.verdict if self.report else None

    def draw(self) -> None:
        """Recompute for the current settings and redraw."""
        self.report = run_experiment(**self.settings(), seed=self.seed)
        self._draw_gradients(self.report.norms)
        self._draw_losses(self.report.losses, self.report.baseline)
        self._draw_ratios(self.report.update_ratio)
        self._draw_histograms(self.report)
        self._draw_inactive(self.report.inactive_share)
        self.status.value = self.report.verdict.html()

    def plotted_data(self) -> dict[str, np.ndarray]:
        """The curves drawn now: ``grad_norm`` per ``layer``, ``loss`` per SGD ``step``, ``update_ratio`` per
        layer, ``inactive_share`` per hidden layer, and per histogram layer L ``activation_hist_L`` over
        ``activation_bins`` and ``gradient_hist_L`` over ``gradient_bins`` (log10 |dL/da|)."""
        grad, loss = self.grad_axes.series["grad_norm"], self.loss_axes.series["loss"]
        data = {"layer": grad.x, "grad_norm": grad.y, "step": loss.x, "loss": loss.y,
                "update_ratio": self.ratio_axes.series["update_ratio"].y,
                "inactive_share": self.inactive_axes.series["inactive"].y}
        for kind, axes in (("activation", self.activation_axes), ("gradient", self.gradient_axes)):
            for name, series in axes.series.items():
                data[f"{kind}_bins"] = series.x
                data[f"{kind}_hist_{name.removeprefix('layer ')}"] = series.y
        return data

    def _draw_gradients(self, norms: np.ndarray) -> None:
        layers = np.arange(1, len(norms) + 1)
        shown = _plottable(norms)
        axes = self.grad_axes
        axes.series.clear()
        axes.line("grad_norm", layers, shown, colour="C0", marker="o", size=2.5)
        low, high = _log_limits(shown)
        gaps = np.isnan(shown)
        # Zeros sit at the bottom of the axis, overflows at the top: visible, never silently dropped.
        axes.markers("gaps", layers[gaps], np.where(norms[gaps] == 0, low, high), label="zero, inf or nan")
        axes.set_limits((0.5, len(norms) + 0.5), (low, high))
        axes.legend("lower right" if gaps.any() else None)

    def _draw_losses(self, losses: np.ndarray, baseline: float) -> None:
        steps = np.arange(len(losses))
        shown = _plottable(losses)
        low, high = _log_limits(np.append(shown, baseline))
        overflowed = np.flatnonzero(np.isnan(shown))
        axes = self.loss_axes
        axes.series.clear()
        axes.line("loss", steps, shown, colour="C1", marker="o", size=2, label="training loss")
        axes.hline("baseline", baseline, label="predict the mean")
        axes.markers("overflowed", steps[overflowed[:1]], [high] * min(1, overflowed.size), size=6,
                     label="overflowed" if overflowed.size else None)
        axes.set_limits((-0.5, len(losses)), (low, high))
        axes.legend("upper right")

    def _draw_ratios(self, ratios: np.ndarray) -> None:
        layers = np.arange(1, len(ratios) + 1)
        shown = _plottable(ratios)
        low, high = _log_limits(np.append(shown, [UPDATE_RATIO_TARGET]))
        axes = self.ratio_axes
        axes.series.clear()
        axes.line("update_ratio", layers, shown, colour="C4", marker="o", size=2.5, label="this network")
        axes.hline("target", UPDATE_RATIO_TARGET, colour="C2", label="rule of thumb 1e-3")
        axes.set_limits((0.5, len(ratios) + 0.5), (low, high))
        axes.legend("upper right")

    def _draw_histograms(self, report: DepthReport) -> None:
        activation = self.dropdowns["activation"].value
        layers = histogram_layers(len(report.activations))
        for axes, (centres, shares), xlabel in (
            (self.activation_axes, activation_histograms(report.activations, layers, activation),
             f"{activation} output a"),
            (self.gradient_axes, gradient_histograms(report.activation_grads, layers), "log10 |dL/da|"),
        ):
            axes.series.clear()
            for number, (layer, share) in enumerate(zip(layers, shares, strict=True)):
                axes.line(f"layer {layer}", centres, share, colour=LAYER_COLOURS[number], width=1.5,
                          label=f"layer {layer}")
            top = max((float(s.max()) for s in shares), default=1.0)
            step = centres[1] - centres[0] if len(centres) > 1 else 1.0
            axes.set_limits((centres[0] - step / 2, centres[-1] + step / 2), (0, max(top, 1e-3) * 1.1))
            axes.xlabel = xlabel
            axes.legend("upper right")
        if not layers.size:
            self.activation_axes.text(0.5, 0.5, "no hidden layer at depth 1", box=True)

    def _draw_inactive(self, shares: np.ndarray) -> None:
        activation = self.dropdowns["activation"].value
        axes = self.inactive_axes
        axes.series.clear()
        axes.texts.clear()
        layers = np.arange(1, len(shares) + 1)
        axes.bars("inactive", layers, shares, colour="C3" if activation != "relu" else "C7")
        axes.title = "dead units (0 for the whole batch)" if activation == "relu" else (
            f"saturated units (slope < {SATURATED_SLOPE:g})")
        axes.set_limits((0.5, max(len(shares), 1) + 0.5), (0, 1.05))
        if shares.size:
            axes.text(0.03, 0.92, f"mean {shares.mean():.0%}", anchor="start", size=10)

    def rows(self) -> list[widgets.Widget]:
        top = widgets.HBox([self.sliders["depth"], self.sliders["width"], self.toggles["residual"],
                            self.toggles["batch_norm"]])
        middle = widgets.HBox([self.dropdowns["activation"], self.dropdowns["init"], self.toggles["clip"]])
        return [top, middle, self.status]
