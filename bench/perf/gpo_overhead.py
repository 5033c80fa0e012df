"""``gpo-overhead``, ``profile`` and ``floor``: GPO's cost against Single's and the bare env, where its
time goes, and the float64 arithmetic no NumPy learner can skip (see ``bench.perf``)."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from bench.perf import (
    OVERHEAD_ROUNDS,
    OVERHEAD_STEPS_PER_POLICY,
    best_seconds,
    env_rates,
    env_sps,
    limit_threads,
)
from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig


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
