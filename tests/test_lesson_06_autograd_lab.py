"""Lesson 06's lab, driven without a browser: stepping through loss.backward() shows each
parameter's .grad filling in (last layer first), and backward() without zero_grad() adds the
gradient again. Every value drawn is checked against a separate autograd computation."""

import numpy as np
import pytest
import torch

from backprop_lab import mlp
from backprop_lab.autograd_lab import PARAMETERS, AutogradLab, small_network


def one_call_gradient() -> dict:
    """The gradient of one call, on a fresh copy of the same network, by torch.autograd.grad."""
    model = small_network(0)
    loss = torch.mean((model(torch.tensor(mlp.XOR_X)) - torch.tensor(mlp.XOR_Y)) ** 2)
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [params[name] for name in PARAMETERS])
    return {name: np.atleast_2d(g.numpy()) for name, g in zip(PARAMETERS, grads, strict=True)}


@pytest.fixture
def lab():
    return AutogradLab()


def test_after_one_backward_every_grad_holds_the_gradient(lab):
    expected = one_call_gradient()
    drawn = lab.plotted_data()
    for name in PARAMETERS:
        assert np.allclose(drawn[name], expected[name], rtol=1e-12), name
    assert np.allclose(drawn["multiple"], 1.0)
    assert "exactly one gradient" in lab.status.value


def test_backward_writes_the_last_layer_first_and_the_slider_steps_through_it(lab):
    assert lab.writes[:2] == ["2.bias", "2.weight"] or lab.writes[:2] == ["2.weight", "2.bias"]
    assert set(lab.writes) == set(PARAMETERS)
    lab.progress.value = 0
    assert np.isnan(np.concatenate([lab.plotted_data()[name].ravel() for name in PARAMETERS])).all()
    lab.progress.value = 2
    drawn = lab.plotted_data()
    written = set(lab.writes[:2])
    for name in PARAMETERS:
        assert np.isnan(drawn[name]).all() != (name in written), name
    assert bytes(lab.image.value).startswith(b"<svg")


def test_a_second_backward_without_zero_grad_doubles_grad(lab):
    expected = one_call_gradient()
    lab.backward_button.click()
    drawn = lab.plotted_data()
    for name in PARAMETERS:
        assert np.allclose(drawn[name], 2 * expected[name], rtol=1e-12), name
    assert np.allclose(drawn["multiple"], 2.0)
    assert "accumulates" in lab.status.value and "2 ×" in lab.status.value
    lab.backward_button.click()
    assert np.allclose(lab.plotted_data()["multiple"], 3.0)


def test_zero_grad_sets_grad_to_none_and_the_next_backward_starts_afresh(lab):
    lab.backward_button.click()
    lab.zero_grad_button.click()
    assert all(p.grad is None for p in lab.model.parameters())
    assert np.allclose(lab.plotted_data()["multiple"], 0.0) and "None" in lab.status.value
    lab.backward_button.click()
    assert np.allclose(lab.plotted_data()["multiple"], 1.0)
