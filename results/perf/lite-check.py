"""The lite cost check's summary (results/perf/lite-core-hours.json) from its runs' run.json
files: each run's core-seconds against `--dry-run`'s estimate (bench.cost), and Walker2d-v5's
three runs before (cc9480a) and after. Usage: python results/perf/lite-check.py /tmp/litecheck3
(the folder with the new/ and old/ results that the file's commands make)."""

# ruff: noqa: E501  (the shell commands it records are kept whole)

import json
import sys
from pathlib import Path

from bench.cost import StepCosts, run_seconds
from bench.results import read_run
from bench.suite import load_suite

root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/litecheck3")
suite = load_suite("lite").narrowed(["gpo", "single", "joint"], None, 1, None)
costs = StepCosts.shipped()
runs, measured, estimated = [], 0.0, 0.0
# the commit the new runs ran from, as their run.json records it
new_commit = str(read_run(suite.runs()[0].folder(root / "new"))["git_commit"])[:7]
old_total = new_w2d = 0.0
for run in suite.runs():
    new = read_run(run.folder(root / "new"))
    old = read_run(run.folder(root / "old"))
    parts = run_seconds(run.spec(), costs)
    est = sum(parts.values())
    measured += new["seconds"]
    estimated += est
    if old:
        old_total += old["seconds"]
        new_w2d += new["seconds"]
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
            "before_start": old.get("start") if old else None,
        }
    )
out = {
    "what": "lite's gpo, single and joint runs of seed 0 on its three tasks, measured against --dry-run's "
    "estimate (bench.cost with bench/data/step-costs.json); Walker2d-v5's three also from cc9480a (the code "
    f"before the speed work) at the same time. Rerun at {new_commit} (after 9370489: every run on one thread)",
    "commands": [
        f"git worktree add /tmp/lc-new {new_commit} --detach && cd /tmp/lc-new && PYTHONPATH=/tmp/lc-new python -c "
        "'from bench.cli import cli; cli()' run --suite lite --algo gpo --algo single --algo joint --seeds 1 "
        "--results /tmp/litecheck3/new --workers 1",
        "git worktree add /tmp/lc-old cc9480a --detach && cd /tmp/lc-old && PYTHONPATH=/tmp/lc-old python -c "
        "'from bench.cli import cli; cli()' run --suite lite --algo gpo --algo single --algo joint --env Walker2d-v5 "
        "--seeds 1 --results /tmp/litecheck3/old --workers 1",
        "gpo-bench run --suite lite --algo gpo --algo single --algo joint --seeds 1 --dry-run --results /tmp/empty",
        "python results/perf/lite-check.py /tmp/litecheck3",
    ],
    "measured": f"{(root / 'start').read_text().strip()} to {(root / 'end').read_text().strip()}, this project's "
    "2-core machine, nothing else running; the two launchers ran at the same time, one run each, until the old "
    "one finished (the new launcher's later runs then ran alone)",
    "estimate_core_hours": round(estimated / 3600, 3),
    "measured_core_hours": round(measured / 3600, 3),
    "measured_over_estimate": round(measured / estimated, 3),
    "walker2d_before_seconds": round(old_total, 1),
    "walker2d_after_seconds": round(new_w2d, 1),
    "walker2d_before_over_after": round(old_total / new_w2d, 3) if new_w2d else None,
    "runs": runs,
}
print(json.dumps(out, indent=1))
