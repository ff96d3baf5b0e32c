"""Make a module's attributes read-only, so a submission cannot rebind what the grader uses."""

from __future__ import annotations

import sys
import types


def make_read_only(module_name: str, error: type[Exception], what: str) -> None:
    """From now on, setting or deleting an attribute of ``module_name`` raises ``error``.

    ``what`` names the module for the learner, e.g. "the course's check helpers".
    """

    class ReadOnlyModule(types.ModuleType):
        def __setattr__(self, name: str, value: object) -> None:
            raise error(f"{self.__name__}.{name} is read-only: {what} cannot be replaced.")

        def __delattr__(self, name: str) -> None:
            raise error(f"{self.__name__}.{name} is read-only: {what} cannot be deleted.")

    sys.modules[module_name].__class__ = ReadOnlyModule
