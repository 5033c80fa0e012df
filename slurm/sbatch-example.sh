#!/usr/bin/env bash
# One gpo-bench run as a plain batch job (gpo-bench run --executor slurm does this for whole
# suites as job arrays). Submit with: sbatch slurm/sbatch-example.sh
#SBATCH --job-name=gpo-bench
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --output=gpo-bench-%j.out
set -euo pipefail
gpo-bench train --algo gpo --env HalfCheetah-v5 --steps 1000000 --seed "${SEED:-0}" \
  --out "results/single-runs/gpo/HalfCheetah-v5/seed${SEED:-0}"
