#!/usr/bin/env bash
# The pinned kernels' speed cost (issue #40): bench.perf's throughput (clipped PPO against the bare
# env) and gpo-overhead (GPO and Single at m = 8), pinned (the default, x86-64-v3) and unpinned
# (GPO_BENCH_KERNELS=native: this CPU's own kernels), alternately, one process each, so drifts in
# machine load hit both alike. Each line is the benchmark's JSON with "kernels" (the side) and
# "round" added. Usage: results/perf/kernels.sh [ROUNDS] [GPO_STEPS_PER_POLICY]
set -euo pipefail
rounds=${1:-2} gpo_steps=${2:-184320}
for r in $(seq "$rounds"); do
  for side in pinned native; do
    for bench in "throughput --rounds 1" "gpo-overhead --repeats 1 --steps-per-policy $gpo_steps"; do
      GPO_BENCH_KERNELS=$side python -m bench.perf $bench --env HalfCheetah-v5 2>/dev/null \
        | python -c 'import json, sys; print(json.dumps({"kernels": sys.argv[1], "round": int(sys.argv[2]), "bench": sys.argv[3], **json.loads(sys.stdin.read())}))' "$side" "$r" "${bench%% *}"
    done
  done
done
