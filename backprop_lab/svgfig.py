"""A small figure the browser draws: panels of lines, markers, heatmaps and text, written as SVG.

A lab redraws after every move of a slider. matplotlib spends 30-60 ms laying out text and
rasterising a PNG for each redraw; this module writes the same kind of picture as a few
kilobytes of SVG in about a millisecond, and the browser paints it. The kernel sends the
numbers (as coordinates), not pixels.

    figure = SvgFigure(800, 300)
    panel = figure.panel(60, 30, 320, 220, title="loss", ylog=True)
    panel.line("loss", steps, losses, colour="C1")
    panel.set_limits((0, 30), (1e-3, 1e1))
    svg_bytes = figure.render()

Every series is kept under its name (``panel.series["loss"]``: its x and y as drawn), which is
what a lab's ``plotted_data()`` and the tests read; the SVG is what the learner sees.
Heatmaps are embedded as small PNGs (the browser smooths them when ``smooth``), coloured with
matplotlib's colour maps.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps

#: matplotlib's default colour cycle, so that "C0", "C1", ... read as in matplotlib.
CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf"]
FONT = "DejaVu Sans, Arial, sans-serif"


def colour(name: str) -> str:
    """'C3' -> matplotlib's fourth cycle colour; anything else is used as given (a CSS colour)."""
    if len(name) == 2 and name[0] == "C" and name[1].isdigit():
        return CYCLE[int(name[1])]
    return name


def png_bytes(rgba: np.ndarray) -> bytes:
    """An (H, W, 4) uint8 array as PNG bytes (no filter, fast compression)."""
    height, width, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def colour_grid(values: np.ndarray, cmap: str, vmin: float, vmax: float, log: bool = False,
                bad: tuple[int, int, int, int] = (0, 0, 0, 0)) -> np.ndarray:
    """Values -> RGBA uint8 through a matplotlib colour map; nan becomes ``bad`` (transparent)."""
    values = np.asarray(values, dtype=float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = (np.log10(values) - math.log10(vmin)) / (math.log10(vmax) - math.log10(vmin))
    else:
        scaled = (values - vmin) / (vmax - vmin)
    rgba = colormaps[cmap](np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0), bytes=True)
    rgba[~np.isfinite(values)] = bad
    return rgba


def format_number(value: float) -> str:
    """A tick label as matplotlib's plain style writes it: 0.5, 20, 1e-05 -> '1e-5'."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return f"{value:.6g}"


def linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """'Nice' ticks (1, 2, 5 times a power of ten) inside [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def log_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Powers of ten inside [low, high], at most ``count`` of them (every k-th decade)."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    every = max(1, math.ceil((last - first + 1) / count))
    first = math.ceil(first / every) * every  # 1e-40, 1e-26 ... would read oddly: multiples of the step
    return [10.0**e for e in range(first, last + 1, every)]


@dataclass
class Series:
    """One drawn thing: what it is (``kind``), its data as drawn, and how it looks."""

    kind: str  # "line", "markers", "image", "hline", "vline", "bars"
    x: np.ndarray
    y: np.ndarray
    style: dict = field(default_factory=dict)


class Panel:
    """One set of axes: x and y limits (linear or log), named series, a title and labels."""

    def __init__(self, x: float, y: float, width: float, height: float, *, title: str = "", xlabel: str = "",
                 ylabel: str = "", xlog: bool = False, ylog: bool = False, index: int = 0) -> None:
        self.box = (x, y, width, height)
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.title_colour = "black"
        self.xlog, self.ylog = xlog, ylog
        self.xlim: tuple[float, float] = (0.0, 1.0)
        self.ylim: tuple[float, float] = (1.0, 10.0) if ylog else (0.0, 1.0)
        self.series: dict[str, Series] = {}
        self.texts: list[tuple[float, float, str, dict]] = []
        self.xticks: list[tuple[float, str]] | None = None
        self.yticks: list[tuple[float, str]] | None = None
        self.legend_loc: str | None = None
        self.index = index

    # --- what is drawn -------------------------------------------------------------------
    def line(self, name: str, x, y, colour: str = "C0", width: float = 1.5, marker: str | None = None,
             size: float = 3, dash: str | None = None, label: str | None = None) -> Series:
        return self._add(name, "line", x, y, colour=colour, width=width, marker=marker, size=size, dash=dash,
                         label=label)

    def markers(self, name: str, x, y, colour: str = "C3", shape: str = "x", size: float = 5,
                fill: str | None = None, label: str | None = None) -> Series:
        return self._add(name, "markers", x, y, colour=colour, shape=shape, size=size, fill=fill, label=label)

    def hline(self, name: str, y: float, colour: str = "grey", dash: str | None = "5,3", label: str | None = None,
              width: float = 1.0) -> Series:
        return self._add(name, "hline", [], [y], colour=colour, dash=dash, label=label, width=width)

    def vline(self, name: str, x: float, colour: str = "grey", dash: str | None = "5,3", label: str | None = None,
              width: float = 1.0) -> Series:
        return self._add(name, "vline", [x], [], colour=colour, dash=dash, label=label, width=width)

    def bars(self, name: str, x, heights, width: float = 0.8, colour: str = "C0", label: str | None = None) -> Series:
        """Vertical bars centred on ``x`` (bottom at the lower y limit on a log axis, else at 0)."""
        return self._add(name, "bars", x, heights, width=width, colour=colour, label=label)

    def image(self, name: str, values, extent: tuple[float, float, float, float], cmap: str, vmin: float,
              vmax: float, log: bool = False, smooth: bool = False, bad=(0, 0, 0, 0)) -> Series:
        """A grid of values (row 0 at the bottom), coloured, filling ``extent`` = (x0, x1, y0, y1)."""
        values = np.asarray(values, dtype=float)
        return self._add(name, "image", np.asarray(extent[:2]), np.asarray(extent[2:]), values=values, cmap=cmap,
                         vmin=vmin, vmax=vmax, log=log, smooth=smooth, bad=bad)

    def text(self, x: float, y: float, text: str, size: float = 11, colour: str = "black", anchor: str = "middle",
             box: bool = False) -> None:
        """Text at (x, y) in axes fractions (0, 0 = bottom left)."""
        self.texts.append((x, y, text, {"size": size, "colour": colour, "anchor": anchor, "box": box}))

    def _add(self, name: str, kind: str, x, y, **style) -> Series:
        series = Series(kind, np.asarray(x, dtype=float), np.asarray(y, dtype=float), style)
        self.series[name] = series
        return series

    def set_limits(self, xlim=None, ylim=None) -> None:
        if xlim is not None:
            self.xlim = (float(xlim[0]), float(xlim[1]))
        if ylim is not None:
            self.ylim = (float(ylim[0]), float(ylim[1]))

    def legend(self, loc: str = "upper right") -> None:
        self.legend_loc = loc

    # --- coordinates -------------------------------------------------------------------
    def _scale(self, values: np.ndarray, limits: tuple[float, float], log: bool, start: float, length: float,
               flip: bool) -> np.ndarray:
        low, high = limits
        with np.errstate(divide="ignore", invalid="ignore"):
            if log:
                values, low, high = np.log10(values), math.log10(low), math.log10(high)
            fraction = (np.asarray(values, dtype=float) - low) / (high - low)
        return start + length * (1 - fraction if flip else fraction)

    def px(self, x) -> np.ndarray:
        x0, _, width, _ = self.box
        return self._scale(np.asarray(x, dtype=float), self.xlim, self.xlog, x0, width, False)

    def py(self, y) -> np.ndarray:
        _, y0, _, height = self.box
        return self._scale(np.asarray(y, dtype=float), self.ylim, self.ylog, y0, height, True)

    # --- SVG -----------------------------------------------------------------------------
    def svg(self) -> str:
        x0, y0, width, height = self.box
        clip = f"clip{self.index}"
        parts = [f'<clipPath id="{clip}"><rect x="{x0}" y="{y0}" width="{width}" height="{height}"/></clipPath>',
                 f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" fill="white" stroke="none"/>']
        parts += self._grid_and_ticks()
        parts.append(f'<g clip-path="url(#{clip})">')
        for series in self.series.values():
            parts.append(self._series_svg(series))
        parts.append("</g>")
        parts.append(f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" fill="none" stroke="#444"/>')
        parts += self._labels()
        if self.legend_loc:
            parts.append(self._legend())
        return "".join(parts)

    def _ticks(self, axis: str) -> list[tuple[float, str]]:
        given = self.xticks if axis == "x" else self.yticks
        if given is not None:
            return given
        low, high = self.xlim if axis == "x" else self.ylim
        log = self.xlog if axis == "x" else self.ylog
        values = log_ticks(low, high) if log else linear_ticks(low, high)
        return [(v, format_number(v)) for v in values]

    def _grid_and_ticks(self) -> list[str]:
        x0, y0, width, height = self.box
        parts = []
        for value, label in self._ticks("x"):
            x = float(self.px(value))
            if x0 - 0.5 <= x <= x0 + width + 0.5:
                parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + height}" stroke="#ddd"/>')
                parts.append(_text(x, y0 + height + 13, label, 10))
        for value, label in self._ticks("y"):
            y = float(self.py(value))
            if y0 - 0.5 <= y <= y0 + height + 0.5:
                parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#ddd"/>')
                parts.append(_text(x0 - 4, y + 3.5, label, 10, anchor="end"))
        return parts

    def _labels(self) -> list[str]:
        x0, y0, width, height = self.box
        parts = [_text(x0 + width / 2, y0 - 7, self.title, 12, colour=self.title_colour)] if self.title else []
        if self.xlabel:
            parts.append(_text(x0 + width / 2, y0 + height + 28, self.xlabel, 11))
        if self.ylabel:
            cx, cy = x0 - 42, y0 + height / 2
            parts.append(_text(cx, cy, self.ylabel, 11, rotate=True))
        for fx, fy, text, style in self.texts:
            x, y = x0 + fx * width, y0 + (1 - fy) * height
            if style["box"]:
                w = 6.2 * len(text) * style["size"] / 10
                parts.append(f'<rect x="{x - w / 2 if style["anchor"] == "middle" else x:.1f}" '
                             f'y="{y - style["size"]:.1f}" width="{w:.1f}" height="{style["size"] * 1.5:.1f}" '
                             'fill="white" fill-opacity="0.85"/>')
            parts.append(_text(x, y + style["size"] / 3, text, style["size"], colour=style["colour"],
                               anchor=style["anchor"]))
        return parts

    def _series_svg(self, series: Series) -> str:
        s = series.style
        if series.kind == "line":
            out = _polyline(self.px(series.x), self.py(series.y), colour(s["colour"]), s["width"], s["dash"])
            if s["marker"]:
                out += _markers(self.px(series.x), self.py(series.y), "o", s["size"], colour(s["colour"]),
                                colour(s["colour"]))
            return out
        if series.kind == "markers":
            return _markers(self.px(series.x), self.py(series.y), s["shape"], s["size"], colour(s["colour"]),
                            s["fill"])
        if series.kind == "hline":
            y = float(self.py(series.y[0]))
            x0, _, width, _ = self.box
            return _polyline(np.array([x0, x0 + width]), np.array([y, y]), colour(s["colour"]), s["width"], s["dash"])
        if series.kind == "vline":
            x = float(self.px(series.x[0]))
            _, y0, _, height = self.box
            return _polyline(np.array([x, x]), np.array([y0, y0 + height]), colour(s["colour"]), s["width"], s["dash"])
        if series.kind == "bars":
            return self._bars_svg(series)
        return self._image_svg(series)

    def _bars_svg(self, series: Series) -> str:
        s = series.style
        bottom = self.ylim[0] if self.ylog else 0.0
        left, right = self.px(series.x - s["width"] / 2), self.px(series.x + s["width"] / 2)
        top, base = self.py(series.y), float(self.py(bottom))
        rects = [f'<rect x="{a:.1f}" y="{min(t, base):.1f}" width="{max(b - a, 0.5):.1f}" '
                 f'height="{abs(base - t):.1f}"/>' for a, b, t in zip(left, right, top, strict=True) if np.isfinite(t)]
        return f'<g fill="{colour(s["colour"])}">{"".join(rects)}</g>'

    def _image_svg(self, series: Series) -> str:
        s = series.style
        values = s["values"]
        x_left, x_right = self.px(series.x)
        y_bottom, y_top = self.py(series.y)
        rgba = colour_grid(values[::-1], s["cmap"], s["vmin"], s["vmax"], s["log"], s["bad"])  # row 0 at the bottom
        data = base64.b64encode(png_bytes(rgba)).decode()
        rendering = "auto" if s["smooth"] else "pixelated"
        return (f'<image x="{x_left:.1f}" y="{y_top:.1f}" width="{x_right - x_left:.1f}" '
                f'height="{y_bottom - y_top:.1f}" '
                f'preserveAspectRatio="none" style="image-rendering:{rendering}" href="data:image/png;base64,{data}"/>')

    def _legend(self) -> str:
        entries = [(s.style["label"], s) for s in self.series.values() if s.style.get("label")]
        x0, y0, width, height = self.box
        right = "right" in self.legend_loc
        top = "upper" in self.legend_loc
        longest = max((len(label) for label, _ in entries), default=0)
        box_w, box_h = 30 + 5.6 * longest, 14 * len(entries) + 6
        bx = x0 + width - box_w - 6 if right else x0 + 6
        by = y0 + 6 if top else y0 + height - box_h - 6
        parts = [f'<rect x="{bx:.1f}" y="{by:.1f}" width="{box_w:.1f}" height="{box_h}" fill="white" '
                 'fill-opacity="0.85" stroke="#ccc"/>']
        for row, (label, series) in enumerate(entries):
            y = by + 12 + 14 * row
            c = colour(series.style["colour"])
            if series.kind == "markers":
                parts.append(_markers(np.array([bx + 14]), np.array([y - 3]), series.style["shape"],
                                      series.style["size"], c, series.style["fill"]))
            elif series.kind == "bars":
                parts.append(f'<rect x="{bx + 8}" y="{y - 8}" width="12" height="9" fill="{c}"/>')
            else:
                parts.append(_polyline(np.array([bx + 4, bx + 24]), np.array([y - 3, y - 3]), c,
                                       series.style.get("width", 1.5), series.style.get("dash")))
            parts.append(_text(bx + 28, y, label, 9, anchor="start"))
        return "".join(parts)


def _text(x: float, y: float, text: str, size: float, colour: str = "black", anchor: str = "middle",
          rotate: bool = False) -> str:
    transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"'
            f'{transform}>{html.escape(text)}</text>')


def _path_data(xs: np.ndarray, ys: np.ndarray) -> str:
    """'M x y L x y ...', starting a new piece after every gap (nan or inf)."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    # Keep coordinates far outside the panel finite for the renderer (clipped anyway).
    xs, ys = np.clip(xs, -1e5, 1e5), np.clip(ys, -1e5, 1e5)
    commands, pen_down = [], False
    for x, y, good in zip(xs.tolist(), ys.tolist(), ok.tolist(), strict=True):
        if not good:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
    return "".join(commands)


def _polyline(xs: np.ndarray, ys: np.ndarray, stroke: str, width: float, dash: str | None) -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<path d="{_path_data(np.asarray(xs, float), np.asarray(ys, float))}" fill="none" stroke="{stroke}" '
            f'stroke-width="{width}" stroke-linejoin="round"{dashes}/>')


def _markers(xs: np.ndarray, ys: np.ndarray, shape: str, size: float, stroke: str, fill: str | None) -> str:
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok].tolist(), ys[ok].tolist()
    if shape == "x":
        d = "".join(f"M{x - size:.1f} {y - size:.1f}L{x + size:.1f} {y + size:.1f}"
                    f"M{x - size:.1f} {y + size:.1f}L{x + size:.1f} {y - size:.1f}"
                    for x, y in zip(xs, ys, strict=True))
        return f'<path d="{d}" stroke="{stroke}" stroke-width="2" fill="none"/>'
    paint = fill if fill is not None else stroke
    if shape == "s":
        items = "".join(f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size}" height="{2 * size}"/>'
                        for x, y in zip(xs, ys, strict=True))
    else:
        items = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}"/>' for x, y in zip(xs, ys, strict=True))
    return f'<g fill="{paint}" stroke="{stroke}">{items}</g>'


class SvgFigure:
    """A fixed-size canvas of panels; :meth:`render` writes it as SVG bytes."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.panels: list[Panel] = []
        self.colourbars: list[tuple[tuple[float, float, float, float], str, float, float, bool, str]] = []

    def panel(self, x: float, y: float, width: float, height: float, **options) -> Panel:
        panel = Panel(x, y, width, height, index=len(self.panels), **options)
        self.panels.append(panel)
        return panel

    def colourbar(self, box: tuple[float, float, float, float], cmap: str, vmin: float, vmax: float,
                  log: bool = False, label: str = "") -> None:
        """A vertical colour bar in ``box`` (x, y, width, height) with ticks on its right."""
        self.colourbars.append((box, cmap, vmin, vmax, log, label))

    def _colourbar_svg(self, box, cmap, vmin, vmax, log, label) -> str:
        bar = Panel(*box, ylog=log, index=len(self.panels) + 100)
        bar.set_limits((0, 1), (vmin, vmax))
        values = np.geomspace(vmin, vmax, 64) if log else np.linspace(vmin, vmax, 64)
        bar.image("bar", values[:, None], (0, 1, vmin, vmax), cmap, vmin, vmax, log)
        x, y, width, height = box
        ticks = log_ticks(vmin, vmax) if log else linear_ticks(vmin, vmax)
        parts = [bar._image_svg(bar.series["bar"]),
                 f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="none" stroke="#444"/>']
        for value in ticks:
            ty = float(bar.py(value))
            parts.append(_text(x + width + 3, ty + 3.5, format_number(value), 9, anchor="start"))
        if label:
            parts.append(_text(x + width + 38, y + height / 2, label, 10, rotate=True))
        return "".join(parts)

    def render(self) -> bytes:
        body = "".join(panel.svg() for panel in self.panels)
        body += "".join(self._colourbar_svg(*bar) for bar in self.colourbars)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
                f'viewBox="0 0 {self.width} {self.height}" font-family="{FONT}">'
                f'<rect width="100%" height="100%" fill="white"/>{body}</svg>').encode()
