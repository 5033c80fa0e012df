"""One policy trained by one learner on one environment: the loop behind the ``ppo``/``a2c``
runs and the *Single* and *Joint* baselines, and the unit GPO's mutation operator repeats.

Each iteration: collect N·n steps (the last iteration only what is left of the budget, so a run
stops at its exact env-step budget), update, and append a row to the learning curve. Seeding:
one integer fixes everything: the networks' initialisation and the exploration noise and
minibatch order come from numpy generators spawned from it, training env i is reset with
``seed + i`` and the evaluation env with ``seed + EVAL_SEED_OFFSET`` (or ``eval_seed``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import gymnasium as gym
import numpy as np

from gpo.core.a2c import A2C, A2CConfig
from gpo.core.distributions import entropy
from gpo.core.evaluation import evaluate_together
from gpo.core.learner import Batch, Learner
from gpo.core.parallel import single_threaded
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPO, PPOConfig
from gpo.core.progress import emit, emit_restored
from gpo.core.rollout import Rollout, RolloutCollector, collect_together, make_vector_env

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
    # Evaluation runs on an env-step schedule, the same for every algorithm so that curves are
    # comparable: after the first iteration that reaches each multiple of ``eval_every_steps``
    # (counted from ``eval_offset_steps``: steps taken before this trainer, GPO's earlier phases)
    # and at the end (``eval_at_end``); 0 = never. An iteration-count schedule made A2C (20 steps
    # per iteration) evaluate every 200 steps, several times the cost of its training.
    eval_every_steps: int = 20_480
    eval_offset_steps: int = 0
    eval_at_end: bool = True
    eval_seed: int | None = None  # reset seed of the evaluation env; None = seed + EVAL_SEED_OFFSET
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
        if self.eval_every_steps < 0 or self.eval_offset_steps < 0:
            raise ValueError("eval_every_steps and eval_offset_steps must be >= 0")
        if self.eval_episodes < 1 or self.log_every_steps < 1:
            raise ValueError("eval_episodes and log_every_steps must be >= 1")

    @property
    def evaluation_seed(self) -> int:
        return self.seed + EVAL_SEED_OFFSET if self.eval_seed is None else self.eval_seed


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
        self.eval_env = gym.make(config.env_id, **config.env_kwargs) if config.eval_every_steps else None
        self.env_steps = 0
        self.eval_steps = 0
        self.eval_seconds = 0.0
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
        return collect_all([self])[0]

    @property
    def next_rollout_steps(self) -> int:
        """Steps per environment of the next rollout: n_steps, or what is left of the budget."""
        n_envs = self.learner.n_envs
        return min(self.learner.n_steps, (self.config.total_steps - self.env_steps) // n_envs)

    def _collected(self, rollout: Rollout, seconds: float) -> None:
        self.last_rollout = rollout
        self.env_steps += rollout.n_steps
        self.episodes.add(rollout.episode_returns, rollout.episode_lengths)
        self.recent_returns.extend(rollout.episode_returns)
        self.wall_seconds += seconds
        emit(rollout.n_steps, np.mean(rollout.episode_returns) if rollout.episode_returns else None)

    def update(self, rollout: Rollout, extra: Sequence[Batch] = ()) -> dict | None:
        """The learning half: update on ``rollout`` (and ``extra`` batches of shared samples),
        evaluate if due, and append a curve row if due."""
        return update_all([self], [rollout], [extra])[0]

    def _learn(self, rollout: Rollout, extra: Sequence[Batch]) -> dict:
        start = time.perf_counter()
        stats = self.learner.update(self.agent, rollout, self.rng, extra)
        self.iteration += 1
        self.wall_seconds += time.perf_counter() - start
        return stats

    @property
    def evaluation_due(self) -> bool:
        """Whether the iteration just finished reached the next point of the evaluation schedule.

        With ``eval_at_end=False`` the trainer's owner evaluates at its end (GPO, at the end of a
        mutation phase), and that evaluation stands in for a schedule point it follows by less than
        ``eval_every_steps``: so GPO is not evaluated twice in a row a few iterations apart.
        """
        cfg, every = self.config, self.config.eval_every_steps
        if not every:
            return False
        if self.done:
            return cfg.eval_at_end
        now = cfg.eval_offset_steps + self.env_steps
        before = now - (self.last_rollout.n_steps if self.last_rollout is not None else 0)
        if now // every == before // every:
            return False
        point = now // every * every
        return cfg.eval_at_end or cfg.eval_offset_steps + cfg.total_steps >= point + every

    def _append_row(self, stats: dict, eval_return: float, evaluated: bool) -> dict | None:
        cfg = self.config
        crossed = self.env_steps // cfg.log_every_steps > self._last_logged // cfg.log_every_steps
        if not (crossed or evaluated or self.done):
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
            "eval_seconds": self.eval_seconds,
            **stats,
        }
        self.curve.append(row)
        return row

    def run(self, checkpointer: Checkpointer | None = None, name: str = "trainer") -> list[dict]:
        """Train to the budget; with a ``checkpointer``, resume from its last state of ``name``
        and offer it the state after every iteration (it saves when it sees fit)."""
        train_together([self], checkpointer, [name])
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
            "eval_seconds": self.eval_seconds,
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
        self.eval_seconds = float(state.get("eval_seconds", 0.0))
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


def collect_all(trainers: Sequence[Trainer]) -> list[Rollout]:
    """One rollout of each trainer, collected in lockstep (``gpo.core.rollout.collect_together``).

    Each trainer's rollout is exactly what ``collect`` alone gives; all must be due the same
    number of steps. Each trainer is charged the group's wall time divided by its size."""
    n_steps = trainers[0].next_rollout_steps
    if any(t.next_rollout_steps != n_steps for t in trainers):
        raise ValueError("trainers collected together must be due the same number of steps")
    start = time.perf_counter()
    rollouts = collect_together(
        [t.collector for t in trainers], [t.agent for t in trainers], n_steps, [t.rng for t in trainers]
    )
    seconds = (time.perf_counter() - start) / len(trainers)
    for trainer, rollout in zip(trainers, rollouts):
        trainer._collected(rollout, seconds)
    return rollouts


def update_all(
    trainers: Sequence[Trainer], rollouts: Sequence[Rollout], extras: Sequence[Sequence[Batch]] | None = None
) -> list[dict | None]:
    """``Trainer.update`` for several trainers: each learner updates on its own rollout, then the
    trainers due an evaluation are evaluated together (``gpo.core.evaluation.evaluate_together``,
    each exactly as alone). Returns each trainer's new curve row, if any."""
    extras = extras if extras is not None else [()] * len(trainers)
    stats = [t._learn(r, e) for t, r, e in zip(trainers, rollouts, extras, strict=True)]
    due = [t for t in trainers if t.evaluation_due]
    eval_returns = {}
    if due:
        start = time.perf_counter()
        evaluated = evaluate_together(
            [t.agent for t in due],
            [t.eval_env for t in due],
            due[0].config.eval_episodes,
            [t.config.evaluation_seed for t in due],
        )
        seconds = (time.perf_counter() - start) / len(due)
        for trainer, (returns, steps) in zip(due, evaluated):
            eval_returns[id(trainer)] = float(np.mean(returns))
            trainer.eval_steps += steps
            trainer.eval_seconds += seconds
            trainer.wall_seconds += seconds
            emit(eval_return=eval_returns[id(trainer)])
    return [
        t._append_row(s, eval_returns.get(id(t), float("nan")), id(t) in eval_returns)
        for t, s in zip(trainers, stats)
    ]


def train_together(
    trainers: Sequence[Trainer], checkpointer: Checkpointer | None = None, names: Sequence[str] = ()
) -> None:
    """Train several independent trainers to their budgets, in lockstep where they can be.

    Trainers at the same point of their budget (and due the same rollout size) collect together;
    one that is behind (say, resumed from an older checkpoint than the others) catches up on its
    own first. Every trainer's numbers are the ones it gets trained alone. With a
    ``checkpointer``, trainer i resumes from and offers its state under ``names[i]``.

    It computes on one BLAS and one torch thread, as GPO and Single do: otherwise NumPy's BLAS and
    torch use every core, so a run's numbers would depend on the machine's core count, and two
    runs side by side on two cores would oversubscribe them (a PPO run, measured, was 3.5× slower
    beside one other run)."""
    single_threaded()
    if checkpointer is not None:
        for trainer, name in zip(trainers, names, strict=True):
            saved = checkpointer.load(name)
            if saved is not None:
                trainer.load_state_dict(saved)
                emit_restored(trainer.env_steps)  # earlier attempts' steps count towards the budget
    while True:
        active = [t for t in trainers if not t.done]
        if not active:
            return
        behind = min(t.env_steps for t in active)
        group = [t for t in active if t.env_steps == behind]
        update_all(group, collect_all(group))
        if checkpointer is not None:
            for trainer, name in zip(trainers, names):
                if trainer in group and not trainer.done:
                    checkpointer.offer(name, trainer.state_dict)


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
    return train_policies([config], checkpointer, [name])[0]


def train_policies(
    configs: Sequence[TrainConfig], checkpointer: Checkpointer | None = None, names: Sequence[str] = ()
) -> list[tuple[list[dict], dict]]:
    """``train_policy`` for independent runs of one shape, trained in lockstep (``train_together``):
    each one's curve and policy are exactly what it gets trained alone."""
    trainers: list[Trainer] = []
    try:
        for config in configs:
            trainers.append(Trainer(config))
        train_together(trainers, checkpointer, names)
        return [(trainer.curve, trainer.agent.state_dict()) for trainer in trainers]
    finally:
        for trainer in trainers:
            trainer.close()
