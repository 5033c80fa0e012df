"""Seeds for the parts of a run, derived from the run's one seed.

A task's seed depends only on (run seed, what the task is), never on which worker process
runs it or in which order, which is why W workers give the same numbers as one.
"""

from __future__ import annotations

import numpy as np

PHASES = {"init": 0, "mutation": 1, "crossover": 2, "evaluation": 3, "hybrid-evaluation": 4}


def derive_seed(seed: int, phase: str, *keys: int) -> int:
    """A 31-bit seed for (``phase``, ``keys``) of the run seeded by ``seed``."""
    state = np.random.SeedSequence([seed, PHASES[phase], *keys]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF
