"""Hilly terrain as rllab's simulator saw it for the GPO paper's Hilly tasks (rllab pull request
121: ``rllab/envs/mujoco/hill/terrain.py`` and the ``hill_*_env.xml.mako`` models), generated from
a seed instead of a temporary image file.

rllab draws its hills on a 40 m × 40 m grid (0.1 m apart) and its models declare the height field
``size="40 40 difficulty 0.1"``. MuJoCo reads a height field's first two sizes as *radii*, so the
course the robots ran on is 80 m × 80 m: rllab's field stretched twice in x and y, its heights
kept. We build that course, in world metres (the 40-m grid's lengths doubled):

- 401 × 401 samples 0.2 m apart, centred on the origin.
- Hill centres on rllab's grid, ``numpy.mgrid`` over [−40, 40) in steps of 80/√500 (23 × 23 =
  529 centres for rllab's 500 hills), each jittered by isotropic Gaussian noise of variance
  σ² = 4 × 0.4 m² (rllab's ``width·height / (8·nhills)`` in its 40-m units, doubled in length).
- Each hill the isotropic Gaussian *density* of variance s² = σ²(1 + u), u ~ U[0, 1): rllab takes
  the field as the maximum of the densities themselves, so a hill's peak is 1/(2π s²) and the
  narrow hills are the tall ones (up to twice the wide ones' height).
- The field is that maximum, scaled so that ``difficulty`` is the maximum elevation in metres
  (rllab: MuJoCo normalises the image to [0, 1] and scales it by the size's ``difficulty``; its
  default 1.0, never below 0.05).
- A flat patch where the robot starts is cleared to 0 and the band around it smoothed with a
  10 × 10 box filter (rllab's, 2 m here as 1 m on its grid), so the robot starts on level ground.
  The patch lies along the robots' line y = 0 (``StartPatch``): rllab's boxes (y ∈ [−1.5, −0.5] on
  its grid) sit beside that line once MuJoCo has stretched and flipped the image.

What is not carried over is rllab's image pipeline: it saved the field as a matplotlib contour
plot (100 levels, ``Greens`` colour map, axes and margins) and MuJoCo read it back as grey, which
quantises the heights, bends them by the colour map's lightness, raises the plain ground to about
a sixth of ``difficulty`` and squeezes the hills by the margins' share of the image. Hills, their
widths, heights and spacing, and the relief are what the robots meet; those follow rllab.

Version 0 of these tasks built the 40-m grid at face value with hills of equal height and widths of
an eighth to a half of rllab's as simulated: along the robots' line (seeds 0–4) its 90th-percentile
slope was 0.86–1.10 against rllab's 0.26–0.28 (seeds 0–2 of rllab's code), its steepest 1.35–3.66
against 0.40–0.45. Version 1 is this module.

Arrays are indexed [row, column] = [y, x], as MuJoCo stores height fields: sample (r, c) lies at
x = −40 + 0.2 c, y = −40 + 0.2 r.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray
STRETCH = 2.0  # rllab's hfield radius (40 m) over its grid's half-width (20 m)
HALF_SIZE = 20.0 * STRETCH  # metres from the centre to each edge
RESOLUTION = 0.1 * STRETCH  # metres between samples
SAMPLES = int(round(2 * HALF_SIZE / RESOLUTION)) + 1  # 401
HILLS = 500  # rllab's nhills; its grid holds ceil(√500)² = 529 centres
VARIANCE = 40.0 * 40.0 / (HILLS * 8) * STRETCH**2  # rllab's sigma (0.4 m² on its grid), in m²
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
    """The unscaled field: the maximum over rllab's jittered Gaussian densities (``generate_hills``)."""
    grid = np.arange(-HALF_SIZE, HALF_SIZE, 2 * HALF_SIZE / np.sqrt(HILLS))
    cx, cy = (c.ravel() for c in np.meshgrid(grid, grid))
    cx = cx + rng.normal(0.0, np.sqrt(VARIANCE), cx.size)
    cy = cy + rng.normal(0.0, np.sqrt(VARIANCE), cy.size)
    variances = VARIANCE * (1.0 + rng.random(cx.size))
    axis = coordinates()
    field = np.zeros((SAMPLES, SAMPLES))
    for x0, y0, var in zip(cx, cy, variances):
        # Each hill only matters within 5 widths of its centre (e^-12.5 < 4e-6 of its peak, while
        # the lowest peak is half the highest).
        reach = 5.0 * np.sqrt(var)
        cols = slice(*np.clip(np.searchsorted(axis, [x0 - reach, x0 + reach]), 0, SAMPLES))
        rows = slice(*np.clip(np.searchsorted(axis, [y0 - reach, y0 + reach]), 0, SAMPLES))
        dx, dy = axis[cols] - x0, axis[rows] - y0
        density = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * var)) / (2 * np.pi * var)
        np.maximum(field[rows, cols], density, out=field[rows, cols])
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
    # rllab clears the patch and box-filters it with a border, so the robot meets a ramp, not a
    # cliff. Cleared half a box wider than the robot's patch, the patch itself stays level: every
    # box over it averages cleared ground.
    field[patch_mask(patch, margin=BOX // 2)] = 0.0
    ramp = patch_mask(patch, margin=BOX // 2 + BOX)
    field[ramp] = box_filter(field, BOX)[ramp]
    field[patch_mask(patch)] = 0.0  # exactly: the filter's running sums leave ~1e-16 there
    return field * (difficulty / field.max())


def height_at(field: Array, x: float) -> float:
    """Ground height on the robots' plane (y = 0) at ``x``: linear along that grid row, which is
    what MuJoCo's triangulated height field is there; 0 beyond the course."""
    row = field[SAMPLES // 2]
    return float(np.interp(x, coordinates(), row, left=0.0, right=0.0))
