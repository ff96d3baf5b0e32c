"""Lesson 05's shared code (backprop_lab.gradcheck): the planted bug is found entry by entry and
the fix passes, the error-versus-h curves have the slopes the lesson claims, and the plots
draw the data they are given."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from backprop_lab import gradcheck as gc  # noqa: E402
from backprop_lab import mlp  # noqa: E402

STEPS = np.logspace(-13, -1, 37)


def _network(seed, n_inputs=5, n_hidden=4, n_samples=8):
    rng = np.random.default_rng(seed)
    params = mlp.init_params(n_inputs, n_hidden, n_hidden, seed=rng, bias_scale=0.5)  # square W2 hides the bug
    X = rng.normal(size=(n_samples, n_inputs))
    y = rng.uniform(size=(n_samples, n_hidden))
    return params, X, y


@pytest.mark.parametrize("seed", range(5))
def test_the_heatmap_is_nonzero_exactly_on_the_entries_the_bug_touches(seed):
    params, X, y = _network(seed, n_inputs=3 + seed % 3, n_hidden=3 + seed % 2, n_samples=4 + seed)
    report = gc.check_network(gc.planted_bug_grads, params, X, y)
    buggy, fixed = gc.planted_bug_grads(params, X, y), gc.two_layer_grads(params, X, y)
    for name in mlp.PARAM_NAMES:
        touched = ~np.isclose(buggy[name], fixed[name], rtol=1e-9, atol=0)
        entrywise = report[name]["entrywise"]
        assert (entrywise[touched] > 1e-5).all(), name
        assert (entrywise[~touched] < 1e-6).all(), name
    # the missing transpose touches every entry of layer 1 and none of layer 2
    assert report["W1"]["relative_error"] > 1e-2 and report["b1"]["relative_error"] > 1e-2
    assert report["W2"]["relative_error"] < 1e-8 and report["b2"]["relative_error"] < 1e-8


@pytest.mark.parametrize("seed", range(5))
def test_the_fixed_network_passes_and_matches_a_numerical_gradient_of_its_own(seed):
    params, X, y = _network(seed)
    report = gc.check_network(gc.two_layer_grads, params, X, y)
    for name in mlp.PARAM_NAMES:
        assert report[name]["relative_error"] < 1e-8, name
        assert report[name]["entrywise"].max() < 1e-6, name
        # check_network's numerical gradient against an independent one on a copy of the weights
        def loss_of_copy(value, name=name):
            return mlp.loss({**params, name: value}, X, y)

        independent = gc.numerical_gradient(loss_of_copy, params[name].copy())
        np.testing.assert_allclose(report[name]["numeric"], independent, rtol=1e-9, atol=1e-14)


def test_the_bug_crashes_when_every_dimension_has_its_own_size():
    rng = np.random.default_rng(0)
    params = mlp.init_params(5, 4, 3, seed=rng, bias_scale=0.5)
    with pytest.raises(ValueError):
        gc.planted_bug_grads(params, rng.normal(size=(8, 5)), rng.uniform(size=(8, 3)))


def test_the_heatmap_draws_the_entrywise_errors():
    params, X, y = _network(0)
    report = gc.check_network(gc.planted_bug_grads, params, X, y)
    fig = gc.plot_error_heatmaps(report)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == len(mlp.PARAM_NAMES)
    for image, name in zip(images, mlp.PARAM_NAMES, strict=True):
        drawn = np.asarray(image.get_array())
        expected = np.clip(np.atleast_2d(report[name]["entrywise"]), 1e-12, 1.0)
        np.testing.assert_allclose(drawn, expected)
        bright = drawn > 1e-5
        assert bright.all() if name in ("W1", "b1") else not bright.any()
    plt.close(fig)


@pytest.mark.parametrize(
    ("f", "df", "x0"),
    [(np.sin, np.cos, 1.0), (np.exp, np.exp, 0.5), (np.tanh, lambda x: 1 - np.tanh(x) ** 2, 0.3)],
    ids=["sin", "exp", "tanh"],
)
def test_truncation_error_slopes_are_one_for_forward_and_two_for_central(f, df, x0):
    def total(x):
        return float(f(x).sum())

    forward = gc.derivative_errors(total, df, x0, STEPS, method="forward")
    central = gc.derivative_errors(total, df, x0, STEPS, method="central")
    forward_regime, central_regime = (STEPS >= 1e-4) & (STEPS <= 1e-1), (STEPS >= 1e-3) & (STEPS <= 1e-1)
    assert gc.loglog_slope(STEPS[forward_regime], forward[forward_regime]) == pytest.approx(1.0, abs=0.05)
    assert gc.loglog_slope(STEPS[central_regime], central[central_regime]) == pytest.approx(2.0, abs=0.05)
    # round-off takes over for tiny h, so there is a best step, near 1e-5 for central differences
    assert 1e-7 <= STEPS[central.argmin()] <= 1e-4
    assert central.min() < 1e-9 and central[0] > 1e3 * central.min()


def test_float32_cannot_reach_float64_accuracy():
    def total(x):
        return float(np.sin(x).sum())

    errors64 = gc.derivative_errors(total, np.cos, 1.0, STEPS, dtype=np.float64)
    errors32 = gc.derivative_errors(total, np.cos, 1.0, STEPS, dtype=np.float32)
    assert errors32.min() > 1e3 * errors64.min()
    assert errors32[0] == pytest.approx(np.cos(1.0))  # 1 + 1e-13 == 1 in float32: the estimate is 0


def test_float32_fails_the_check_of_a_correct_network():
    params, X, y = _network(1)
    params32 = {name: value.astype(np.float32) for name, value in params.items()}
    report = gc.check_network(gc.two_layer_grads, params32, X.astype(np.float32), y.astype(np.float32))
    assert min(entry["relative_error"] for entry in report.values()) > 1e-4


def test_numerical_gradient_restores_x_exactly_and_sees_in_place_changes():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, size=(3, 4, 2))
    before = x.copy()
    weights = rng.uniform(size=x.shape)
    gradient = gc.numerical_gradient(lambda _: float(np.sum(weights * np.sin(x))), x)  # reads x itself
    np.testing.assert_allclose(gradient, weights * np.cos(before), rtol=1e-8)
    assert np.array_equal(x, before)
    with pytest.raises(ValueError):
        gc.numerical_gradient(lambda z: float(z.sum()), x, method="backward")


def test_relative_error_is_scale_invariant_symmetric_and_zero_for_two_zeros():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    expected = np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))
    assert gc.relative_error(a, b) == pytest.approx(expected)
    assert gc.relative_error(1e6 * a, 1e6 * b) == pytest.approx(expected)
    assert gc.relative_error(b, a) == pytest.approx(expected)
    assert gc.relative_error(a, -a) == pytest.approx(1.0)
    assert gc.relative_error(np.zeros(4), np.zeros(4)) == 0.0
    entrywise = gc.entrywise_relative_error(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, -2.0]))
    np.testing.assert_array_equal(entrywise, [0.0, 0.0, 1.0])


def test_the_error_plot_draws_each_curve():
    curves = {"a": STEPS, "b": np.sqrt(STEPS)}
    fig = gc.plot_error_vs_h(STEPS, curves)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    for line, errors in zip(lines, curves.values(), strict=True):
        np.testing.assert_allclose(line.get_ydata(), errors)
    plt.close(fig)


def test_show_fix_shows_exactly_the_changed_line():
    diff = gc.show_fix(gc.planted_bug_grads, gc.two_layer_grads).splitlines()
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert [line[1:].strip() for line in removed] == ["dh = dz2 @ W2"]
    assert [line[1:].strip() for line in added] == ["dh = dz2 @ W2.T"]


@pytest.mark.parametrize("seed", range(3))
def test_the_mystery_bug_shows_only_on_b2_as_a_factor_of_one_over_n(seed):
    params, X, y = _network(seed, n_samples=5 + seed)
    report = gc.check_network(gc.mystery_grads, params, X, y)
    flagged = {name: bool((entry["entrywise"] > 1e-5).any()) for name, entry in report.items()}
    assert flagged == {"W1": False, "b1": False, "W2": False, "b2": True}
    np.testing.assert_allclose(report["b2"]["analytic"] / report["b2"]["numeric"], 1 / X.shape[0], rtol=1e-6)
    diff = gc.show_fix(gc.mystery_grads, gc.two_layer_grads).splitlines()
    assert [line for line in diff if line.startswith("-") and not line.startswith("---")] == [
        "-    dW2, db2 = h.T @ dz2, dz2.mean(axis=0)"
    ]
