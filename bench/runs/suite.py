"""Suites: TOML files naming algorithms, environments, seeds, the budget and the population.

Shipped suites live in ``bench/suites/``; a user may pass a path instead of a name. A suite is
validated completely before anything starts: every error names the field and what is accepted.

    description = "..."            # optional
    algorithms = ["gpo", "single"] # names from bench.runs.algorithms
    envs = ["Hopper-v5"]           # gymnasium ids (the Hilly tasks included)
    seeds = 3                      # seeds 0..2, or an explicit list [0, 5, 7]
    steps_per_policy = 1_000_000   # the paper's per-policy budget
    population = 8                 # m, or a list of them (one set of runs each)
    rounds = 12                    # GPO's rounds
    eval_every_steps = 20_480      # optional: per-policy env steps between evaluations
    eval_episodes = 5              # optional: deterministic episodes per evaluation
    training_dtype = "float64"     # optional: or "float32", the precision of the learners' passes
    [env_seeds]                    # optional, last (a TOML table): other seeds for some tasks
    "Walker2d-v5" = 5              # a count or a list, as ``seeds``
    [learner]                      # optional, last (a TOML table): learner settings of every run
    learning_rate = [3e-4, 1e-3]   # a value, or a list: one set of runs each, named by the value

A ``[learner]`` setting is a field of every listed algorithm's learner configuration
(``PPOConfig``, ``A2CConfig``: ``learning_rate``, ``kl_target``, ...), of its type, checked by
building it. It replaces the algorithm's default for every run of the suite, so it is part of each
run's configuration (``run.json``); a setting given as a list of several values names its runs
(``ppo-kl-lr0.0003``), as a list of populations does (``gpo-m4``). A sweep of a plain learner
(``bench/suites/a2c-sweep.toml``) or a study with another learner (issue #46) is a suite.

The evaluation schedule is not part of a run's identity (like the number of workers): it never
changes what a run trains, only where its curve is sampled, so a finished run evaluated on another
schedule still counts as done. ``eval_episodes`` is: it changes the evaluation returns.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from bench.envs import retired_version_error
from bench.runs.algorithms import (
    ALGORITHM_TABLE,
    ALGORITHMS,
    EVAL_EPISODES,
    EVAL_EVERY_STEPS,
    RunSpec,
    build_run,
    uses,
)
from bench.runs.results import CorruptRun, done_record
from gpo.core.policy import TRAINING_DTYPES

FIELDS = ("description", "algorithms", "envs", "seeds", "steps_per_policy", "population", "rounds")
OPTIONAL = {"description", "eval_every_steps", "eval_episodes", "training_dtype", "env_seeds", "learner"}
# How a learner setting that a suite varies appears in its runs' names (others: the field's name).
SETTING_LABELS = {"learning_rate": "lr"}
# Configuration keys that say where a curve is evaluated, not what is trained (``eval_every`` is
# the iteration count older versions recorded).
SCHEDULE_KEYS = ("eval_every", "eval_every_steps", "eval_offset_steps", "eval_at_end", "eval_seed")


# More runs than one launch plans: listing and checking their folders would take minutes, and no
# study needs it (the paper's nine tasks x 3 methods x 8 seeds are 216 runs).
MAX_RUNS = 10_000


class SuiteError(ValueError):
    """A suite that cannot run; the message names the field and what is accepted."""


@dataclass(frozen=True)
class Run:
    """One seeded job of a suite."""

    suite: str
    algo: str
    env: str
    seed: int
    steps_per_policy: int
    population: int
    rounds: int
    label_population: bool = False  # the suite varies m, so m is part of the run's name
    eval_every_steps: int = EVAL_EVERY_STEPS
    eval_episodes: int = EVAL_EPISODES
    training_dtype: str = "float64"
    learner: tuple[tuple[str, Any], ...] = ()  # the suite's [learner] settings: (field, value)
    label_learner: tuple[str, ...] = ()  # the settings the suite varies, so part of the name

    @property
    def algo_label(self) -> str:
        label = f"{self.algo}-m{self.population}" if self.label_population else self.algo
        for name, value in self.learner:
            if name in self.label_learner:
                label += f"-{SETTING_LABELS.get(name, name)}{_label_value(value)}"
        return label

    @property
    def name(self) -> str:
        return f"{self.algo_label}/{self.env}/seed{self.seed}"

    def folder(self, results: Path) -> Path:
        """``<results>/<suite>/<algo>/<env>/seed<k>``; a namespaced env id keeps its folder."""
        return Path(results) / self.suite / self.algo_label / self.env / f"seed{self.seed}"

    def options(self, workers: int = 1) -> dict:
        return {
            "population": self.population,
            "workers": workers,
            "rounds": self.rounds,
            "eval_every_steps": self.eval_every_steps,
            "eval_episodes": self.eval_episodes,
            "training_dtype": self.training_dtype,
            "learner_settings": dict(self.learner),
        }

    def spec(self) -> RunSpec:
        """What the run is (its family and configuration); ValueError if it cannot be built."""
        return build_run(self.algo, self.env, self.steps_per_policy, self.seed, **self.options())

    def configuration(self) -> dict:
        """The run's configuration as ``run.json`` records it, minus ``workers`` (which does not
        change a run's numbers)."""
        return _comparable(dataclasses.asdict(self.spec().config))

    def finished(self, results: Path) -> str | None:
        """``done`` if its folder holds this run finished; ``other`` if it holds a finished run of
        another configuration (another budget, population, rounds ...), which never counts as
        this run and is never replaced without --force; ``corrupt`` if its files cannot be
        trusted (``corruption`` says which); None if nothing finished is there."""
        try:
            record = done_record(self.folder(results))
        except CorruptRun:
            return "corrupt"
        if record is None:
            return None
        if "config" not in record:
            return "done"
        recorded = _comparable(with_new_defaults(record["config"], self.spec().config))
        return "other" if recorded != self.configuration() else "done"

    def corruption(self, results: Path) -> CorruptRun | None:
        """What is damaged in the run's folder, if anything."""
        try:
            done_record(self.folder(results))
        except CorruptRun as error:
            return error
        return None


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    algorithms: tuple[str, ...]
    envs: tuple[str, ...]
    seeds: tuple[int, ...]
    steps_per_policy: int
    populations: tuple[int, ...]
    rounds: int
    eval_every_steps: int = EVAL_EVERY_STEPS
    eval_episodes: int = EVAL_EPISODES
    training_dtype: str = "float64"
    # (task, seeds) for the tasks that run other seeds than ``seeds`` (a study extended with more
    # seeds where its answer rests, say)
    env_seeds: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # [learner]: (field, its values) for each learner setting, one set of runs per combination
    learner: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def learner_combinations(self) -> list[tuple[tuple[str, Any], ...]]:
        """Every combination of the ``[learner]`` settings' values (one, empty, without them)."""
        names = [name for name, _ in self.learner]
        return [tuple(zip(names, values)) for values in itertools.product(*(v for _, v in self.learner))]

    def seeds_for(self, env: str) -> tuple[int, ...]:
        return dict(self.env_seeds).get(env, self.seeds)

    def narrowed(
        self,
        algorithms: list[str] | None = None,
        envs: list[str] | None = None,
        seeds: int | None = None,
        steps_per_policy: int | None = None,
        any_size: bool = False,
    ) -> Suite:
        """The suite restricted to some algorithms and envs, or with seeds 0..N-1 and another
        per-policy budget (the CLI's --algo, --env, --seeds and --steps)."""
        for flag, chosen, known in (("--algo", algorithms, self.algorithms), ("--env", envs, self.envs)):
            for name in chosen or ():
                if name not in known:
                    raise SuiteError(
                        f"{flag}: {name!r} is not in suite {self.name!r}; it has: {', '.join(known)}"
                    )
        if seeds is not None and seeds < 1:
            raise SuiteError(f"--seeds must be >= 1, got {seeds}")
        if steps_per_policy is not None and steps_per_policy < 1:
            raise SuiteError(f"--steps must be >= 1, got {steps_per_policy}")
        kept_envs = [e for e in self.envs if not envs or e in envs]
        narrowed = replace(
            self,
            algorithms=tuple(a for a in self.algorithms if not algorithms or a in algorithms),
            envs=tuple(e for e in self.envs if not envs or e in envs),
            seeds=tuple(range(seeds)) if seeds is not None else self.seeds,
            env_seeds=() if seeds is not None else tuple((e, s) for e, s in self.env_seeds if e in kept_envs),
            steps_per_policy=steps_per_policy or self.steps_per_policy,
        )
        narrowed.validate(any_size)
        return narrowed

    def size(self) -> int:
        """How many runs the suite has (without listing them)."""
        seeds = sum(len(self.seeds_for(e)) for e in self.envs)
        return len(self.algorithms) * len(self.populations) * len(self.learner_combinations()) * seeds

    def configurations(self) -> list[tuple[Run, int]]:
        """One run of each algorithm, population and task (its first seed), and how many seeds
        it has: a run's configuration and cost never depend on its seed."""
        first = {}
        for run in self.runs_of(seeds_per_env=1):
            first[(run.algo_label, run.env)] = run
        return [(run, len(self.seeds_for(run.env))) for run in first.values()]

    def validate(self, any_size: bool = False) -> None:
        """Every run's configuration must construct (budgets against crossovers, ...), and the
        suite must be of a size one launch can plan (``MAX_RUNS``), unless ``any_size``: a dry run
        prices any size by configuration, never run by run."""
        if self.size() > MAX_RUNS and not any_size:
            raise SuiteError(
                f"suite {self.name!r} has {self.size():,} runs, more than the {MAX_RUNS:,} one launch "
                "plans (the paper's whole study is 216); narrow it with --algo, --env or --seeds"
            )
        for run, _ in self.configurations():
            try:
                run.spec()
            except ValueError as error:
                raise SuiteError(f"{run.name}: {error}") from None

    def runs(self) -> list[Run]:
        return self.runs_of()

    def runs_of(self, seeds_per_env: int | None = None) -> list[Run]:
        """The suite's runs; with ``seeds_per_env``, only each task's first seeds."""
        vary = len(self.populations) > 1
        varied = tuple(name for name, values in self.learner if len(values) > 1)
        return [
            Run(
                self.name,
                algo,
                env,
                seed,
                self.steps_per_policy,
                m,
                self.rounds,
                vary,
                self.eval_every_steps,
                self.eval_episodes,
                self.training_dtype,
                settings,
                varied,
            )
            for algo in self.algorithms
            for m in self.populations
            for settings in self.learner_combinations()
            for env in self.envs
            for seed in self.seeds_for(env)[:seeds_per_env]
        ]


def with_new_defaults(recorded: dict, config) -> dict:
    """``recorded`` (a run.json's configuration) with every field that ``config``'s dataclasses have
    gained since it was written set to that field's default, nested configurations included.

    A field is only ever added with a default that does what the code did before it existed (e.g.
    ``PolicyConfig.training_dtype = "float64"``), so a run recorded without it was made with its
    default: without this, every finished run would become "another configuration" each time a
    configuration gains a field."""
    filled = dict(recorded)
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if field.name not in filled:
            if field.default is not dataclasses.MISSING:
                filled[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                default = field.default_factory()
                is_config = dataclasses.is_dataclass(default)
                filled[field.name] = dataclasses.asdict(default) if is_config else default
        elif dataclasses.is_dataclass(value) and isinstance(filled[field.name], dict):
            filled[field.name] = with_new_defaults(filled[field.name], value)
    return filled


def _comparable(config: dict) -> dict:
    """``config`` as JSON would give it back (tuples become lists, ...), without ``workers`` and
    the evaluation schedule (neither changes what a run trains)."""
    data = json.loads(json.dumps(config, default=str))
    for key in ("workers", *SCHEDULE_KEYS):
        data.pop(key, None)
    return data


def shipped() -> dict[str, Path]:
    folder = resources.files("bench") / "suites"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def _int_list(field: str, value, minimum: int) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values):
        raise SuiteError(
            f"{field}: expected an integer >= {minimum} or a non-empty list of them, got {value!r}"
        )
    _no_duplicate(field, values)
    return tuple(values)


def _no_duplicate(field: str, values: list) -> None:
    """A suite names each seed, algorithm, task and population once (twice would list one run twice)."""
    seen = set()
    for value in values:
        if value in seen:
            raise SuiteError(f"{field}: {value!r} is listed twice; name each one once")
        seen.add(value)


def _int(field: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SuiteError(f"{field}: expected an integer >= {minimum}, got {value!r}")
    return value


def _choice(field: str, value, accepted: tuple[str, ...]) -> str:
    if value not in accepted:
        raise SuiteError(f"{field}: expected one of {', '.join(accepted)}, got {value!r}")
    return value


def _seeds(value) -> tuple[int, ...]:
    """A count N (seeds 0..N-1) or an explicit list of seeds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(_int("seeds", value, 1)))
    return _int_list("seeds", value, 0)


def _env_seeds(value, envs: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``[env_seeds]``: task id -> a seed count or list, for tasks of the suite only."""
    if not isinstance(value, dict):
        raise SuiteError(f"env_seeds: expected a table of task ids to seeds, got {value!r}")
    for env in value:
        if env not in envs:
            raise SuiteError(f"env_seeds: {env!r} is not one of the suite's envs ({', '.join(envs)})")
    return tuple((env, _seeds(value[env])) for env in envs if env in value)


def _label_value(value) -> str:
    """A setting's value in a run's name: ``0.0003`` for 3e-4 (``g`` format), ``true``, ``clip``."""
    if isinstance(value, bool):
        return str(value).lower()
    return format(value, "g") if isinstance(value, float) else str(value)


def learner_table(value, algorithms: tuple[str, ...]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``[learner]``: field -> a value or a non-empty list of values, each a field of every
    algorithm's learner configuration, of its type, and accepted by it (built to check)."""
    if not isinstance(value, dict):
        raise SuiteError(f"learner: expected a table of learner settings to values, got {value!r}")
    defaults = {algo: ALGORITHM_TABLE[algo].learner() for algo in algorithms}
    settings = []
    for name, given in value.items():
        values = given if isinstance(given, list) else [given]
        if not values:
            raise SuiteError(f"learner.{name}: expected a value or a non-empty list of values, got []")
        _no_duplicate(f"learner.{name}", values)
        for algo, config in defaults.items():
            fields = {f.name for f in dataclasses.fields(config)}
            if name not in fields:
                raise SuiteError(
                    f"learner.{name}: not a setting of {algo}'s learner ({type(config).__name__}); "
                    f"accepted: {', '.join(sorted(fields))}"
                )
            default = getattr(config, name)
            for v in values:
                if not _same_kind(v, default):
                    raise SuiteError(
                        f"learner.{name}: expected a {type(default).__name__} as {algo}'s default "
                        f"({default!r}), got {v!r}"
                    )
                try:
                    replace(config, **{name: v})
                except ValueError as error:
                    raise SuiteError(f"learner.{name}: {error}") from None
        settings.append((name, tuple(float(v) if isinstance(default, float) else v for v in values)))
    return tuple(settings)


def _same_kind(value, default) -> bool:
    """Whether TOML's ``value`` can stand for a field whose default is ``default`` (an integer
    stands for a float, never a bool for a number)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return type(value) is type(default)


def _names(field: str, value, accepted, retired=lambda name: None) -> tuple[str, ...]:
    """``value`` checked as a non-empty list of ``accepted`` names; ``retired(name)`` says why an
    unknown one is another version of an accepted one, or None (``bench.envs.retired_version_error``)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{field}: expected a non-empty list of names, got {value!r}")
    unknown = [v for v in value if v not in accepted]
    if unknown and (reason := retired(unknown[0])):
        raise SuiteError(f"{field}: {reason}")
    if unknown:
        listing = ", ".join(sorted(accepted)) if len(accepted) < 40 else "see `gpo-bench envs`"
        raise SuiteError(f"{field}: unknown {unknown[0]!r}; accepted: {listing}")
    _no_duplicate(field, value)
    return tuple(value)


def load_suite(name_or_path: str) -> Suite:
    """Load and validate a shipped suite by name, or a TOML file by path."""
    import gymnasium as gym

    suites = shipped()
    path = suites.get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise SuiteError(
            f"--suite: no suite {name_or_path!r}; shipped: {', '.join(sorted(suites))}, "
            "or the path of a TOML file"
        )
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SuiteError(f"{path}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(FIELDS) - OPTIONAL)
    if unknown:
        raise SuiteError(
            f"{unknown[0]}: unknown field; accepted: {', '.join([*FIELDS, *sorted(OPTIONAL - set(FIELDS))])}"
        )
    algorithms = _names("algorithms", data["algorithms"], ALGORITHMS) if "algorithms" in data else ()
    used = {field for algo in algorithms for field in uses(algo)}
    # population and rounds only where an algorithm reads them (a suite of plain PPO needs neither)
    needed = [f for f in FIELDS if f not in OPTIONAL and (f not in ("population", "rounds") or f in used)]
    missing = [f for f in needed if f not in data]
    if missing:
        readers = [a for a in algorithms if missing[0] in uses(a)]
        reason = f"{', '.join(readers)} {'reads' if len(readers) == 1 else 'read'} it; " if readers else ""
        raise SuiteError(f"{missing[0]}: missing ({reason}a suite names {', '.join(needed)})")
    envs = _names("envs", data["envs"], set(gym.registry), retired_version_error)
    suite = Suite(
        name=path.stem,
        description=str(data.get("description", "")),
        algorithms=algorithms,
        envs=envs,
        seeds=_seeds(data["seeds"]),
        env_seeds=_env_seeds(data.get("env_seeds", {}), envs),
        steps_per_policy=_int("steps_per_policy", data["steps_per_policy"], 1),
        populations=_int_list("population", data.get("population", 1), 1),
        rounds=_int("rounds", data.get("rounds", 1), 1),
        eval_every_steps=_int("eval_every_steps", data.get("eval_every_steps", EVAL_EVERY_STEPS), 0),
        eval_episodes=_int("eval_episodes", data.get("eval_episodes", EVAL_EPISODES), 1),
        training_dtype=_choice("training_dtype", data.get("training_dtype", "float64"), TRAINING_DTYPES),
        learner=learner_table(data.get("learner", {}), algorithms),
    )
    suite.validate()
    return suite
