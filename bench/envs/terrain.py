"""Hilly terrain as rllab built it for the GPO paper's Hilly tasks (rllab pull request 121), from a
seed instead of a temporary image file.

- A height field 40 m × 40 m at 0.1 m resolution (401 × 401 samples, centred on the origin).
- 22 × 22 hill centres on a regular grid (484, about rllab's 500 over the area), each jittered by
  Gaussian noise of a third of the grid spacing; each hill a Gaussian bump of height 1 whose width
  is the base width (a quarter of the spacing) times a uniform factor in [0.5, 1.5].
- The field is the maximum over the hills, scaled so that ``difficulty`` is the maximum elevation
  in metres (rllab's default 1.0; never below 0.05).
- A flat patch where the robot starts is cleared to 0 and the band around it smoothed with a
  10 × 10 box filter, so the robot starts on level ground.

Arrays are indexed [row, column] = [y, x], as MuJoCo stores height fields: sample (r, c) lies at
x = −20 + 0.1 c, y = −20 + 0.1 r.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray
HALF_SIZE = 20.0  # metres from the centre to each edge
RESOLUTION = 0.1  # metres between samples
SAMPLES = int(round(2 * HALF_SIZE / RESOLUTION)) + 1  # 401
HILLS_PER_SIDE = 22
MIN_DIFFICULTY = 0.05
BOX = 10  # box-filter size, in samples, for the start patch's border


@dataclass(frozen=True)
class StartPatch:
    """The level ground the robot starts on, in world metres (x range; y within ±half_width)."""

    x_min: float
    x_max: float
    half_width: float = 2.0


def coordinates() -> Array:
    return -HALF_SIZE + RESOLUTION * np.arange(SAMPLES)


def hills(rng: np.random.Generator) -> Array:
    """The unscaled field: the maximum over jittered Gaussian hills of height 1."""
    spacing = 2 * HALF_SIZE / HILLS_PER_SIDE
    grid = -HALF_SIZE + spacing * (np.arange(HILLS_PER_SIDE) + 0.5)
    cx, cy = np.meshgrid(grid, grid)
    cx = cx.ravel() + rng.normal(0.0, spacing / 3, cx.size)
    cy = cy.ravel() + rng.normal(0.0, spacing / 3, cy.size)
    widths = spacing / 4 * rng.uniform(0.5, 1.5, cx.size)
    axis = coordinates()
    field = np.zeros((SAMPLES, SAMPLES))
    for x0, y0, w in zip(cx, cy, widths):
        # Each hill only matters within 4 widths of its centre (e^-8 < 4e-4 of its height).
        cols = slice(*np.clip(np.searchsorted(axis, [x0 - 4 * w, x0 + 4 * w]), 0, SAMPLES))
        rows = slice(*np.clip(np.searchsorted(axis, [y0 - 4 * w, y0 + 4 * w]), 0, SAMPLES))
        dx, dy = axis[cols] - x0, axis[rows] - y0
        bump = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * w * w))
        np.maximum(field[rows, cols], bump, out=field[rows, cols])
    return field


def box_filter(field: Array, size: int) -> Array:
    """Mean over a size × size window (edges padded by repetition)."""
    pad_lo, pad_hi = size // 2, size - 1 - size // 2
    padded = np.pad(field, ((pad_lo, pad_hi), (pad_lo, pad_hi)), mode="edge")
    summed = padded.cumsum(0).cumsum(1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    n = field.shape[0]
    return (
        summed[size : size + n, size : size + n]
        - summed[:n, size : size + n]
        - summed[size : size + n, :n]
        + summed[:n, :n]
    ) / (size * size)


def patch_mask(patch: StartPatch, margin: int = 0) -> Array:
    axis = coordinates()
    pad = margin * RESOLUTION
    in_x = (axis >= patch.x_min - pad) & (axis <= patch.x_max + pad)
    in_y = np.abs(axis) <= patch.half_width + pad
    return in_y[:, None] & in_x[None, :]


def generate(seed: int, difficulty: float, patch: StartPatch) -> Array:
    """The height field in metres: max elevation ``difficulty``, 0 on the start patch."""
    difficulty = max(float(difficulty), MIN_DIFFICULTY)
    field = hills(np.random.default_rng(seed))
    inside = patch_mask(patch)
    field[inside] = 0.0
    # Smooth the band around the patch so the robot does not face a cliff at its edge.
    band = patch_mask(patch, margin=BOX) & ~inside
    field[band] = box_filter(field, BOX)[band]
    field[inside] = 0.0
    return field * (difficulty / field.max())


def height_at(field: Array, x: float) -> float:
    """Ground height on the robots' plane (y = 0) at ``x``: linear along that grid row, which is
    what MuJoCo's triangulated height field is there; 0 beyond the course."""
    row = field[SAMPLES // 2]
    return float(np.interp(x, coordinates(), row, left=0.0, right=0.0))
