"""The gradient-checking lab of lesson 05: choose the step h and the backward pass, watch the check.

Left: the error of the forward and the central difference of sin at x0 = 1 against h (log-log),
with the chosen h marked on both curves. Right: the per-entry relative error between the
analytic gradient of the chosen backward pass (correct, or one of the lesson's planted bugs)
and the numerical gradient at the chosen h, one heatmap per parameter of lesson 03's network.

In a lesson::

    from backprop_lab.gradcheck_lab import GradCheckLab

    GradCheckLab()

Testable without a browser: set ``lab.step.value`` or ``lab.bug.value`` and read
:meth:`GradCheckLab.plotted_data`, ``lab.report`` and ``lab.status.value``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import gradcheck as gc
from . import mlp
from .lab import Lab
from .svgfig import SvgFigure

X0 = 1.0
#: The h of the error curves: thirteen decades, three points each.
STEPS = np.logspace(-13, -1, 37)
#: The backward passes a learner can check, by the name the picker shows.
BACKWARD_PASSES = {
    "correct backward pass": gc.two_layer_grads,
    "bug: missing transpose (dh = dz2 @ W2)": gc.planted_bug_grads,
    "bug: db2 averaged, not summed": gc.mystery_grads,
}
#: The relative error above which the lab calls a parameter's gradient wrong (float64, smooth loss).
FAIL_ABOVE = 1e-4
ERROR_FLOOR = 1e-18


def sine(x: np.ndarray) -> float:
    """sin summed over x: a scalar function of an array, as a numerical gradient needs."""
    return float(np.sin(x).sum())


def network(seed: int = 0):
    """Lesson 05's checking problem: lesson 03's network with D = 5, H = 4, M = 4 and 3 examples."""
    rng = np.random.default_rng(seed)
    params = mlp.init_params(5, 4, 4, seed=rng, bias_scale=0.5)
    X, y = rng.normal(size=(3, 5)), rng.uniform(size=(3, 4))
    return params, X, y


class GradCheckLab(Lab):
    """A log slider for h, a picker for the backward pass; error curves and four heatmaps."""

    def __init__(self, h: float = 1e-5, bug: str = "bug: missing transpose (dh = dz2 @ W2)") -> None:
        super().__init__(SvgFigure(1000, 330))
        self.step = widgets.FloatLogSlider(value=h, base=10, min=-13, max=-1, step=0.25, description="step h",
                                           readout_format=".0e", continuous_update=False)
        self.bug = widgets.Dropdown(options=list(BACKWARD_PASSES), value=bug, description="backward pass",
                                    style={"description_width": "initial"}, layout={"width": "420px"})
        self.params, self.X, self.y = network()
        self.forward_errors = gc.derivative_errors(sine, np.cos, X0, STEPS, method="forward")
        self.central_errors = gc.derivative_errors(sine, np.cos, X0, STEPS, method="central")
        self.curve_axes = self.figure.panel(70, 30, 300, 240, xlog=True, ylog=True, xlabel="step h",
                                            ylabel="|estimate - exact|", title="derivative of sin at x = 1")
        self.curve_axes.line("forward", STEPS, np.maximum(self.forward_errors, ERROR_FLOOR), colour="C0",
                             marker="o", size=1.5, label="forward difference")
        self.curve_axes.line("central", STEPS, np.maximum(self.central_errors, ERROR_FLOOR), colour="C1",
                             marker="o", size=1.5, label="central difference")
        self.curve_axes.set_limits((STEPS[0] / 2, STEPS[-1] * 2), (1e-13, 1))
        self.curve_axes.legend("upper right")
        self.heat_axes = {}
        left = 440
        for name, rows in (("W1", 5), ("b1", 1), ("W2", 4), ("b2", 1)):
            self.heat_axes[name] = self.figure.panel(left, 30 + (5 - rows) * 20, 100, rows * 40, title=name)
            self.heat_axes[name].xticks, self.heat_axes[name].yticks = [], []
            left += 120
        self.figure.colourbar((left, 30, 12, 200), "viridis", 1e-12, 1.0, log=True, label="relative error")
        self.report: dict | None = None
        self.watch(self.step, self.bug)
        self.update()

    def controls(self) -> list[widgets.Widget]:
        return [self.step, self.bug]

    def draw(self) -> None:
        h = self.step.value
        forward = abs(float(gc.numerical_gradient(sine, np.array([X0]), h=h, method="forward")[0]) - np.cos(X0))
        central = abs(float(gc.numerical_gradient(sine, np.array([X0]), h=h, method="central")[0]) - np.cos(X0))
        axes = self.curve_axes
        axes.vline("h", h, colour="#444")
        axes.markers("at_h_forward", [h], [max(forward, ERROR_FLOOR)], colour="C0", shape="o", size=5)
        axes.markers("at_h_central", [h], [max(central, ERROR_FLOOR)], colour="C1", shape="o", size=5)
        self.report = gc.check_network(BACKWARD_PASSES[self.bug.value], self.params, self.X, self.y, h=h)
        failing = []
        for name, entry in self.report.items():
            grid = np.atleast_2d(entry["entrywise"])
            panel = self.heat_axes[name]
            panel.series.clear()
            panel.image("entrywise", np.clip(grid, 1e-12, 1.0)[::-1], (0, grid.shape[1], 0, grid.shape[0]),
                        "viridis", 1e-12, 1.0, log=True)
            panel.set_limits((0, grid.shape[1]), (0, grid.shape[0]))
            bad = entry["relative_error"] > FAIL_ABOVE
            panel.title = f"{name}  {entry['relative_error']:.0e}"
            panel.title_colour = "#cf222e" if bad else "#1a7f37"
            failing += [name] * bad
        verdict = (f"fails for {', '.join(failing)}" if failing else "passes for every parameter")
        colour = "#cf222e" if failing else "#1a7f37"
        self.status.value = (f"h = {h:.0e}: forward difference error {forward:.1e}, central {central:.1e}. "
                             f"Gradient check (central, relative error above {FAIL_ABOVE:g} fails): "
                             f"<b style='color:{colour}'>{verdict}</b>")

    def plotted_data(self) -> dict[str, np.ndarray]:
        """The error curves (``h``, ``forward_error``, ``central_error``), the chosen ``step`` and the
        errors there (``forward_at_h``, ``central_at_h``), and each heatmap (``W1`` ... ``b2``, rows as printed)."""
        axes = self.curve_axes.series
        data = {"h": axes["forward"].x, "forward_error": axes["forward"].y, "central_error": axes["central"].y,
                "step": axes["h"].x, "forward_at_h": axes["at_h_forward"].y, "central_at_h": axes["at_h_central"].y}
        for name, panel in self.heat_axes.items():
            data[name] = panel.series["entrywise"].style["values"][::-1]
        return data
