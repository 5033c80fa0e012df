"""The lite cost check's summary (results/perf/lite-core-hours.json) from its runs' run.json
files: each run's core-seconds against `--dry-run`'s estimate (bench.runs.planning), and, for every run
also made from the code before the speed work (cc9480a), its core-seconds then and now.

Usage: python results/perf/lite-check.py ROOT [--commands FILE] [--costs TABLE]
ROOT holds the new/ and old/ results that the commands make (the commands are printed into the
summary as given, one per line of FILE)."""

import argparse
import json
from collections import defaultdict
from pathlib import Path

from bench.runs.planning import StepCosts, run_seconds
from bench.runs.results import read_run
from bench.runs.suite import load_suite

parser = argparse.ArgumentParser()
parser.add_argument("root", type=Path)
parser.add_argument("--commands", type=Path, help="the commands that made the runs, one per line")
parser.add_argument("--costs", type=Path, help="a step-cost table (default: bench/data/step-costs.json)")
args = parser.parse_args()
root: Path = args.root

lite = load_suite("lite")
costs = StepCosts.from_dict(json.loads(args.costs.read_text())) if args.costs else StepCosts.shipped()
runs, starts, ends = [], [], []
measured = estimated = before = after = 0.0
by_algo: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
by_env: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
for run in lite.narrowed(None, None, 1, None).runs():
    new = read_run(run.folder(root / "new"))
    if not new or new.get("status") != "done":
        continue
    old = read_run(run.folder(root / "old"))
    old = old if old and old.get("status") == "done" else None
    parts = run_seconds(run.spec(), costs)
    est = sum(parts.values())
    measured += new["seconds"]
    estimated += est
    starts.append(new["start"])
    ends.append(new["end"])
    if old:
        before += old["seconds"]
        after += new["seconds"]
        for table, key in ((by_algo, run.algo), (by_env, run.env)):
            table[key][0] += old["seconds"]
            table[key][1] += new["seconds"]
    runs.append(
        {
            "run": run.name,
            "estimate_seconds": {k: round(v, 1) for k, v in parts.items()},
            "estimate_total_seconds": round(est, 1),
            "measured_seconds": round(new["seconds"], 1),
            "measured_over_estimate": round(new["seconds"] / est, 3),
            "commit": str(new.get("git_commit"))[:7],
            "start": new.get("start"),
            "end": new.get("end"),
            "before_commit": str(old.get("git_commit"))[:7] if old else None,
            "before_seconds": round(old["seconds"], 1) if old else None,
            "before_over_after": round(old["seconds"] / new["seconds"], 3) if old else None,
        }
    )


def ratios(table: dict[str, list[float]]) -> dict:
    return {
        k: {"before": round(b, 1), "after": round(a, 1), "before_over_after": round(b / a, 3)}
        for k, (b, a) in table.items()
    }


out = {
    "what": "lite's runs of seed 0 measured against --dry-run's estimate (bench.runs.planning with "
    f"{args.costs or 'bench/data/step-costs.json'}); where the same run was also made from cc9480a "
    "(the code before the speed work), at the same time, its core-seconds then and now",
    "commands": args.commands.read_text().splitlines() if args.commands else [],
    "measured": f"{min(starts)} to {max(ends)}",
    "estimate_core_hours": round(estimated / 3600, 3),
    "measured_core_hours": round(measured / 3600, 3),
    "measured_over_estimate": round(measured / estimated, 3),
    "before_core_hours": round(before / 3600, 3),
    "after_core_hours": round(after / 3600, 3),
    "before_over_after": round(before / after, 3) if after else None,
    "before_over_after_by_algorithm": ratios(by_algo),
    "before_over_after_by_task": ratios(by_env),
    "runs": runs,
}
print(json.dumps(out, indent=1))
