"""Crossover (Section 3.2): two parents make one child.

- ``kind="state"`` (GPO): crossover in state space. A binary selector π_S learns in which states
  to follow which parent (``gpo.selector``), and the child imitates the hybrid policy
  π_H = π_S(x|s) π_x + π_S(y|s) π_y by DAgger (``gpo.dagger``).
- ``kind="parameter"`` (the ``gpo-param-crossover`` ablation, Figure 2a): the child is the
  average of its parents' parameters, θ_c = ½(θ_x + θ_y), critic and log σ included.

Choices where the paper is silent (fields, with these defaults):
- Observation statistics: the child's normaliser is the mixture of both parents' running
  statistics (it will see both parents' states), counted once (``merged_statistics``). Parents
  are re-expressed under it exactly (``ActorCritic.renormalize_inputs``) before being copied or
  averaged, so parameter averaging compares like with like and a copied parent computes what it
  computed before.
- ``child_init="fitter_parent"``: the child starts as a copy of parent x (the one with the higher
  recent return), critic included, then imitates π_H; where π_S picks x it already agrees.
  ``"random"`` (the ``gpo-fresh-child`` algorithm) starts from a freshly initialised policy and
  critic. The paper says the child is trained to imitate π_H by DAgger and does not say what
  network it starts from, so both are faithful; a copy makes every child of one parent start as
  that parent, so a population whose fitter parents are few descends from few networks.
- ``child_learner="fresh"``: the child gets a fresh optimizer (Adam moments and step count)
  and, for the KL-penalty PPO, the initial penalty coefficient β; it inherits x's reward-scaling
  statistics, which its inherited critic was trained under. ``"fitter_parent"``: the child
  continues x's whole learner state (optimizer, β, reward scaling), as if x had gone on
  learning; Adam's moments of the first layer then refer to x's input coordinates, which the
  re-expression under the merged statistics changes slightly.

What was measured (``bench.perf.fidelity``, results/fidelity/README.md; `lite`-sized runs, m = 4,
150k steps per policy, Hopper-v5 and Walker2d-v5, seeds 0-2, same seeds both ways):
- ``child_learner``: at a run's first three crossovers, each child mutated for one phase with a
  fresh learner and with x's; x's learner ended +45 ± 41 (Hopper, n = 36) and +0 ± 10 (Walker2d)
  higher, within noise; whole runs: −466 ± 1036 and +104 ± 519. No support for either, so the
  default stays ``"fresh"`` (the child is a new network; nothing of x's optimisation carries).
- ``child_init``: a random child imitated π_H about as well (median child/x return 0.97 vs 0.99
  on Hopper, 0.98 vs 0.98 on Walker2d; imitation KL 0.021 vs 0.016, 0.048 vs 0.045). The copy
  stays the default: it is never worse, and it is the cheaper start for DAgger.
- The DAgger budget: see ``gpo.dagger.DAggerConfig``.
- A child, even so, ends its next phase behind its fitter parent continuing instead (−70 ± 14 on
  Hopper, −15 ± 10 on Walker2d): ~20 of that is lost in imitation (its return before the
  phase), the rest is slower learning that the parent's learner did not measurably recover.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from gpo.core.normalization import RunningMeanStd, standardize
from gpo.core.policy import ActorCritic
from gpo.core.rollout import make_vector_env
from gpo.core.seeding import derive_seed
from gpo.dagger import DAggerConfig, Hybrid, Hybrids, collect_trajectory, dagger_together
from gpo.population import EPISODES, Member, PopulationSpec, evaluate_members, evaluate_on_own_envs
from gpo.selector import SelectorConfig, train_selectors

Array = np.ndarray
KINDS = ("state", "parameter")
CHILD_INITS = ("fitter_parent", "random")
CHILD_LEARNERS = ("fresh", "fitter_parent")


@dataclass(frozen=True)
class CrossoverConfig:
    kind: Literal["state", "parameter"] = "state"
    child_init: Literal["fitter_parent", "random"] = "fitter_parent"
    child_learner: Literal["fresh", "fitter_parent"] = "fresh"
    selector: SelectorConfig = field(default_factory=SelectorConfig)
    dagger: DAggerConfig = field(default_factory=DAggerConfig)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"crossover kind must be one of {KINDS}, got {self.kind!r}")
        if self.child_init not in CHILD_INITS:
            raise ValueError(f"child_init must be one of {CHILD_INITS}, got {self.child_init!r}")
        if self.child_learner not in CHILD_LEARNERS:
            raise ValueError(f"child_learner must be one of {CHILD_LEARNERS}, got {self.child_learner!r}")

    @property
    def env_steps_per_child(self) -> int:
        return self.dagger.env_steps + self.selector.refine_steps if self.kind == "state" else 0


@dataclass
class CrossoverResult:
    state: dict  # the child member
    record: dict  # what Figure 2a needs, and more
    env_steps: int
    seconds: float


def merged_statistics(x: ActorCritic, y: ActorCritic) -> RunningMeanStd:
    """The child's observation statistics: the mixture of both parents' states, counted once.

    Mean and variance are those of the parents' pooled states (the child acts where either parent
    acted), but the count is the larger parent's, not their sum: parents share ancestors, so a
    summed count counts the same states again at every round and roughly doubles per round
    (measured: Hopper-v5, m = 4, 80k steps per policy, 5 rounds, 369,024 counted states after
    80,000 steps per lineage). An inflated count freezes the normaliser for the rest of the run,
    which an uninterrupted learner's never is. With the larger count, a member's count never
    exceeds the env steps per policy taken so far, as for a single learner.
    """
    merged = x.obs_normalizer.rms.copy()
    other = y.obs_normalizer.rms
    merged.merge(other.mean, other.var, other.count)
    merged.count = max(x.obs_normalizer.rms.count, other.count)
    return merged


def refine_selector(hybrid: Hybrid, envs, seed: int, config: SelectorConfig, rng) -> int:
    """Policy-gradient refinement of π_S on rollouts of π_H (off when ``refine_steps`` is 0).

    REINFORCE on π_S's choices with normalised discounted returns-to-go as advantages (cut at
    episode ends, not bootstrapped at the rollout's end). Returns the env steps it took.
    """
    if config.refine_steps == 0:
        return 0
    obs, _ = envs.reset(seed=seed + 1)
    alone = Hybrids([hybrid])
    choices: list[Array] = []

    def act(raw: Array) -> Array:
        actions, picked = alone.sample_with_choice(raw[None], [rng])
        choices.append(picked[0])
        return actions[0]

    trajectory = collect_trajectory(envs, obs, act, config.refine_steps // envs.num_envs)
    to_go = np.zeros_like(trajectory.rewards)
    running = np.zeros(trajectory.rewards.shape[1])
    for t in range(len(to_go) - 1, -1, -1):
        running = trajectory.rewards[t] + config.refine_gamma * running * (1.0 - trajectory.dones[t])
        to_go[t] = running
    advantages = standardize(to_go)
    states = trajectory.states.reshape(-1, trajectory.states.shape[-1])
    hybrid.selector.fit(
        states, np.concatenate(choices), config, rng, weights=advantages.reshape(-1), epochs=1
    )
    return trajectory.states.shape[0] * trajectory.states.shape[1]


def crossover(
    x_state: dict,
    y_state: dict,
    spec: PopulationSpec,
    config: CrossoverConfig,
    run_seed: int,
    round_index: int,
    child_index: int,
    eval_episodes: int,
) -> CrossoverResult:
    """Make the child of parents x (the fitter) and y, and evaluate it."""
    pair = [(x_state, y_state)]
    return crossover_group(pair, spec, config, run_seed, round_index, [child_index], eval_episodes)[0]


def crossover_group(
    parents: list[tuple[dict, dict]],
    spec: PopulationSpec,
    config: CrossoverConfig,
    run_seed: int,
    round_index: int,
    child_indices: list[int],
    eval_episodes: int,
) -> list[CrossoverResult]:
    """``crossover`` for several pairs (a worker's share of the round), made together: the
    selectors' fits as one batch (``gpo.selector.train_selectors``), DAgger's rollouts in lockstep
    and its fits as one batch (``gpo.dagger.dagger_together``), the evaluations in lockstep.
    Each child is exactly the one ``crossover`` makes alone, so how children are grouped over
    workers changes nothing."""
    start = time.perf_counter()
    made = [
        _begin(x_state, y_state, spec, config, run_seed, round_index, c)
        for (x_state, y_state), c in zip(parents, child_indices)
    ]
    if config.kind == "state":
        top = config.selector.top_fraction
        selectors = train_selectors(
            [(m.x.trajectories.good_states(top), m.y.trajectories.good_states(top)) for m in made],
            [m.child.obs_normalizer for m in made],
            config.selector,
            [m.rng for m in made],
        )
        for m, (selector, accuracy) in zip(made, selectors):
            m.hybrid = Hybrid(m.x.agent, m.y.agent, selector)
            m.record.update(selector_accuracy=accuracy)
        envs = []
        try:
            for _ in made:
                envs.append(make_vector_env(spec.env_id, config.dagger.n_envs, **spec.env_kwargs))
            refine_steps = [
                refine_selector(m.hybrid, e, m.seed, config.selector, m.rng) for m, e in zip(made, envs)
            ]
            distilled = dagger_together(
                [m.child for m in made],
                [m.hybrid for m in made],
                envs,
                [m.seed for m in made],
                config.dagger,
                [m.rng for m in made],
            )
        finally:
            for env in envs:
                env.close()
        for m, result, refined in zip(made, distilled, refine_steps):
            m.env_steps = result.env_steps + refined
            m.recent_states = result.recent_states
            m.record.update(imitation_kl=result.final_kl)

    members = []
    for m in made:
        member = Member(spec, m.child)
        member.trajectories.recent = m.recent_states  # where the child was last seen acting
        if config.child_learner == "fitter_parent":
            member.learner.load_state_dict(m.x.learner.state_dict())
        elif m.x.learner.reward_scaler is not None and member.learner.reward_scaler is not None:
            member.learner.reward_scaler.load_state_dict(m.x.learner.reward_scaler.state_dict())
        members.append(member)
    evaluated = evaluate_members(members, spec, eval_episodes, run_seed)
    if config.kind == "state":
        hybrids = evaluate_hybrids([m.hybrid for m in made], spec, eval_episodes, run_seed)
    else:  # a parameter crossover has no hybrid
        hybrids = [(float("nan"), 0)] * len(made)
    for m, (hybrid_return, hybrid_steps) in zip(made, hybrids):
        m.record.update(hybrid_return=hybrid_return, hybrid_eval_steps=hybrid_steps)
    seconds = (time.perf_counter() - start) / len(made)
    results = []
    for m, member, (eval_return, eval_steps), (x_state, _) in zip(made, members, evaluated, parents):
        m.record.update(child_return=eval_return, env_steps=m.env_steps, eval_steps=eval_steps)
        state = member.state_dict()
        if EPISODES in x_state:  # continue_episodes: the child goes on where its fitter parent was
            state[EPISODES] = x_state[EPISODES]
        results.append(CrossoverResult(state, m.record, m.env_steps, seconds))
    return results


def evaluate_hybrids(
    hybrids: list[Hybrid], spec: PopulationSpec, episodes: int, run_seed: int
) -> list[tuple[float, int]]:
    """Each hybrid π_H's mean return over ``episodes`` deterministic episodes
    (``Hybrids.mean_action``: the mean action of the parent π_S favours) and the steps they took.

    Beside the child's and its parents' returns, it tells whether a child loses what its selector
    found (π_H above its better parent, the child below) or the selector finds nothing (π_H at
    its parents' mean). Its episodes start from their own seed (the run's ``hybrid-evaluation``
    stream, one for every hybrid as members share one), on environments of their own, outside
    the budget, and they draw from no generator of the run: no training number changes.
    """
    seed = derive_seed(run_seed, "hybrid-evaluation")
    return evaluate_on_own_envs(Hybrids(hybrids), len(hybrids), spec, episodes, seed)


@dataclass
class _Making:
    """A child in the making: its parents, generator and what its crossover has produced."""

    x: Member
    y: Member
    child: ActorCritic
    seed: int
    rng: np.random.Generator
    record: dict
    hybrid: Hybrid | None = None
    recent_states: Array | None = None
    env_steps: int = 0


def _begin(
    x_state: dict,
    y_state: dict,
    spec: PopulationSpec,
    config: CrossoverConfig,
    run_seed: int,
    round_index: int,
    child_index: int,
) -> _Making:
    """The child's start (a copy of x, or a new network) under both parents' statistics; for
    parameter crossover, the child itself."""
    x, y = Member.from_state(spec, x_state), Member.from_state(spec, y_state)
    seed = derive_seed(run_seed, "crossover", round_index, child_index)
    rng = np.random.default_rng(seed)
    merged = merged_statistics(x.agent, y.agent)

    if config.child_init == "fitter_parent":
        child = x.agent.copy()
    else:
        child = ActorCritic(spec.obs_dim, spec.act_dim, spec.policy, rng)
        child.obs_normalizer.rms = x.agent.obs_normalizer.rms.copy()
    child.renormalize_inputs(merged)

    made = _Making(x, y, child, seed, rng, {"round": round_index, "child": child_index, "kind": config.kind})
    if config.kind == "parameter":
        y_agent = y.agent.copy()
        y_agent.renormalize_inputs(merged)
        x_agent = x.agent.copy()
        x_agent.renormalize_inputs(merged)
        child.params[...] = 0.5 * (x_agent.params + y_agent.params)
        made.record.update(selector_accuracy=float("nan"), imitation_kl=float("nan"))
        made.recent_states = np.concatenate([x.trajectories.recent, y.trajectories.recent])
    return made
