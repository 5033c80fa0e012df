#!/usr/bin/env bash
# Plain clipped PPO's steps/s and the env's, from two commits alternately (one process each, so
# drifts in machine load hit both alike): bench.perf's own env_sps and ours_sps, one thread; and
# one PPO update of each objective on the same synthetic 2,048-step batch (best of 5, seconds).
# Usage: results/perf/ab-throughput.sh OLD NEW [ROUNDS]   (prints one JSON line per measurement)
set -euo pipefail
old=${1:?usage: results/perf/ab-throughput.sh OLD NEW [ROUNDS]} new=${2:?usage: results/perf/ab-throughput.sh OLD NEW [ROUNDS]} rounds=${3:-6}
source "$(dirname "$0")/../two-worktrees.sh"
two_worktrees "$old" "$new"
alternate "$rounds" <<'PY'
import json
import sys
import time

import numpy as np

from bench.perf import env_sps, limit_threads, ours_sps
try:  # the policy-gradient core's modules live in gpo.core since the layout of issue #32
    from gpo.core.learner import Batch
    from gpo.core.policy import ActorCritic, PolicyConfig
    from gpo.core.ppo import PPO, PPOConfig
except ImportError:
    from gpo.learner import Batch
    from gpo.policy import ActorCritic, PolicyConfig
    from gpo.ppo import PPO, PPOConfig

limit_threads()
side, r = sys.argv[1], int(sys.argv[2])
env, ours = env_sps("HalfCheetah-v5", 10000, seed=r), ours_sps("HalfCheetah-v5", 20480, seed=r)
row = {"side": side, "round": r, "env_sps": round(env), "ours_sps": round(ours), "ours_over_env": round(ours / env, 3)}
for name, config in (("clip", PPOConfig()), ("kl_penalty", PPOConfig.kl_penalty())):
    rng = np.random.default_rng(0)
    agent = ActorCritic(17, 6, PolicyConfig(), rng)
    learner = PPO(config, agent)
    n = 2048
    batch = Batch(*(rng.standard_normal(shape) for shape in ((n, 17), (n, 6), n, (n, 6))), agent.log_std.copy(),
                  *(rng.standard_normal(n) for _ in range(3)))
    learner.make_batch = lambda rollout, extra: batch
    times = []
    for _ in range(5):
        start = time.perf_counter()
        learner.update(agent, None, rng)
        times.append(time.perf_counter() - start)
    row[f"update_{name}_seconds"] = round(min(times), 4)
print(json.dumps(row))
PY
