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
