"""Lesson 05's lab, driven without a browser: every curve and heatmap it draws equals an
independent computation (finite differences written out here, gradients from torch autograd)."""

import numpy as np
import pytest
import torch

from backprop_lab import mlp
from backprop_lab.gradcheck_lab import BACKWARD_PASSES, STEPS, X0, GradCheckLab, network


@pytest.fixture(scope="module")
def lab():
    return GradCheckLab()


def torch_gradients(params, X, y) -> dict:
    """The correct gradient of lesson 03's network (sigmoid output, MSE), by torch autograd."""
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    hidden = torch.sigmoid(torch.tensor(X) @ tensors["W1"] + tensors["b1"])
    y_pred = torch.sigmoid(hidden @ tensors["W2"] + tensors["b2"])
    torch.mean((y_pred - torch.tensor(y)) ** 2).backward()
    return {name: tensor.grad.numpy() for name, tensor in tensors.items()}


def central_gradient(params, X, y, name, h):
    """Central differences, entry by entry, on copies of the parameters."""
    out = np.zeros_like(params[name])
    for index in np.ndindex(params[name].shape):
        plus = {k: v.copy() for k, v in params.items()}
        minus = {k: v.copy() for k, v in params.items()}
        plus[name][index] += h
        minus[name][index] -= h
        out[index] = (mlp.loss(plus, X, y) - mlp.loss(minus, X, y)) / (2 * h)
    return out


def test_the_error_curves_are_those_of_forward_and_central_differences(lab):
    drawn = lab.plotted_data()
    exact = np.cos(X0)
    forward = np.abs((np.sin(X0 + STEPS) - np.sin(X0)) / STEPS - exact)
    central = np.abs((np.sin(X0 + STEPS) - np.sin(X0 - STEPS)) / (2 * STEPS) - exact)
    assert np.array_equal(drawn["h"], STEPS)
    truncation = STEPS >= 1e-5  # where rounding does not decide the last digits
    assert np.allclose(drawn["forward_error"][truncation], forward[truncation], rtol=1e-3)
    assert np.allclose(drawn["central_error"][truncation], central[truncation], rtol=1e-2)


def test_moving_h_moves_the_marks_along_the_curves(lab):
    lab.step.value = 1e-3
    drawn = lab.plotted_data()
    assert drawn["step"][0] == pytest.approx(1e-3)
    assert drawn["forward_at_h"][0] == pytest.approx(abs((np.sin(X0 + 1e-3) - np.sin(X0)) / 1e-3 - np.cos(X0)),
                                                     rel=1e-6)
    picture = lab.image.value
    lab.step.value = 1e-7
    assert lab.image.value != picture and lab.plotted_data()["step"][0] == pytest.approx(1e-7)
    lab.step.value = 1e-5


@pytest.mark.parametrize("choice", list(BACKWARD_PASSES))
def test_each_heatmap_is_the_entrywise_error_against_an_independent_gradient(lab, choice):
    lab.bug.value = choice
    params, X, y = network()
    analytic = BACKWARD_PASSES[choice](params, X, y)
    drawn = lab.plotted_data()
    for name in mlp.PARAM_NAMES:
        numeric = central_gradient(params, X, y, name, lab.step.value)
        expected = np.atleast_2d(np.abs(analytic[name] - numeric) / (np.abs(analytic[name]) + np.abs(numeric)))
        assert np.allclose(drawn[name], np.clip(expected, 1e-12, 1.0), rtol=1e-3, atol=1e-12), name


def test_the_check_fails_exactly_where_the_planted_bug_is(lab):
    params, X, y = network()
    correct = torch_gradients(params, X, y)
    lab.bug.value = "bug: missing transpose (dh = dz2 @ W2)"
    assert "fails for W1, b1" in lab.status.value
    buggy = BACKWARD_PASSES[lab.bug.value](params, X, y)
    assert np.allclose(buggy["W2"], correct["W2"]) and not np.allclose(buggy["W1"], correct["W1"])
    lab.bug.value = "bug: db2 averaged, not summed"
    assert "fails for b2" in lab.status.value
    lab.bug.value = "correct backward pass"
    assert "passes for every parameter" in lab.status.value
    assert all(np.allclose(BACKWARD_PASSES[lab.bug.value](params, X, y)[n], correct[n]) for n in correct)


def test_a_tiny_h_fails_even_the_correct_backward_pass(lab):
    lab.bug.value = "correct backward pass"
    lab.step.value = 1e-13
    assert "fails" in lab.status.value, "round-off swamps the difference at h = 1e-13"
    lab.step.value = 1e-5
