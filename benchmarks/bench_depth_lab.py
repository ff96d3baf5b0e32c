"""How long one depth-lab update takes at depth 50 (the target: well under 0.3 s).

An update recomputes the per-layer gradient norms, runs the short SGD curve, redraws both panels
and renders the PNG the widget shows. Prints the median and the 90th percentile of 20 updates,
and the share of the compute (numpy) and the render (matplotlib).
"""

import time

import numpy as np

from backprop_lab.depth_lab import DepthLab, run_experiment

REPEATS = 20
# The heaviest settings the lab allows: depth 50, width 64, naive init (the exploding and
# vanishing runs are the ones that go through all their steps); each update changes one control.
ACTIVATIONS = ["sigmoid", "relu", "tanh"]


def _timings(action) -> np.ndarray:
    seconds = []
    for i in range(REPEATS):
        started = time.perf_counter()
        action(i)
        seconds.append(time.perf_counter() - started)
    return np.array(seconds)


def _report(name: str, seconds: np.ndarray) -> None:
    print(f"{name:<28} median {np.median(seconds) * 1e3:6.0f} ms   p90 {np.percentile(seconds, 90) * 1e3:6.0f} ms")


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
