"""The grading service: hidden-test feedback in a class, without handing out the hidden tests.

In a class the masters (and their hidden tests) stay with the instructors. The check cell of a
learner's exercise sends the saved notebook to this service, which runs on the hub (a
JupyterHub-managed service, ``hub/grading_service.py``), grades it with the course's one engine
(:func:`autograder.grading.grade_notebook`, in the sandbox of :mod:`autograder.sandbox`) and
answers with the per-test report only: points, pass or fail, and the message that names the
mistake, never a hidden test's code or traceback.

- :mod:`.config`: names, ports, paths and limits, read by the hub's configuration, the service,
  the Kubernetes manifests' test and the check cell (the one source of truth);
- :mod:`.store`: the queue and the instructor's log, in SQLite (a restart loses nothing
  acknowledged), fair across learners, with a per-learner hourly cap;
- :mod:`.workers`: a pool of grading processes; a process that dies has its check retried once;
- :mod:`.report`: what a learner may see of a report;
- :mod:`.client`: the check cell's side (:func:`autograder.selfcheck.check_my_work`);
- ``python -m autograder.service log``: the instructor's log of every check.
"""
