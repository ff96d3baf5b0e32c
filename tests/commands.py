"""Run the command-line tools the way a user does, without paying Python's start-up each time.

``nbgrader ...`` and ``python -m autograder ...`` spend about 3 s of CPU importing nbgrader
(Jupyter Server, nbconvert, SQLAlchemy) before they do anything; the suite runs dozens of them.
:func:`run` imports the tools once, in a server process, and runs each command in a forked copy of it:
the same entry point, argument parsing, configuration files (found from ``cwd``) and
environment as the installed script, in a fresh process that exits when the command ends. Only
the interpreter start and the imports are shared.

The result is a :class:`subprocess.CompletedProcess`, as :func:`subprocess.run` returns.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def _nbgrader(argv: list[str]) -> int | None:
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.clear_instance()
    return NbGraderApp.launch_instance(argv=argv)


def _autograder(argv: list[str]) -> int | None:
    from autograder import cli

    return cli.main(argv)


#: The tools, by the name a user types: each one's ``main(argv)``.
TOOLS: dict[str, Callable[[list[str]], int | None]] = {"nbgrader": _nbgrader, "autograder": _autograder}


#: Each command is forked from a server that only imported the tools (multiprocessing's
#: forkserver), not from this process: a test process that has run torch cannot be forked safely
#: (torch's OpenMP threads do not survive a fork, and the child hangs in its first parallel operation).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__, "nbgrader.apps.nbgraderapp", "autograder.cli"])


def _child(tool: str, argv: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # File descriptors too: the kernels and other programs the command starts write there.
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the process ends with the command)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stdin = open(os.devnull)  # noqa: SIM115
    try:
        code = TOOLS[tool](argv)
    except SystemExit as stop:
        code = stop.code
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def run(tool: str, args: Sequence[str], *, cwd: Path | str, env: Mapping[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    """``tool args...`` (``"nbgrader"`` or ``"autograder"``) in ``cwd``, with ``env`` added to this
    process's environment; its exit code, standard output and standard error."""
    with tempfile.TemporaryDirectory(prefix="bpl-command-") as scratch:
        out, err = Path(scratch, "stdout"), Path(scratch, "stderr")
        out.touch()
        err.touch()
        process = _CONTEXT.Process(
            target=_child, args=(tool, list(args), str(cwd), {**os.environ, **(env or {})}, str(out), str(err)),
        )
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([tool, *args], timeout, out.read_text(), err.read_text())
        return subprocess.CompletedProcess([tool, *args], process.exitcode, out.read_text(), err.read_text())
