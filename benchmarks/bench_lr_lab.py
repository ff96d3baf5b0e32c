"""How long one move of a learning-rate lab slider takes: the retraining, and the full update
(retraining, redrawing and encoding the PNG). Target: retraining well under 0.2 s."""

import statistics
import time

import numpy as np

from backprop_lab.lr_lab import LearningRateLab

UPDATES = 20
RATES = np.geomspace(1e-3, 10, UPDATES)  # a sweep over the whole slider: crawling, converging, diverging


def _describe(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"{name:<26} median {statistics.median(ordered) * 1000:6.1f} ms   p90 {p90 * 1000:6.1f} ms"


def main() -> None:
    lab = LearningRateLab()
    for epochs in (lab.epochs.value, lab.epochs.max):
        lab.epochs.value = epochs
        training, updates = [], []
        for rate in RATES:
            started = time.perf_counter()
            lab.learning_rate.value = float(rate)
            updates.append(time.perf_counter() - started)
            training.append(lab.train_seconds)
        print(f"{UPDATES} slider moves over lr 1e-3..10, {epochs} epochs (linear output):")
        print("  " + _describe("retraining", training))
        print("  " + _describe("whole update (with PNG)", updates))


if __name__ == "__main__":
    main()
