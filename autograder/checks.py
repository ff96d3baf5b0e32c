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

Tamper resistance. A submission runs in the same kernel as the tests, so it could replace
numpy functions (``np.allclose = lambda *a, **k: True``) or these helpers. This module:

* compares with operators on plain float64 arrays and with numpy functions captured when it
  was imported, never with numpy functions looked up at check time;
* records numpy's public namespaces when imported and refuses to check anything (raising
  :class:`Tampering`) once one of them was rebound, or when a numpy function it sees was not
  defined inside numpy at all;
* makes its own attributes read-only.

Import it before any learner code runs (the exercise's first cell does) so that the recorded
namespaces are numpy's own.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Mapping

import numpy as _np

from . import diagnosis as _diagnosis
from .explain import explain_uncaught
from .readonly import make_read_only

__all__ = [
    "Mistake",
    "Tampering",
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
            _record_mistake(key)


class Tampering(AssertionError):
    """The submission replaced numpy functions or the course's check helpers."""


# --- numpy, as it was when this module was imported ------------------------------------

_WATCHED_NAMESPACES = {
    "numpy": _np,
    "numpy.linalg": _np.linalg,
    "numpy.random": _np.random,
    "numpy.testing": _np.testing,
}
# Steps that grade with torch import it before these helpers; watch it too when it is there.
if "torch" in sys.modules:
    # The first optimizer loads torch._dynamo, which rebinds torch.manual_seed: load it now, so
    # that what is recorded below is torch as it will stay.
    import torch._dynamo  # noqa: F401

    _torch = sys.modules["torch"]
    _WATCHED_NAMESPACES.update(
        {"torch": _torch, "torch.autograd": _torch.autograd, "torch.nn.functional": _torch.nn.functional}
    )
_as_float_array = _np.asarray
_isfinite = _np.isfinite
_unravel_index = _np.unravel_index
_default_rng = _np.random.default_rng
_float64 = _np.float64
_ndarray = _np.ndarray


_TRUSTED_DIRS = tuple(
    os.path.dirname(module.__file__) for module in (_np, os, sys.modules.get("torch")) if module is not None
)


def _defined_outside_numpy(value: object) -> bool:
    """True for a Python function written in a notebook, an exec'd string or any other file.

    numpy's (and torch's) functions come from their own files, from the standard library
    (contextlib wrappers), or from Cython modules, whose code objects carry a relative path.
    """
    if not isinstance(value, types.FunctionType):
        return False  # C functions, ufuncs, classes and constants cannot be faked this way
    filename = value.__code__.co_filename
    if not os.path.isabs(filename):
        return filename.startswith("<")  # "<string>", "<lambda>": code made at run time
    return not filename.startswith(_TRUSTED_DIRS)


def _snapshot() -> dict[tuple[str, str], int]:
    return {
        (space_name, attr): id(getattr(space, attr))
        for space_name, space in _WATCHED_NAMESPACES.items()
        for attr in dir(space)
        if not attr.startswith("_")
    }


def _find_foreign_functions() -> list[str]:
    return [
        f"{space_name}.{attr}"
        for space_name, space in _WATCHED_NAMESPACES.items()
        for attr in dir(space)
        if not attr.startswith("_") and _defined_outside_numpy(getattr(space, attr, None))
    ]


def _changed_since_import() -> list[str]:
    # Only names that existed at import count: a library loading a submodule later adds names,
    # and a name the learner adds is never used by the tests.
    now = _snapshot()
    return sorted(
        f"{space}.{attr}"
        for (space, attr), ident in now.items()
        if (space, attr) in _NUMPY_AT_IMPORT and _NUMPY_AT_IMPORT[(space, attr)] != ident
    )


def _guard() -> None:
    """Refuse to grade in a kernel where numpy or these helpers were replaced."""
    replaced = _changed_since_import() + _find_foreign_functions()
    module = sys.modules.get(__name__)
    if module is not None:
        replaced += [
            f"{__name__}.{name}"
            for name, ident in _HELPERS_AT_IMPORT.items()
            if id(module.__dict__.get(name)) != ident
        ]
    if replaced:
        raise Tampering(
            "This notebook replaced functions the grader relies on ("
            + ", ".join(sorted(set(replaced))[:8])
            + "). Remove the code that reassigns them and restart the kernel."
        )


# --- converting and describing answers --------------------------------------------------


def _to_array(value: object, what: str) -> _np.ndarray:
    if value is None:
        raise Mistake(f"{what} returned None: did you forget a `return` statement?")
    try:
        array = _as_float_array(value, dtype=_float64)
    except (TypeError, ValueError) as error:
        raise Mistake(
            f"{what} should be a number or an array of numbers, got {type(value).__name__} ({error})."
        ) from None
    return array.view(_ndarray)


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
    index = tuple(int(i) for i in _unravel_index(flat, actual.shape))
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


#: The mime type of the small record a named mistake leaves next to its error (the grader counts them).
MISTAKE_MIME = "application/vnd.backprop-lab.mistake+json"


def _record_mistake(key: str) -> None:
    """Leave the mistake's key as data in the test cell's outputs: a display record in a kernel
    (invisible in JupyterLab), a marked stdout line when grading in the grader's own process."""
    if not os.environ.get("BACKPROP_LAB_GRADING"):
        return  # a learner running a test cell by hand sees the message only
    record = {"key": key}
    shell = None
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
    if shell is not None and hasattr(shell, "display_pub"):
        from IPython.display import display

        display({MISTAKE_MIME: record, "text/plain": ""}, raw=True)
    else:
        import json

        print(MISTAKE_LINE_PREFIX + json.dumps(record))


#: How a mistake's record is written where no kernel shows display records (the suite's in-process grading).
MISTAKE_LINE_PREFIX = "[named mistake] "


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
    _guard()
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
    if not _isfinite(actual_array).all() and _isfinite(expected_array).all():
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
    _guard()
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
    _guard()
    if not bool(condition):
        raise Mistake(message)


def check_callable(value: object, what: str) -> None:
    """Pass when ``value`` can be called, e.g. the function a higher-order function returns."""
    _guard()
    if not callable(value):
        raise Mistake(f"{what} should be a function, got {type(value).__name__}.")


def check_returns_none(value: object, what: str) -> None:
    """Pass when a function that works in place returned None, as the contract says."""
    _guard()
    if value is not None:
        raise Mistake(f"{what} should update its argument in place and return None, got {type(value).__name__}.")


def check_unchanged(value: object, original: object, what: str, *, hint: str | None = None) -> None:
    """Pass when an input the learner's code received is exactly as it was before the call.

    ``hint`` replaces the default advice (work on a copy), e.g. where the contract asks the
    function to change its input in place and restore it.
    """
    _guard()
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
    _guard()
    seed = _test_seed["seed"]
    if seed is None:
        return _default_rng()
    _test_seed["draws"] += 1
    return _default_rng([seed, _test_seed["draws"]])


def _start_test(seed: int | None) -> None:
    """Called by the grader's guard before each test cell."""
    _test_seed.update(seed=seed, draws=0)


def reference_gradient(f: Callable[[_np.ndarray], float], x: object, h: float = 1e-6) -> _np.ndarray:
    """The grader's own central-difference gradient of scalar ``f`` at ``x`` (float64)."""
    _guard()
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


# --- freeze: record what was there at import, and make this module read-only ------------

_NUMPY_AT_IMPORT = _snapshot()
_foreign_at_import = _find_foreign_functions()
if _foreign_at_import:
    raise Tampering(
        "numpy was modified before the grader started (" + ", ".join(_foreign_at_import[:8]) + ")."
    )
_HELPERS_AT_IMPORT = {name: id(globals()[name]) for name in __all__}


make_read_only(__name__, Tampering, "the course's check helpers")
