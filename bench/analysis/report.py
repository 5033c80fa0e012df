"""The readable forms of the tables: Markdown (printed, and ``*.md``) and LaTeX (``*.tex``), one
section per metric, numbers as the paper prints them (mean ± standard error)."""

from __future__ import annotations

import math

import pandas as pd

from figures.style import task_name


def _number(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    """A p-value to 3 decimals, ``<0.001`` below that."""
    return "<0.001" if value is not None and math.isfinite(value) and value < 0.001 else _number(value, 3)


def _interval(low: float, high: float, digits: int = 1) -> str:
    if low == -math.inf and high == math.inf:
        return "[unbounded]"  # Fieller's interval when the denominator is not clearly above zero
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _final(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": frame["env"].map(task_name),
            "algorithm": frame["algo"],
            "mean ± SE": [f"{_number(m)} ± {_number(s)}" for m, s in zip(frame["mean"], frame["se"])],
            "std": frame["std"].map(_number),
            "IQM": frame["iqm"].map(_number),
            "95% CI of mean (bootstrap)": [
                _interval(a, b) for a, b in zip(frame["ci_low"], frame["ci_high"])
            ],
            "95% CI of mean (t)": [_interval(a, b) for a, b in zip(frame["t_ci_low"], frame["t_ci_high"])],
            "seeds": [f"{n}/{of}" for n, of in zip(frame["seeds"], frame["seeds_asked"])],
        }
    )


def _overall(frame: pd.DataFrame) -> pd.DataFrame:
    reference = frame["reference"].iloc[0]
    return pd.DataFrame(
        {
            "algorithm": frame["algo"],
            "tasks": frame["tasks"].astype(str),
            "runs": frame["runs"].astype(str),
            "IQM score [95% CI]": [
                f"{_number(p, 2)} {_interval(a, b, 2)}"
                for p, a, b in zip(frame["iqm"], frame["iqm_ci_low"], frame["iqm_ci_high"])
            ],
            "mean score": frame["mean"].map(lambda v: _number(v, 2)),
            f"P({reference} better) [95% CI]": [
                "" if algo == reference else f"{_number(p, 2)} {_interval(a, b, 2)} ({n} pairs)"
                for algo, p, a, b, n in zip(
                    frame["algo"],
                    frame["p_reference_better"],
                    frame["p_ci_low"],
                    frame["p_ci_high"],
                    frame["pairs"],
                )
            ],
        }
    )


def _paper(frame: pd.DataFrame) -> pd.DataFrame:
    def ours(point, low, high):
        return [
            f"{_number(p, 2)} {_interval(a, b, 2)}" if math.isfinite(p) else "n/a"
            for p, a, b in zip(point, low, high)
        ]

    def tests(other):
        welch = frame.get(f"gpo_vs_{other}_welch_p", pd.Series(float("nan"), index=frame.index))
        perm = frame.get(f"gpo_vs_{other}_permutation_p", pd.Series(float("nan"), index=frame.index))
        return [f"{_p(w)} / {_p(q)}" for w, q in zip(welch, perm)]

    return pd.DataFrame(
        {
            "task": frame["task"],
            "learner": frame["learner"],
            "GPO/Single paper": frame["paper_gpo_over_single"].map(lambda v: _number(v, 2)),
            "GPO/Single ours [95% Fieller]": ours(
                frame["gpo_over_single"], frame["gpo_over_single_ci_low"], frame["gpo_over_single_ci_high"]
            ),
            "p vs Single (Welch / perm.)": tests("single"),
            "GPO/Joint paper": frame["paper_gpo_over_joint"].map(lambda v: _number(v, 2)),
            "GPO/Joint ours [95% Fieller]": ours(
                frame["gpo_over_joint"], frame["gpo_over_joint_ci_low"], frame["gpo_over_joint_ci_high"]
            ),
            "p vs Joint (Welch / perm.)": tests("joint"),
            "seeds G/S/J": [
                "/".join(str(int(n)) if math.isfinite(n) else "0" for n in ns)
                for ns in zip(frame["gpo_seeds"], frame["single_seeds"], frame["joint_seeds"])
            ],
            "order paper": frame["paper_order"],
            "order ours": frame["order"],
        }
    )


READABLE = {"final": _final, "overall": _overall, "paper": _paper}
TITLES = {
    "final": "Final return per task (mean over seeds of each run's last stretch of training)",
    "overall": "Across tasks: scores normalised per task by the study's worst and best final return",
    "paper": "GPO relative to Single and Joint: the paper's ratios against ours",
}


def sections(name: str, frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(heading, table of strings) per metric (the paper table has one section, its metric's)."""
    return [
        (f"{TITLES[name]}; metric: {metric}", READABLE[name](part.reset_index(drop=True)))
        for metric, part in frame.groupby("metric", sort=False)
    ]


def markdown(name: str, frame: pd.DataFrame) -> str:
    out = []
    for heading, table in sections(name, frame):
        out += [f"### {heading}", "", "| " + " | ".join(table.columns) + " |"]
        out.append("|" + "|".join("---" for _ in table.columns) + "|")
        out += ["| " + " | ".join(row) + " |" for row in table.itertuples(index=False)]
        out.append("")
    return "\n".join(out)


def _tex(text: str) -> str:
    for char, escaped in (
        ("\\", r"\textbackslash{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("&", r"\&"),
        ("#", r"\#"),
    ):
        text = text.replace(char, escaped)
    return text.replace("±", r"$\pm$")


def latex(name: str, frame: pd.DataFrame) -> str:
    out = []
    for heading, table in sections(name, frame):
        out += [
            f"% {heading}",
            r"\begin{tabular}{" + "l" * 2 + "r" * (len(table.columns) - 2) + "}",
            r"\toprule",
            " & ".join(_tex(c) for c in table.columns) + r" \\",
            r"\midrule",
        ]
        out += [" & ".join(_tex(str(v)) for v in row) + r" \\" for row in table.itertuples(index=False)]
        out += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(out)
