"""A study: a suite's runs as found under a results folder, the finished ones and what was left
out. Every table of ``bench.analysis`` (finals, the ledger, the crossover records, the paper
comparison) is built from one ``Study``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.runs.suite import Run, Suite

KEYS = ["suite", "algo", "env", "seed"]


@dataclass
class Study:
    """A suite's runs as found under a results folder: the finished ones, and what was left out."""

    suite: Suite
    results: Path
    finished: list[Run] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    other_config: list[str] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame:
        """One of the runs' files (``members.parquet`` ...), every finished run's that has it,
        concatenated with the run's suite, algo, env and seed; unreadable files are recorded."""
        frames = []
        for run in self.finished:
            path = run.folder(self.results) / name
            if not path.exists():
                continue
            frame = self._read(path)
            if frame is not None:
                frames.append(frame.assign(**run_keys(run)))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=KEYS)

    def _read(self, path: Path) -> pd.DataFrame | None:
        try:
            return pd.read_parquet(path)
        except Exception as error:  # a corrupt or truncated file: report it, go on
            if all(p != path for p, _ in self.unreadable):
                self.unreadable.append((path, f"{type(error).__name__}: {error}"))
            return None

    def expected_seeds(self, env: str | None = None) -> int:
        """Seeds the suite asks for on ``env``, or on every task if they all ask the same number
        (else the most any task asks for)."""
        if env is not None:
            return len(self.suite.seeds_for(env))
        return max(len(self.suite.seeds_for(e)) for e in self.suite.envs)

    def seeds_asked(self) -> dict[str, int]:
        """Seeds asked per task."""
        return {env: len(self.suite.seeds_for(env)) for env in self.suite.envs}


def run_keys(run: Run) -> dict:
    return {"suite": run.suite, "algo": run.algo_label, "env": run.env, "seed": run.seed}


def load_study(suite: Suite, results: Path) -> Study:
    study = Study(suite, Path(results))
    for run in suite.runs():
        finished = run.finished(results)
        if finished == "corrupt":  # a damaged file is left out and named, like an unreadable one
            damage = run.corruption(results)
            study.unreadable.append(
                (damage.path, damage.reason) if damage else (run.folder(results), "damaged")
            )
        elif finished is None:
            study.unfinished.append(run.name)
        elif finished == "other":
            study.other_config.append(run.name)
        else:
            study.finished.append(run)
    return study
