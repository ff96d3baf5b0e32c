"""Backprop Lab's grading tools: check helpers for test cells, generation and grading.

- :mod:`autograder.checks`   helpers that test cells call; failures name the mistake
- :mod:`autograder.course`   where the course lives, its nbgrader configuration, generation
- :mod:`autograder.grading`  grade one notebook against its assignment's tests
- ``python -m autograder``   the command line (``--help`` lists the commands)
"""
