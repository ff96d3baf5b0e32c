"""Lesson 07's depth lab shows what the lesson claims, and the claims hold on the reference code
(backprop_lab.deep_nets): sigmoid gradients vanish with depth, He-initialised ReLU keeps them
within an order of magnitude, residual connections carry gradients through sigmoid layers."""

import numpy as np
import pytest
import torch

from backprop_lab import deep_nets
from backprop_lab.depth_lab import DepthLab, diagnose, run_experiment


def _set(lab, **settings):
    for name, value in settings.items():
        control = {**lab.sliders, **lab.dropdowns, **lab.toggles}[name]
        control.value = value
    return lab.report


@pytest.fixture(scope="module")
def lab():
    return DepthLab()


def test_moving_the_depth_slider_redraws_both_panels(lab):
    _set(lab, depth=10, activation="sigmoid", init="naive", residual=False, clip=False)
    before = lab.plotted_data()
    image_before = lab.image.value
    lab.sliders["depth"].value = 30
    after = lab.plotted_data()
    assert len(after["layer"]) == 30 and len(before["layer"]) == 10
    assert not np.allclose(after["grad_norm"][-10:], before["grad_norm"], equal_nan=True)
    assert lab.image.value != image_before, "the displayed picture must be re-rendered"
    assert len(after["loss"]) > 0 and lab.verdict is lab.report.verdict


def test_changing_the_activation_changes_the_plotted_norms(lab):
    _set(lab, depth=20, activation="sigmoid", init="xavier", residual=False)
    sigmoid = lab.plotted_data()["grad_norm"].copy()
    lab.dropdowns["activation"].value = "tanh"
    assert not np.allclose(lab.plotted_data()["grad_norm"], sigmoid, equal_nan=True)


def test_sigmoid_with_naive_init_at_depth_30_is_reported_as_vanishing(lab):
    report = _set(lab, depth=30, activation="sigmoid", init="naive", residual=False)
    assert report.verdict.kind == "vanishing"
    assert report.norms[0] / report.norms[-1] < 1e-3
    assert "gradients vanish" in lab.status.value and "layer 1 gets" in lab.status.value


def test_relu_with_he_init_stays_within_an_order_of_magnitude(lab):
    report = _set(lab, depth=30, activation="relu", init="he", residual=False)
    assert report.verdict.kind == "healthy", report.verdict
    assert report.norms.max() / report.norms.min() < 10
    assert "gradients flow" in lab.status.value


def test_residual_connections_rescue_sigmoid(lab):
    plain = _set(lab, depth=30, activation="sigmoid", init="naive", residual=False)
    residual = _set(lab, residual=True)
    assert plain.verdict.kind == "vanishing" and residual.verdict.kind == "healthy", residual.verdict
    assert residual.norms[0] / residual.norms[-1] > 100 * plain.norms[0] / plain.norms[-1]


def test_exploding_settings_are_reported_and_plotted_sanely(lab):
    tanh = _set(lab, depth=30, activation="tanh", init="naive", residual=False)
    assert tanh.verdict.kind == "exploding"
    relu = _set(lab, depth=50, activation="relu", init="naive", width=64)
    assert relu.verdict.kind == "exploding"
    assert np.isnan(relu.losses).any(), "the SGD run overflows: the loss panel must mark it"
    assert len(lab.loss_axes.series["overflowed"].x) == 1
    low, high = lab.loss_axes.ylim
    assert np.isfinite([low, high]).all() and 0 < low < high
    _set(lab, width=32)


def test_clipping_keeps_the_training_run_finite(lab):
    _set(lab, depth=30, activation="relu", init="naive", residual=False, clip=False)
    assert np.isnan(lab.report.losses).any()
    _set(lab, clip=True)
    assert np.isfinite(lab.report.losses).all()
    _set(lab, clip=False)


def test_diagnose_handles_zeros_and_overflow():
    assert diagnose(np.array([1.0, np.inf, 2.0])).kind == "exploding"
    assert diagnose(np.array([0.0, 1e-3, 1.0])).kind == "vanishing"
    assert diagnose(np.array([1e-12, 1e-11, 1e-10])).kind == "vanishing"
    verdict = diagnose(np.array([0.5, 1.0, 2.0]))
    assert verdict.kind == "healthy" and "layer 1 gets 2e-01 of the last layer's norm" in verdict.text


def test_zero_gradients_are_marked_not_dropped(lab):
    lab._draw_gradients(np.array([0.0, 1.0, np.inf, 2.0]))
    gaps = lab.grad_axes.series["gaps"]
    xs, ys = gaps.x, gaps.y
    assert list(xs) == [1, 3]
    low, high = lab.grad_axes.ylim
    assert ys[0] == low and ys[1] == high
    lab.update()


# --- the lesson's claims, on the reference ---------------------------------------------------


def _norms(depth, activation, init, residual=False, width=32, seed=0):
    rng = np.random.default_rng(seed)
    X, y = deep_nets.regression_task(64, width, rng)
    weights = deep_nets.network_weights(depth, width, init, rng, residual)
    return deep_nets.layer_grad_norms(weights, X, y, activation, residual)


@pytest.mark.parametrize("seed", range(3))
def test_sigmoid_gradient_norms_fall_with_depth_under_naive_init(seed):
    norms = _norms(30, "sigmoid", "naive", seed=seed)
    assert norms[0] < 1e-2 * norms[-1]
    assert np.corrcoef(np.arange(30), np.log(norms))[0, 1] > 0.9, "the decay is steady, layer after layer"


def test_relu_with_he_init_stays_within_10x_across_30_layers_for_most_networks():
    spreads = np.array([(lambda n: n.max() / n.min())(_norms(30, "relu", "he", seed=seed)) for seed in range(20)])
    assert np.median(spreads) < 10 and np.mean(spreads < 10) >= 0.75 and spreads.max() < 1e3


def test_sigmoid_with_xavier_decays_like_a_quarter_per_layer():
    # sigma' <= 1/4 and Xavier keeps ||W|| about 1: the decay per layer is at most about 4x.
    norms = _norms(30, "sigmoid", "xavier")
    per_layer = (norms[0] / norms[-2]) ** (1 / 28)
    assert 0.15 < per_layer <= 0.3


def test_he_relu_preserves_the_spread_of_activations_and_naive_scales_do_not():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 256))
    he = deep_nets.activation_stds(deep_nets.init_weights([256] * 21, "he", rng), X, "relu")
    assert 0.5 < he[-1] / he[0] < 2
    small = deep_nets.activation_stds(deep_nets.init_weights([256] * 21, "small", rng), X, "relu")
    assert small[-1] < 1e-15 * small[0]
    large = deep_nets.activation_stds(deep_nets.init_weights([256] * 21, "naive", rng), X, "relu")
    assert large[-1] > 1e15 * large[0]


def test_xavier_tanh_shrinks_only_slowly_like_one_over_sqrt_2l():
    # Var(z_{l+1}) = E[tanh(z_l)^2] ~ q - 2q^2 for small q, so q_l ~ 1/(2l): polynomial, not geometric.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 256))
    stds = deep_nets.activation_stds(deep_nets.init_weights([256] * 41, "xavier", rng), X, "tanh")
    layers = np.arange(1, len(stds) + 1)
    assert len(stds) == 39 and np.allclose(stds[10:], 1 / np.sqrt(2 * layers[10:]), rtol=0.15)


def test_residual_identity_path_keeps_gradients_from_vanishing():
    plain = _norms(30, "sigmoid", "xavier")
    residual = _norms(30, "sigmoid", "xavier", residual=True)
    assert residual[0] / residual[-1] > 1e10 * plain[0] / plain[-1]


# --- the diagnostics panels, each against an independent computation ---------------------------


def _reference(depth, activation, init, residual=False, width=32, clip=False):
    """The lab's network and data, rebuilt, and what deep_nets computes on them."""
    rng = np.random.default_rng(0)
    X, y = deep_nets.regression_task(32, width, rng)
    weights = deep_nets.network_weights(depth, width, init, rng, residual)
    return X, y, weights


@pytest.mark.parametrize("activation", deep_nets.ACTIVATIONS)
@pytest.mark.parametrize(("residual", "clip"), [(False, False), (True, False), (False, True)])
def test_the_labs_single_loop_gives_the_reference_norms_and_losses(activation, residual, clip):
    report = run_experiment(20, activation, "naive", residual=residual, width=16, clip=clip)
    X, y, weights = _reference(20, activation, "naive", residual, width=16)
    assert np.allclose(report.norms, deep_nets.layer_grad_norms(weights, X, y, activation, residual),
                       rtol=1e-12, equal_nan=True)
    losses = deep_nets.train_sgd(weights, X, y, activation, lr=0.02, steps=30, residual=residual,
                                 max_norm=1.0 if clip else None)
    assert np.allclose(report.losses, losses, rtol=1e-10, equal_nan=True)


@pytest.mark.parametrize(("activation", "init"), [("tanh", "naive"), ("sigmoid", "xavier"), ("relu", "he")])
def test_histograms_inactive_share_and_update_ratio_match_an_independent_forward_pass(lab, activation, init):
    _set(lab, depth=12, width=32, activation=activation, init=init, residual=False, clip=False)
    X, y, weights = _reference(12, activation, init)
    # Forward by hand, keeping every hidden layer's output, and the gradients by autograd in torch.
    h = torch.tensor(X)
    outputs = []
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
    params = [torch.tensor(W, requires_grad=True) for W in weights]
    for W in params[:-1]:
        h = act(h @ W)
        h.retain_grad()
        outputs.append(h)
    torch.mean((h @ params[-1] - torch.tensor(y)) ** 2).backward()
    drawn = lab.plotted_data()

    slope = {"tanh": lambda a: 1 - a**2, "sigmoid": lambda a: a * (1 - a)}
    for layer, a in enumerate(outputs, start=1):
        a = a.detach().numpy()
        share = np.mean(~np.any(a > 0, axis=0)) if activation == "relu" else np.mean(slope[activation](a) < 0.03)
        assert drawn["inactive_share"][layer - 1] == pytest.approx(share), layer
    ratios = [np.std(0.02 * W.grad.numpy()) / np.std(W.detach().numpy()) for W in params]
    assert np.allclose(drawn["update_ratio"], ratios, rtol=1e-9)

    layers = [int(key.rsplit("_", 1)[1]) for key in drawn if key.startswith("activation_hist_")]
    assert layers[0] == 1 and layers[-1] == 11 and len(layers) == 5
    edges_a = _edges(drawn["activation_bins"])
    edges_g = _edges(drawn["gradient_bins"])
    for layer in layers:
        a = outputs[layer - 1].detach().numpy().ravel()
        counts, _ = np.histogram(np.clip(a, edges_a[0], edges_a[-1]), bins=edges_a)
        assert np.allclose(drawn[f"activation_hist_{layer}"], counts / a.size), layer
        g = np.abs(outputs[layer - 1].grad.numpy().ravel())
        logs = np.log10(g[g > 0])
        counts, _ = np.histogram(np.clip(logs, edges_g[0], edges_g[-1]), bins=edges_g)
        assert np.allclose(drawn[f"gradient_hist_{layer}"], counts / logs.size), layer


def _edges(centres):
    step = centres[1] - centres[0]
    return np.append(centres - step / 2, centres[-1] + step / 2)


def test_the_diagnostics_tell_the_textbook_stories(lab):
    report = _set(lab, depth=20, width=32, activation="sigmoid", init="naive", residual=False, clip=False)
    assert report.inactive_share.mean() > 0.3, "N(0, 1) weights push sigmoid units into their flat tails"
    early, late = report.update_ratio[0], report.update_ratio[-1]
    assert early < 1e-3 * late, "layers near the input barely move: the update ratio shows the vanishing"
    healthy = _set(lab, activation="tanh", init="xavier")
    assert healthy.inactive_share.max() < 0.2
    relu = _set(lab, activation="relu", init="small")
    assert "dead units" in lab.inactive_axes.title and relu.inactive_share.size == 19
    _set(lab, activation="sigmoid", init="naive", depth=10)


def _torch_batch_norm_run(depth, activation, init, residual, width=16, steps=30, lr=0.02):
    """The lab's network with torch.nn.BatchNorm1d(affine=False) before every hidden activation:
    gradient norms at initialisation and the losses of plain SGD, by autograd."""
    X, y, weights = _reference(depth, activation, init, residual, width)
    params = [torch.tensor(W, requires_grad=True) for W in weights]
    norm = torch.nn.BatchNorm1d(width, affine=False, track_running_stats=False).double()
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
    losses, norms = [], None
    for _ in range(steps):
        h = torch.tensor(X)
        for W in params[:-1]:
            a = act(norm(h @ W))
            h = h + a if residual else a
        loss = torch.mean((h @ params[-1] - torch.tensor(y)) ** 2)
        losses.append(loss.item())
        loss.backward()
        if norms is None:
            norms = [W.grad.norm().item() for W in params]
        with torch.no_grad():
            for W in params:
                W -= lr * W.grad
                W.grad = None
    return np.array(norms), np.array(losses)


@pytest.mark.parametrize(("activation", "init", "residual"),
                         [("sigmoid", "naive", False), ("relu", "he", True), ("tanh", "small", False)])
def test_batch_normalisation_matches_torch_batchnorm(activation, init, residual):
    report = run_experiment(12, activation, init, residual=residual, width=16, batch_norm=True)
    norms, losses = _torch_batch_norm_run(12, activation, init, residual)
    assert np.allclose(report.norms, norms, rtol=1e-8)
    # The first ten steps: a run that blows up (ReLU, residual) amplifies rounding differences later.
    assert np.allclose(report.losses[:10], losses[:10], rtol=1e-8)


def test_batch_normalisation_rescues_a_badly_initialised_sigmoid_network(lab):
    for init in ("small", "naive"):  # weights far too small, and far too large
        plain = _set(lab, depth=20, width=32, activation="sigmoid", init=init, residual=False, clip=False,
                     batch_norm=False)
        normalised = _set(lab, batch_norm=True)
        assert plain.verdict.kind == "vanishing" and normalised.verdict.kind == "healthy", normalised.verdict
        assert normalised.inactive_share.max() < 0.05, "normalised units sit in the sigmoid's useful middle"
    assert plain.inactive_share.mean() > 0.3
    _set(lab, batch_norm=False, init="naive", depth=10)
