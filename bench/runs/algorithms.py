"""The algorithms a run can name, as data: each name is a family and the configuration it runs.

Budgets are per policy, as in the paper: GPO, Single and Joint with population m all consume
m × ``steps_per_policy`` env steps; ``ppo``, ``ppo-kl`` and ``a2c`` are one plain policy.
GPO and its baselines use the GPO paper's learner (PPO with the adaptive KL penalty) or A2C.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

from baselines.single import SingleConfig, joint_config
from bench.envs import env_kwargs_for
from bench.runs.quiet import quiet_stderr
from gpo.core.a2c import A2CConfig
from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig
from gpo.crossover import CrossoverConfig
from gpo.data_sharing import DataSharingConfig
from gpo.gpo import GPOConfig
from gpo.selection import SelectionConfig


@dataclass(frozen=True)
class RunSpec:
    """What one run is: its family (``plain``, ``gpo``, ``single``) and its configuration."""

    family: str
    config: Any

    @property
    def env_steps(self) -> int:
        """Training env steps the run consumes (m × per-policy budget for populations)."""
        if self.family == "single":
            return self.config.population * self.config.steps_per_policy
        return self.config.total_steps


def _gpo(learner, **fields):
    def build(env_id, steps, seed, population, workers, rounds, env_kwargs, evaluation, policy):
        return RunSpec(
            "gpo",
            GPOConfig(
                env_id,
                steps,
                population=population,
                rounds=rounds,
                seed=seed,
                learner=learner(),
                policy=policy,
                workers=workers,
                env_kwargs=env_kwargs,
                **evaluation,
                **fields,
            ),
        )

    build.uses = ("population", "rounds")  # the suite fields (besides the budget) it reads
    return build


def _single(learner, joint: bool = False):
    def build(env_id, steps, seed, population, workers, rounds, env_kwargs, evaluation, policy):
        config = SingleConfig(
            env_id,
            steps,
            population=population,
            seed=seed,
            learner=learner(),
            policy=policy,
            workers=workers,
            env_kwargs=env_kwargs,
            **evaluation,
        )
        return RunSpec("plain", joint_config(config)) if joint else RunSpec("single", config)

    build.uses = ("population",)  # the suite fields (besides the budget) it reads
    return build


def _plain(learner):
    def build(env_id, steps, seed, population, workers, rounds, env_kwargs, evaluation, policy):
        config = TrainConfig(
            env_id, steps, seed=seed, learner=learner(), policy=policy, env_kwargs=env_kwargs, **evaluation
        )
        return RunSpec("plain", config)

    build.uses = ()  # the suite fields (besides the budget) it reads
    return build


BUILDERS = {
    "gpo": _gpo(PPOConfig.kl_penalty),
    "gpo-a2c": _gpo(A2CConfig),
    "gpo-no-crossover": _gpo(PPOConfig.kl_penalty, crossover=None),
    "gpo-param-crossover": _gpo(PPOConfig.kl_penalty, crossover=CrossoverConfig(kind="parameter")),
    "gpo-performance-selection": _gpo(PPOConfig.kl_penalty, selection=SelectionConfig(beta_init=0.0)),
    "gpo-data-sharing": _gpo(PPOConfig.kl_penalty, data_sharing=DataSharingConfig(enabled=True)),
    "single": _single(PPOConfig.kl_penalty),
    "single-a2c": _single(A2CConfig),
    "joint": _single(PPOConfig.kl_penalty, joint=True),
    "joint-a2c": _single(A2CConfig, joint=True),
    "ppo": _plain(PPOConfig),
    "ppo-kl": _plain(PPOConfig.kl_penalty),
    "a2c": _plain(A2CConfig),
}
ALGORITHMS = tuple(BUILDERS)


def uses(algo: str) -> tuple[str, ...]:
    """Which of ``population`` and ``rounds`` an algorithm reads: GPO both, Single and Joint the
    population, one plain policy (``ppo``, ``ppo-kl``, ``a2c``) neither."""
    return BUILDERS[algo].uses


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
) -> RunSpec:
    """The run ``algo`` names; configuration errors raise ValueError with the reason.

    ``env_kwargs`` default to what the environment needs for this seed (a Hilly task's course).
    Every algorithm evaluates ``eval_episodes`` deterministic episodes after each
    ``eval_every_steps`` per-policy env steps (``gpo.core.trainer.TrainConfig``). ``training_dtype``
    is the precision of every learner's passes (``gpo.core.policy.PolicyConfig``).
    """
    if algo not in BUILDERS:
        raise ValueError(f"unknown algorithm {algo!r}; accepted: {', '.join(ALGORITHMS)}")
    problem = task_error(env_id)
    if problem is not None:
        raise ValueError(problem)
    if env_kwargs is None:
        env_kwargs = env_kwargs_for(env_id, seed)
    evaluation = {"eval_every_steps": eval_every_steps, "eval_episodes": eval_episodes}
    policy = PolicyConfig(training_dtype=training_dtype)
    return BUILDERS[algo](
        env_id, steps_per_policy, seed, population, workers, rounds, env_kwargs, evaluation, policy
    )
