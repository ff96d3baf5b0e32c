"""How long one move of the learning-rate lab's slider takes: the retraining alone, and the whole
update (retraining, redrawing, encoding the PNG). Target: retraining well under 0.2 s."""

import numpy as np

from backprop_lab.lr_lab import LearningRateLab, run
from benchmarks.timing import describe, quietly, time_calls

UPDATES = 20
RATES = np.geomspace(1e-3, 10, UPDATES)  # a sweep over the whole slider: crawling, converging, diverging


def main() -> None:
    with quietly():
        lab = LearningRateLab()
    for epochs in (lab.epochs.value, lab.epochs.max):
        with quietly():
            lab.epochs.value = epochs
        settings = {"epochs": epochs, "hidden": lab.hidden.value, "seed": lab.seed.value, "output": "linear"}
        training = time_calls(lambda i, settings=settings: run(float(RATES[i]), **settings), UPDATES)
        updates = time_calls(lambda i: setattr(lab.learning_rate, "value", float(RATES[i])), UPDATES)
        print(f"{UPDATES} slider moves over lr 1e-3..10, {epochs} epochs, linear output:")
        print(describe("  retraining", training))
        print(describe("  whole update (+ PNG)", updates))


if __name__ == "__main__":
    main()
