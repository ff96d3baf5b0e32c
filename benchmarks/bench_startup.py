"""What starting one of the course's processes costs before it does any work.

Every grading run, nbgrader command, Jupyter server and notebook run starts a Python that
imports its stack; a suite or a class starts hundreds. Printed: the median wall time of each
import in a fresh interpreter, beside a bare interpreter's. excluded-packages.txt keeps one
package out because it alone cost 1.2 s of these imports (autograder.grading: 2.1 s with it,
0.9 s without, measured on these 2 cores).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

IMPORTS = {
    "bare interpreter": "pass",
    "nbformat (every notebook read)": "import nbformat",
    "autograder.grading (a grader)": "import autograder.grading",
    "nbgrader.apps (an nbgrader command)": "import nbgrader.apps",
    "jupyter_server (a lab server)": "import jupyter_server.serverapp",
}
REPEATS = 5


def started(code: str) -> float:
    times = []
    for _ in range(REPEATS):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def main() -> None:
    bare = None
    for name, code in IMPORTS.items():
        seconds = started(code)
        bare = bare or seconds
        print(f"{name:<38} {seconds:5.2f} s   {seconds / bare:5.1f}x a bare interpreter", flush=True)


if __name__ == "__main__":
    main()
