"""Backprop Lab's grading tools.

- :mod:`autograder.checks`        helpers that test cells call; failures name the mistake
- :mod:`autograder.grading`       grade one notebook against its assignment's tests
- :mod:`autograder.selfcheck`     the learner's "check my work" cell
- :mod:`autograder.course`        where the course lives, its nbgrader configuration, generation
- :mod:`autograder.classroom`     grade a whole class in parallel, as nbgrader autograde would
- :mod:`autograder.execute`       hardened execution: time limits, restored tests, clean feedback
- :mod:`autograder.tamper`, :mod:`autograder.kernel_guard`, :mod:`autograder.sandbox`
                                  what keeps a submission from gaming the grade or the gradebook
- ``python -m autograder``        the command line (``--help`` lists the commands)
"""

import os as _os
import sys as _sys
from pathlib import Path as _Path


def _put_this_pythons_scripts_on_path() -> None:
    """nbgrader shells out to ``alembic``: make ``.venv/bin/python -m autograder`` work without
    an activated venv by putting this interpreter's scripts folder first on PATH."""
    scripts = str(_Path(_sys.executable).parent)
    if scripts not in _os.environ.get("PATH", "").split(_os.pathsep):
        _os.environ["PATH"] = scripts + _os.pathsep + _os.environ.get("PATH", "")


_put_this_pythons_scripts_on_path()
