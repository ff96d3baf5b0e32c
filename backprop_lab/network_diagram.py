"""A small fully connected network drawn as circles and arrows, with numbers a learner can follow.

Lesson 03's worked example draws its 2 -> 2 -> 1 network with every forward value in the
nodes, every weight on its arrow and, after the backward pass, every gradient beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def _column(count: int, x: float) -> list[tuple[float, float]]:
    ys = np.linspace(1, -1, count) if count > 1 else np.array([0.0])
    return [(x, float(y)) for y in ys * 0.9]


def draw_network(
    layers: Sequence[Sequence[str]],
    weights: Sequence[np.ndarray],
    weight_notes: Sequence[np.ndarray] | None = None,
    title: str = "",
    figsize: tuple[float, float] = (9.0, 4.6),
):
    """Draw layers of labelled nodes, fully connected from one layer to the next.

    layers[k][i] is the text inside node i of layer k (several lines allowed).
    weights[k] has shape (len(layers[k]), len(layers[k + 1])), in the course's row-vector
    convention (W[i, j] joins node i of layer k to node j of layer k + 1); each arrow is
    labelled with its weight, and with weight_notes[k][i, j] under it when given (a gradient).
    Returns the figure.
    """
    fig, ax = plt.subplots(figsize=figsize)
    positions = [_column(len(layer), 3.2 * k) for k, layer in enumerate(layers)]
    for k, W in enumerate(weights):
        W = np.asarray(W)
        assert W.shape == (len(layers[k]), len(layers[k + 1])), (k, W.shape)
        for i, (x0, y0) in enumerate(positions[k]):
            for j, (x1, y1) in enumerate(positions[k + 1]):
                ax.annotate("", xy=(x1 - 0.55, y1), xytext=(x0 + 0.55, y0),
                            arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 1.2})
                t = 0.28  # near the source, where crossing arrows are still apart
                lx, ly = x0 + 0.55 + t * (x1 - x0 - 1.1), y0 + t * (y1 - y0)
                text = f"w={W[i, j]:.2f}"
                if weight_notes is not None:
                    text += f"\ngrad {np.asarray(weight_notes[k])[i, j]:+.4f}"
                ax.text(lx, ly, text, fontsize=7.5, ha="center", va="center", color="tab:blue",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    for layer, column in zip(layers, positions, strict=True):
        for text, (x, y) in zip(layer, column, strict=True):
            ax.add_patch(plt.Circle((x, y), 0.55, fc="#fff4dc", ec="0.2", lw=1.2))
            ax.text(x, y, text, ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.8, 3.2 * (len(layers) - 1) + 0.8)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
