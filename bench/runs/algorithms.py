"""The algorithms a run can name, as data: each name is a family (``bench.runs.families``), the
learner its policies train with and the family's own switches.

Budgets are per policy, as in the paper: GPO, Single and Joint with population m all consume
m × ``steps_per_policy`` env steps; ``ppo``, ``ppo-kl``, ``a2c`` and ``a2c-sb3`` are one plain
policy. GPO and its baselines use one of the GPO paper's two learners: PPO with the adaptive KL
penalty, or (``-a2c``) the paper's A2C, one gradient step per batch of that PPO
(``A2CConfig.paper``). ``a2c-sb3`` is Stable-Baselines3's A2C, a different learner.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bench.envs import env_kwargs_for
from bench.runs.families import GPO, JOINT, PLAIN, SINGLE, Family, Request
from bench.runs.quiet import quiet_stderr
from gpo.core.a2c import A2CConfig
from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.crossover import CrossoverConfig
from gpo.data_sharing import DataSharingConfig
from gpo.selection import SelectionConfig


@dataclass(frozen=True)
class RunSpec:
    """What one run is: its family (``bench.runs.families``) and its configuration."""

    family: Family
    config: Any

    @property
    def env_steps(self) -> int:
        """Training env steps the run consumes (m × per-policy budget for populations)."""
        return self.family.env_steps(self.config)


@dataclass(frozen=True)
class Algorithm:
    """What an algorithm's name means: a family, the learner its policies train with, and the
    family's own switches (``GPOConfig`` fields for GPO's ablations)."""

    family: Family
    learner: Callable[[], Any]
    fields: dict = field(default_factory=dict)


ALGORITHM_TABLE = {
    "gpo": Algorithm(GPO, PPOConfig.kl_penalty),
    "gpo-a2c": Algorithm(GPO, A2CConfig.paper),
    "gpo-no-crossover": Algorithm(GPO, PPOConfig.kl_penalty, {"crossover": None}),
    "gpo-param-crossover": Algorithm(
        GPO, PPOConfig.kl_penalty, {"crossover": CrossoverConfig(kind="parameter")}
    ),
    "gpo-performance-selection": Algorithm(
        GPO, PPOConfig.kl_penalty, {"selection": SelectionConfig(beta_init=0.0)}
    ),
    "gpo-data-sharing": Algorithm(
        GPO, PPOConfig.kl_penalty, {"data_sharing": DataSharingConfig(enabled=True)}
    ),
    # Choices the paper leaves open (issue #44; each field's docstring says why it is open)
    "gpo-fresh-child": Algorithm(
        GPO, PPOConfig.kl_penalty, {"crossover": CrossoverConfig(child_init="random")}
    ),
    "gpo-eval-fitness": Algorithm(
        GPO, PPOConfig.kl_penalty, {"selection": SelectionConfig(fitness="evaluation")}
    ),
    "gpo-two-children": Algorithm(GPO, PPOConfig.kl_penalty, {"selection": SelectionConfig(max_children=2)}),
    "single": Algorithm(SINGLE, PPOConfig.kl_penalty),
    "single-a2c": Algorithm(SINGLE, A2CConfig.paper),
    "joint": Algorithm(JOINT, PPOConfig.kl_penalty),
    "joint-a2c": Algorithm(JOINT, A2CConfig.paper),
    "ppo": Algorithm(PLAIN, PPOConfig),
    "ppo-kl": Algorithm(PLAIN, PPOConfig.kl_penalty),
    "a2c": Algorithm(PLAIN, A2CConfig.paper),
    "a2c-sb3": Algorithm(PLAIN, A2CConfig.sb3),
}
ALGORITHMS = tuple(ALGORITHM_TABLE)


def uses(algo: str) -> tuple[str, ...]:
    """Which of ``population`` and ``rounds`` an algorithm reads: GPO both, Single and Joint the
    population, one plain policy (``ppo``, ``ppo-kl``, ``a2c``, ``a2c-sb3``) neither."""
    return ALGORITHM_TABLE[algo].family.uses


# The evaluation schedule of every run: 5 deterministic episodes after each 20,480 per-policy env
# steps (10 iterations of the paper's PPO learner), and at the end.
EVAL_EVERY_STEPS = 20_480
EVAL_EPISODES = 5


@functools.cache
def task_error(env_id: str) -> str | None:
    """Why gpo-bench cannot train on ``env_id``, or None. Its policies are Gaussian MLPs over a
    flat observation vector (the paper's continuous control), so the task's observation and
    action spaces must both be one-dimensional ``Box`` spaces; Pendulum-v1 and every MuJoCo task
    qualify, CartPole-v1 (discrete actions) or an image task does not. The env is made once per
    process to read its spaces."""
    import gymnasium as gym

    if env_id not in gym.registry:
        return f"unknown environment {env_id!r}"
    try:
        # MuJoCo prints its notes on a model's XML (the Hilly tasks') straight to stderr
        with warnings.catch_warnings(), quiet_stderr():
            warnings.simplefilter("ignore")
            env = gym.make(env_id, **env_kwargs_for(env_id, 0))
    except Exception as error:  # a task that cannot be made here (a missing dependency ...)
        return f"{env_id} cannot be made here ({type(error).__name__}: {error})"
    try:
        spaces = {"observation": env.observation_space, "action": env.action_space}
    finally:
        env.close()
    for kind, space in spaces.items():
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            return (
                f"{env_id} has a {type(space).__name__}{tuple(getattr(space, 'shape', ()) or ())} "
                f"{kind} space; gpo-bench trains continuous control with Gaussian policies, on tasks "
                "whose observations and actions are flat Box vectors (MuJoCo tasks, Pendulum-v1)"
            )
    return None


def build_run(
    algo: str,
    env_id: str,
    steps_per_policy: int,
    seed: int,
    population: int = 8,
    workers: int = 1,
    rounds: int = 12,
    env_kwargs: dict | None = None,
    eval_every_steps: int = EVAL_EVERY_STEPS,
    eval_episodes: int = EVAL_EPISODES,
    training_dtype: str = "float64",
    learner_settings: dict | None = None,
) -> RunSpec:
    """The run ``algo`` names; configuration errors raise ValueError with the reason.

    ``env_kwargs`` default to what the environment needs for this seed (a Hilly task's course).
    Every algorithm evaluates ``eval_episodes`` deterministic episodes after each
    ``eval_every_steps`` per-policy env steps (``gpo.core.trainer.TrainConfig``). ``training_dtype``
    is the precision of every learner's passes (``gpo.core.policy.PolicyConfig``).
    ``learner_settings`` replace fields of the algorithm's learner configuration (a suite's
    ``[learner]`` table: ``{"learning_rate": 3e-4}``).
    """
    if algo not in ALGORITHM_TABLE:
        raise ValueError(f"unknown algorithm {algo!r}; accepted: {', '.join(ALGORITHMS)}")
    problem = task_error(env_id)
    if problem is not None:
        raise ValueError(problem)
    if env_kwargs is None:
        env_kwargs = env_kwargs_for(env_id, seed)
    algorithm = ALGORITHM_TABLE[algo]
    learner = algorithm.learner
    if learner_settings:
        learner = functools.partial(_with_settings, algorithm.learner, tuple(learner_settings.items()))
        learner()  # a setting the configuration refuses raises ValueError here
    request = Request(
        env_id,
        steps_per_policy,
        seed,
        population,
        rounds,
        env_kwargs,
        eval_every_steps,
        eval_episodes,
        PolicyConfig(training_dtype=training_dtype),
        learner,
        algorithm.fields,
        workers,
    )
    return RunSpec(algorithm.family, algorithm.family.configure(request))


def _with_settings(make: Callable[[], Any], settings: tuple[tuple[str, Any], ...]) -> Any:
    """The learner configuration ``make`` builds, with ``settings`` replacing its fields."""
    return replace(make(), **dict(settings))
