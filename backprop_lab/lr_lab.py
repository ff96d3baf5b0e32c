"""The learning-rate lab of lesson 03: retrain XOR as the sliders move and say what happened.

Too small a rate crawls, a good one converges, too large a one oscillates or diverges. The lab
trains the seed network of :mod:`backprop_lab.mlp` on XOR with full-batch gradient descent,
draws the loss curve and the decision boundary, and names the outcome in a status line and
in the figure's title: "converged", "still learning", "oscillating" or "diverged". A diverged
run is stopped where its loss blew up and drawn as such, never as a NaN axis.

In a lesson::

    from backprop_lab.lr_lab import LearningRateLab

    LearningRateLab()

Testable without a browser: set ``lab.learning_rate.value = 10`` (every change retrains) and
read ``lab.verdict``, ``lab.status.value``, ``lab.image.value`` or :meth:`LearningRateLab.plotted_data`
(the lab follows :class:`backprop_lab.lab.Lab`).
:func:`plot_training` draws the same two panels for a run trained elsewhere (lesson 03's XOR).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import mlp
from .lab import VERDICT_COLOURS, Lab, Verdict, plain_log_ticks
from .svgfig import SvgFigure

#: A run has converged once its final loss is below this (every XOR point is then on its side).
CONVERGED_LOSS = 0.01
#: Training stops, diverged, once the loss exceeds its starting value this many times over.
DIVERGENCE_FACTOR = 1e3
#: Losses are drawn on a log axis; values below this floor are drawn at the floor.
LOSS_FLOOR = 1e-10
#: The oscillation test looks at this final fraction of the run...
TAIL_FRACTION = 0.25
#: ... and calls it oscillating when the loss climbed, step by step, by more than this fraction
#: of its median there: gradient descent with a small enough rate never goes up.
VISIBLE_RISE = 0.1

def diagnose(losses: np.ndarray, epochs: int) -> Verdict:
    """Name the outcome of a run whose loss history is ``losses`` (shorter than ``epochs`` when stopped)."""
    start, final = losses[0], losses[-1]
    if len(losses) < epochs or not np.isfinite(final):
        how = "became inf/nan" if not np.isfinite(final) else f"grew {DIVERGENCE_FACTOR:.0f}-fold"
        return Verdict("diverged", f"diverged at epoch {len(losses) - 1} (loss {how}): lower the rate")
    if final > start:
        return Verdict("diverged", f"diverged: the loss rose from {start:.2g} to {final:.2g}; lower the rate")
    if final < CONVERGED_LOSS:
        return Verdict("converged", f"converged (loss {final:.2g})")
    tail = losses[-max(2, int(len(losses) * TAIL_FRACTION)) :]
    climbed = np.clip(np.diff(tail), 0.0, None).sum()
    if climbed > VISIBLE_RISE * np.median(tail):
        return Verdict(
            "oscillating",
            f"oscillating (loss jumping between {tail.min():.2g} and {tail.max():.2g}): lower the rate",
        )
    return Verdict("still learning", f"still learning (loss {final:.2g}): try more epochs or a larger rate")


def run(lr: float, epochs: int, hidden: int, seed: int, output: str) -> tuple[dict, np.ndarray]:
    """Train a fresh network on XOR; returns the final parameters and the loss history.

    The same arithmetic as ``mlp.train`` (the suite checks they agree to the last bit), written
    as one loop over local arrays: the lab retrains on every slider move and must answer fast.
    """
    params = mlp.init_params(hidden=hidden, seed=seed)
    start, _ = mlp.loss_and_grads(params, mlp.XOR_X, mlp.XOR_Y, output)
    losses = _train(params, mlp.XOR_X, mlp.XOR_Y, lr, epochs, output, stop_above=DIVERGENCE_FACTOR * start)
    return params, losses


def _train(params: dict, X: np.ndarray, y: np.ndarray, lr: float, epochs: int, output: str,
           stop_above: float) -> np.ndarray:
    """``mlp.train`` without the per-step dictionaries and cache objects (updates ``params`` in place)."""
    W1, b1, W2, b2 = (params[name] for name in mlp.PARAM_NAMES)
    XT, size, sigmoid_output = X.T, y.size, output == "sigmoid"
    losses = np.empty(epochs)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            h = mlp.sigmoid(X @ W1 + b1)
            y_pred = h @ W2 + b2
            if sigmoid_output:
                y_pred = mlp.sigmoid(y_pred)
            error = y_pred - y
            value = float(np.vdot(error, error)) / size
            losses[epoch] = value
            if not value <= stop_above:  # also true for nan
                return losses[: epoch + 1]
            dz2 = 2.0 * error / size
            if sigmoid_output:
                dz2 = dz2 * y_pred * (1.0 - y_pred)
            dz1 = dz2 @ W2.T * h * (1.0 - h)
            W1 -= lr * (XT @ dz1)
            b1 -= lr * dz1.sum(axis=0)
            W2 -= lr * (h.T @ dz2)
            b2 -= lr * dz2.sum(axis=0)
    return losses


class TrainingPanels:
    """The loss curve (log axis) beside the XOR decision boundary, for one training run.

    The artists are made once and updated in place, so redrawing after a slider move is cheap
    and a test can read what is drawn (``loss_line``, ``boundary_image``, ``loss_axes.get_title()``).
    """

    GRID_LIMITS = (-0.5, 1.5)

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.loss_axes, self.boundary_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.22, top=0.9, wspace=0.25)
        self._build_loss_panel(self.loss_axes)
        self._build_boundary_panel(self.boundary_axes)

    def _build_loss_panel(self, ax) -> None:
        (self.loss_line,) = ax.plot([], [], color="tab:blue", lw=1.5)
        (self.stop_marker,) = ax.plot([], [], "x", color=VERDICT_COLOURS["diverged"], ms=10, mew=2)
        ax.axhline(CONVERGED_LOSS, color="0.5", ls=":", lw=1)
        ax.text(0.99, CONVERGED_LOSS, "converged below this ", transform=ax.get_yaxis_transform(),
                ha="right", va="bottom", fontsize=8, color="0.4")
        ax.set_yscale("log")
        plain_log_ticks(ax)
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE loss")
        ax.grid(alpha=0.3)

    def _build_boundary_panel(self, ax) -> None:
        lo, hi = self.GRID_LIMITS
        self.boundary_image = ax.imshow(
            np.full((2, 2), np.nan), origin="lower", extent=(lo, hi, lo, hi), vmin=0.0, vmax=1.0, cmap="RdBu_r",
            interpolation="bilinear",
        )
        ax.set_facecolor("0.85")
        labels = mlp.XOR_Y[:, 0]
        for label, marker in ((0.0, "o"), (1.0, "s")):
            points = mlp.XOR_X[labels == label]
            ax.scatter(points[:, 0], points[:, 1], marker=marker, s=80, c="white", edgecolors="k",
                       label=f"XOR = {label:.0f}")
        self.boundary_note = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=10,
                                     bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_title("network output (red = 1, blue = 0)", fontsize=10)
        ax.legend(loc="upper center", fontsize=8, ncol=2, bbox_to_anchor=(0.5, -0.15))

    def draw(self, losses: np.ndarray, params: dict, epochs: int, output: str, title: str) -> Verdict:
        """Show one run: its losses (``epochs`` planned), its final network, and its verdict."""
        losses = np.asarray(losses, dtype=float)
        verdict = diagnose(losses, epochs)
        self._draw_losses(losses, epochs, verdict)
        self._draw_boundary(params, output, verdict)
        self.loss_axes.set_title(f"{title}: {verdict.text}", fontsize=10, color=verdict.colour)
        return verdict

    def _draw_losses(self, losses: np.ndarray, epochs: int, verdict: Verdict) -> None:
        finite = np.isfinite(losses)
        shown = np.clip(np.where(finite, losses, np.nan), LOSS_FLOOR, None)
        self.loss_line.set_data(np.arange(len(losses)), shown)
        self.loss_line.set_marker("o" if len(losses) < 50 else "")  # a run stopped early is only a few points
        if verdict.kind == "diverged" and len(losses) < epochs:
            last_finite = shown[finite][-1] if finite.any() else 1.0
            self.stop_marker.set_data([len(losses) - 1], [last_finite])
        else:
            self.stop_marker.set_data([], [])
        visible = shown[np.isfinite(shown)]
        low = min(visible.min(), CONVERGED_LOSS) if visible.size else CONVERGED_LOSS
        high = max(visible.max(), 1.0) if visible.size else 1.0
        self.loss_axes.set_xlim(0, epochs)
        self.loss_axes.set_ylim(low / 2, high * 2)

    def _draw_boundary(self, params: dict, output: str, verdict: Verdict) -> None:
        if verdict.kind == "diverged":
            self.boundary_image.set_data(np.full((2, 2), np.nan))
            self.boundary_note.set_text("diverged: no boundary to draw")
        else:
            self.boundary_image.set_data(mlp.predict_grid(params, output, *self.GRID_LIMITS, n=61))
            self.boundary_note.set_text("")


def plot_training(losses, params: dict, output: str = "sigmoid", title: str = "XOR") -> plt.Figure:
    """A static figure of one finished run: the lab's two panels, drawn with pyplot for a lesson cell."""
    figure = plt.figure(figsize=(10, 3.8))
    TrainingPanels(figure).draw(losses, params, len(losses), output, title)
    return figure


class LearningRateLab(Lab):
    """Sliders for the learning rate (log scale), epochs, hidden width and seed; two panels drawn
    by the browser (SVG): the loss curve and the decision boundary, as :class:`TrainingPanels` draws them."""

    GRID_LIMITS = TrainingPanels.GRID_LIMITS

    def __init__(self, lr: float = 0.2, epochs: int = 2000, hidden: int = 4, seed: int = 0, output: str = "linear"):
        super().__init__(SvgFigure(900, 330))
        style = {"description_width": "110px"}
        layout = {"width": "420px"}
        self.learning_rate = widgets.FloatLogSlider(
            value=lr, base=10, min=-3, max=1, step=0.05, description="learning rate", readout_format=".3g",
            continuous_update=False, style=style, layout=layout,
        )
        self.epochs = widgets.IntSlider(
            value=epochs, min=100, max=5000, step=100, description="epochs", continuous_update=False,
            style=style, layout=layout,
        )
        self.hidden = widgets.IntSlider(
            value=hidden, min=2, max=16, description="hidden units", continuous_update=False, style=style, layout=layout
        )
        self.seed = widgets.IntSlider(
            value=seed, min=0, max=9, description="seed", continuous_update=False, style=style, layout=layout
        )
        self.output_layer = widgets.ToggleButtons(
            options=list(mlp.OUTPUTS), value=output, description="output", style=style
        )
        self.loss_axes = self.figure.panel(75, 30, 430, 240, ylog=True, xlabel="epoch", ylabel="MSE loss")
        self.boundary_axes = self.figure.panel(590, 30, 240, 240, xlabel="x1", ylabel="x2",
                                               title="network output (red = 1, blue = 0)")
        self.figure.colourbar((845, 30, 12, 240), "RdBu_r", 0.0, 1.0)
        self.verdict: Verdict | None = None
        self.watch(*self.controls())
        self.update()

    def controls(self) -> list[widgets.Widget]:
        return [self.learning_rate, self.epochs, self.hidden, self.seed, self.output_layer]

    def draw(self) -> None:
        """Retrain with the current slider values and redraw."""
        epochs, output = self.epochs.value, self.output_layer.value
        params, losses = run(self.learning_rate.value, epochs, self.hidden.value, self.seed.value, output)
        self.verdict = diagnose(losses, epochs)
        self._draw_losses(losses, epochs, self.verdict)
        self._draw_boundary(params, output, self.verdict)
        self.loss_axes.title = f"lr = {self.learning_rate.value:.3g}: {self.verdict.text}"
        self.loss_axes.title_colour = self.verdict.colour
        self.status.value = self.verdict.html()

    def _draw_losses(self, losses: np.ndarray, epochs: int, verdict: Verdict) -> None:
        axes = self.loss_axes
        axes.series.clear()
        axes.texts.clear()
        finite = np.isfinite(losses)
        shown = np.clip(np.where(finite, losses, np.nan), LOSS_FLOOR, None)
        axes.line("loss", np.arange(len(losses)), shown, colour="C0", marker="o" if len(losses) < 50 else None)
        if verdict.kind == "diverged" and len(losses) < epochs:
            last_finite = shown[finite][-1] if finite.any() else 1.0
            axes.markers("stop", [len(losses) - 1], [last_finite], colour=VERDICT_COLOURS["diverged"], size=6)
        axes.hline("converged", CONVERGED_LOSS, colour="#808080", dash="2,3")
        visible = shown[np.isfinite(shown)]
        low = min(visible.min(), CONVERGED_LOSS) if visible.size else CONVERGED_LOSS
        high = max(visible.max(), 1.0) if visible.size else 1.0
        axes.set_limits((0, epochs), (low / 2, high * 2))
        height = float(np.log10(CONVERGED_LOSS / (low / 2)) / np.log10(4 * high / low))  # of the axis, log scale
        axes.text(0.99, height + 0.03, "converged below this", size=9, colour="#666", anchor="end")

    def _draw_boundary(self, params: dict, output: str, verdict: Verdict) -> None:
        axes = self.boundary_axes
        axes.series.clear()
        axes.texts.clear()
        lo, hi = self.GRID_LIMITS
        grid = np.full((2, 2), np.nan) if verdict.kind == "diverged" else mlp.predict_grid(params, output, lo, hi, n=61)
        axes.image("boundary", grid, (lo, hi, lo, hi), "RdBu_r", 0.0, 1.0, smooth=True, bad=(217, 217, 217, 255))
        labels = mlp.XOR_Y[:, 0]
        for label, shape in ((0.0, "o"), (1.0, "s")):
            points = mlp.XOR_X[labels == label]
            axes.markers(f"XOR = {label:.0f}", points[:, 0], points[:, 1], colour="black", shape=shape, size=6,
                         fill="white", label=f"XOR = {label:.0f}")
        if verdict.kind == "diverged":
            axes.text(0.5, 0.5, "diverged: no boundary to draw", size=11, box=True)
        axes.set_limits((lo, hi), (lo, hi))
        axes.legend("lower right")

    @property
    def boundary_note(self) -> str:
        """What the boundary panel writes over the picture ("" when it shows a boundary)."""
        return " ".join(text for _, _, text, _ in self.boundary_axes.texts)

    def plotted_data(self) -> dict[str, np.ndarray]:
        """The loss curve as drawn (``epoch``, ``loss``) and the decision boundary's grid (``boundary``)."""
        line = self.loss_axes.series["loss"]
        return {"epoch": line.x, "loss": line.y, "boundary": self.boundary_axes.series["boundary"].style["values"]}
