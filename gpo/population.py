"""A population member of GPO (Section 3): a policy with its critic, its learner's state, and what
it has recently experienced (episode returns, for fitness; states of whole episodes, for the
crossover's selector).

Members travel between worker processes as plain state dicts (``Member.state_dict``) and are
rebuilt on arrival: pickling a member as objects would duplicate the NumPy views that tie its
networks to one flat parameter vector.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from gpo.core.a2c import A2CConfig
from gpo.core.batched import StackedPolicies
from gpo.core.evaluation import evaluate_stacked
from gpo.core.learner import Learner
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.rollout import Rollout
from gpo.core.seeding import derive_seed
from gpo.core.trainer import RECENT_EPISODES, make_learner

Array = np.ndarray
EPISODES = "episodes_in_progress"  # a member state's key for its environments (continue_episodes)


@dataclass(frozen=True)
class PopulationSpec:
    """What every member shares: the task, the network shapes and the learner's settings."""

    env_id: str
    obs_dim: int
    act_dim: int
    policy: PolicyConfig
    learner: PPOConfig | A2CConfig
    env_kwargs: dict = field(default_factory=dict)
    trajectory_states: int = 20_000  # states of recent whole episodes kept per member
    # Carry each member's environments (physics, episode in progress) from one mutation phase
    # to its next, a child taking its fitter parent's; False resets them at every phase.
    # Measured on whole `lite` runs (results/fidelity/README.md): −46 ± 77 (Hopper) and
    # +326 ± 358 (Walker2d) against resetting, within noise; the default stays the simpler reset.
    continue_episodes: bool = False
    # Per-policy env steps between evaluations within a mutation phase (the run's schedule,
    # ``gpo.core.trainer.TrainConfig.eval_every_steps``); 0 = only at the end of every phase.
    eval_every_steps: int = 0


class TrajectoryBuffer:
    """Raw states of a member's most recent finished episodes, each with the episode's return.

    Episodes are stitched together across rollouts of one mutation phase; the oldest whole
    episodes are dropped beyond ``max_states``. ``recent`` keeps the last rollout's states too,
    for members that finished no episode yet (tiny budgets).
    """

    def __init__(self, max_states: int):
        self.max_states = max_states
        self.episodes: deque[tuple[Array, float]] = deque()
        self.n_states = 0
        self.recent = np.zeros((0, 0))
        self._partial: list[list[Array]] | None = None
        self._partial_return: Array | None = None

    def add(self, rollout: Rollout) -> None:
        T, N = rollout.rewards.shape
        if self._partial is None or len(self._partial) != N:
            self._partial, self._partial_return = [[] for _ in range(N)], np.zeros(N)
        self.recent = rollout.raw_obs.reshape(T * N, -1)
        done = rollout.terminated | rollout.truncated
        for i in range(N):
            start = 0
            for t in np.flatnonzero(done[:, i]):
                states = np.concatenate([*self._partial[i], rollout.raw_obs[start : t + 1, i]])
                ret = self._partial_return[i] + rollout.rewards[start : t + 1, i].sum()
                self._push(states, float(ret))
                self._partial[i], self._partial_return[i], start = [], 0.0, t + 1
            if start < T:
                self._partial[i].append(rollout.raw_obs[start:, i])
                self._partial_return[i] += rollout.rewards[start:, i].sum()

    def _push(self, states: Array, ret: float) -> None:
        self.episodes.append((states, ret))
        self.n_states += len(states)
        while self.n_states > self.max_states and len(self.episodes) > 1:
            self.n_states -= len(self.episodes.popleft()[0])

    def end_phase(self) -> None:
        """Forget unfinished episodes: the next phase resets the environments."""
        self._partial = None

    def good_states(self, top_fraction: float) -> Array:
        """States of the episodes whose return is in the top ``top_fraction`` (at least one
        episode); the last rollout's states if no episode has finished."""
        if not self.episodes:
            return self.recent
        returns = np.array([ret for _, ret in self.episodes])
        keep = max(1, int(np.ceil(top_fraction * len(returns))))
        best = np.argsort(-returns, kind="stable")[:keep]
        return np.concatenate([self.episodes[k][0] for k in sorted(best)])

    def state_dict(self) -> dict:
        return {
            "episodes": [(s.copy(), r) for s, r in self.episodes],
            "recent": self.recent.copy(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.episodes = deque((np.asarray(s), float(r)) for s, r in state["episodes"])
        self.n_states = sum(len(s) for s, _ in self.episodes)
        self.recent = np.asarray(state["recent"])
        self._partial = None

    def partial_state(self) -> dict:
        """The episodes in progress, which ``state_dict`` leaves out (a phase's end forgets them):
        what a member stopped in the middle of its mutation phase needs to go on stitching."""
        if self._partial is None:
            return {"partial": None, "partial_return": None}
        return {
            "partial": [[part.copy() for part in parts] for parts in self._partial],
            "partial_return": self._partial_return.copy(),
        }

    def load_partial_state(self, state: dict) -> None:
        if state["partial"] is None:
            self._partial = self._partial_return = None
            return
        self._partial = [[np.asarray(part) for part in parts] for parts in state["partial"]]
        self._partial_return = np.asarray(state["partial_return"], float).copy()


class Member:
    """A policy of the population with its learner and its recent experience."""

    def __init__(self, spec: PopulationSpec, agent: ActorCritic, learner: Learner | None = None):
        self.spec, self.agent = spec, agent
        self.learner = learner if learner is not None else make_learner(spec.learner, agent)
        self.recent_returns: deque[float] = deque(maxlen=RECENT_EPISODES)
        self.trajectories = TrajectoryBuffer(spec.trajectory_states)

    @classmethod
    def new(cls, spec: PopulationSpec, rng: np.random.Generator) -> Member:
        return cls(spec, ActorCritic(spec.obs_dim, spec.act_dim, spec.policy, rng))

    @property
    def fitness_return(self) -> float:
        """R(x): mean return of the member's recent training episodes (−inf if none yet)."""
        return float(np.mean(self.recent_returns)) if self.recent_returns else float("-inf")

    def state_dict(self) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "learner": self.learner.state_dict(),
            "recent_returns": list(self.recent_returns),
            "trajectories": self.trajectories.state_dict(),
        }

    @classmethod
    def from_state(cls, spec: PopulationSpec, state: dict) -> Member:
        agent = ActorCritic(spec.obs_dim, spec.act_dim, spec.policy, np.random.default_rng(0))
        agent.load_state_dict(state["agent"])
        member = cls(spec, agent)
        member.learner.load_state_dict(state["learner"])
        member.recent_returns.extend(state["recent_returns"])
        member.trajectories.load_state_dict(state["trajectories"])
        return member


def evaluate_member(member: Member, spec: PopulationSpec, episodes: int, run_seed: int) -> tuple[float, int]:
    """Deterministic evaluation; every member of a run is evaluated from the same start states."""
    return evaluate_members([member], spec, episodes, run_seed)[0]


def evaluate_members(
    members: list[Member], spec: PopulationSpec, episodes: int, run_seed: int
) -> list[tuple[float, int]]:
    """``evaluate_member`` for several members at once (``evaluate_on_own_envs``):
    mean return and steps of each, exactly as evaluated alone."""
    policies = StackedPolicies([member.agent for member in members])
    return evaluate_on_own_envs(policies, len(members), spec, episodes, derive_seed(run_seed, "evaluation"))


def evaluate_on_own_envs(
    policies, k: int, spec: PopulationSpec, episodes: int, seed: int
) -> list[tuple[float, int]]:
    """Mean return and steps of each of ``k`` deterministic policies computed as one batch
    (``gpo.core.evaluation.evaluate_stacked``), each on an environment of its own reset from
    ``seed``, closed afterwards."""
    envs = []
    try:
        for _ in range(k):
            envs.append(gym.make(spec.env_id, **spec.env_kwargs))
        evaluated = evaluate_stacked(policies, envs, episodes, seed)
    finally:
        for env in envs:
            env.close()
    return [(float(np.mean(returns)), steps) for returns, steps in evaluated]
