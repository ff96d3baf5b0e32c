"""How long one move of the learning-rate lab's slider takes: the retraining alone, and the whole
update (retraining, redrawing, encoding the PNG). Target: retraining well under 0.2 s.

Wall time is what a learner feels; CPU time (this process only) is what the work costs, and is
the better figure on a machine shared with other jobs, where wall time includes waiting for a core.
"""

import statistics
import time

import numpy as np

from backprop_lab.lr_lab import LearningRateLab, run

UPDATES = 20
RATES = np.geomspace(1e-3, 10, UPDATES)  # a sweep over the whole slider: crawling, converging, diverging


def _timed(action) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def _describe(name: str, samples: list[tuple[float, float]]) -> str:
    parts = []
    for label, values in (("wall", [s[0] for s in samples]), ("cpu", [s[1] for s in samples])):
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        parts.append(f"{label} median {statistics.median(ordered) * 1000:6.1f} ms, p90 {p90 * 1000:6.1f} ms")
    return f"{name:<24} " + " | ".join(parts)


def main() -> None:
    lab = LearningRateLab()
    for epochs in (lab.epochs.value, lab.epochs.max):
        lab.epochs.value = epochs
        settings = {"epochs": epochs, "hidden": lab.hidden.value, "seed": lab.seed.value, "output": "linear"}
        training = [_timed(lambda rate=rate, settings=settings: run(float(rate), **settings)) for rate in RATES]
        updates = [_timed(lambda rate=rate: setattr(lab.learning_rate, "value", float(rate))) for rate in RATES]
        print(f"{UPDATES} slider moves over lr 1e-3..10, {epochs} epochs, linear output:")
        print("  " + _describe("retraining", training))
        print("  " + _describe("whole update (+ PNG)", updates))


if __name__ == "__main__":
    main()
