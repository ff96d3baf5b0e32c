"""Backprop Lab's grading tools. Where each step of grading happens:

- :mod:`autograder.course`        where the course lives (paths) and its limits
- :mod:`autograder.cells`         what a cell is, and the one rule that puts the instructor's cells back
- :mod:`autograder.execute`       running a restored notebook: the policy, the sandboxed kernel, in-process
- :mod:`autograder.grading`       the engine: restore, run, score one notebook (self-check, suite)
- :mod:`autograder.pipelines`     the same pieces as nbgrader's autograde and feedback phases
- :mod:`autograder.problems`      what went wrong, as typed records, from execution to the export
- :mod:`autograder.seeds`         each test cell's seed: the same grade every time, and replays
- :mod:`autograder.classroom`     grade a whole class in parallel, as nbgrader autograde would
- :mod:`autograder.export`        the grade export with "not graded" and its reason
- :mod:`autograder.authoring`     generate exercises and solutions; an instructor's course folder
- :mod:`autograder.selfcheck`     the learner's "check my work" cell
- :mod:`autograder.service`       a class's grading service: hidden-test feedback from the hub (hub/grading_service.py)
- :mod:`autograder.judge`         test cells run in the grader's process; learner objects are
  proxies and only data crosses (:mod:`autograder.judge_agent` answers in the kernel)
- :mod:`autograder.checks`        what test cells call; failures name the mistake, with
  :mod:`autograder.diagnosis` (the general diagnosis), :mod:`autograder.explain` (an error of
  learner code as a sentence) and :mod:`autograder.lessons` (the lesson section of each function)
- :mod:`autograder.misconceptions` the class's named mistakes: counts, the HTML report
- :mod:`autograder.sandbox`       the kernel's jail and limits; :mod:`autograder.tamper` refuses
  learner cells that import the course's own code
- :mod:`autograder.torch_harness` step 06's torch objects, built and run in the kernel, as data
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
