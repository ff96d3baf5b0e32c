"""The one small interface every interactive lab of the course follows, and the verdicts they show.

A lab (:class:`Lab`) has

* ``controls()``: the widgets a learner uses (sliders, dropdowns, buttons, a text box);
* ``update()``: recompute and redraw after a control changed (every control calls it);
* ``figure``: a matplotlib :class:`~matplotlib.figure.Figure` outside pyplot, or a
  :class:`backprop_lab.svgfig.SvgFigure` that the browser draws; and
  ``plotted_data()``: what it draws now, as a dict of named arrays (what a test reads);
* ``render()``: the picture as bytes, which ``image`` (an ``ipywidgets.Image``) shows: a PNG
  for a matplotlib figure (``render_png()``), SVG for an ``SvgFigure`` (``render_svg()``).
  A lab that must answer within 50 ms draws SVG: the kernel writes a few kilobytes of
  coordinates in about a millisecond and the browser paints them, where matplotlib takes
  30-60 ms to lay out and rasterise a PNG;
* ``status``: an HTML line that says what the figure means;
* ``widget()``: the controls, the status line and the image in one box; Jupyter displays the
  lab itself through it (``_repr_mimebundle_``).

Everything is testable without a browser: set a control's ``value`` (or ``click()`` a button),
then read ``plotted_data()``, ``status.value``, ``image.value`` or the figure's artists (the
series of an ``SvgFigure``'s panels).

A subclass builds its figure and controls, calls ``super().__init__(figure)`` first, wires its
controls with :meth:`Lab.watch`, implements :meth:`Lab.draw` and :meth:`Lab.plotted_data`, and
calls :meth:`Lab.update` once at the end of its ``__init__``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from .svgfig import SvgFigure

#: The colour of each kind of verdict a lab can give (good news green, trouble red).
VERDICT_COLOURS = {
    "converged": "#1a7f37",
    "healthy": "#1a7f37",
    "still learning": "#9a6700",
    "oscillating": "#bc4c00",
    "diverged": "#cf222e",
    "vanishing": "#cf222e",
    "exploding": "#cf222e",
}


def plain_log_ticks(ax) -> None:
    """At most six major ticks on a log y axis, labelled in plain text ("1e-5"), no minor ticks.

    matplotlib's default 10^n labels go through mathtext, which costs more than everything else
    in a lab's redraw.
    """
    ax.yaxis.set_major_locator(LogLocator(numticks=6))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:.0e}".replace("e-0", "e-")))


@dataclass(frozen=True)
class Verdict:
    """What a lab concludes from what it computed: a ``kind`` (a key of :data:`VERDICT_COLOURS`)
    and a ``text`` for the learner (what happened, and what to try)."""

    kind: str
    text: str

    @property
    def colour(self) -> str:
        return VERDICT_COLOURS[self.kind]

    def html(self) -> str:
        """The verdict as a status line: bold, in its colour."""
        return f"<b style='color:{self.colour}'>{self.text}</b>"


class Widget:
    """Anything the course displays as an ipywidgets box: Jupyter shows ``widget()``."""

    def widget(self) -> widgets.Box:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        return self.widget()._repr_mimebundle_(**kwargs)


class Lab(Widget):
    """An interactive figure: controls, ``update()``, ``plotted_data()``, ``render()``, ``widget()``."""

    #: Resolution of the PNG the lab shows; None: the figure's own dpi.
    png_dpi: float | None = 90

    def __init__(self, figure: Figure | SvgFigure) -> None:
        self.figure = figure  # not pyplot: Jupyter must not show it a second time
        self.status = widgets.HTML()
        self.image = widgets.Image(format=self.image_format)

    @property
    def image_format(self) -> str:
        """What ``render()`` returns and ``image`` shows: "svg+xml" for an SvgFigure, else "png"."""
        return "svg+xml" if isinstance(self.figure, SvgFigure) else "png"

    # --- what a subclass provides ------------------------------------------------------

    def controls(self) -> list[widgets.Widget]:
        """The widgets a learner uses, in the order they are shown."""
        raise NotImplementedError

    def draw(self) -> None:
        """Recompute for the controls' current values; redraw the figure and the status line."""
        raise NotImplementedError

    def plotted_data(self) -> dict[str, np.ndarray]:
        """What the figure shows now, by name (arrays; the graph stepper: the text on its nodes)."""
        raise NotImplementedError

    def rows(self) -> list[widgets.Widget]:
        """What stands above the image: by default the controls, then the status line."""
        return [*self.controls(), self.status]

    # --- shared by every lab -------------------------------------------------------------

    def watch(self, *controls: widgets.Widget) -> None:
        """Call :meth:`update` whenever one of these controls changes its value."""
        for control in controls:
            control.observe(lambda _change: self.update(), names="value")

    def update(self) -> None:
        """Recompute and redraw, then show the new picture."""
        self.draw()
        self.image.value = self.render()

    def render(self) -> bytes:
        """The picture the lab shows now, in ``image_format``."""
        return self.render_svg() if isinstance(self.figure, SvgFigure) else self.render_png()

    def render_svg(self) -> bytes:
        """An SvgFigure as SVG bytes (the browser draws it)."""
        return self.figure.render()

    def render_png(self) -> bytes:
        """The figure as PNG bytes, as the lab shows it (fast compression: a redraw waits on it)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.png_dpi or "figure", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def axes_limits(self) -> list[tuple[float, float]]:
        """The x and y limits of every panel, as drawn now."""
        if isinstance(self.figure, SvgFigure):
            return [limits for panel in self.figure.panels for limits in (panel.xlim, panel.ylim)]
        return [limits for ax in self.figure.axes for limits in (ax.get_xlim(), ax.get_ylim())]

    def widget(self) -> widgets.VBox:
        return widgets.VBox([*self.rows(), self.image])
