"""nbgrader configuration for Backprop Lab, read by an instructor's ``nbgrader`` commands.

Run nbgrader from this folder (``cd autograder && nbgrader generate_assignment 01_chain_rule``)
or pass ``--config autograder/nbgrader_config.py``. The settings themselves live in
:func:`autograder.pipelines.nbgrader_config`, which the course's own tools use too.
"""

from autograder.pipelines import nbgrader_config

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)
c.merge(nbgrader_config())
