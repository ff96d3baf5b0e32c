"""Runs inside a grading kernel: puts back what the tests rely on before every test cell.

The grader imports this module in the kernel before any learner code runs (the "preamble"),
right after running the assignment's locked set-up cell, and calls :func:`arm`. Before each
test cell it calls :func:`rearm`, which

* puts the modules recorded by :func:`arm` back into ``sys.modules`` (a submission that swapped
  ``sys.modules["numpy"]`` or ``sys.modules["autograder.checks"]`` gets the real ones back);
* runs the set-up cell again in the notebook's namespace, so ``np``, ``check_close`` and the
  other names the tests use are bound to the real objects, whatever the learner rebound;
* runs the check helpers' own guard, which raises :class:`autograder.checks.Tampering` when a
  numpy function was replaced in place (``np.allclose = ...``): the test cell then scores 0.

The learner's cells never see this module under a name they can guess (the grader binds it to
a random name), and :mod:`autograder.tamper` refuses the constructs that could reach it.
"""

from __future__ import annotations

import sys
import types

from .readonly import make_read_only

#: Modules (and their submodules) whose entries in ``sys.modules`` are restored.
WATCHED_PACKAGES = ("numpy", "torch", "autograder")

_trusted_modules: dict[str, types.ModuleType] = {}
_setup_code: list[types.CodeType] = []


def _watched(name: str) -> bool:
    return any(name == package or name.startswith(package + ".") for package in WATCHED_PACKAGES)


def arm(setup_source: str) -> None:
    """Record the real modules and the set-up code; called once, before any learner code."""
    _trusted_modules.clear()
    _trusted_modules.update({name: module for name, module in sys.modules.items() if _watched(name)})
    _setup_code[:] = [compile(setup_source, "<grader set-up>", "exec")]


def rearm(namespace: dict, seed: int | None = None) -> None:
    """Restore the modules and the names the tests use, check numpy is untouched, and give the
    test cell about to run its seed."""
    for name in [name for name in sys.modules if _watched(name) and name not in _trusted_modules]:
        del sys.modules[name]  # a module the learner added under a watched name
    sys.modules.update(_trusted_modules)
    for code in _setup_code:
        exec(code, namespace)
    checks = _trusted_modules.get("autograder.checks")
    if checks is not None:
        checks._guard()
        checks._start_test(seed)
    _explain_errors_of_next_cell()


# --- an exception from learner code in a test cell: a sentence, not a traceback ---------------

#: "pending" from rearm until the next cell starts, which is the test cell: "active" while it runs.
_explaining: dict[str, bool] = {"pending": False, "active": False, "installed": False}


def _explain_errors_of_next_cell() -> None:
    """In a kernel, the test cell about to run reports an exception escaping learner code as
    :func:`autograder.checks.explain_uncaught`'s sentence (the in-process engine does the same
    in :mod:`autograder.execute`)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return
    _explaining["pending"] = True
    if not _explaining["installed"]:
        _explaining["installed"] = True
        shell.events.register("pre_run_cell", _on_cell_start)
        shell.set_custom_exc((Exception,), _show_error)


def _on_cell_start(*_info) -> None:
    _explaining["active"], _explaining["pending"] = _explaining["pending"], False


def _show_error(shell, etype, value, tb, tb_offset=None):
    from .explain import explain_uncaught, should_explain

    if not (_explaining["active"] and should_explain(value)):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return []
    sentence = explain_uncaught(value)
    stb = [f"{etype.__name__}: {sentence}"]
    shell._showtraceback(etype, sentence, stb)
    return stb


make_read_only(__name__, AttributeError, "the grader's guard")
