"""The numbers that README.md's reading quotes, from the committed run folders and tables.

Usage (from the repository root, after `gpo-bench aggregate --suite paper-budget`):
    python results/paper-budget/reading.py

- members: every member's final evaluation return in each GPO and Single run (members.parquet),
  and how many of the 8 end within 10% of the run's best member;
- modes: how many runs of each algorithm end above 3,000 on HalfCheetah (its seeds split in two),
  how many of each population's members do, and Fisher's exact test on the run counts;
- budget and wall time: what share of a GPO member's 1M steps went to mutation, and what share
  of the run's seconds each GPO phase took (rounds.parquet);
- crossover: children against their better and their mean parent, early and late rounds
  (tables/crossovers.parquet), and the best child against the best parent round by round.
"""

import gpo  # noqa: F401  (first: pins the numerical kernels before NumPy loads)

# isort: split
from pathlib import Path

import pandas as pd
from scipy.stats import fisher_exact

from bench.runs.results import is_done

root = Path(__file__).resolve().parent


def finished(algo: str) -> list[Path]:
    """The algorithm's finished, intact run folders (a running run's files are partial).

    Searched at any depth: a registered task's id has a namespace, so its runs sit one folder
    deeper (`gpo/gpo_bench/HalfCheetahHilly-v1/seed0`).
    """
    return [f for f in sorted((root / algo).rglob("seed*")) if f.is_dir() and is_done(f)]


def task(folder: Path) -> str:
    """The run's task id, as the tables spell it: its folder path between algorithm and seed."""
    return folder.parent.relative_to(root).as_posix().split("/", 1)[1]


runs = pd.read_parquet(root / "tables/runs.parquet")
finals = runs[runs.metric == "eval"].set_index(["algo", "env", "seed"])["final"]

members: dict[tuple[str, str], list[list[float]]] = {}  # (algo, env) -> each run's sorted returns
print("## members: final evaluation return of every member, sorted (best member's final in brackets)")
for algo in ("gpo", "single"):
    for folder in finished(algo):
        returns = sorted(pd.read_parquet(folder / "members.parquet").eval_return)
        members.setdefault((algo, task(folder)), []).append(returns)
        near = sum(r >= 0.9 * returns[-1] for r in returns)
        final = finals.get((algo, task(folder), int(folder.name[4:])), float("nan"))
        print(
            f"{algo:6} {task(folder):29} {folder.name}: "
            + " ".join(f"{r:5.0f}" for r in returns)
            + f"  [{final:.0f}]  within 10% of the best: {near}/8"
        )

print("\n## members: the median member and the best member, mean over runs")
for (algo, env), tables in sorted(members.items()):
    median = sum(pd.Series(t).median() for t in tables) / len(tables)
    best = sum(t[-1] for t in tables) / len(tables)
    print(f"{algo:6} {env:29} median member {median:5.0f}, best member {best:5.0f} ({len(tables)} runs)")

print("\n## modes: HalfCheetah runs whose final evaluation return is above 3,000")
cheetah = finals.xs("HalfCheetah-v5", level="env")
upper = {}  # algo -> (runs in the upper mode, runs)
for algo, group in cheetah.groupby(level="algo"):
    upper[algo] = (int((group > 3000).sum()), len(group))
    line = f"{algo:6} {upper[algo][0]} of {len(group)}: " + " ".join(f"{v:.0f}" for v in group)
    if (algo, "HalfCheetah-v5") in members:  # a population: how many of its members got there
        runs_members = members[algo, "HalfCheetah-v5"]
        counts = [sum(r > 3000 for r in returns) for returns in runs_members]
        line += f"; members above 3,000 per run: {' '.join(map(str, counts))} "
        line += f"({sum(counts)} of {sum(map(len, runs_members))})"
    print(line)
# Fisher's exact test on the counts: with 5 runs a side, is one algorithm's share of upper-mode
# runs distinguishable from another's?
for a, b in (("gpo", "single"), ("gpo", "joint"), ("single", "joint")):
    if a in upper and b in upper:
        (ua, na), (ub, nb) = upper[a], upper[b]
        p = fisher_exact([[ua, na - ua], [ub, nb - ub]]).pvalue
        print(f"{a} against {b}: {ua}/{na} against {ub}/{nb}, Fisher's exact p = {p:.2f}")

print("\n## where the baselines learn least: mean final evaluation return as a share of the task's best run")
# No reference score is shared by gymnasium's v5 tasks and the paper's rllab ones, so each task is
# scaled by the highest final any run of the study reached on it: a baseline far below that best
# run is one that learns the task least well here, next to the other methods and seeds.
for env, group in finals.groupby(level="env"):
    means = group.groupby(level="algo").mean()
    shares = means / group.max()
    counts = group.groupby(level="algo").size()
    baselines = means.drop("gpo", errors="ignore")
    line = f"{env:30} best run {group.max():5.0f}; " + ", ".join(
        f"{a} {shares[a]:.2f} ({counts[a]} seeds)" for a in means.index
    )
    if len(baselines):
        better = baselines.idxmax()
        line += f"; GPO / better baseline ({better}) {means.get('gpo', float('nan')) / baselines[better]:.2f}"
    print(line)

print("\n## GPO: budget and wall time by phase")
for folder in finished("gpo"):
    rounds = pd.read_parquet(folder / "rounds.parquet")
    seconds = rounds[[c for c in rounds.columns if c.startswith("seconds_")]].sum()
    share = (seconds / seconds.sum()).round(3).to_dict()
    mutation = rounds.mutation_steps_per_member.sum() / 1_000_000
    print(
        f"{task(folder):29} {folder.name}: mutation {mutation:.1%} of a member's budget; "
        + ", ".join(f"{k.removeprefix('seconds_')} {v:.1%}" for k, v in share.items())
    )

print("\n## crossover: child minus better parent / minus mean parent (evaluation return), mean over rounds")
table = pd.read_parquet(root / "tables/crossovers.parquet")
for env, group in table.groupby("env"):
    for label, part in (
        ("rounds 0-5", group[group["round"] <= 5]),
        ("rounds 6-10", group[group["round"] > 5]),
    ):
        print(
            f"{env:29} {label:11}: vs better {part.gap_better.mean():+7.0f} "
            f"(range {part.gap_better.min():+.0f} to {part.gap_better.max():+.0f}), "
            f"vs mean {part.gap_mean.mean():+7.0f} "
            f"(range {part.gap_mean.min():+.0f} to {part.gap_mean.max():+.0f}), "
            f"children >= better parent {(part.above_better * part.children).sum() / part.children.sum():.0%}"
        )

print("\n## crossover: the round's best child against its best parent, per run")
for folder in finished("gpo"):
    path = folder / "crossovers.parquet"
    records = pd.read_parquet(path)
    parents = records[["parent_x_return", "parent_y_return"]].max(axis=1)
    best = (
        records.assign(parent=parents)
        .groupby("round")
        .agg(child=("child_return", "max"), parent=("parent", "max"))
    )
    gap = best.child - best.parent
    print(
        f"{task(folder):29} {folder.name}: best child − best parent, mean {gap.mean():+.0f}; "
        f"lower in {(gap < 0).sum()} of {len(gap)} rounds"
    )

print("\n## finished runs (README's table): finals, core-minutes against the estimate, commit")
ledger = pd.read_parquet(root / "tables/ledger.parquet").set_index(["algo", "env", "seed"])
COLUMNS = ["task", "algorithm", "seed", "final evaluation return", "final training return", "core-minutes"]
COLUMNS += ["measured / estimate", "commit", "policies.pt"]
print("| " + " | ".join(COLUMNS) + " |")
print("|---|---|---|---|---|---|---|---|---|")
train = runs[runs.metric == "train"].set_index(["algo", "env", "seed"])["final"]
for (algo, env, seed), row in ledger.sort_index(level=[1, 0, 2]).iterrows():
    policies = "committed" if (root / algo / env / f"seed{seed}" / "policies.pt").exists() else "missing"
    print(
        f"| {env} | {algo} | {seed} | {finals.get((algo, env, seed), float('nan')):.0f} | "
        f"{train.get((algo, env, seed), float('nan')):.0f} | {row.seconds / 60:.1f} | "
        f"{row.seconds / row.estimate_seconds:.2f} | `{row.commit}` | {policies} |"
    )
