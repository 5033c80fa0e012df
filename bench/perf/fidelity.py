"""The GPO fidelity audit: each choice of ours that a member after a crossover meets, measured.

    python -m bench.perf.fidelity switches --envs Hopper-v5 Walker2d-v5 --seeds 0 1 2 \\
            --variants default inherit-learner continue-episodes small-dagger no-crossover \\
            --out results/fidelity/switches.jsonl
        `lite`-sized GPO runs (m = 4, 150k env steps per policy, 6 rounds: the `lite` suite's
        `gpo`), one per (variant, env, seed), ``--jobs`` at a time, each single-threaded. One JSON
        line per finished run is appended to ``--out`` (an interrupted audit resumes where it
        stopped); then a table of final returns per variant and env, and each variant's paired
        difference from ``default`` (same seeds).
    python -m bench.perf.fidelity continuation --envs Hopper-v5 Walker2d-v5 --seeds 0 1 2 \\
            --crossovers 3 --out results/fidelity/continuation.jsonl
        At each of a `lite` GPO run's first ``--crossovers`` crossovers, for every pair (x, y):
        - ``mutation`` rows: the child and, instead, its fitter parent x continuing, each mutate
          for the next phase's steps with the same seed (same env starts, same noise stream);
          the child once with a fresh learner (the default) and once with x's learner. A child
          that learns slower than x would have is what a crossover must not cost.
        - ``crossover`` rows: the same pair crossed again with other DAgger budgets and with a
          randomly initialised child: imitation KL and the child's return against its parents.
    python -m bench.perf.fidelity report --switches ... --continuation ...
        the tables again from the JSON lines.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from bench.runs.algorithms import build_run
from gpo.core.parallel import TaskPool, single_threaded
from gpo.crossover import crossover
from gpo.gpo import GPO, GPOConfig
from gpo.mutation import mutate

LITE = {"steps_per_policy": 150_000, "population": 4, "rounds": 6}  # bench/suites/lite.toml


def lite_config(env_id: str, seed: int) -> GPOConfig:
    return build_run(
        "gpo", env_id, LITE["steps_per_policy"], seed, LITE["population"], 1, LITE["rounds"]
    ).config


def _dagger(config: GPOConfig, **fields) -> GPOConfig:
    cx = config.crossover
    return replace(config, crossover=replace(cx, dagger=replace(cx.dagger, **fields)))


VARIANTS: dict[str, Callable[[GPOConfig], GPOConfig]] = {
    "default": lambda c: c,
    "inherit-learner": lambda c: replace(c, crossover=replace(c.crossover, child_learner="fitter_parent")),
    "continue-episodes": lambda c: replace(c, continue_episodes=True),
    # 2,048 steps per child instead of 5,120: crossover takes 6.8% of lite's budget, not 17%.
    "small-dagger": lambda c: _dagger(c, hybrid_steps=1024, child_steps=512, iterations=3),
    "random-child": lambda c: replace(c, crossover=replace(c.crossover, child_init="random")),
    "no-crossover": lambda c: replace(c, crossover=None),
    # β = 0: parents by return alone (our β₀ = 10 return per nat can outweigh returns early on).
    "performance-selection": lambda c: replace(c, selection=replace(c.selection, beta_init=0.0)),
}

# DAgger budgets and child initialisations tried on the same parents (continuation's crossover rows).
CROSSOVERS: dict[str, dict] = {
    "default": {},
    "small": {"dagger": {"hybrid_steps": 1024, "child_steps": 512, "iterations": 3}},
    "large": {"dagger": {"hybrid_steps": 4096, "child_steps": 2048, "iterations": 6}},
    "more-epochs": {"dagger": {"epochs": 30}},
    "random-init": {"child_init": "random"},
}


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "gpo", "bench"], capture_output=True, text=True
    )
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# -- switches ---------------------------------------------------------------------------------------
def run_switch(task: tuple[str, str, int]) -> dict:
    variant, env_id, seed = task
    config = VARIANTS[variant](lite_config(env_id, seed))
    run = GPO(config).run()
    records = pd.DataFrame(run.crossovers)
    finals = [m["eval_return"] for m in run.final_members]
    return {
        "variant": variant,
        "env": env_id,
        "seed": seed,
        "final_best_eval": run.rounds[-1]["best_eval_return"],
        "final_mean_eval": float(np.mean(finals)),
        "best_eval_per_round": [r["best_eval_return"] for r in run.rounds],
        "child_over_parent_x": float((records.child_return / records.parent_x_return).median())
        if len(records)
        else float("nan"),
        "imitation_kl": float(records.imitation_kl.mean()) if len(records) else float("nan"),
        "env_steps": run.env_steps,
        "seconds": run.wall_seconds,
    }


def _done(out: Path, keys: tuple[str, ...]) -> set[tuple]:
    if not out.exists():
        return set()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {tuple(row[k] for k in keys) for row in rows}


def _run_pool(function, tasks: list, jobs: int, out: Path, stamp: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
        for rows in pool.imap_unordered(function, tasks):
            rows = rows if isinstance(rows, list) else [rows]
            with out.open("a") as f:
                for row in rows:
                    f.write(json.dumps({**row, **stamp}) + "\n")
            print("done:", *(rows[0].get(k, "") for k in ("variant", "env", "seed")), flush=True)


def switches(args) -> None:
    tasks = [(v, e, s) for v in args.variants for e in args.envs for s in args.seeds]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        sys.exit(f"unknown variants {unknown}; accepted: {', '.join(VARIANTS)}")
    done = _done(args.out, ("variant", "env", "seed"))
    todo = [t for t in tasks if t not in done]
    print(f"{len(todo)} of {len(tasks)} runs to go", flush=True)
    _run_pool(run_switch, todo, args.jobs, args.out, {"commit": commit()})
    print(switches_table(pd.read_json(args.out, lines=True)))


def _mean_se(values: pd.Series) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.0f} ± {se:.0f} (n={len(values)})"


def switches_table(rows: pd.DataFrame) -> str:
    lines = ["| variant | env | final best eval | final mean eval | paired Δ best vs default | per seed |"]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    base = rows[rows.variant == "default"].set_index(["env", "seed"])
    for (variant, env), group in rows.groupby(["variant", "env"], sort=False):
        group = group.sort_values("seed")
        delta = "n/a"
        if variant != "default":
            paired = group.set_index(["env", "seed"]).final_best_eval - base.final_best_eval
            paired = paired.dropna()
            if len(paired):
                delta = _mean_se(paired)
        per_seed = " / ".join(f"{v:.0f}" for v in group.final_best_eval)
        lines.append(
            f"| {variant} | {env} | {_mean_se(group.final_best_eval)} | {_mean_se(group.final_mean_eval)} "
            f"| {delta} | {per_seed} |"
        )
    return "\n".join(lines)


# -- continuation -------------------------------------------------------------------------------
def _phase_return(rows: list[dict]) -> float:
    episodes = np.array([r["episodes"] for r in rows], dtype=float)
    returns = np.nan_to_num(np.array([r["return_mean"] for r in rows], dtype=float))
    return float((episodes * returns).sum() / episodes.sum()) if episodes.sum() else float("nan")


def _crossover_config(base, fields: dict):
    fields = dict(fields)
    dagger = fields.pop("dagger", {})
    return replace(base, dagger=replace(base.dagger, **dagger), **fields)


def run_continuation(task: tuple[str, int, int]) -> list[dict]:
    env_id, seed, n_crossovers = task
    config = lite_config(env_id, seed)
    single_threaded()
    gpo, pool = GPO(config), TaskPool(1)
    parents_at: dict[int, tuple] = {}
    reproduce = gpo._reproduce

    def keep_parents(pool_, pairs, returns, eval_returns, k):  # the parents, before they are replaced
        parents_at[k] = (list(gpo.members), pairs, eval_returns)
        reproduce(pool_, pairs, returns, eval_returns, k)

    gpo._reproduce = keep_parents
    rows: list[dict] = []
    for k in range(n_crossovers):
        gpo.run_round(pool)
        parents, pairs, parent_eval = parents_at.pop(k)
        steps = config.mutation_steps(k + 1)
        records = gpo.crossovers[-len(pairs) :]
        for c, (x, y) in enumerate(pairs):
            child = gpo.members[c]
            base = {"env": env_id, "seed": seed, "crossover": k, "child": c}
            branches = {
                "parent_continues": (parents[x], parent_eval[x]),
                "child_fresh_learner": (child, records[c]["child_return"]),
                "child_parent_learner": (
                    {**child, "learner": parents[x]["learner"]},
                    records[c]["child_return"],
                ),
            }
            for name, (state, before) in branches.items():
                result = mutate(state, gpo.spec, steps, config.seed, k + 1, c, config.eval_episodes)
                rows.append(
                    {
                        **base,
                        "kind": "mutation",
                        "branch": name,
                        "before": before,
                        "after": result.eval_return,
                        "phase_train_return": _phase_return(result.iterations),
                        "final_kl": result.iterations[-1].get("kl", float("nan")),
                    }
                )
            for name, fields in CROSSOVERS.items():
                cx = _crossover_config(config.crossover, fields)
                result = crossover(
                    parents[x], parents[y], gpo.spec, cx, config.seed, k, c, config.eval_episodes
                )
                rows.append(
                    {
                        **base,
                        "kind": "crossover",
                        "branch": name,
                        "env_steps_per_child": cx.env_steps_per_child,
                        "imitation_kl": result.record["imitation_kl"],
                        "child_return": result.record["child_return"],
                        "parent_x_return": parent_eval[x],
                        "parent_y_return": parent_eval[y],
                    }
                )
    pool.close()
    return rows


def continuation(args) -> None:
    done = _done(args.out, ("env", "seed"))
    todo = [(e, s, args.crossovers) for e in args.envs for s in args.seeds if (e, s) not in done]
    print(f"{len(todo)} probes to go", flush=True)
    _run_pool(run_continuation, todo, args.jobs, args.out, {"commit": commit()})
    print(continuation_tables(pd.read_json(args.out, lines=True)))


def continuation_tables(rows: pd.DataFrame) -> str:
    mutation = rows[rows.kind == "mutation"].copy()
    mutation["gain"] = mutation["after"] - mutation["before"]
    lines = ["Next mutation phase, mean ± SE over (seed, crossover, child):", ""]
    lines.append("| env | branch | return before | after | gain | phase train return | n |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for (env, branch), g in mutation.groupby(["env", "branch"]):
        se = g.std(numeric_only=True, ddof=1) / np.sqrt(len(g))
        m = g.mean(numeric_only=True)
        lines.append(
            f"| {env} | {branch} | {m.before:.0f} ± {se.before:.0f} | {m['after']:.0f} ± {se['after']:.0f} "
            f"| {m.gain:.0f} ± {se.gain:.0f} | {m.phase_train_return:.0f} ± {se.phase_train_return:.0f} "
            f"| {len(g)} |"
        )
    paired = mutation.pivot_table(
        index=["env", "seed", "crossover", "child"], columns="branch", values="after"
    )
    lines += ["", "Paired difference in return after the phase (child − fitter parent continuing):", ""]
    lines.append("| env | fresh learner | parent's learner |")
    lines.append("| --- | --- | --- |")
    for env, g in paired.groupby(level="env"):
        cells = []
        for branch in ("child_fresh_learner", "child_parent_learner"):
            d = g[branch] - g["parent_continues"]
            cells.append(f"{d.mean():.0f} ± {d.std(ddof=1) / np.sqrt(len(d)):.0f}")
        lines.append(f"| {env} | {' | '.join(cells)} |")

    cx = rows[rows.kind == "crossover"].copy()
    cx["child_over_x"] = cx.child_return / cx.parent_x_return
    cx["beats_both"] = cx.child_return >= cx[["parent_x_return", "parent_y_return"]].max(axis=1)
    lines += ["", "Crossover alone (the same parents), median over (seed, crossover, child):", ""]
    lines.append(
        "| env | variant | steps per child | imitation KL | child / parent x | child ≥ both parents |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for (env, branch), g in cx.groupby(["env", "branch"], sort=False):
        lines.append(
            f"| {env} | {branch} | {int(g.env_steps_per_child.iloc[0])} | {g.imitation_kl.median():.3f} "
            f"| {g.child_over_x.median():.2f} | {g.beats_both.mean():.0%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.fidelity", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("switches", "continuation"):
        p = sub.add_parser(name)
        p.add_argument("--envs", nargs="+", default=["Hopper-v5", "Walker2d-v5"])
        p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
        p.add_argument("--jobs", type=int, default=2)
        p.add_argument("--out", type=Path, required=True)
        if name == "switches":
            p.add_argument("--variants", nargs="+", default=list(VARIANTS))
        else:
            p.add_argument("--crossovers", type=int, default=3)
    report = sub.add_parser("report")
    report.add_argument("--switches", type=Path)
    report.add_argument("--continuation", type=Path)
    args = parser.parse_args(argv)
    if args.command == "switches":
        switches(args)
    elif args.command == "continuation":
        continuation(args)
    else:
        if args.switches:
            print(switches_table(pd.read_json(args.switches, lines=True)))
        if args.continuation:
            print(continuation_tables(pd.read_json(args.continuation, lines=True)))


if __name__ == "__main__":
    main()
