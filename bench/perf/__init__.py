"""Side-by-side speed and correctness benchmarks (run them; never time unit tests).

    python -m bench.perf throughput --env HalfCheetah-v5
        bare env steps/s, this project's PPO steps/s and stable-baselines3's PPO steps/s, measured
        in one process in alternating rounds with identical hyperparameters and one thread;
        prints one JSON line with env_sps, ours_sps, sb3_sps (medians over rounds) and ratios.
        ``env_sps`` times only the env's ``step`` and ``reset`` (random actions drawn beforehand);
        ``env_sampling_sps`` also times ``action_space.sample()`` at every step, the measure used
        until 2026-11-26 (see ``env_sps``).
    python -m bench.perf stepping --env HalfCheetah-v5
        steps/s of one env through each layer, side by side: gymnasium's SyncVectorEnv, the env
        gym.make returns (what ``env_sps`` measures), gymnasium's step of the unwrapped env,
        ``gpo.core.vector_env.LockstepEnvs`` (``gpo.core.task_step``'s step where it applies) and bare
        ``mujoco.mj_step`` with the task's frame skip (the physical limit).
    python -m bench.perf peer --env HalfCheetah-v5 --steps 200000 --seeds 3
        trains this PPO and SB3's PPO with the same settings and prints both final returns.
    python -m bench.perf gpo-overhead --env HalfCheetah-v5
        the bare env, GPO (m = 8) and Single (m = 8) on the same total budget, one worker each, in
        alternating rounds; prints env_sps, gpo_sps, single_sps, their ratios and the shares of
        GPO's wall time spent in selection and crossover and in evaluation; the cost of an env
        step of GPO's mutation (evaluation excluded) and of its crossover against Single's; and
        what GPO/Single would be if its mutation cost exactly Single's step (the rest as
        measured). Both use the GPO paper's learner; evaluation is kept to what GPO needs (one
        episode per member per phase, for its records) and is off for Single, so the comparison
        is of training work. The default budget keeps the paper's share of crossover samples.
        The env is measured before, between and after the two runs of each round, pooled.
    python -m bench.perf profile --env HalfCheetah-v5
        cProfile of one GPO run (m = 8, the gpo-overhead budget at a third): wall time by part
        (physics, the env's Python, collection, learning, evaluation, crossover, selection) and
        the functions with the most own time, as JSON (``--out`` writes it).
    python -m bench.perf policy-stepping --run results/paper-budget/gpo/Walker2d-v5/seed0
        what an env step costs when a trained policy acts (its best member, sampling as in
        training) against random actions, in alternating rounds; only ``env.step`` and
        ``env.reset`` are timed, so the difference is the physics and the env's own work (a
        walker that stays up has long episodes and touches the floor differently than one that
        falls). ``costs`` measures step costs in a run's first steps, where policies are random.
    python -m bench.perf joint-scaling --env HalfCheetah-v5 --population 4 --population 8
        core-seconds per env step of Joint's training (one policy, m environments, m× batch,
        full-batch updates) at each population, alternating rounds: ``costs`` measures Joint at
        m = 4, and its update's arrays grow with m.
    python -m bench.perf collection --env HalfCheetah-v5
        seconds per step of one policy's rollout collection with the env stubbed out (a fixed
        observation, no episode ends): what collecting adds to the env's own cost.
    python -m bench.perf floor --env HalfCheetah-v5
        the arithmetic no float64 NumPy implementation of the learners can skip, timed against the
        bare env in alternating rounds: the matmuls and tanh of the forward and backward passes of
        μ and V on the learner's batches (clipped PPO: 320 minibatches of 64 per 2,048 steps; the
        GPO paper's KL-PPO: 10 passes over 2,048) and of the policy's forward pass on each step's
        observation (GPO: 8 members stacked). Prints each one's µs per env step and the ceiling
        on ours/env that it leaves, were everything else (biases, slopes, the loss, Adam, GAE, the
        normaliser, Python, GPO's crossover) free: env / (env + floor).
    python -m bench.perf workers --env HalfCheetah-v5 --population 8 --workers 2
        one GPO run's wall time with one member worker and with W, alternating, the speed-up and
        whether the curve is the same (it must be): what ``--dry-run``'s wall time assumes.
    python -m bench.perf costs [--env TASK ...] [--out bench/data/step-costs.json]
        core-seconds per env step of each kind of training (GPO's population in lockstep, Joint,
        plain PPO-KL, clipped PPO, A2C), of GPO's crossover and of evaluation, on every task of
        the shipped suites: the table ``gpo-bench run --dry-run`` prices runs with (bench.runs.planning).

stable-baselines3 is a dev dependency used only here, never by the package.

One module a family of commands: ``throughput`` (throughput, peer), ``stepping`` (stepping,
policy-stepping, collection), ``gpo_overhead`` (gpo-overhead, profile, floor), ``costs`` (costs,
joint-scaling), ``workers``; ``__main__`` parses the command line; this package holds what they share (one
thread, the bare env's rate, our PPO's and SB3's). ``python -m bench.perf.fidelity`` is the GPO
fidelity audit.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig, Trainer

# gpo-overhead's default budget: 3 rounds on 184,320 steps per policy keep the paper's share of
# crossover samples (11 crossovers x 5,120 steps in 1M per policy = 5.6%) at a fifth of the run time.
OVERHEAD_STEPS_PER_POLICY, OVERHEAD_ROUNDS = 184_320, 3


def limit_threads() -> None:
    """One thread for torch and for NumPy's BLAS, the setting both sides are measured in."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def random_actions(space: gym.spaces.Box, steps: int, seed: int) -> np.ndarray:
    """``steps`` actions uniform in the box, in its dtype (what ``space.sample()`` draws), drawn
    beforehand so that the benchmarks time the env, not the drawing."""
    drawn = np.random.default_rng(seed).uniform(space.low, space.high, (steps, *space.shape))
    return drawn.astype(space.dtype)


def env_sps(env_id: str, steps: int, seed: int = 0, sample_each_step: bool = False) -> float:
    """Steps/s of the env ``gym.make`` returns under uniformly random actions; ``step`` and
    ``reset`` are timed, drawing the actions is not (they are drawn beforehand, uniform in the
    action box, in the action space's dtype: what ``action_space.sample()`` draws).

    ``sample_each_step`` calls ``env.action_space.sample()`` inside the timed loop instead: what
    this benchmark measured until 2026-11-26 (and the figure issue #11's targets were set
    against). gymnasium's ``Box.sample`` costs ~50-80 µs a call on this machine, about as much as
    HalfCheetah's physics, so that figure made the env look twice as slow as it is.
    """
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    space = env.action_space
    actions = random_actions(space, steps, seed)
    start = time.perf_counter()
    for action in actions:
        if sample_each_step:
            action = space.sample()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def env_rates(env_id: str, steps: int, seed: int) -> dict[str, float]:
    """``env_sps`` by the current measure and by the old one (action sampling timed too)."""
    return {
        "env_sps": env_sps(env_id, steps, seed=seed),
        "env_sampling_sps": env_sps(env_id, steps, seed=seed, sample_each_step=True),
    }


PEER_LEARNERS = ("ppo", "a2c-sb3")  # ours against SB3's own: clipped PPO, and SB3's A2C


def ours_trainer(
    env_id: str,
    steps: int,
    seed: int,
    eval_every_steps: int = 0,
    training_dtype: str = "float64",
    learner: str = "ppo",
) -> Trainer:
    from gpo.core.a2c import A2CConfig

    policy = PolicyConfig(training_dtype=training_dtype)
    config = {"ppo": PPOConfig, "a2c-sb3": A2CConfig.sb3}[learner]()
    return Trainer(
        TrainConfig(
            env_id, steps, seed=seed, learner=config, policy=policy, eval_every_steps=eval_every_steps
        )
    )


def ours_sps(env_id: str, steps: int, seed: int = 0, training_dtype: str = "float64") -> float:
    trainer = ours_trainer(env_id, steps, seed, training_dtype=training_dtype)
    start = time.perf_counter()
    trainer.run()
    elapsed = time.perf_counter() - start
    trainer.close()
    return steps / elapsed


def sb3_model(env_id: str, seed: int, learner: str = "ppo"):
    """SB3 PPO with our defaults: same batch, epochs, minibatch size, lr, γ, λ, ε, coefficients,
    2 × 64 tanh networks with orthogonal init, log σ₀ = 0, and VecNormalize for the same
    observation normalisation and reward scaling. ``learner="a2c-sb3"``: SB3's A2C with
    ``A2CConfig.sb3()``'s settings (its own defaults) on the same networks and normalisation."""
    from stable_baselines3 import A2C as SB3A2C
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from gpo.core.a2c import A2CConfig

    cfg = A2CConfig.sb3() if learner == "a2c-sb3" else PPOConfig()
    venv = VecNormalize(make_vec_env(env_id, n_envs=cfg.n_envs, seed=seed), gamma=cfg.gamma)
    shared = {
        "learning_rate": cfg.learning_rate,
        "n_steps": cfg.n_steps,
        "gamma": cfg.gamma,
        "gae_lambda": cfg.gae_lambda,
        "ent_coef": cfg.ent_coef,
        "vf_coef": cfg.vf_coef,
        "max_grad_norm": cfg.max_grad_norm,
        "policy_kwargs": {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "log_std_init": 0.0},
        "device": "cpu",
        "seed": seed,
        "verbose": 0,
    }
    if learner == "a2c-sb3":
        own = {
            "rms_prop_eps": cfg.rms_eps,
            "use_rms_prop": True,
            "normalize_advantage": cfg.normalize_advantage,
        }
        return SB3A2C("MlpPolicy", venv, **own, **shared)
    batch_size = cfg.n_steps * cfg.n_envs // cfg.n_minibatches
    return SB3PPO(
        "MlpPolicy", venv, batch_size=batch_size, n_epochs=cfg.n_epochs, clip_range=cfg.clip_coef, **shared
    )


def sb3_sps(env_id: str, steps: int, seed: int = 0) -> float:
    model = sb3_model(env_id, seed)
    start = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - start
    model.get_env().close()
    return steps / elapsed


def best_seconds(run, calls: int, repeats: int = 5) -> float:
    """Seconds per call of ``run``: the fastest of ``repeats`` means over ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - start) / calls)
    return best
