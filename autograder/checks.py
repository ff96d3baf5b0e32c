"""Check helpers for graded test cells: failures that name the mistake.

Every test cell of every assignment checks answers through these helpers. A failed check
raises :class:`Mistake`, an ``AssertionError`` whose message is written for the learner:
what is wrong, where, and, when the answer matches a known wrong answer, which mistake
produced it ("you forgot the inner derivative 2x"). A passing check prints nothing, so a
passing test cell writes nothing to stderr (nbgrader scores such a cell as failed).

Typical use in a test cell::

    x = np.linspace(-2, 2, 9)
    check_close(dh_dx(x), 6 * x * (x**2 + 1) ** 2, "dh_dx(x)",
                mistakes={"you forgot the inner derivative 2x": 3 * (x**2 + 1) ** 2})

The helpers run in the grader's own process (the judge, :mod:`autograder.judge`), never in
the learner's kernel: learner code cannot reach them, numpy or the comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as _np

from . import diagnosis as _diagnosis
from .explain import explain_uncaught

__all__ = [
    "Mistake",
    "explain_uncaught",
    "check_callable",
    "check_close",
    "check_returns_none",
    "check_shape",
    "check_true",
    "check_unchanged",
    "fresh_rng",
    "reference_gradient",
]


class Mistake(AssertionError):
    """A wrong answer; the message tells the learner what is wrong and why.

    ``key`` names the mistake as data (None when the check named none): a listed mistake's
    description, or ``"diagnosis:<pattern>"`` for a pattern of :mod:`autograder.diagnosis`. The
    grader counts the class's mistakes by it (:mod:`autograder.misconceptions`), never by the
    message's words.
    """

    def __init__(self, message: str = "", key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        if key is not None:
            _named.append(key)


# --- converting and describing answers --------------------------------------------------


def _to_array(value: object, what: str) -> _np.ndarray:
    if value is None:
        raise Mistake(f"{what} returned None: did you forget a `return` statement?")
    try:
        array = _np.asarray(value, dtype=_np.float64)
    except (TypeError, ValueError) as error:
        raise Mistake(
            f"{what} should be a number or an array of numbers, got {type(value).__name__} ({error})."
        ) from None
    return array.view(_np.ndarray)


def _describe_shape(shape: tuple[int, ...]) -> str:
    return "a scalar" if shape == () else f"shape {shape}"


def _shape_hint(actual: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(actual) == len(expected) == 2 and actual == expected[::-1]:
        return " It looks transposed: check which operand of the matrix product comes first and which is transposed."
    if len(actual) < len(expected):
        return " An axis is missing: did you sum or average over an axis that should stay?"
    if len(actual) > len(expected):
        return " There is an extra axis: did you forget to sum over an axis (for example the batch axis)?"
    return ""


def _allclose(actual: _np.ndarray, expected: _np.ndarray, rtol: float, atol: float) -> bool:
    if actual.shape != expected.shape:
        return False
    both_nan = (actual != actual) & (expected != expected)
    same_inf = (actual == expected)  # handles +-inf, which make abs(actual - expected) nan
    with _np.errstate(invalid="ignore", over="ignore"):
        close = abs(actual - expected) <= atol + rtol * abs(expected)
    return bool((close | same_inf | both_nan).all())


def _worst_entry(actual: _np.ndarray, expected: _np.ndarray) -> str:
    if actual.ndim == 0:
        return f"expected {float(expected):.6g}, got {float(actual):.6g}"
    with _np.errstate(invalid="ignore", over="ignore"):
        error = abs(actual - expected)
    error = _np.where(error != error, _np.inf, error)
    flat = int(error.argmax())
    index = tuple(int(i) for i in _np.unravel_index(flat, actual.shape))
    shown = index[0] if len(index) == 1 else index
    wrong = int((error > 0).sum())
    return (
        f"at index {shown} expected {expected[index]:.6g}, got {actual[index]:.6g} "
        f"({wrong} of {actual.size} entries differ)"
    )


def _shapes_note(actual: _np.ndarray, expected: _np.ndarray) -> str:
    if actual.shape == expected.shape:
        return f" (got and expected {_describe_shape(expected.shape)})" if expected.ndim else ""
    return f" (got {_describe_shape(actual.shape)}, expected {_describe_shape(expected.shape)})"


#: The mime type of the small record a named mistake leaves in its test cell's outputs (the grader
#: counts them; the record shows nothing).
MISTAKE_MIME = "application/vnd.backprop-lab.mistake+json"
#: The keys of the mistakes named since the grader started the current test cell.
_named: list[str] = []


def _take_mistakes() -> list[str]:
    """The keys of the mistakes the current test cell's checks named (the grader calls this after
    the cell and puts them in its outputs: :func:`mistake_record`)."""
    keys = list(_named)
    _named.clear()
    return keys


def mistake_record(key: str) -> dict:
    """The output that carries a named mistake's key: a display record, invisible in JupyterLab
    and in feedback."""
    return {"output_type": "display_data", "metadata": {}, "data": {MISTAKE_MIME: {"key": key}, "text/plain": ""}}


# --- the checks -------------------------------------------------------------------------


def check_close(
    actual: object,
    expected: object,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: Mapping[str, object] | None = None,
    hint: str | None = None,
    context: Mapping[str, object] | None = None,
) -> None:
    """Pass when ``actual`` matches ``expected`` elementwise within the tolerances.

    ``mistakes`` maps a description of a common mistake to the answer that mistake gives; when
    ``actual`` matches one of them, the failure message names that mistake. Otherwise the
    general diagnosis (:func:`autograder.diagnosis.diagnose`, with ``context`` if given) names
    the usual slip it sees, if any. ``hint`` is added to the message of any other failure.
    """
    expected_array = _to_array(expected, "the expected value")
    actual_array = _to_array(actual, what)
    if _allclose(actual_array, expected_array, rtol, atol):
        return
    for description, wrong_answer in (mistakes or {}).items():
        wrong_array = _to_array(wrong_answer, "a known wrong answer")
        if _allclose(actual_array, wrong_array, rtol, atol):
            raise Mistake(f"{what} is wrong: {description}.", key=description)
    extra = f" Hint: {hint}" if hint else ""
    found = _diagnosis.diagnose(actual_array, expected_array, context, rtol=rtol, atol=atol)
    if found is not None:
        # (a square matrix has its own shape reversed: only a shape that differs can look transposed)
        same_shape = actual_array.shape == expected_array.shape
        shape_hint = "" if same_shape else _shape_hint(actual_array.shape, expected_array.shape)
        raise Mistake(f"{what} is wrong: {found.sentence}" + _shapes_note(actual_array, expected_array) + "."
                      + shape_hint + extra,
                      key=f"diagnosis:{found.key}")
    if actual_array.shape != expected_array.shape:
        raise Mistake(
            f"{what} has {_describe_shape(actual_array.shape)}, expected "
            f"{_describe_shape(expected_array.shape)}."
            + _shape_hint(actual_array.shape, expected_array.shape)
            + extra
        )
    if not _np.isfinite(actual_array).all() and _np.isfinite(expected_array).all():
        raise Mistake(
            f"{what} contains nan or inf where the answer is finite: an overflow, a division by "
            "zero or a log of zero?" + extra
        )
    raise Mistake(f"{what} is wrong: {_worst_entry(actual_array, expected_array)}"
                  + (f", {_describe_shape(expected_array.shape)}" if expected_array.ndim else "") + "." + extra)


def check_shape(actual: object, shape: tuple[int, ...], what: str, *, hint: str | None = None,
                context: Mapping[str, object] | None = None) -> None:
    """Pass when ``actual`` is an array (or number) of exactly this shape; ``context`` as for
    :func:`check_close` (a neighbouring layer's shape is named)."""
    actual_shape = _to_array(actual, what).shape
    if actual_shape != tuple(shape):
        extra = f" Hint: {hint}" if hint else ""
        found = _diagnosis.diagnose_shape(actual_shape, tuple(shape), context)
        if found is not None:
            raise Mistake(f"{what} has {_describe_shape(actual_shape)}, expected {_describe_shape(tuple(shape))}: "
                          f"{found.sentence}." + extra, key=f"diagnosis:{found.key}")
        raise Mistake(
            f"{what} has {_describe_shape(actual_shape)}, expected {_describe_shape(tuple(shape))}."
            + _shape_hint(actual_shape, tuple(shape))
            + extra
        )


def check_true(condition: object, message: str) -> None:
    """Pass when ``condition`` holds; otherwise fail with ``message`` (written for the learner)."""
    if not bool(condition):
        raise Mistake(message)


def check_callable(value: object, what: str) -> None:
    """Pass when ``value`` can be called, e.g. the function a higher-order function returns."""
    if not callable(value):
        raise Mistake(f"{what} should be a function, got {type(value).__name__}.")


def check_returns_none(value: object, what: str) -> None:
    """Pass when a function that works in place returned None, as the contract says."""
    if value is not None:
        raise Mistake(f"{what} should update its argument in place and return None, got {type(value).__name__}.")


def check_unchanged(value: object, original: object, what: str, *, hint: str | None = None) -> None:
    """Pass when an input the learner's code received is exactly as it was before the call.

    ``hint`` replaces the default advice (work on a copy), e.g. where the contract asks the
    function to change its input in place and restore it.
    """
    if not _allclose(_to_array(value, what), _to_array(original, what), rtol=0.0, atol=0.0):
        if hint:
            raise Mistake(f"{what} was modified: {hint}")
        raise Mistake(f"{what} was modified: your function must leave its inputs as it found them (work on a copy).")


#: The seed the grader gave the test cell that is running (see autograder.seeds), and how many
#: generators that cell has drawn. Outside grading there is none: values are fresh each run.
_test_seed: dict[str, int | None] = {"seed": None, "draws": 0}


def fresh_rng() -> _np.random.Generator:
    """A random generator for a hidden test: seeded by the grader per test cell, so that a regrade
    draws the same values; from the operating system when no grader set a seed."""
    seed = _test_seed["seed"]
    if seed is None:
        return _np.random.default_rng()
    _test_seed["draws"] += 1
    return _np.random.default_rng([seed, _test_seed["draws"]])


def _start_test(seed: int | None) -> None:
    """Called by the grader before each test cell."""
    _test_seed.update(seed=seed, draws=0)
    _named.clear()


def reference_gradient(f: Callable[[_np.ndarray], float], x: object, h: float = 1e-6) -> _np.ndarray:
    """The grader's own central-difference gradient of scalar ``f`` at ``x`` (float64)."""
    point = _to_array(x, "x").copy()
    gradient = _np.zeros_like(point)
    flat_point, flat_gradient = point.reshape(-1), gradient.reshape(-1)
    for i in range(flat_point.size):
        saved = flat_point[i]
        flat_point[i] = saved + h
        upper = float(f(point))
        flat_point[i] = saved - h
        lower = float(f(point))
        flat_point[i] = saved
        flat_gradient[i] = (upper - lower) / (2 * h)
    return gradient
