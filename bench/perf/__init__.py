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
    python -m bench.perf costs [--env TASK ...] [--out bench/data/step-costs.json]
        core-seconds per env step of each kind of training (GPO's population in lockstep, Joint,
        plain PPO-KL, clipped PPO, A2C), of GPO's crossover and of evaluation, on every task of
        the shipped suites: the table ``gpo-bench run --dry-run`` prices runs with (bench.analysis.cost).

stable-baselines3 is a dev dependency used only here, never by the package.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from gpo.core.evaluation import evaluate
from gpo.core.policy import TRAINING_DTYPES, PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import EVAL_SEED_OFFSET, TrainConfig, Trainer

PEER_EVAL_EPISODES = 10
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


def ours_trainer(
    env_id: str, steps: int, seed: int, eval_every_steps: int = 0, training_dtype: str = "float64"
) -> Trainer:
    policy = PolicyConfig(training_dtype=training_dtype)
    return Trainer(
        TrainConfig(
            env_id, steps, seed=seed, learner=PPOConfig(), policy=policy, eval_every_steps=eval_every_steps
        )
    )


def ours_sps(env_id: str, steps: int, seed: int = 0, training_dtype: str = "float64") -> float:
    trainer = ours_trainer(env_id, steps, seed, training_dtype=training_dtype)
    start = time.perf_counter()
    trainer.run()
    elapsed = time.perf_counter() - start
    trainer.close()
    return steps / elapsed


def sb3_model(env_id: str, seed: int):
    """SB3 PPO with our defaults: same batch, epochs, minibatch size, lr, γ, λ, ε, coefficients,
    2 × 64 tanh networks with orthogonal init, log σ₀ = 0, and VecNormalize for the same
    observation normalisation and reward scaling."""
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    cfg = PPOConfig()
    venv = VecNormalize(make_vec_env(env_id, n_envs=cfg.n_envs, seed=seed), gamma=cfg.gamma)
    return SB3PPO(
        "MlpPolicy",
        venv,
        n_steps=cfg.n_steps,
        batch_size=cfg.n_steps * cfg.n_envs // cfg.n_minibatches,
        n_epochs=cfg.n_epochs,
        learning_rate=cfg.learning_rate,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_coef,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "log_std_init": 0.0},
        device="cpu",
        seed=seed,
        verbose=0,
    )


def sb3_sps(env_id: str, steps: int, seed: int = 0) -> float:
    model = sb3_model(env_id, seed)
    start = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - start
    model.get_env().close()
    return steps / elapsed


def stepping(args: argparse.Namespace) -> dict:
    """Steps/s of the same env through each layer, alternating rounds, every layer fed the same
    random actions, drawn beforehand (the physics' cost depends on the actions: zero actions
    step HalfCheetah-v5 measurably cheaper than random ones)."""
    import mujoco

    from gpo.core.vector_env import make_vector_env

    probe = gym.make(args.env)
    drawn = random_actions(probe.action_space, args.env_steps, seed=0)  # env_sps(seed=0)'s actions
    probe.close()

    def vector_sps(envs, n):
        envs.reset(seed=0)
        start = time.perf_counter()
        for action in drawn[:n]:
            envs.step(action[None])
        return n / (time.perf_counter() - start)

    def gymnasium_vector(n):
        mode = gym.vector.AutoresetMode.SAME_STEP
        return vector_sps(gym.vector.SyncVectorEnv([lambda: gym.make(args.env)], autoreset_mode=mode), n)

    def lockstep(n):
        return vector_sps(make_vector_env(args.env, 1), n)

    def unwrapped(n):  # gymnasium's own step of the unwrapped env: LockstepEnvs' before gpo.core.task_step
        env = gym.make(args.env)
        core, limit = env.unwrapped, env.spec.max_episode_steps
        core.reset(seed=0)
        elapsed = 0
        start = time.perf_counter()
        for action in drawn[:n]:
            _, _, terminated, _, _ = core.step(action)
            elapsed += 1
            if terminated or elapsed == limit:
                core.reset()
                elapsed = 0
        rate = n / (time.perf_counter() - start)
        env.close()
        return rate

    def physics(n):
        env = gym.make(args.env)
        env.reset(seed=0)
        core = env.unwrapped
        start = time.perf_counter()
        for action in drawn[:n]:
            core.data.ctrl[:] = action
            mujoco.mj_step(core.model, core.data, nstep=core.frame_skip)
        return n / (time.perf_counter() - start)

    layers = {
        "gymnasium_sync_vector_sps": gymnasium_vector,
        "env_sps": lambda n: env_sps(args.env, n),  # gym.make's env, the same actions
        "env_sampling_sps": lambda n: env_sps(args.env, n, sample_each_step=True),  # and sample() timed
        "unwrapped_sps": unwrapped,
        "lockstep_sps": lockstep,
        "mj_step_sps": physics,
    }
    samples: dict[str, list[float]] = {k: [] for k in layers}
    for _ in range(args.rounds):
        for name, measure in layers.items():
            samples[name].append(measure(args.env_steps))
    result = {k: round(statistics.median(v), 1) for k, v in samples.items()}
    # The best round too: on a machine whose speed jumps between levels every few seconds (the
    # AVX-512 machine of 2026-11-26), a median of a few rounds lands in either level.
    result["best"] = {k: round(max(v), 1) for k, v in samples.items()}
    result.update(env=args.env, steps=args.env_steps, rounds=args.rounds)
    return result


def timed_steps(env: gym.Env, act, steps: int, seed: int) -> tuple[float, float]:
    """Seconds per env step (``step`` and ``reset`` timed, ``act`` not) and the mean episode
    length over ``steps`` steps of ``act(obs)`` in ``env``."""
    obs, _ = env.reset(seed=seed)
    clock, episodes = 0.0, 0
    for _ in range(steps):
        action = act(obs)
        start = time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
        clock += time.perf_counter() - start
    return clock / steps, steps / max(episodes, 1)


def policy_stepping(args: argparse.Namespace) -> dict:
    """Env step cost under a trained policy and under random actions, alternating rounds."""
    limit_threads()
    from bench.artifacts.policies import load_policy

    policy = load_policy(Path(args.run))
    env = policy.make_env()
    rng = np.random.default_rng(0)
    low, high = env.action_space.low, env.action_space.high
    acts = {
        "policy": lambda obs: np.clip(policy.act(obs, deterministic=False, rng=rng), low, high),
        "random": lambda obs: rng.uniform(low, high),
    }
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in acts}
    try:
        for r in range(args.rounds):
            for name, act in acts.items():
                samples[name].append(timed_steps(env, act, args.env_steps, seed=r))
    finally:
        env.close()
    result: dict = {"run": args.run, "env": policy.env_id, "steps": args.env_steps, "rounds": args.rounds}
    for name, values in samples.items():
        result[f"{name}_us_per_step"] = round(1e6 * statistics.median(v for v, _ in values), 1)
        result[f"{name}_episode_length"] = round(statistics.median(n for _, n in values), 1)
    result["policy_over_random"] = round(result["policy_us_per_step"] / result["random_us_per_step"], 3)
    return result


class _StubEnvs:
    """A one-env vector env that returns a fixed observation and never ends an episode: stepping
    it costs next to nothing, so collecting with it times what collection adds to the env."""

    num_envs = 1

    def __init__(self, env_id: str):
        env = gym.make(env_id)
        self.single_observation_space, self.single_action_space = env.observation_space, env.action_space
        self.obs, _ = env.reset(seed=0)
        env.close()

    def reset(self, seed: int | None = None):
        return self.obs[None].astype(np.float64), {}

    def step(self, actions):
        return self.obs[None].astype(np.float64), np.full(1, 0.5), np.zeros(1, bool), np.zeros(1, bool), {}


def collection(args: argparse.Namespace) -> dict:
    """Seconds per step of ``collect_together`` for one policy (PPO's collection) with the env
    stubbed out: the normaliser, the forward pass, the noise, clipping and the bookkeeping."""
    from gpo.core.policy import ActorCritic
    from gpo.core.rollout import RolloutCollector

    limit_threads()
    collector = RolloutCollector(_StubEnvs(args.env), seed=0)
    space = collector.envs.single_observation_space
    agent = ActorCritic(
        space.shape[0], collector.envs.single_action_space.shape[0], PolicyConfig(), np.random.default_rng(0)
    )
    rng = np.random.default_rng(1)
    samples = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        collector.collect(agent, args.steps, rng)
        samples.append((time.perf_counter() - start) / args.steps)
    return {
        "env": args.env,
        "steps": args.steps,
        "rounds": args.rounds,
        "microseconds_per_step_best": round(min(samples) * 1e6, 1),
        "microseconds_per_step_median": round(statistics.median(samples) * 1e6, 1),
    }


def joint_scaling(args: argparse.Namespace) -> dict:
    """Joint's training cost per env step at each population size, alternating rounds."""
    limit_threads()
    from baselines.single import SingleConfig, joint_config

    samples: dict[int, list[float]] = {m: [] for m in args.population}
    for _ in range(args.rounds):
        for m in args.population:
            config = joint_config(SingleConfig(args.env, args.steps, population=m, eval_every_steps=0))
            trainer = Trainer(config)
            start = time.perf_counter()
            trainer.run()
            samples[m].append((time.perf_counter() - start) / config.total_steps)
            trainer.close()
    result: dict = {"env": args.env, "steps_per_policy": args.steps, "rounds": args.rounds}
    for m, values in samples.items():
        result[f"m{m}_us_per_step"] = round(1e6 * statistics.median(values), 1)
    return result


def throughput(args: argparse.Namespace) -> dict:
    limit_threads()
    samples: dict[str, list[float]] = {"env_sps": [], "env_sampling_sps": [], "ours_sps": [], "sb3_sps": []}
    for r in range(args.rounds):  # alternate, so drifts in machine load hit all of them alike
        for name, rate in env_rates(args.env, args.env_steps, r).items():
            samples[name].append(rate)
        samples["ours_sps"].append(ours_sps(args.env, args.steps, seed=r, training_dtype=args.training_dtype))
        samples["sb3_sps"].append(sb3_sps(args.env, args.steps, seed=r))
    result = {k: round(statistics.median(v), 1) for k, v in samples.items()}
    result["ours_over_sb3"] = round(result["ours_sps"] / result["sb3_sps"], 3)
    result["ours_over_env"] = round(result["ours_sps"] / result["env_sps"], 3)
    result["ours_over_env_sampling"] = round(result["ours_sps"] / result["env_sampling_sps"], 3)
    result.update(
        env=args.env, steps=args.steps, rounds=args.rounds, threads=1, training_dtype=args.training_dtype
    )
    return result


def sb3_eval(model, env_id: str, n_episodes: int, seed: int) -> float:
    env = gym.make(env_id)
    venv = model.get_env()
    obs, _ = env.reset(seed=seed)
    returns = []
    for _ in range(n_episodes):
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(venv.normalize_obs(obs[None]), deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action[0])
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        obs, _ = env.reset()
    env.close()
    return float(np.mean(returns))


def peer(args: argparse.Namespace) -> dict:
    limit_threads()
    ours, sb3 = [], []
    for seed in range(args.seeds):
        trainer = ours_trainer(args.env, args.steps, seed)
        trainer.run()
        eval_env = gym.make(args.env)  # the same evaluation as SB3's below, on a fresh env
        returns, _ = evaluate(trainer.agent, eval_env, PEER_EVAL_EPISODES, seed + EVAL_SEED_OFFSET)
        eval_env.close()
        trainer.close()
        ours.append(float(np.mean(returns)))
        model = sb3_model(args.env, seed)
        model.learn(args.steps)
        sb3.append(sb3_eval(model, args.env, PEER_EVAL_EPISODES, seed + EVAL_SEED_OFFSET))
        model.get_env().close()
        print(f"seed {seed}: ours {ours[-1]:.1f}  sb3 {sb3[-1]:.1f}", file=sys.stderr, flush=True)
    result = {
        "env": args.env,
        "steps": args.steps,
        "seeds": args.seeds,
        "metric": f"deterministic return of the final policy, mean of {PEER_EVAL_EPISODES} episodes",
        "ours_returns": [round(x, 1) for x in ours],
        "sb3_returns": [round(x, 1) for x in sb3],
        "ours_mean": round(float(np.mean(ours)), 1),
        "ours_std": round(float(np.std(ours)), 1),
        "sb3_mean": round(float(np.mean(sb3)), 1),
        "sb3_std": round(float(np.std(sb3)), 1),
    }
    result["ours_not_worse_by_1std"] = bool(
        result["ours_mean"] >= result["sb3_mean"] - max(result["ours_std"], result["sb3_std"])
    )
    return result


def gpo_overhead(args: argparse.Namespace) -> dict:
    from baselines.single import SingleConfig, run_single
    from gpo.gpo import GPO, GPOConfig

    limit_threads()
    policy = PolicyConfig(training_dtype=args.training_dtype)
    gpo_config = GPOConfig(
        args.env,
        args.steps_per_policy,
        population=args.population,
        rounds=args.rounds,
        policy=policy,
        eval_episodes=1,
        eval_every_steps=0,  # phase ends only: what GPO needs for its records
    )
    single_config = SingleConfig(
        args.env, args.steps_per_policy, population=args.population, policy=policy, eval_every_steps=0
    )
    samples: dict[str, list[float]] = {"env_sps": [], "env_sampling_sps": [], "gpo_sps": [], "single_sps": []}
    shares, eval_shares, per_step, bounds = [], [], {"mutation": [], "crossover": []}, []
    for r in range(args.repeats):  # alternate, so drifts in machine load hit all of them alike
        # The env is measured before GPO, between GPO and Single and after Single, and pooled: a
        # second's measurement otherwise lands in whichever speed the machine has that second
        # (2026-11-26's switched between ~12,500 and ~20,500 env steps/s every few seconds),
        # where GPO's and Single's minutes average over both.
        envs = [env_rates(args.env, args.env_steps, r)]
        start = time.perf_counter()
        run = GPO(gpo_config).run()
        elapsed = time.perf_counter() - start
        samples["gpo_sps"].append(run.env_steps / elapsed)
        seconds = {k: sum(rd[k] for rd in run.rounds) for k in run.rounds[0] if k.startswith("seconds_")}
        shares.append((seconds["seconds_selection"] + seconds["seconds_crossover"]) / elapsed)
        eval_shares.append(seconds["seconds_evaluation"] / elapsed)
        envs.append(env_rates(args.env, args.env_steps, r))
        start = time.perf_counter()
        result = run_single(single_config)
        single_step = (time.perf_counter() - start) / result.curve[-1]["env_steps"]
        samples["single_sps"].append(1.0 / single_step)
        envs.append(env_rates(args.env, args.env_steps, r))
        for name in envs[0]:  # total steps over total time
            samples[name].append(statistics.harmonic_mean([rates[name] for rates in envs]))
        # GPO's parts per env step, against Single's step of the same alternation
        mutation_steps = gpo_config.population * sum(rd["mutation_steps_per_member"] for rd in run.rounds)
        mutation = seconds["seconds_mutation"] - seconds["seconds_evaluation"]
        per_step["mutation"].append(mutation / mutation_steps / single_step)
        crossover_steps = run.env_steps - mutation_steps
        per_step["crossover"].append(seconds["seconds_crossover"] / crossover_steps / single_step)
        # GPO/Single if its mutation ran at exactly Single's cost a step, all else as measured
        others = elapsed - mutation
        bounds.append(run.env_steps * single_step / (mutation_steps * single_step + others))
    result = {k: round(statistics.median(v), 1) for k, v in samples.items()}
    result.update(
        selection_crossover_share=round(statistics.median(shares), 3),
        evaluation_share=round(statistics.median(eval_shares), 3),
        mutation_step_over_single_step=round(statistics.median(per_step["mutation"]), 3),
        crossover_step_over_single_step=round(statistics.median(per_step["crossover"]), 3),
        gpo_over_single_if_mutation_were_single=round(statistics.median(bounds), 3),
        gpo_over_single=round(result["gpo_sps"] / result["single_sps"], 3),
        gpo_over_env=round(result["gpo_sps"] / result["env_sps"], 3),
        gpo_over_env_sampling=round(result["gpo_sps"] / result["env_sampling_sps"], 3),
        env=args.env,
        population=args.population,
        steps_per_policy=args.steps_per_policy,
        rounds=args.rounds,
        crossover_steps_per_child=gpo_config.crossover_steps_per_child,
        workers=1,
        repeats=args.repeats,
        training_dtype=args.training_dtype,
    )
    return result


PROFILE_PARTS = {  # part: (file name, function) whose cumulative time it is; parts may nest
    "physics (mj_step)": ("~", "<built-in method mujoco._functions.mj_step>"),
    "collection (env + policy, in lockstep)": ("rollout.py", "collect_together"),
    "learning (PPO updates)": ("ppo.py", "update"),
    "evaluation (members and children)": ("evaluation.py", "evaluate_together"),
    "crossover (selector, DAgger, child's evaluation)": ("crossover.py", "crossover_group"),
    "selection": ("gpo.py", "_select"),
}


def profile(args: argparse.Namespace) -> dict:
    import cProfile
    import pstats

    from gpo.gpo import GPO, GPOConfig

    limit_threads()
    config = GPOConfig(
        args.env, args.steps_per_policy, population=args.population, rounds=args.rounds, eval_episodes=1
    )
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run = GPO(config).run()
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}

    def cumulative(file: str, function: str) -> float:
        return sum(v[3] for (f, _, name), v in stats.items() if name == function and Path(f).name == file)

    parts = {part: round(cumulative(*where) / wall, 3) for part, where in PROFILE_PARTS.items()}
    own = sorted(stats.items(), key=lambda item: -item[1][2])[: args.top]
    return {
        "command": "python -m bench.perf profile --env " + args.env,
        "wall_seconds_under_cprofile": round(wall, 1),
        "env_steps": run.env_steps,
        "share_of_wall_time": parts,
        "top_own_time": [
            {"function": f"{Path(file).name}:{line}({name})", "calls": nc, "own_share": round(tt / wall, 3)}
            for (file, line, name), (_, nc, tt, _, _) in own
        ],
        "note": "cProfile adds per-call overhead, so Python-heavy parts read larger than they run",
    }


def pass_arithmetic(sizes: tuple[int, ...], rows: int, members: int = 0, backward: bool = True):
    """A closure doing only the matmuls and tanh of an MLP pass on ``rows`` inputs (``members``
    networks stacked, if > 0), into arrays allocated once: the forward pass's x @ W and tanh of
    each hidden layer; with ``backward``, each layer's xᵀ @ dy and, below the top, dy @ Wᵀ. What
    ``gpo.core.nn.MLP``'s passes do besides (biases, the tanh slope, allocation) is left out. The tanh is
    the one the code uses there: torch's kernel for training passes, NumPy's for inference (a
    step's few states, where its per-call cost is lower; ``gpo.core.nn``)."""
    from gpo.core.nn import tanh_

    def np_tanh_(x: np.ndarray) -> None:
        np.tanh(x, out=x)

    tanh = tanh_ if backward else np_tanh_

    rng = np.random.default_rng(0)
    lead = (members,) if members else ()
    weights = [0.1 * rng.standard_normal((*lead, i, o)) for i, o in zip(sizes[:-1], sizes[1:])]
    xs = [rng.standard_normal((*lead, rows, s)) for s in sizes]
    dys = [rng.standard_normal((*lead, rows, s)) for s in sizes]
    grads = [np.empty_like(w) for w in weights]
    last = len(weights) - 1

    def run() -> None:
        for k, w in enumerate(weights):
            np.matmul(xs[k], w, out=xs[k + 1])
            if k < last:
                tanh(xs[k + 1])
        if backward:
            for k in range(last, -1, -1):
                np.matmul(np.swapaxes(xs[k], -1, -2), dys[k + 1], out=grads[k])
                if k:
                    np.matmul(dys[k + 1], np.swapaxes(weights[k], -1, -2), out=dys[k])

    return run


def best_seconds(run, calls: int, repeats: int = 5) -> float:
    """Seconds per call of ``run``: the fastest of ``repeats`` means over ``calls`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def floor(args: argparse.Namespace) -> dict:
    from gpo.gpo import GPOConfig

    limit_threads()
    env = gym.make(args.env)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    policy = PolicyConfig()
    pi, vf = (obs_dim, *policy.hidden, act_dim), (obs_dim, *policy.value_hidden, 1)
    learners = {"clipped_ppo": PPOConfig(), "gpo_kl_ppo": PPOConfig.kl_penalty()}
    gpo = GPOConfig(args.env, OVERHEAD_STEPS_PER_POLICY, population=args.population, rounds=OVERHEAD_ROUNDS)
    mutation_share = gpo.mutation_steps_per_policy / gpo.steps_per_policy
    samples: dict[str, list[float]] = {"env_us": []}
    for _ in range(args.rounds):  # alternate, so drifts in machine load hit all of them alike
        samples["env_us"].append(1e6 / env_sps(args.env, args.env_steps))
        for name, cfg in learners.items():
            batch = cfg.n_envs * cfg.n_steps
            rows = batch // cfg.n_minibatches
            passes_per_step = cfg.n_epochs * cfg.n_minibatches / batch
            calls = max(3, 20_000 // rows)
            seconds = sum(best_seconds(pass_arithmetic(s, rows), calls) for s in (pi, vf))
            samples.setdefault(f"{name}_training_us", []).append(1e6 * seconds * passes_per_step)
        one = best_seconds(pass_arithmetic(pi, 1, backward=False), 2000)
        stacked = best_seconds(pass_arithmetic(pi, 1, args.population, backward=False), 2000)
        samples.setdefault("clipped_ppo_inference_us", []).append(1e6 * one)
        samples.setdefault("gpo_kl_ppo_inference_us", []).append(1e6 * stacked / args.population)
    result = {k: round(statistics.median(v), 2) for k, v in samples.items()}
    env_us = result["env_us"]
    for name, share in (("clipped_ppo", 1.0), ("gpo_kl_ppo", mutation_share)):
        floor_us = share * (result[f"{name}_training_us"] + result[f"{name}_inference_us"])
        result[f"{name}_floor_us"] = round(floor_us, 2)
        result[f"{name}_ceiling_over_env"] = round(env_us / (env_us + floor_us), 3)
    result.update(
        env=args.env,
        population=args.population,
        gpo_mutation_share=round(mutation_share, 4),
        rounds=args.rounds,
        threads=1,
        training_dtype="float64",
    )
    return result


def suite_tasks() -> list[str]:
    from bench.runs.suite import load_suite, shipped

    return sorted({env for name in shipped() for env in load_suite(name).envs})


def step_costs(task: str, steps: int) -> dict:
    """Core-seconds per env step on ``task``, each kind measured on its own, one thread."""
    from baselines.single import SingleConfig, joint_config
    from gpo.core.a2c import A2CConfig
    from gpo.core.evaluation import evaluate_together
    from gpo.core.parallel import TaskPool
    from gpo.gpo import GPO, GPOConfig
    from gpo.population import Member

    m = 4
    config = GPOConfig(task, 2 * steps + 5120, population=m, rounds=2, eval_every_steps=0, eval_episodes=1)
    run = GPO(config)
    run.run_round(TaskPool(1))  # round 0: the members' mutation in lockstep, then 4 crossovers
    record = run.rounds[0]
    agents = [Member.from_state(run.spec, state).agent for state in run.members]
    envs = [gym.make(task) for _ in agents]
    start = time.perf_counter()
    evaluated = evaluate_together(agents, envs, 2, seeds=0)
    evaluation = (time.perf_counter() - start) / sum(n for _, n in evaluated)
    for env in envs:
        env.close()
    mutation_steps = m * config.mutation_steps(0)
    crossover_steps = sum(c["env_steps"] for c in run.crossovers)
    child_eval = sum(c["eval_steps"] for c in run.crossovers) * evaluation
    train = {"population": (record["seconds_mutation"] - record["seconds_evaluation"]) / mutation_steps}

    def plain(train_config) -> float:
        trainer = Trainer(train_config)
        start = time.perf_counter()
        trainer.run()
        trainer.close()
        return (time.perf_counter() - start) / train_config.total_steps

    single = SingleConfig(task, steps, population=m, eval_every_steps=0)
    train["joint"] = plain(joint_config(single))
    train["ppo-kl"] = plain(TrainConfig(task, steps, learner=PPOConfig.kl_penalty(), eval_every_steps=0))
    train["ppo"] = plain(TrainConfig(task, steps, learner=PPOConfig(), eval_every_steps=0))
    train["a2c"] = plain(TrainConfig(task, steps, learner=A2CConfig(), eval_every_steps=0))
    return {
        "train": train,
        "crossover": (record["seconds_crossover"] - child_eval) / crossover_steps,
        "evaluation": evaluation,
        "obs_dim": int(run.spec.obs_dim),
    }


def costs(args: argparse.Namespace) -> dict:
    limit_threads()
    from bench.analysis.cost import KINDS
    from bench.envs import env_kwargs_for  # noqa: F401  (registers the Hilly tasks)
    from bench.runs.results import cpu_record, git_commit

    tasks = args.env or suite_tasks()
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    table: dict = {"train": {kind: {} for kind in KINDS}, "crossover": {}, "evaluation": {}, "obs_dims": {}}
    for task in tasks:
        measured = step_costs(task, args.steps)
        for kind, seconds in measured["train"].items():
            table["train"][kind][task] = seconds
        table["crossover"][task] = measured["crossover"]
        table["evaluation"][task] = measured["evaluation"]
        table["obs_dims"][task] = measured["obs_dim"]
        print(f"{task}: {json.dumps(measured)}", file=sys.stderr, flush=True)
    table.update(
        command="python -m bench.perf costs" + "".join(f" --env {t}" for t in args.env or ()),
        steps=args.steps,
        threads=1,
        unit="core-seconds per env step",
        # Where and when: step costs move with the code and the machine (README, Performance).
        measured=f"{start} to {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        commit=git_commit(),
        cpu=cpu_record()["model"],
    )
    if args.out:
        from bench.runs.results import write_json

        write_json(Path(args.out), table)
    return {"tasks": tasks, "out": args.out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.perf", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("throughput", help="env vs ours vs SB3 PPO steps/s, side by side")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--steps", type=int, default=20480, help="PPO training steps per measurement")
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--training-dtype", choices=TRAINING_DTYPES, default="float64", help="of our PPO's passes")
    p = sub.add_parser("stepping", help="steps/s through each layer: vector env, env, ours, mj_step")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--env-steps", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("peer", help="final returns of ours vs SB3 PPO with the same settings")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--seeds", type=int, default=3)
    p = sub.add_parser("gpo-overhead", help="GPO vs Single steps/s on the same budget")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--steps-per-policy", type=int, default=OVERHEAD_STEPS_PER_POLICY)
    p.add_argument("--rounds", type=int, default=OVERHEAD_ROUNDS)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--training-dtype", choices=TRAINING_DTYPES, default="float64", help="learners' passes")
    p = sub.add_parser("profile", help="cProfile of one GPO run: wall time by part, top functions")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--steps-per-policy", type=int, default=61_440 + 2 * 5120)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--top", type=int, default=20)
    p = sub.add_parser("policy-stepping", help="env step cost under a trained policy vs random actions")
    p.add_argument("--run", required=True, help="a finished run's folder (its policies.pt)")
    p.add_argument("--env-steps", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("joint-scaling", help="Joint's training cost per env step at each population")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, action="append", help="repeatable; default 4 and 8")
    p.add_argument("--steps", type=int, default=8192, help="steps per policy")
    p.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("collection", help="collection's own cost per step, the env stubbed out")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--steps", type=int, default=2048)
    p.add_argument("--rounds", type=int, default=7)
    p = sub.add_parser("floor", help="the learners' unavoidable float64 arithmetic against the env")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--rounds", type=int, default=5)
    p = sub.add_parser("costs", help="core-seconds per env step of each kind, per task (bench.analysis.cost)")
    p.add_argument("--env", action="append", help="a task (repeatable); default: every suite's tasks")
    p.add_argument("--steps", type=int, default=8192, help="steps per member measured")
    p.add_argument("--out", default="bench/data/step-costs.json")
    args = parser.parse_args(argv)
    if args.command == "joint-scaling":
        args.population = args.population or [4, 8]
    for name in ("steps", "env_steps", "rounds", "seeds", "population", "steps_per_policy", "repeats"):
        if min(np.atleast_1d(getattr(args, name, 1))) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.command in ("gpo-overhead", "profile", "floor") and args.population < 2:
        parser.error(f"--population must be >= 2 (GPO's selection pairs its members), got {args.population}")
    from bench.envs import env_kwargs_for  # noqa: F401  (registers the Hilly tasks)

    for task in np.atleast_1d(getattr(args, "env", None) or []):
        if task not in gym.registry:
            parser.error(f"--env {task}: no such task (a gymnasium id, e.g. HalfCheetah-v5 or gpo_bench/...)")
    commands = {
        "throughput": throughput,
        "peer": peer,
        "gpo-overhead": gpo_overhead,
        "stepping": stepping,
        "costs": costs,
        "profile": profile,
        "policy-stepping": policy_stepping,
        "joint-scaling": joint_scaling,
        "collection": collection,
        "floor": floor,
    }
    result = commands[args.command](args)
    print(json.dumps(result), flush=True)
    return 0

