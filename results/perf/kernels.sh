#!/usr/bin/env bash
# The pinned kernels' speed cost (issue #40), pinned (the default, x86-64-v3) against unpinned
# (GPO_BENCH_KERNELS=native: this CPU's own kernels), alternately, one process each, so drifts in
# machine load hit both alike: bench.perf's kernels (the PPO updates and a policy's action, the work
# the pin changes), throughput (clipped PPO against the bare env) and gpo-overhead (GPO and Single
# at m = 8, on HalfCheetah-v5). Each line is the benchmark's JSON with "side", "round" and "bench".
# Usage: results/perf/kernels.sh [ROUNDS] [GPO_STEPS_PER_POLICY]; BENCHES="kernels" picks some.
set -euo pipefail
rounds=${1:-2} gpo_steps=${2:-184320}
declare -A args=(
  [kernels]="kernels"
  [throughput]="throughput --rounds 1 --env HalfCheetah-v5"
  [gpo-overhead]="gpo-overhead --repeats 1 --steps-per-policy $gpo_steps --env HalfCheetah-v5"
)
for r in $(seq "$rounds"); do
  for side in pinned native; do
    for bench in ${BENCHES:-kernels throughput gpo-overhead}; do
      GPO_BENCH_KERNELS=$side python -m bench.perf ${args[$bench]} 2>/dev/null \
        | python -c 'import json, sys; print(json.dumps({"side": sys.argv[1], "round": int(sys.argv[2]), "bench": sys.argv[3], **json.loads(sys.stdin.read())}))' "$side" "$r" "$bench"
    done
  done
done
