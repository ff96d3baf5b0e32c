"""How long one depth-lab update takes at depth 50 (the target: well under 0.3 s).

An update recomputes the per-layer gradient norms, runs the short SGD curve, redraws both panels
and renders the PNG the widget shows. Prints the median and the 90th percentile of 20 updates,
and the share of the compute (numpy) and the render (matplotlib). Wall-clock time is what a
learner waits; the CPU time of this process is shown beside it because on a shared machine the
wall clock also measures everyone else's load.
"""

import time

import numpy as np

from backprop_lab.depth_lab import DepthLab, run_experiment

REPEATS = 20
# The heaviest settings the lab allows: depth 50, width 64, naive init (the exploding and
# vanishing runs are the ones that go through all their steps); each update changes one control.
ACTIVATIONS = ["sigmoid", "relu", "tanh"]


def _timings(action) -> tuple[np.ndarray, np.ndarray]:
    wall, cpu = [], []
    for i in range(REPEATS):
        started, started_cpu = time.perf_counter(), time.process_time()
        action(i)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return np.array(wall), np.array(cpu)


def _report(name: str, timings: tuple[np.ndarray, np.ndarray]) -> None:
    wall, cpu = (seconds * 1e3 for seconds in timings)
    print(
        f"{name:<30} wall: median {np.median(wall):4.0f} ms, p90 {np.percentile(wall, 90):4.0f} ms"
        f"   cpu: median {np.median(cpu):4.0f} ms, p90 {np.percentile(cpu, 90):4.0f} ms"
    )


def main() -> None:
    lab = DepthLab(depth=50, width=64, activation="tanh", init="naive")

    def full_update(i: int) -> None:
        lab.dropdowns["activation"].value = ACTIVATIONS[i % len(ACTIVATIONS)]  # one change = one update

    def compute_only(i: int) -> None:
        run_experiment(50, ACTIVATIONS[i % len(ACTIVATIONS)], "naive", width=64)

    _report("update at depth 50, width 64", _timings(full_update))
    _report("  of which numpy", _timings(compute_only))
    _report("  of which PNG render", _timings(lambda _: lab.render_png()))


if __name__ == "__main__":
    main()
