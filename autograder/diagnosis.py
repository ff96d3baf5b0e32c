"""General diagnosis of a wrong answer: which usual slip turns the right value into the learner's.

:func:`diagnose` compares the learner's value with the expected one (and with what a test may
add as ``context``) and names the first pattern that fits *exactly* (within the check's
tolerances): a constant factor, a flipped sign, a transpose, a sum over the wrong axis or one
row in place of the sum over rows, a neighbouring layer's quantity, a missing path, a
derivative taken at the wrong place, a missing local derivative. It returns None when nothing
fits: a wrong diagnosis is worse than none, so every pattern needs an exact match of every
entry, and patterns that a random wrong answer could match (a constant ratio over a single
number that is no usual factor, a shape alone when several quantities share it) are never
claimed.

Pure functions on arrays: no kernel, no nbgrader. :func:`autograder.checks.check_close` calls
:func:`diagnose` after the test's own listed mistakes and before "expected X, got Y".

``context`` (all optional):

``batch_size``   N, so that a factor N or 1/N is named as the batch size
``terms``        the array whose sum over axis 0 (the batch) is the expected value, e.g. ``dout``
                 for a bias gradient: finds the wrong axis, a mean, one row
``neighbours``   ``{description: value}``, the same quantity of the neighbouring layers
                 (``{"layer 2's weight gradient": dW2}``): finds an off-by-one layer
``layer_sizes``, ``layer``   the widths of a network's activations and the index of the layer
                 whose weight gradient is checked: finds the activations of a neighbouring layer
``paths``        ``{description: contribution}``, what each path of a branch adds to the
                 expected value (they sum to it): finds a missing path
``upstream``, ``local``   the two factors of an elementwise chain step ``expected = upstream * local``
``derivative``   f' as a function of the input; with ``pre`` (the input z) and ``post`` (the
                 output f(z)): finds f' evaluated at the output
``output_form``  f' written in terms of the output (the sigmoid's ``a * (1 - a)``); with
                 ``pre``: finds that formula applied to the input
``variants``     ``{pattern key: value}`` for a compound quantity (per-layer norms, a whole
                 backward pass) recomputed by the test with one slip: the pattern is named when
                 the answer matches that value
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["PATTERNS", "Finding", "diagnose", "diagnose_shape"]

#: Every pattern this module can name: key -> the sentence's start (what the learner reads).
PATTERNS = {
    "factor": "it is off by a constant factor",
    "sign": "it has the opposite sign",
    "transpose": "it is the transpose of the expected value",
    "wrong_axis": "it sums over the wrong axis",
    "mean_not_sum": "it averages where the sum belongs",
    "one_row": "it takes one row where the sum over all rows (the batch) belongs",
    "neighbour_layer": "it is the neighbouring layer's value",
    "missing_path": "one path of the branch is missing",
    "derivative_at_output": "the derivative is evaluated at the output instead of the input",
    "derivative_at_input": "the derivative's output form is applied to the input instead of the output",
    "missing_local_derivative": "the local derivative is missing",
    "missing_upstream": "the upstream gradient is missing",
}


@dataclass(frozen=True)
class Finding:
    """A pattern that fits: its key (:data:`PATTERNS`) and the sentence for the learner."""

    key: str
    sentence: str


def _array(value: object) -> np.ndarray | None:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def _close(a: np.ndarray | None, b: np.ndarray | None, rtol: float, atol: float) -> bool:
    """Every entry equal within the tolerances; shapes equal; at least one entry not zero."""
    if a is None or b is None or a.shape != b.shape or a.size == 0:
        return False
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    if not np.any(np.abs(b) > atol):  # all zeros match too much
        return False
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _describe_factor(ratio: float, batch_size: int | None) -> str | None:
    """Words for a usual constant factor, or None when ``ratio`` is no usual factor."""
    candidates: list[tuple[float, str]] = [
        (2.0, "twice the expected value: a factor 2 too many"),
        (0.5, "half the expected value: the factor 2 (from the derivative of a square) is missing"),
    ]
    if batch_size and batch_size > 1:
        n = float(batch_size)
        candidates += [
            (n, f"N = {batch_size} times the expected value: a 1/N (the batch size) is missing"),
            (1 / n, f"1/N = 1/{batch_size} of the expected value: a division by N (the batch size) too many"),
            (2 * n, f"2N = {2 * batch_size} times the expected value: the factor 2/N is missing"),
            (1 / (2 * n), "1/(2N) of the expected value: a factor 2N too small"),
        ]
    found = [words for value, words in candidates if abs(ratio - value) <= 1e-6 * value]
    return "; or ".join(found) if found else None  # N = 2 makes a factor N a factor 2 too


def _constant_ratio(actual: np.ndarray, expected: np.ndarray, atol: float) -> float | None:
    """actual / expected when it is one constant over every entry (zeros where expected is zero)."""
    if actual.shape != expected.shape or actual.size == 0:
        return None
    nonzero = np.abs(expected) > max(atol, 1e-300)
    if not nonzero.any() or not np.all(np.abs(actual[~nonzero]) <= atol):
        return None
    ratios = actual[nonzero] / expected[nonzero]
    ratio = float(ratios.flat[0])
    if not np.isfinite(ratio) or ratio == 0 or not np.allclose(ratios, ratio, rtol=1e-6, atol=0):
        return None
    return ratio


def _factor(actual, expected, context, rtol, atol) -> Finding | None:
    ratio = _constant_ratio(actual, expected, atol)
    if ratio is None or ratio == 1:
        return None
    words = _describe_factor(ratio, context.get("batch_size"))
    return Finding("factor", f"{PATTERNS['factor']}, {words}") if words else None


def _sign(actual, expected, context, rtol, atol) -> Finding | None:
    if _close(actual, -expected, rtol, atol):
        return Finding("sign", f"{PATTERNS['sign']}: the sign is flipped (check the order of a subtraction)")
    return None


def _transpose(actual, expected, context, rtol, atol) -> Finding | None:
    if expected.ndim != 2 or actual.shape != expected.shape[::-1]:
        return None  # (a square matrix is its own transpose's shape: then the values must tell)
    if _close(actual, expected.T, rtol, atol) and not _close(expected, expected.T, rtol, atol):
        if actual.shape != expected.shape:  # the check adds how to fix the shape
            return Finding("transpose", f"{PATTERNS['transpose']}")
        return Finding("transpose", f"{PATTERNS['transpose']}: swap the operands of the matrix product or "
                                    "transpose the other one, so that a gradient has the shape of its variable")
    return None


def _terms(actual, expected, context, rtol, atol) -> Finding | None:
    terms = _array(context.get("terms"))
    if terms is None or terms.ndim < 2 or not _close(terms.sum(axis=0), expected, rtol, atol):
        return None
    for axis in range(1, terms.ndim):
        if _close(actual, terms.sum(axis=axis), rtol, atol):
            return Finding("wrong_axis", f"{PATTERNS['wrong_axis']} (axis {axis}): sum over the batch axis 0, "
                                         "keeping one entry per unit")
    if _close(actual, np.asarray(terms.sum()), rtol, atol) and expected.size > 1:
        return Finding("wrong_axis", f"{PATTERNS['wrong_axis']}: it sums over every axis; sum over the batch "
                                     "axis 0 only, keeping one entry per unit")
    if _close(actual, terms.mean(axis=0), rtol, atol):
        return Finding("mean_not_sum", f"{PATTERNS['mean_not_sum']}: sum over the batch axis 0; the 1/N of the "
                                       "loss is already inside the upstream gradient")
    rows = [i for i in range(terms.shape[0]) if _close(actual, terms[i], rtol, atol)]
    if len(rows) == 1 and terms.shape[0] > 1:
        return Finding("one_row", f"{PATTERNS['one_row']}: it equals row {rows[0]} alone; every example of the "
                                  "batch contributes, so sum over axis 0")
    return None


def _neighbours(actual, expected, context, rtol, atol) -> Finding | None:
    neighbours = {name: _array(value) for name, value in (context.get("neighbours") or {}).items()}
    matches = [name for name, value in neighbours.items() if _close(actual, value, rtol, atol)]
    if len(matches) == 1:
        return Finding("neighbour_layer", f"{PATTERNS['neighbour_layer']}: it equals {matches[0]}; the loop "
                                          "over layers is off by one (a wrong index into the weights or the "
                                          "activations)")
    if actual.shape == expected.shape:
        return None
    same_shape = [name for name, value in neighbours.items() if value is not None and value.shape == actual.shape]
    others = [value.shape for value in neighbours.values() if value is not None]
    if len(same_shape) == 1 and others.count(actual.shape) == 1:
        return Finding("neighbour_layer", f"it has the shape of {same_shape[0]} {actual.shape}, not "
                                          f"{expected.shape}: the loop over layers uses a neighbouring layer's "
                                          "weights or activations (an index off by one)")
    return None


def _layer_widths(actual, expected, context, rtol, atol) -> Finding | None:
    """A weight gradient (n_in, n_out) of layer ``layer`` built from a neighbouring layer's activations."""
    sizes, layer = context.get("layer_sizes"), context.get("layer")
    if sizes is None or layer is None or actual.shape == expected.shape or actual.ndim != 2:
        return None
    sizes, layer = [int(s) for s in sizes], int(layer)
    if expected.shape != (sizes[layer], sizes[layer + 1]):
        return None
    rows = actual.shape[0]
    wrong = [k for k in (layer - 1, layer + 1) if 0 <= k < len(sizes) and sizes[k] == rows and rows != sizes[layer]]
    if len(wrong) != 1:
        return None
    whose = "this layer's output" if wrong[0] == layer + 1 else "the previous layer's input"
    return Finding("neighbour_layer", f"it has {rows} rows, the width of {whose}, where the width of this layer's "
                                      f"input ({sizes[layer]}) belongs: a layer's weight gradient is (its input).T "
                                      "@ delta, and the loop uses a neighbouring layer's activations (an index off "
                                      "by one)")


def _paths(actual, expected, context, rtol, atol) -> Finding | None:
    paths = {name: _array(value) for name, value in (context.get("paths") or {}).items()}
    if len(paths) < 2 or any(p is None or p.shape != expected.shape for p in paths.values()):
        return None
    if not _close(sum(paths.values()), expected, rtol, atol):
        return None  # the test's paths do not add up: say nothing rather than guess
    missing = [name for name, value in paths.items()
               if _close(actual, expected - value, rtol, atol) and np.any(np.abs(value) > atol)]
    if len(missing) == 1:
        return Finding("missing_path", f"{PATTERNS['missing_path']}: the contribution through {missing[0]} is "
                                       "not there; where a value feeds two paths, their gradients add")
    return None


def _chain_step(actual, expected, context, rtol, atol) -> Finding | None:
    upstream, local = _array(context.get("upstream")), _array(context.get("local"))
    if upstream is not None and local is not None and not _close(upstream, expected, rtol, atol):
        if _close(actual, np.broadcast_to(upstream, expected.shape) if upstream.size else upstream, rtol, atol):
            return Finding("missing_local_derivative", f"{PATTERNS['missing_local_derivative']}: it passes the "
                                                       "upstream gradient through unchanged; multiply it by the "
                                                       "local derivative")
        if not _close(local, expected, rtol, atol) and _close(actual, local * np.ones(expected.shape), rtol, atol):
            return Finding("missing_upstream", f"{PATTERNS['missing_upstream']}: that is the local derivative "
                                               "alone; multiply it by the upstream gradient")
    factor = upstream if upstream is not None else 1.0
    pre, post = _array(context.get("pre")), _array(context.get("post"))
    wrong_places = (
        ("derivative_at_output", context.get("derivative"), post,
         "f' was given the layer's output f(z); give it the input z (or use the form of f' written in terms of "
         "the output)"),
        ("derivative_at_input", context.get("output_form"), pre,
         "a formula such as a * (1 - a) takes the output a = f(z), not the input z"),
    )
    for key, slope, at, words in wrong_places:
        if slope is None or at is None:
            continue
        with np.errstate(all="ignore"):
            slipped = factor * _array(slope(at))
        if _close(actual, slipped, rtol, atol) and not _close(slipped, expected, rtol, atol):
            return Finding(key, f"{PATTERNS[key]}: {words}")
    return None


_VARIANT_WORDS = {
    "derivative_at_output": "the activation's derivative is evaluated at the wrong place (at a layer's output "
                            "instead of its input)",
    "derivative_at_input": "the activation's derivative is evaluated at the wrong place (its output form applied "
                           "to a layer's input)",
    "missing_local_derivative": "the activation's derivative is missing from the backward pass: multiply by f'(z) "
                                "at every layer that has an activation",
    "missing_path": "one path is missing from the backward pass: where a value feeds two paths, their "
                    "gradients add",
    "neighbour_layer": "the loop over layers is off by one: it uses a neighbouring layer's weights or "
                       "activations",
}


def _variants(actual, expected, context, rtol, atol) -> Finding | None:
    variants = context.get("variants") or {}
    matches = [key for key, value in variants.items()
               if key in _VARIANT_WORDS and _close(actual, _array(value), rtol, atol)
               and not _close(_array(value), expected, rtol, atol)]
    if len(matches) == 1:
        return Finding(matches[0], _VARIANT_WORDS[matches[0]])
    return None


#: In this order: the test's context first (most specific), then the patterns needing none.
_CHECKS = (_variants, _terms, _paths, _chain_step, _neighbours, _layer_widths, _transpose, _sign, _factor)


def diagnose_shape(actual_shape: tuple[int, ...], expected_shape: tuple[int, ...],
                   context: Mapping[str, object] | None = None) -> Finding | None:
    """What a wrong shape says, from the context alone (a neighbouring layer's shape)."""
    if not context or tuple(actual_shape) == tuple(expected_shape):
        return None
    actual, expected = np.zeros(actual_shape), np.ones(expected_shape)  # values play no part below
    for check in (_neighbours, _layer_widths):
        found = check(actual, expected, dict(context), 0.0, 0.0)
        if found is not None:
            return found
    return None


def diagnose(actual: object, expected: object, context: Mapping[str, object] | None = None, *,
             rtol: float = 1e-6, atol: float = 1e-9) -> Finding | None:
    """The pattern that turns ``expected`` into ``actual`` exactly, or None when none does."""
    actual_array, expected_array = _array(actual), _array(expected)
    if actual_array is None or expected_array is None or expected_array.size == 0:
        return None
    context = dict(context or {})
    for check in _CHECKS:
        try:
            found = check(actual_array, expected_array, context, rtol, atol)
        except (TypeError, ValueError, ArithmeticError):  # a context that does not fit this value
            found = None
        if found is not None:
            return found
    return None
