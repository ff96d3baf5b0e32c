"""Lesson 01's plots and tangent explorer show what they claim: slopes equal derivatives."""

import numpy as np
import pytest

from backprop_lab.calculus import TangentExplorer, central_difference, function_and_derivative


def h(x):
    return (x**2 + 1) ** 3


def dh_dx(x):
    return 6 * x * (x**2 + 1) ** 2


def test_central_difference_matches_known_derivatives():
    x = np.linspace(-2, 2, 17)
    assert np.allclose(central_difference(np.sin, x), np.cos(x), atol=1e-9)
    assert np.allclose(central_difference(h, x), dh_dx(x), rtol=1e-7)


def test_tangent_explorer_redraws_the_tangent_where_the_slider_is():
    explorer = TangentExplorer(h, dh_dx, np.linspace(-1.5, 1.5, 101), name="h")
    explorer.x0.value = 1.0
    drawn = explorer.plotted_data()
    xs, ys = drawn["tangent_x"], drawn["tangent_y"]
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(dh_dx(1.0))  # the drawn line has slope h'(1) = 24
    assert np.allclose(drawn["f"], h(drawn["x"]))
    assert "analytic slope <b>24.000000</b>" in explorer.status.value
    picture = explorer.image.value

    explorer.x0.value = -0.5
    moved = explorer.plotted_data()
    assert not np.allclose(moved["tangent_y"], ys), "moving the slider must redraw the tangent"
    slope = (moved["tangent_y"][1] - moved["tangent_y"][0]) / (moved["tangent_x"][1] - moved["tangent_x"][0])
    assert slope == pytest.approx(dh_dx(-0.5))
    assert explorer.image.value != picture, "the displayed PNG must be re-rendered"


def test_function_and_derivative_marks_the_tangent_slopes_on_the_derivative_panel():
    fig = function_and_derivative(h, dh_dx, np.linspace(-1.5, 1.5, 101), "h", tangents_at=(-1.0, 0.5))
    _, right = fig.axes
    marked = [line.get_ydata()[0] for line in right.lines if len(line.get_ydata()) == 1]
    assert marked == pytest.approx([dh_dx(-1.0), dh_dx(0.5)])
    assert marked == pytest.approx([central_difference(h, -1.0), central_difference(h, 0.5)], rel=1e-7)
