"""Lesson 04: every derivative it plots is the measured slope of the function beside it, the
losses' gradients are right (central differences and torch), the stability tricks it shows do
what it says, and the selector redraws both panels."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from backprop_lab import activations
from backprop_lab.activations import CURVES, ActivationExplorer
from backprop_lab.numerics import central_difference, numerical_gradient


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", list(CURVES))
def test_every_plotted_derivative_is_the_measured_slope_of_its_function(name):
    curve = CURVES[name]
    x = curve.points_away_from_kinks()
    assert len(x) >= len(curve.x) - len(curve.kinks)
    assert np.allclose(curve.derivative(x), central_difference(curve.function, x, h=1e-6), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(CURVES))
def test_the_static_figure_draws_each_curves_function_and_derivative(name):
    figure = activations.plot_all_curves([name])
    function_axes, derivative_axes = figure.axes
    curve = CURVES[name]
    assert np.allclose(function_axes.lines[0].get_ydata(), curve.function(curve.x))
    assert np.allclose(derivative_axes.lines[0].get_ydata(), curve.derivative(curve.x))


def test_the_contract_derivatives_match_torch_autograd_including_the_kinks():
    z = np.array([-1000.0, -3.0, -0.5, 0.0, 0.5, 3.0, 1000.0])
    for ours, theirs in [
        (activations.sigmoid_grad, torch.sigmoid),
        (activations.tanh_grad, torch.tanh),
        (activations.relu_grad, torch.relu),
        (lambda v: activations.leaky_relu_grad(v, 0.2), lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
    ]:
        t = torch.tensor(z, requires_grad=True)
        theirs(t).sum().backward()
        assert np.allclose(ours(z), t.grad.numpy(), atol=1e-12)


def test_the_sigmoid_identity_in_both_conventions_and_its_trap():
    z = np.linspace(-6, 6, 121)
    measured = central_difference(activations.sigmoid, z, h=1e-6)
    assert np.allclose(activations.sigmoid_grad(z), measured, atol=1e-9)
    assert np.allclose(activations.sigmoid_grad_from_output(activations.sigmoid(z)), measured, atol=1e-9)
    trap = activations.sigmoid_grad_from_output(z)
    assert trap[60] == 0.0 and measured[60] == pytest.approx(0.25)  # z = 0: the trap kills the gradient
    assert np.all(trap[np.abs(z) > 1] < 0)  # and flips its sign for |z| > 1
    left, _ = activations.plot_sigmoid_trap(z).axes
    assert np.allclose(left.lines[0].get_ydata(), measured, atol=1e-9)
    assert np.allclose(left.lines[1].get_ydata(), trap)


def test_the_softmax_jacobian_the_lesson_shows():
    row = np.array([[0.5, -1.0, 2.0, 0.1]])
    p = activations.softmax(row)[0]
    measured = np.column_stack(
        [central_difference(lambda t, e=e: activations.softmax(row + t * e)[0], 0.0, h=1e-6) for e in np.eye(4)]
    )
    assert np.allclose(np.diag(p) - np.outer(p, p), measured, atol=1e-9)


def test_max_subtraction_prevents_the_overflow_the_lesson_demonstrates():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1002.0, -1001.0, -1000.0], [3.0, 1.0, 0.2]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = activations.naive_softmax(logits)
    assert np.isnan(naive[0]).any(), "the naive softmax is supposed to show the overflow"
    stable = activations.softmax(logits)
    assert np.all(np.isfinite(stable)) and np.allclose(stable.sum(axis=1), 1.0)
    assert np.allclose(stable, torch.softmax(torch.tensor(logits), dim=1).numpy())


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_cross_entropy_and_its_fused_gradient(scale):
    rng = np.random.default_rng(int(scale))
    logits = rng.normal(0.0, scale, size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    loss, dlogits = activations.softmax_cross_entropy(logits, labels)
    torch_logits = torch.tensor(logits, requires_grad=True)
    torch_loss = torch.nn.functional.cross_entropy(torch_logits, torch.tensor(labels))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    assert np.allclose(dlogits, torch_logits.grad.numpy(), atol=1e-12)
    assert np.allclose(dlogits, (activations.softmax(logits) - np.eye(4)[labels]) / 6, atol=1e-12)
    if scale == 1.0:
        numeric = numerical_gradient(lambda x: activations.softmax_cross_entropy(x, labels)[0], logits, h=1e-6)
        assert np.allclose(dlogits, numeric, atol=1e-8)


def test_binary_cross_entropy_gradient_and_its_clipping():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, size=(3, 4))
    y = rng.integers(0, 2, size=(3, 4)).astype(float)
    loss, dp = activations.binary_cross_entropy(p, y)
    numeric = numerical_gradient(lambda q: activations.binary_cross_entropy(q, y)[0], p, h=1e-6)
    assert np.allclose(dp, numeric, atol=1e-9)
    torch_p = torch.tensor(p, requires_grad=True)
    torch_loss = torch.nn.functional.binary_cross_entropy(torch_p, torch.tensor(y))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item()) and np.allclose(dp, torch_p.grad.numpy())

    at_the_edges, labels = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])
    edge_loss, edge_dp = activations.binary_cross_entropy(at_the_edges, labels)
    assert np.isfinite(edge_loss) and np.all(np.isfinite(edge_dp))
    assert list(np.sign(edge_dp)) == [1, -1, -1, 1]


def test_sigmoid_then_bce_gives_the_fused_logit_gradient():
    z = np.linspace(-5, 5, 9)
    y = (np.arange(9) % 2).astype(float)
    _, dp = activations.binary_cross_entropy(activations.sigmoid(z), y)
    assert np.allclose(dp * activations.sigmoid_grad(z), (activations.sigmoid(z) - y) / 9)


def test_saturated_intervals_are_where_the_lesson_says():
    sigmoid_runs = activations.saturated_intervals("sigmoid")
    assert [round(a, 1) for run in sigmoid_runs for a in run] == [-8.0, -4.6, 4.6, 8.0]
    assert activations.saturated_intervals("ReLU") == [(-4.0, 0.0)]
    assert activations.saturated_intervals("leaky ReLU") == []


def test_the_selector_redraws_both_panels_with_the_chosen_curve():
    explorer = ActivationExplorer("sigmoid")
    x, values, slopes = explorer.plotted_data().values()
    picture = explorer.image.value
    assert np.allclose(slopes, activations.sigmoid_grad(x))
    shaded = [c for c in explorer.axes[1].collections if len(c.get_paths())]
    assert shaded, "the saturated regions must be shaded"

    explorer.selector.value = "ReLU"
    x2, values2, slopes2 = explorer.plotted_data().values()
    assert not np.allclose(values2, values), "choosing another curve must change the plotted data"
    assert np.allclose(values2, np.maximum(x2, 0)) and np.allclose(slopes2, activations.relu_grad(x2))
    assert explorer.image.value != picture and explorer.render_png() != picture
    assert "ReLU" in explorer.axes[0].get_title()
    assert "saturated) [-4, 0]" in explorer.status.value

    for name, curve in CURVES.items():
        explorer.selector.value = name
        x, values, slopes = explorer.plotted_data().values()
        assert np.allclose(values, curve.function(curve.x)) and np.allclose(slopes, curve.derivative(curve.x))
