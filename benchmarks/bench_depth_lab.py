"""How long one depth-lab update takes at depth 50 (the target: well under 0.3 s).

An update recomputes the per-layer gradient norms, runs the short SGD curve, redraws both panels
and renders the PNG the widget shows. Prints the median and the 90th percentile of 20 updates,
and the share of the compute (numpy) and the render (matplotlib).
"""

from backprop_lab.depth_lab import DepthLab, run_experiment
from benchmarks.timing import describe, quietly, time_calls

REPEATS = 20
# The heaviest settings the lab allows: depth 50, width 64, naive init (the exploding and
# vanishing runs are the ones that go through all their steps); each update changes one control.
ACTIVATIONS = ["sigmoid", "relu", "tanh"]


def main() -> None:
    with quietly():
        lab = DepthLab(depth=50, width=64, activation="tanh", init="naive")

    def full_update(i: int) -> None:
        lab.dropdowns["activation"].value = ACTIVATIONS[i % len(ACTIVATIONS)]  # one change = one update

    def compute_only(i: int) -> None:
        run_experiment(50, ACTIVATIONS[i % len(ACTIVATIONS)], "naive", width=64)

    print(describe("update at depth 50, width 64", time_calls(full_update, REPEATS)))
    print(describe("  of which numpy", time_calls(compute_only, REPEATS)))
    print(describe("  of which PNG render", time_calls(lambda _: lab.render_png(), REPEATS)))


if __name__ == "__main__":
    main()
