"""One policy trained by one learner on one environment: the loop behind the ``ppo``/``a2c``
runs and the *Single* and *Joint* baselines, and the unit GPO's mutation operator repeats.

Each iteration: collect N·n steps (the last iteration only what is left of the budget, so a run
stops at its exact env-step budget), update, and append a row to the learning curve. Seeding:
one integer fixes everything: the networks' initialisation and the exploration noise and
minibatch order come from numpy generators spawned from it, training env i is reset with
``seed + i`` and the evaluation env with ``seed + EVAL_SEED_OFFSET``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import gymnasium as gym
import numpy as np

from gpo.a2c import A2C, A2CConfig
from gpo.distributions import entropy
from gpo.evaluation import evaluate
from gpo.learner import Batch, Learner
from gpo.policy import ActorCritic, PolicyConfig
from gpo.ppo import PPO, PPOConfig
from gpo.progress import emit
from gpo.rollout import Rollout, RolloutCollector, make_vector_env

EVAL_SEED_OFFSET = 1_000_003
RECENT_EPISODES = 100  # window of finished training episodes kept for 'recent return'


@dataclass(frozen=True)
class TrainConfig:
    """A single-policy run. ``total_steps`` counts training env steps only."""

    env_id: str
    total_steps: int
    seed: int = 0
    learner: PPOConfig | A2CConfig = field(default_factory=PPOConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    eval_every: int = 10  # iterations between evaluations (and at the end); 0 = never
    eval_episodes: int = 5
    log_every_steps: int = 2048  # a curve row at the first iteration end past each multiple
    env_kwargs: dict = field(default_factory=dict)  # constructor arguments of the environment

    def __post_init__(self) -> None:
        n_envs = self.learner.n_envs
        if self.total_steps <= 0 or self.total_steps % n_envs:
            raise ValueError(
                f"total_steps must be a positive multiple of n_envs ({n_envs}), got {self.total_steps}"
            )
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.eval_every < 0 or self.eval_episodes < 1 or self.log_every_steps < 1:
            raise ValueError("eval_every must be >= 0, eval_episodes and log_every_steps >= 1")


def make_learner(config: PPOConfig | A2CConfig, agent: ActorCritic) -> Learner:
    return PPO(config, agent) if isinstance(config, PPOConfig) else A2C(config, agent)


class EpisodeStats:
    """Episodes finished since the last curve row."""

    def __init__(self) -> None:
        self.returns: list[float] = []
        self.lengths: list[int] = []

    def add(self, returns: list[float], lengths: list[int]) -> None:
        self.returns += returns
        self.lengths += lengths

    def flush(self) -> dict:
        row = {
            "episodes": len(self.returns),
            "return_mean": float(np.mean(self.returns)) if self.returns else float("nan"),
            "length_mean": float(np.mean(self.lengths)) if self.lengths else float("nan"),
        }
        self.returns, self.lengths = [], []
        return row


class Trainer:
    """Builds envs, policy and learner from a ``TrainConfig`` and trains iteration by iteration."""

    def __init__(
        self,
        config: TrainConfig,
        agent: ActorCritic | None = None,
        learner: Learner | None = None,
    ):
        """``agent`` and ``learner`` continue existing ones (GPO's mutation of a member)."""
        self.config = config
        init_seq, train_seq = np.random.SeedSequence(config.seed).spawn(2)
        envs = make_vector_env(config.env_id, config.learner.n_envs, **config.env_kwargs)
        obs_dim = envs.single_observation_space.shape[0]
        act_dim = envs.single_action_space.shape[0]
        if agent is None:
            agent = ActorCritic(obs_dim, act_dim, config.policy, np.random.default_rng(init_seq))
        self.agent = agent
        self.learner = learner if learner is not None else make_learner(config.learner, agent)
        self.last_rollout = None
        self.collector = RolloutCollector(envs, seed=config.seed)
        self.rng = np.random.default_rng(train_seq)  # exploration noise and minibatch order
        self.eval_env = gym.make(config.env_id, **config.env_kwargs) if config.eval_every else None
        self.env_steps = 0
        self.eval_steps = 0
        self.iteration = 0
        self.wall_seconds = 0.0
        self.curve: list[dict] = []
        self.episodes = EpisodeStats()
        self.recent_returns: deque[float] = deque(maxlen=RECENT_EPISODES)
        self._last_logged = 0

    @property
    def done(self) -> bool:
        return self.env_steps >= self.config.total_steps

    def step(self) -> dict | None:
        """One iteration; returns the curve row it appended, if any."""
        return self.update(self.collect())

    def collect(self) -> Rollout:
        """The sampling half of an iteration (the last one takes what is left of the budget)."""
        start = time.perf_counter()
        n_envs = self.learner.n_envs
        n_steps = min(self.learner.n_steps, (self.config.total_steps - self.env_steps) // n_envs)
        rollout = self.last_rollout = self.collector.collect(self.agent, n_steps, self.rng)
        self.env_steps += rollout.n_steps
        self.episodes.add(rollout.episode_returns, rollout.episode_lengths)
        self.recent_returns.extend(rollout.episode_returns)
        self.wall_seconds += time.perf_counter() - start
        emit(rollout.n_steps, np.mean(rollout.episode_returns) if rollout.episode_returns else None)
        return rollout

    def update(self, rollout: Rollout, extra: Sequence[Batch] = ()) -> dict | None:
        """The learning half: update on ``rollout`` (and ``extra`` batches of shared samples),
        evaluate if due, and append a curve row if due."""
        start = time.perf_counter()
        cfg = self.config
        stats = self.learner.update(self.agent, rollout, self.rng, extra)
        self.iteration += 1
        evaluate_now = cfg.eval_every and (self.iteration % cfg.eval_every == 0 or self.done)
        eval_return = float("nan")
        if evaluate_now:
            returns, steps = evaluate(
                self.agent, self.eval_env, cfg.eval_episodes, cfg.seed + EVAL_SEED_OFFSET
            )
            eval_return, self.eval_steps = float(np.mean(returns)), self.eval_steps + steps
            emit(eval_return=eval_return)
        self.wall_seconds += time.perf_counter() - start
        crossed = self.env_steps // cfg.log_every_steps > self._last_logged // cfg.log_every_steps
        if not (crossed or evaluate_now or self.done):
            return None
        self._last_logged = self.env_steps
        row = {
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "wall_seconds": self.wall_seconds,
            **self.episodes.flush(),
            "entropy": float(entropy(self.agent.log_std)),
            "eval_return": eval_return,
            "eval_steps": self.eval_steps,
            **stats,
        }
        self.curve.append(row)
        return row

    def run(self, checkpointer: Checkpointer | None = None, name: str = "trainer") -> list[dict]:
        """Train to the budget; with a ``checkpointer``, resume from its last state of ``name``
        and offer it the state after every iteration (it saves when it sees fit)."""
        if checkpointer is not None:
            saved = checkpointer.load(name)
            if saved is not None:
                self.load_state_dict(saved)
                emit(self.env_steps)  # what earlier attempts did counts towards the budget
        while not self.done:
            self.step()
            if checkpointer is not None and not self.done:
                checkpointer.offer(name, self.state_dict)
        return self.curve

    def state_dict(self) -> dict:
        """The whole run so far: policy, learner, random streams, environments, curve."""
        return {
            "agent": self.agent.state_dict(),
            "learner": self.learner.state_dict(),
            "rng": self.rng.bit_generator.state,
            "collector": self.collector.state_dict(),
            "env_steps": self.env_steps,
            "eval_steps": self.eval_steps,
            "iteration": self.iteration,
            "wall_seconds": self.wall_seconds,
            "last_logged": self._last_logged,
            "curve": self.curve,
            "episodes": {"returns": self.episodes.returns, "lengths": self.episodes.lengths},
            "recent_returns": list(self.recent_returns),
        }

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.learner.load_state_dict(state["learner"])
        self.rng.bit_generator.state = state["rng"]
        self.collector.load_state_dict(state["collector"])
        self.env_steps, self.eval_steps = int(state["env_steps"]), int(state["eval_steps"])
        self.iteration, self.wall_seconds = int(state["iteration"]), float(state["wall_seconds"])
        self._last_logged = int(state["last_logged"])
        self.curve = list(state["curve"])
        self.episodes.returns = list(state["episodes"]["returns"])
        self.episodes.lengths = list(state["episodes"]["lengths"])
        self.recent_returns.clear()
        self.recent_returns.extend(state["recent_returns"])

    def close(self) -> None:
        self.collector.close()
        if self.eval_env is not None:
            self.eval_env.close()


class Checkpointer(Protocol):
    """Where a long run keeps its state (the harness provides one; ``gpo`` only calls it)."""

    def load(self, name: str) -> dict | None:
        """The last saved state of ``name``, or None."""
        ...

    def offer(self, name: str, state: Callable[[], dict]) -> None:
        """A moment at which ``name`` could be saved; ``state()`` builds the state if it is."""
        ...


def train(config: TrainConfig, checkpointer: Checkpointer | None = None, name: str = "trainer") -> list[dict]:
    """Train to the budget and return the learning curve (a list of rows)."""
    return train_policy(config, checkpointer, name)[0]


def train_policy(
    config: TrainConfig, checkpointer: Checkpointer | None = None, name: str = "trainer"
) -> tuple[list[dict], dict]:
    """Train to the budget; the learning curve and the trained policy's state
    (``ActorCritic.state_dict``: parameters and observation statistics)."""
    trainer = Trainer(config)
    try:
        curve = trainer.run(checkpointer, name)
        return curve, trainer.agent.state_dict()
    finally:
        trainer.close()
