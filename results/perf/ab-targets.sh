#!/usr/bin/env bash
# Issue #11's two "× the env" targets as speed-ups, from two commits alternately (one process each,
# so drifts in machine load hit both alike). Each process measures the bare env (gym.make's
# HalfCheetah-v5, random actions drawn beforehand: bench.perf's env_sps since 2026-11-26, written
# out here so that both commits are measured by the same code) before and after its two runs, then
# that commit's own clipped PPO on 20,480 steps (bench.perf's ours_sps: no evaluation) and one GPO run
# (m = 8, 92,160 steps per policy in 2 rounds: one crossover round, the paper's 5.6% of samples; one
# evaluation episode per member per phase, as each commit's gpo-overhead measured it). One thread.
# Prints one JSON line per process: steps/s by wall time and CPU µs per env step by process time.
# Usage: results/perf/ab-targets.sh OLD NEW [ROUNDS]
set -euo pipefail
old=${1:?usage: results/perf/ab-targets.sh OLD NEW [ROUNDS]} new=${2:?usage: results/perf/ab-targets.sh OLD NEW [ROUNDS]} rounds=${3:-4}
source "$(dirname "$0")/../two-worktrees.sh"
two_worktrees "$old" "$new"
alternate "$rounds" <<'PY'
import dataclasses
import json
import statistics
import sys
import time

import gymnasium as gym
import numpy as np

from bench.perf import limit_threads, ours_sps  # cc9480a has both, with the same bodies
from gpo.gpo import GPO, GPOConfig

limit_threads()
side, r = sys.argv[1], int(sys.argv[2])
ENV = "HalfCheetah-v5"


def timed(run):
    cpu, wall = time.process_time(), time.perf_counter()
    steps = run()
    return steps / (time.perf_counter() - wall), (time.process_time() - cpu) / steps * 1e6


def bare_env(steps=20_000):
    env = gym.make(ENV)
    env.reset(seed=r)
    space = env.action_space
    actions = np.random.default_rng(r).uniform(space.low, space.high, (steps, *space.shape)).astype(space.dtype)

    def run():
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        return steps

    rates = timed(run)
    env.close()
    return rates


def gpo():
    extra = {"eval_every_steps": 0} if "eval_every_steps" in {f.name for f in dataclasses.fields(GPOConfig)} else {}
    config = GPOConfig(ENV, 92_160, population=8, rounds=2, eval_episodes=1, **extra)
    return GPO(config).run().env_steps


env_before = bare_env()
ppo_cpu = time.process_time()
ppo_sps = ours_sps(ENV, 20_480, seed=r)
ppo_cpu_us = (time.process_time() - ppo_cpu) / 20_480 * 1e6
gpo_sps, gpo_cpu_us = timed(gpo)
env_after = bare_env()
env_sps = statistics.harmonic_mean([env_before[0], env_after[0]])
env_cpu_us = (env_before[1] + env_after[1]) / 2
row = {
    "side": side, "round": r, "env_sps": round(env_sps), "ppo_sps": round(ppo_sps), "gpo_sps": round(gpo_sps),
    "ppo_over_env": round(ppo_sps / env_sps, 3), "gpo_over_env": round(gpo_sps / env_sps, 3),
    "env_cpu_us": round(env_cpu_us, 2), "ppo_cpu_us": round(ppo_cpu_us, 2), "gpo_cpu_us": round(gpo_cpu_us, 2),
}
print(json.dumps(row), flush=True)
PY
