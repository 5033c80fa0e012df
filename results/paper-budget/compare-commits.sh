#!/usr/bin/env bash
# Do two commits train the same numbers? Runs gpo, single and joint briefly (population 2, 8,192
# steps per policy, 2 rounds) on each of paper-budget's tasks from worktrees of both commits and
# compares every column of their curves and member tables but wall time, bit for bit. Usage:
# compare-commits.sh OLD NEW [ENV=VALUE ...] (ENV=VALUE: environment of OLD's runs only, e.g.
# OMP_NUM_THREADS=1). ALGOS="gpo ppo" picks other algorithms (default: gpo single joint),
# TASKS="Hopper-v5" other tasks (default: paper-budget's four flat ones; TASK= names one, as before).
# Its Hilly task is comparable only between commits with the same terrain: TASKS=gpo_bench/
# HalfCheetahHilly-v0 before v1 replaced it, gpo_bench/HalfCheetahHilly-v1 after.
set -euo pipefail
old=${1:?usage: results/paper-budget/compare-commits.sh OLD NEW [ENV=VALUE ...]} new=${2:?usage: results/paper-budget/compare-commits.sh OLD NEW [ENV=VALUE ...]}; shift 2
source "$(dirname "$0")/../two-worktrees.sh"
two_worktrees "$old" "$new"
for task in ${TASK:-${TASKS:-Walker2d-v5 HalfCheetah-v5 Ant-v5 Hopper-v5}}; do
  args=(--env "$task" --steps 8192 --population 2 --rounds 2 --seed 0)
  slug=${task//\//-}
  for algo in ${ALGOS:-gpo single joint}; do
    (cd "$work/old" && env "$@" PYTHONPATH="$work/old" python -m bench.cli train --algo "$algo" "${args[@]}" \
       --out "$work/runs/old-$slug-$algo" >/dev/null 2>&1)
    (cd "$work/new" && PYTHONPATH="$work/new" python -m bench.cli train --algo "$algo" "${args[@]}" \
       --out "$work/runs/new-$slug-$algo" >/dev/null 2>&1)
    python - "$work/runs/old-$slug-$algo" "$work/runs/new-$slug-$algo" "$task $algo" <<'PY'
import sys
from pathlib import Path

import pandas as pd

old, new, algo = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
verdicts = []
for table in sorted(p.name for p in old.glob("*.parquet")):
    a, b = pd.read_parquet(old / table), pd.read_parquet(new / table)
    keep = [c for c in a.columns if "seconds" not in c]
    same = a[keep].equals(b[keep])
    verdicts.append(f"{table} {'identical' if same else 'DIFFERENT'}")
print(f"{algo}: " + ", ".join(verdicts))
PY
  done
done
