"""Lesson 03's learning-rate lab, driven without a browser: moving a slider retrains and redraws,
and the verdict in the status line and the title says what the run did (crawl, converge,
oscillate, diverge), with a diverged run drawn on finite axes rather than as a NaN plot."""

import numpy as np
import pytest

from backprop_lab import mlp
from backprop_lab.lr_lab import CONVERGED_LOSS, LearningRateLab, diagnose, run
from backprop_lab.numerics import numerical_gradient


@pytest.fixture(scope="module")
def lab():
    return LearningRateLab()


def set_rate(lab, rate, output="linear"):
    lab.output_layer.value = output
    lab.learning_rate.value = rate
    return lab


def title(lab):
    return lab.loss_axes.title


def test_moving_the_learning_rate_slider_retrains_and_redraws(lab):
    set_rate(lab, 0.2)
    before = lab.plotted_data()
    picture = lab.image.value
    set_rate(lab, 0.002)
    after = lab.plotted_data()
    assert len(after["epoch"]) == len(after["loss"]) == lab.epochs.value
    assert not np.allclose(before["loss"], after["loss"])
    assert not np.allclose(before["boundary"], after["boundary"], equal_nan=True)
    assert lab.image.value != picture, "the displayed picture must be re-rendered"
    assert "lr = 0.002" in title(lab)


def test_a_diverging_rate_is_reported_as_diverged_on_finite_axes(lab):
    set_rate(lab, 10.0)
    assert lab.verdict.kind == "diverged"
    assert "diverged at epoch" in lab.status.value and "diverged" in title(lab)
    limits = np.array(lab.axes_limits(), dtype=float)
    assert np.isfinite(limits).all() and (limits[:, 1] > limits[:, 0]).all()
    drawn = lab.plotted_data()
    assert np.isfinite(drawn["loss"]).all()  # non-finite values are clipped or masked, never drawn
    assert np.isnan(drawn["boundary"]).all()
    assert "no boundary" in lab.boundary_note
    assert lab.render().startswith(b"<svg") and b"no boundary" in lab.render()  # the browser draws it


def test_a_tiny_rate_reports_slow_progress(lab):
    set_rate(lab, 1e-3)
    assert lab.verdict.kind == "still learning"
    assert "try more epochs or a larger rate" in lab.status.value


def test_a_good_rate_converges_and_draws_the_xor_boundary(lab):
    set_rate(lab, 0.2)
    assert lab.verdict.kind == "converged"
    assert "converged (loss" in lab.status.value
    drawn = lab.plotted_data()
    assert drawn["loss"][-1] < CONVERGED_LOSS
    grid = drawn["boundary"]
    n = grid.shape[0]
    corner = {(0, 0): grid[n // 4, n // 4], (1, 1): grid[3 * n // 4, 3 * n // 4],
              (0, 1): grid[3 * n // 4, n // 4], (1, 0): grid[n // 4, 3 * n // 4]}  # grid rows are x2
    assert corner[0, 0] < 0.5 and corner[1, 1] < 0.5 and corner[0, 1] > 0.5 and corner[1, 0] > 0.5


def test_a_rate_near_the_edge_of_stability_is_reported_as_oscillating(lab):
    set_rate(lab, 0.9)
    assert lab.verdict.kind == "oscillating", lab.verdict


def test_the_sigmoid_output_network_tolerates_a_large_rate(lab):
    set_rate(lab, 10.0, output="sigmoid")
    assert lab.verdict.kind == "converged", lab.verdict
    set_rate(lab, 0.2, output="linear")


def test_every_slider_retrains(lab):
    for control, value in ((lab.epochs, 1000), (lab.hidden, 6), (lab.seed, 3)):
        before = lab.plotted_data()["loss"]
        control.value = value
        after = lab.plotted_data()["loss"]
        assert len(before) != len(after) or not np.allclose(before, after), control.description
    lab.epochs.value, lab.hidden.value, lab.seed.value = 2000, 4, 0


def test_diagnose_names_each_outcome():
    falling = np.geomspace(0.3, 1e-4, 500)
    assert diagnose(falling, 500).kind == "converged"
    assert diagnose(np.linspace(0.3, 0.2, 500), 500).kind == "still learning"
    bouncing = 0.2 + 0.05 * ((np.arange(500) + 1) % 2)  # starts at 0.25, ends at 0.2, never settles
    assert diagnose(bouncing, 500).kind == "oscillating"
    assert diagnose(np.array([0.3, 5.0, np.inf]), 500).text.startswith("diverged at epoch 2 (loss became inf/nan)")
    assert diagnose(np.linspace(0.3, 0.9, 500), 500).kind == "diverged"


def test_a_diverged_run_stops_early_instead_of_overflowing():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # an overflow anywhere would raise here
        _, losses = run(10.0, epochs=2000, hidden=4, seed=0, output="linear")
    assert len(losses) < 10 and np.isfinite(losses).all()


def test_the_reference_network_matches_its_numeric_gradients():
    rng = np.random.default_rng(0)
    params = mlp.init_params(n_in=3, hidden=5, n_out=2, seed=1)
    X, y = rng.normal(size=(7, 3)), rng.uniform(size=(7, 2))
    for output in mlp.OUTPUTS:
        _, grads = mlp.loss_and_grads(params, X, y, output)
        for name, value in params.items():
            numeric = numerical_gradient(lambda _, output=output: mlp.loss(params, X, y, output), value, h=1e-6)
            assert np.allclose(grads[name], numeric, rtol=1e-6, atol=1e-9), (output, name)


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("rate", [1e-3, 0.2, 3.0, 10.0])
def test_the_labs_training_loop_is_mlp_train_to_the_last_bit(output, rate):
    params, losses = run(rate, 400, 4, 1, output)
    reference = mlp.init_params(hidden=4, seed=1)
    start, _ = mlp.loss_and_grads(reference, mlp.XOR_X, mlp.XOR_Y, output)
    expected = mlp.train(reference, mlp.XOR_X, mlp.XOR_Y, rate, 400, output, stop_above=1e3 * start)
    assert np.array_equal(losses, expected)
    assert all(np.array_equal(params[name], reference[name]) for name in mlp.PARAM_NAMES)
