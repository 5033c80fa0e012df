"""Selection (Section 3.3): choose the parent pairs of the next generation.

Every one of the m(m−1)/2 pairs is scored by

    fitness(x, y) = R(x) + R(y) + β · KL[π_x, π_y]

with R the mean return of a member's recent training episodes and KL the symmetric divergence
½(KL(π_x‖π_y) + KL(π_y‖π_x)), averaged over the recent states of both members (each policy
reads a state through its own observation normaliser). The m best pairs parent one child each;
a member may parent several. β rewards diverse pairs early on and is annealed towards 0; β = 0
is performance-only selection (the ``gpo-performance-selection`` ablation).

Choices where the paper is silent: β is in units of return per nat and starts at 10 by default;
the symmetric KL (the paper writes KL[π_x, π_y] without an order); when m(m−1)/2 < m (m = 2),
the ranked pairs are reused with the parents' roles swapped, so each child starts from a
different parent.

Two more of them are switches (issue #44), defaults unchanged:
- ``fitness``: what R is. The paper scores a pair by its members' performance R and does not
  say how R is measured; ``"training"`` (default) is the mean return of a member's last 100
  training episodes, which lags the policy (episodes of earlier iterations, taken with
  exploration noise); ``"evaluation"`` is the member's deterministic evaluation at the end of its
  mutation phase (the run's ``eval_episodes``, the return the curve reports), which reads the
  policy as it is. R also decides which parent is "x", the fitter one a child starts from.
- ``max_children``: how often one member may parent. The paper selects the m best pairs and
  says nothing against one member being in many of them; with the default (0, no cap) the
  fittest member often parents most of the next generation, which then descends from one
  lineage. ``max_children=2`` lets no member parent more than two children a round (parent x
  or y alike), each pair still chosen by fitness in rank order; see :func:`select_pairs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gpo.core.distributions import kl
from gpo.core.policy import ActorCritic

Array = np.ndarray
SCHEDULES = ("linear", "exponential", "constant")
FITNESSES = ("training", "evaluation")


@dataclass(frozen=True)
class SelectionConfig:
    # Return per nat of divergence at the first selection. β = 0 (selection by return alone)
    # on whole `lite` runs: −475 ± 475 (Hopper), 0 (Walker2d: the same pairs won) against β₀ = 10.
    beta_init: float = 10.0
    beta_schedule: Literal["linear", "exponential", "constant"] = "linear"
    beta_decay: float = 0.5  # per round, for the exponential schedule
    kl_states: int = 1000  # recent states per member over which pair divergences are averaged
    fitness: Literal["training", "evaluation"] = "training"  # what R is (see the module's docstring)
    max_children: int = 0  # children one member may parent per round; 0 = no cap

    def __post_init__(self) -> None:
        if self.beta_init < 0:
            raise ValueError(f"beta_init must be >= 0, got {self.beta_init}")
        if self.beta_schedule not in SCHEDULES:
            raise ValueError(f"beta_schedule must be one of {SCHEDULES}, got {self.beta_schedule!r}")
        if not 0.0 < self.beta_decay <= 1.0:
            raise ValueError(f"beta_decay must be in (0, 1], got {self.beta_decay}")
        if self.kl_states < 1:
            raise ValueError(f"kl_states must be >= 1, got {self.kl_states}")
        if self.fitness not in FITNESSES:
            raise ValueError(f"fitness must be one of {FITNESSES}, got {self.fitness!r}")
        if self.max_children == 1 or self.max_children < 0:
            # m children take 2m parent places from m members: a cap of one cannot fill them
            raise ValueError(f"max_children must be 0 (no cap) or >= 2, got {self.max_children}")


def beta_at(config: SelectionConfig, selection_index: int, n_selections: int) -> float:
    """β for the k-th of ``n_selections`` selections (k from 0): linear falls from β₀ to 0 at
    the last one, exponential multiplies by ``beta_decay`` each time."""
    if config.beta_schedule == "constant":
        return config.beta_init
    if config.beta_schedule == "exponential":
        return config.beta_init * config.beta_decay**selection_index
    if n_selections <= 1:
        return config.beta_init
    return config.beta_init * (1.0 - selection_index / (n_selections - 1))


def divergence_matrix(agents: list[ActorCritic], states: list[Array]) -> Array:
    """(m, m) symmetric KL between members, each pair averaged over both members' states."""
    m = len(agents)
    # Each policy's action distribution on every member's states: means[i][j] = μ_i(states_j).
    means = [[agent.mean_action(s) for s in states] for agent in agents]
    divergence = np.zeros((m, m))
    for x in range(m):
        for y in range(x + 1, m):
            total, count = 0.0, 0
            for j in (x, y):
                forward = kl(means[x][j], agents[x].log_std, means[y][j], agents[y].log_std).value
                backward = kl(means[y][j], agents[y].log_std, means[x][j], agents[x].log_std).value
                total += 0.5 * float(np.sum(forward + backward))
                count += len(states[j])
            divergence[x, y] = divergence[y, x] = total / count
    return divergence


def select_pairs(
    returns: Array, divergence: Array, beta: float, n_children: int, max_children: int = 0
) -> list[tuple[int, int]]:
    """The ``n_children`` best pairs (x, y) by fitness, x the member with the higher R.

    Ties are broken by member index, so selection is deterministic. With ``max_children`` (> 0),
    pairs are taken in rank order, each only while neither member has parented ``max_children``
    children yet; should the cap leave no admissible pair before every child has its parents
    (the free places left all belong to one member), the best-ranked pairs not taken yet fill the
    rest regardless of it.
    """
    m = len(returns)
    if m < 2:
        raise ValueError("selection needs at least two members")
    scored = []
    for x in range(m):
        for y in range(x + 1, m):
            fitness = returns[x] + returns[y] + beta * divergence[x, y]
            first, second = (x, y) if returns[x] >= returns[y] else (y, x)
            scored.append((-fitness, x, y, first, second))
    ranked = [(first, second) for *_, first, second in sorted(scored)]
    if max_children:
        return _capped(ranked, n_children, max_children, m)
    pairs = []
    for k in range(n_children):
        first, second = ranked[k % len(ranked)]
        swap = (k // len(ranked)) % 2 == 1
        pairs.append((second, first) if swap else (first, second))
    return pairs


def _capped(ranked: list[tuple[int, int]], n_children: int, cap: int, m: int) -> list[tuple[int, int]]:
    """The first ``n_children`` of ``ranked`` in which no member appears more than ``cap`` times,
    then (if the cap leaves too few) the best-ranked pairs not yet taken, then ``ranked`` again."""
    parented = [0] * m
    pairs: list[tuple[int, int]] = []
    for first, second in ranked:
        if len(pairs) == n_children:
            break
        if parented[first] < cap and parented[second] < cap:
            pairs.append((first, second))
            parented[first] += 1
            parented[second] += 1
    rest = [pair for pair in ranked if pair not in pairs] + ranked * n_children
    return pairs + rest[: n_children - len(pairs)]
