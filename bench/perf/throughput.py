"""``throughput`` and ``peer``: this project's PPO against the bare env and against stable-baselines3's
PPO with the same settings, in speed and in final return (see ``bench.perf``)."""

from __future__ import annotations

import argparse
import statistics
import sys

import gymnasium as gym
import numpy as np

from bench.perf import (
    env_rates,
    limit_threads,
    ours_sps,
    ours_trainer,
    sb3_model,
    sb3_sps,
)
from gpo.core.evaluation import evaluate
from gpo.core.trainer import EVAL_SEED_OFFSET

PEER_EVAL_EPISODES = 10


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
        learner = getattr(args, "learner", "ppo")
        trainer = ours_trainer(args.env, args.steps, seed, learner=learner)
        trainer.run()
        eval_env = gym.make(args.env)  # the same evaluation as SB3's below, on a fresh env
        returns, _ = evaluate(trainer.agent, eval_env, PEER_EVAL_EPISODES, seed + EVAL_SEED_OFFSET)
        eval_env.close()
        trainer.close()
        ours.append(float(np.mean(returns)))
        model = sb3_model(args.env, seed, learner)
        model.learn(args.steps)
        sb3.append(sb3_eval(model, args.env, PEER_EVAL_EPISODES, seed + EVAL_SEED_OFFSET))
        model.get_env().close()
        print(f"seed {seed}: ours {ours[-1]:.1f}  sb3 {sb3[-1]:.1f}", file=sys.stderr, flush=True)
    result = {
        "learner": getattr(args, "learner", "ppo"),
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
