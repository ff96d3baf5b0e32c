"""The SVG the fast labs send to the browser draws what their data says: coordinates on linear
and log axes, gaps where values are missing, ticks, and heatmaps as real PNGs."""

import re
import struct
import zlib

import numpy as np

from backprop_lab.svgfig import SvgFigure, linear_ticks, log_ticks, png_bytes


def test_points_land_where_the_axes_put_them():
    figure = SvgFigure(400, 300)
    panel = figure.panel(50, 20, 300, 200, ylog=True)
    panel.set_limits((0, 10), (1e-2, 1e2))
    assert panel.px(5) == 200 and panel.px(0) == 50
    assert panel.py(1.0) == 120 and panel.py(1e2) == 20 and panel.py(1e-2) == 220


def test_a_line_breaks_at_missing_values_instead_of_joining_across_them():
    figure = SvgFigure(400, 300)
    panel = figure.panel(0, 0, 100, 100)
    panel.set_limits((0, 4), (0, 1))
    panel.line("curve", [0, 1, 2, 3, 4], [0.0, 1.0, np.nan, 0.5, 0.5])
    paths = re.findall(r'<path d="([^"]*)"', figure.render().decode())
    assert paths[0] == "M0.0 100.0L25.0 0.0M75.0 50.0L100.0 50.0"


def test_ticks_are_round_numbers_inside_the_limits():
    assert linear_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert linear_ticks(-0.5, 1.5) == [-0.5, 0.0, 0.5, 1.0, 1.5]
    assert log_ticks(3e-5, 2e2) == [1e-4, 1e-2, 1.0, 100.0]  # seven decades: every other one
    assert log_ticks(1e-3, 20) == [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    assert log_ticks(1e-40, 1e40) == [10.0**e for e in range(-28, 41, 14)]  # 0 among them


def test_heatmaps_are_valid_pngs_of_the_given_pixels():
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = png_bytes(rgba)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (3, 2)
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    rows = [raw[i * 13 + 1 : (i + 1) * 13] for i in range(2)]  # each row: a filter byte, then 3 RGBA pixels
    assert b"".join(rows) == rgba.tobytes()
