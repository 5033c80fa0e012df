"""Behaviour, not only numbers: a strip of frames across one episode of each algorithm's best
policy on one task (rows: algorithms; columns: moments of the episode)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def frame_strip(strips: np.ndarray, labels: list[str], task: str) -> plt.Figure:
    """``strips``: (algorithms, frames, H, W, 3) uint8; ``labels``: one per row."""
    rows, cols = strips.shape[:2]
    figure, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(strips[r, c])
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(labels[r], fontsize=8)
    figure.suptitle(f"{task}: the best policy of each algorithm, frames across one episode", fontsize=9)
    figure.tight_layout()
    return figure
