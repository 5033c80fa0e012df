#!/usr/bin/env bash
# GPO's cost per env step from two commits alternately (one process each, so drifts in machine
# load hit both alike): one GPO run (m = 8, HalfCheetah-v5, 92,160 steps per policy in 2 rounds:
# one crossover round, the paper's 5.6% of samples), one thread, timed in CPU seconds of the
# process (a cloud machine's stolen time is not counted) and in wall seconds.
# Usage: results/perf/ab-gpo.sh OLD NEW [ROUNDS]   (prints one JSON line per run)
set -euo pipefail
old=${1:?usage: results/perf/ab-gpo.sh OLD NEW [ROUNDS]} new=${2:?usage: results/perf/ab-gpo.sh OLD NEW [ROUNDS]} rounds=${3:-4}
source "$(dirname "$0")/../two-worktrees.sh"
two_worktrees "$old" "$new"
alternate "$rounds" <<'PY'
import json
import sys
import time

from bench.perf import limit_threads
from gpo.gpo import GPO, GPOConfig

limit_threads()
side, r = sys.argv[1], int(sys.argv[2])
config = GPOConfig("HalfCheetah-v5", 92_160, population=8, rounds=2, eval_episodes=1, eval_every_steps=0)
cpu, wall = time.process_time(), time.perf_counter()
run = GPO(config).run()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
row = {"side": side, "round": r, "env_steps": run.env_steps, "cpu_us_per_step": round(cpu / run.env_steps * 1e6, 2),
       "wall_us_per_step": round(wall / run.env_steps * 1e6, 2)}
print(json.dumps(row), flush=True)
PY
