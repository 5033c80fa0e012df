"""Learning-curve rows of a population: several members' rows for the same iteration, as one."""

from __future__ import annotations

import numpy as np


def best_of(values) -> float:
    """The largest value that is not NaN (NaN if there is none)."""
    finite = [v for v in values if not np.isnan(v)]
    return max(finite) if finite else float("nan")


def population_row(rows: list[dict]) -> dict:
    """Episodes pooled over members (``return_mean``), the best member's mean (``return_best``),
    the members' mean entropy and best evaluation; ``env_steps`` are the members' total."""
    episodes = sum(r["episodes"] for r in rows)
    pooled = sum(r["return_mean"] * r["episodes"] for r in rows if r["episodes"])
    return {
        "env_steps": sum(r["env_steps"] for r in rows),
        "episodes": episodes,
        "return_mean": pooled / episodes if episodes else float("nan"),
        "return_best": best_of([r["return_mean"] for r in rows]),
        "entropy": float(np.mean([r["entropy"] for r in rows])),
        "eval_return": best_of([r.get("eval_return", float("nan")) for r in rows]),
    }
