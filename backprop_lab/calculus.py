"""Derivatives seen as slopes: the plots and the tangent explorer of lesson 01.

``central_difference`` (the course's one numeric derivative, :mod:`backprop_lab.numerics`) is
re-exported here for the lesson.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .lab import Lab
from .numerics import central_difference

__all__ = ["TangentExplorer", "central_difference", "draw_tangent", "function_and_derivative"]

Function = Callable[[np.ndarray], np.ndarray]


def draw_tangent(ax: plt.Axes, f: Function, df: Function, x0: float, width: float, **style) -> None:
    """Draw the tangent line of ``f`` at ``x0``: the line through (x0, f(x0)) with slope df(x0)."""
    xs = np.array([x0 - width / 2, x0 + width / 2])
    ax.plot(xs, f(x0) + df(x0) * (xs - x0), **{"color": "tab:red", "lw": 2, **style})
    ax.plot([x0], [f(x0)], "o", color="tab:red")


def function_and_derivative(
    f: Function, df: Function, x: np.ndarray, name: str, tangents_at: tuple[float, ...] = ()
) -> plt.Figure:
    """Two panels: ``f`` with tangent lines at ``tangents_at``, and ``df`` with those slopes marked."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(x, f(x), color="tab:blue")
    left.set_title(f"{name}: each tangent's slope is the derivative there")
    right.plot(x, df(x), color="tab:green")
    right.axhline(0, color="grey", lw=0.8)
    right.set_title(f"{name}': the slope at every x")
    width = (x.max() - x.min()) / 4
    for x0 in tangents_at:
        draw_tangent(left, f, df, x0, width)
        right.plot([x0], [df(x0)], "o", color="tab:red")
        right.annotate(f"slope {df(x0):.2f}", (x0, df(x0)), textcoords="offset points", xytext=(6, 6))
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


class TangentExplorer(Lab):
    """Drag a point along a curve; see its tangent, the analytic slope and a numeric estimate.

    ``explorer.x0`` is the slider; ``explorer.plotted_data()``, ``explorer.status`` and the
    image follow it.
    """

    png_dpi = 80

    def __init__(self, f: Function, df: Function, x: np.ndarray, name: str) -> None:
        super().__init__(Figure(figsize=(6, 3.6)))
        self.f, self.df, self.x, self.name = f, df, x, name
        self.x0 = widgets.FloatSlider(
            value=float(x[len(x) // 3]), min=float(x.min()), max=float(x.max()), step=0.05, description="x0",
            continuous_update=True,
        )
        self.ax = self.figure.subplots()
        self.figure.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.9)
        self.watch(self.x0)
        self.update()

    def controls(self) -> list[widgets.Widget]:
        return [self.x0]

    def draw(self) -> None:
        x0 = self.x0.value
        self.ax.clear()
        self.ax.plot(self.x, self.f(self.x), color="tab:blue")
        draw_tangent(self.ax, self.f, self.df, x0, width=(self.x.max() - self.x.min()) / 3)
        self.ax.set_title(f"tangent of {self.name} at x0 = {x0:.2f}")
        self.ax.grid(alpha=0.3)
        analytic, numeric = self.df(x0), central_difference(self.f, x0)
        self.status.value = (
            f"analytic slope <b>{analytic:.6f}</b> &nbsp; numeric slope {numeric:.6f} "
            f"&nbsp; difference {abs(analytic - numeric):.1e}"
        )

    def plotted_data(self) -> dict[str, np.ndarray]:
        """The curve (``x``, ``f``) and the tangent's two end points (``tangent_x``, ``tangent_y``)."""
        curve, tangent = self.ax.lines[0], self.ax.lines[1]
        return {"x": curve.get_xdata(), "f": curve.get_ydata(),
                "tangent_x": tangent.get_xdata(), "tangent_y": tangent.get_ydata()}
