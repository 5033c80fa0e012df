"""Genetic Policy Optimization, Algorithm 1 of Gangwani & Peng (ICLR 2018).

    population ← m randomly initialised policies
    for each round:
        mutate every member with its policy-gradient learner        (gpo.mutation, Sec. 3.1)
        if budget remains for another round:
            select the m best parent pairs by return and diversity  (gpo.selection, Sec. 3.3)
            cross every pair over in state space                    (gpo.crossover, Sec. 3.2)
            population ← the m children

Budget (given per policy, as in the paper: ``steps_per_policy`` × m in total). Every env step of
a member, a hybrid or a child counts. A run has ``rounds`` mutation phases and a crossover phase
between each two, so it ends on a mutation (no final generation of children that never trained).
Each member's mutation steps are what is left of its per-policy budget after the crossovers,
split evenly over the rounds (the last round takes the remainder), so the curve ends at exactly
m × ``steps_per_policy``.

``crossover=None`` is the ``gpo-no-crossover`` ablation: after selection the next population is
the distinct members of the m best pairs, in rank order, and copies of the fittest member fill
the places that are left.

The learning curve has a row per learner iteration (aggregated over the members: total env steps,
mean return of the population's episodes, best member's mean return) and one after each
crossover phase; ``eval_return`` is the best member's deterministic evaluation at the end of every
phase and at the points of the run's evaluation schedule (``GPOConfig.eval_every_steps``). The
"best member" is the one with the highest evaluation return (the same rule as the *Single*
baseline).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from gpo.core.a2c import A2CConfig
from gpo.core.curves import best_of, population_row
from gpo.core.parallel import TaskPool, groups, single_threaded
from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.progress import emit, emit_restored
from gpo.core.seeding import derive_seed
from gpo.core.trainer import Checkpointer
from gpo.crossover import CrossoverConfig, crossover_group
from gpo.data_sharing import DataSharingConfig, sharing_neighbours
from gpo.mutation import Paused, mutate_group
from gpo.population import Member, PopulationSpec
from gpo.selection import SelectionConfig, beta_at, divergence_matrix, select_pairs

# How often a saved run offers its state within a mutation phase: a time-limited attempt (a
# SLURM job warned some 90 s before its limit, which waits up to 60 s for a safe point) finds one
# within this, not a round away. Each stop rebuilds the members' trainers from their snapshots:
# measured (8 members, one process, 2026-12-08) 0.11 s on Walker2d-v5 and 0.95 s on
# Walker2d-Hilly (its terrain is rebuilt), so 0.2% and 2% of a 45-s segment.
SEGMENT_SECONDS = 45.0


@dataclass(frozen=True)
class GPOConfig:
    env_id: str
    steps_per_policy: int
    population: int = 8
    rounds: int = 12  # the paper's number of rounds
    seed: int = 0
    learner: PPOConfig | A2CConfig = field(default_factory=PPOConfig.kl_penalty)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    crossover: CrossoverConfig | None = field(default_factory=CrossoverConfig)
    data_sharing: DataSharingConfig = field(default_factory=DataSharingConfig)
    workers: int = 1
    eval_episodes: int = 5
    # Every member is evaluated at the end of every mutation phase (the curve's best member) and,
    # within phases, after each ``eval_every_steps`` per-policy env steps: the schedule Single,
    # Joint and plain runs use (``gpo.core.trainer.TrainConfig``), so curves are comparable. 0 = phase
    # ends only. Evaluation steps never count against the budget; their wall time is reported
    # per round (``seconds_evaluation``).
    eval_every_steps: int = 20_480
    env_kwargs: dict = field(default_factory=dict)
    continue_episodes: bool = False  # see PopulationSpec.continue_episodes

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.seed < 0 or self.workers < 1 or self.eval_episodes < 1 or self.eval_every_steps < 0:
            raise ValueError("seed and eval_every_steps must be >= 0, workers and eval_episodes >= 1")
        own = self.mutation_steps_per_policy
        n_envs = self.learner.n_envs
        if own < self.rounds or own % n_envs:
            # Say what would work, not only what failed: the smallest budget these settings accept
            # (R - 1 crossovers, then at least R mutation steps, a multiple of n_envs) and the
            # smallest that gives every round one full learner iteration (n_steps per member).
            crossovers = (self.rounds - 1) * self.crossover_steps_per_child
            smallest = crossovers + -(-self.rounds // n_envs) * n_envs
            useful = crossovers + self.rounds * self.learner.n_steps * n_envs
            raise ValueError(
                f"steps_per_policy ({self.steps_per_policy}) is too small for {self.rounds} rounds: "
                f"{self.rounds - 1} crossovers take {crossovers} steps per policy and leave {own} for "
                f"mutation (at least {self.rounds}, a multiple of n_envs = {n_envs}); the smallest budget "
                f"these settings accept is {smallest}, and one learner iteration per round needs {useful}"
            )

    @property
    def total_steps(self) -> int:
        return self.population * self.steps_per_policy

    @property
    def crossover_steps_per_child(self) -> int:
        return 0 if self.crossover is None else self.crossover.env_steps_per_child

    @property
    def mutation_steps_per_policy(self) -> int:
        return self.steps_per_policy - (self.rounds - 1) * self.crossover_steps_per_child

    def mutation_steps(self, round_index: int) -> int:
        """Env steps each member takes in the mutation phase of ``round_index``."""
        n_envs = self.learner.n_envs
        base = self.mutation_steps_per_policy // self.rounds // n_envs * n_envs
        if round_index < self.rounds - 1:
            return base
        return self.mutation_steps_per_policy - (self.rounds - 1) * base


class GPO:
    """Runs Algorithm 1 round by round; ``state_dict`` after any round resumes the run."""

    def __init__(self, config: GPOConfig):
        self.config = config
        env = gym.make(config.env_id, **config.env_kwargs)
        obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
        env.close()
        self.spec = PopulationSpec(
            config.env_id,
            obs_dim,
            act_dim,
            config.policy,
            config.learner,
            dict(config.env_kwargs),
            continue_episodes=config.continue_episodes,
            eval_every_steps=config.eval_every_steps,
        )
        self.members = [
            Member.new(self.spec, np.random.default_rng(derive_seed(config.seed, "init", slot))).state_dict()
            for slot in range(config.population)
        ]
        self.round_index = 0
        self.env_steps = 0
        self.wall_seconds = 0.0
        self.curve: list[dict] = []
        self.rounds: list[dict] = []
        self.crossovers: list[dict] = []
        self.final_members: list[dict] = []
        # A mutation phase stopped at a safe point within it: {"round": k, "snapshots": [...],
        # "iterations": learner iterations its members have run}; None between phases.
        self.phase: dict | None = None

    @property
    def done(self) -> bool:
        return self.round_index >= self.config.rounds

    # -- Algorithm 1 ---------------------------------------------------------------------------
    def run_round(
        self, pool: TaskPool, checkpointer: Checkpointer | None = None, segment_seconds=None
    ) -> None:
        """One round. With a ``checkpointer`` and ``segment_seconds``, the mutation phase stops
        about every ``segment_seconds`` (after a learner iteration, every member at the same one)
        to offer the run's state: a safe point within the round (``_mutate``)."""
        cfg, k = self.config, self.round_index
        start = time.perf_counter()
        steps = cfg.mutation_steps(k)
        mutated, neighbours = self._mutate(pool, checkpointer, segment_seconds)
        self.members = [result.state for result in mutated]
        eval_returns = [result.eval_return for result in mutated]
        self._add_mutation_rows(mutated, start)
        emit(eval_return=best_of(eval_returns))  # the steps were reported as they were taken
        t_mutation = time.perf_counter() - start
        members = [Member.from_state(self.spec, state) for state in self.members]
        returns = np.array([member.fitness_return for member in members])
        # R of selection (gpo.selection, ``fitness``): the lagged training mean, or the evaluation
        # at the end of this phase
        fitness = np.array(eval_returns, float) if cfg.selection.fitness == "evaluation" else returns
        record = {
            "round": k,
            "mutation_steps_per_member": steps,
            "best_return": float(returns.max()),
            "mean_return": float(np.mean(returns[np.isfinite(returns)]))
            if np.isfinite(returns).any()
            else float("nan"),
            "best_eval_return": best_of(eval_returns),
            "seconds_mutation": t_mutation,
            # evaluation's share of the phase (member-seconds summed, scaled to the phase's wall time)
            "seconds_evaluation": t_mutation
            * sum(r.eval_seconds for r in mutated)
            / max(sum(r.seconds for r in mutated), 1e-12),
            "seconds_selection": 0.0,
            "seconds_crossover": 0.0,
            "beta": float("nan"),
            "shared_pairs": 0 if neighbours is None else sum(len(n) for n in neighbours),
        }
        self.round_index += 1
        if self.done:
            self.final_members = [
                {"member": i, "eval_return": e, "train_return": float(r)}
                for i, (e, r) in enumerate(zip(eval_returns, returns))
            ]
        else:
            t0 = time.perf_counter()
            beta = beta_at(cfg.selection, k, cfg.rounds - 1)
            pairs = self._select(members, fitness, beta)
            record.update(beta=beta, seconds_selection=time.perf_counter() - t0)
            t0 = time.perf_counter()
            self._reproduce(pool, pairs, fitness, returns, eval_returns, k)
            record["seconds_crossover"] = time.perf_counter() - t0
        record["env_steps"] = self.env_steps
        self.rounds.append(record)
        self.wall_seconds += time.perf_counter() - start
        if self.curve:
            self.curve[-1]["wall_seconds"] = self.wall_seconds

    def _mutate(self, pool: TaskPool, checkpointer, segment_seconds) -> tuple[list, list | None]:
        """The round's mutation phase, in segments of whole learner iterations when the run is
        saved within it; each segment goes on from the members' snapshots, so the phase's numbers
        are those of one unstopped phase (and of any number of workers)."""
        cfg, k = self.config, self.round_index
        steps = cfg.mutation_steps(k)
        # per-policy steps before this phase: k phases of mutation and k crossovers
        before = k * (cfg.mutation_steps(0) + cfg.crossover_steps_per_child)
        # data sharing's neighbourhoods are measured at the phase's start: a resumed phase keeps them
        phase = self.phase if self.phase is not None and self.phase["round"] == k else None
        neighbours = phase["neighbours"] if phase is not None else self._sharing_neighbours()
        segmented = checkpointer is not None and segment_seconds is not None

        def arguments(slots: list[int], snapshots, upto, shared=None) -> tuple:
            """``mutate_group``'s arguments for the members in ``slots``."""
            members = [self.members[s] for s in slots]
            kept = None if snapshots is None else [snapshots[s] for s in slots]
            return (
                members,
                self.spec,
                steps,
                cfg.seed,
                k,
                slots,
                cfg.eval_episodes,
                before,
                shared,
                kept,
                upto,
            )

        per_iteration = None  # segments grow to about segment_seconds once an iteration is timed
        while True:
            done, snapshots = (phase["iterations"], phase["snapshots"]) if phase is not None else (0, None)
            upto = None
            if segmented:
                upto = done + (max(1, int(segment_seconds / per_iteration)) if per_iteration else 1)
            t0 = time.perf_counter()
            if neighbours is None:
                # Each worker mutates its members in lockstep, their networks batched (gpo.core.batched).
                tasks = [arguments(slots, snapshots, upto) for slots in groups(cfg.population, pool.workers)]
                results = [result for group in pool.map(mutate_group, tasks) for result in group]
            else:  # data sharing: all members in one lockstep group, with their neighbourhoods
                results = mutate_group(*arguments(list(range(cfg.population)), snapshots, upto, neighbours))
            if not isinstance(results[0], Paused):
                self.phase = None
                return results, neighbours
            per_iteration = (time.perf_counter() - t0) / (upto - done)
            phase = {
                "round": k,
                "iterations": upto,
                "snapshots": [paused.snapshot for paused in results],
                "neighbours": neighbours,
            }
            self.phase = phase
            checkpointer.offer("gpo", self.state_dict)

    def _recent_states(self, members: list[Member]) -> list:
        """Each member's last ``kl_states`` states: where the KL between two members is measured,
        for selection's diversity and for data sharing's neighbourhoods."""
        return [member.trajectories.recent[-self.config.selection.kl_states :] for member in members]

    def _sharing_neighbours(self) -> list[list[int]] | None:
        """Who learns from whom this round (None: data sharing off, or no states yet)."""
        sharing = self.config.data_sharing
        if not sharing.enabled:
            return None
        members = [Member.from_state(self.spec, state) for state in self.members]
        states = self._recent_states(members)
        if any(len(s) == 0 for s in states):
            return [[] for _ in members]  # the first round: nothing measured yet
        return sharing_neighbours([member.agent for member in members], states, sharing.max_kl)

    def _select(self, members: list[Member], returns: np.ndarray, beta: float) -> list[tuple[int, int]]:
        divergence = divergence_matrix([member.agent for member in members], self._recent_states(members))
        selection = self.config.selection
        return select_pairs(returns, divergence, beta, self.config.population, selection.max_children)

    def _reproduce(self, pool, pairs, fitness, returns, eval_returns, k) -> None:
        cfg = self.config
        if cfg.crossover is None:
            survivors = list(dict.fromkeys(i for pair in pairs for i in pair))[: cfg.population]
            fittest = int(np.argmax(fitness))
            survivors += [fittest] * (cfg.population - len(survivors))
            self.members = [self.members[i] for i in survivors]
            return
        # Each worker makes its share of the children together, DAgger's fits batched.
        tasks = [
            (
                [(self.members[pairs[c][0]], self.members[pairs[c][1]]) for c in indices],
                self.spec,
                cfg.crossover,
                cfg.seed,
                k,
                indices,
                cfg.eval_episodes,
            )
            for indices in groups(len(pairs), pool.workers)
        ]
        children = [child for group in pool.map(crossover_group, tasks) for child in group]
        for (x, y), child in zip(pairs, children):
            self.crossovers.append(
                {
                    **child.record,
                    "parent_x": x,
                    "parent_y": y,
                    "parent_x_return": eval_returns[x],
                    "parent_y_return": eval_returns[y],
                    "parent_x_train_return": float(returns[x]),
                    "parent_y_train_return": float(returns[y]),
                }
            )
        self.members = [child.state for child in children]
        self.env_steps += sum(child.env_steps for child in children)
        emit(sum(child.env_steps for child in children))
        self.curve.append(
            {
                "round": k,
                "phase": "crossover",
                "iteration": None,
                "env_steps": self.env_steps,
                "episodes": 0,
                "return_mean": float("nan"),
                "return_best": float("nan"),
                "eval_return": best_of([child.record["child_return"] for child in children]),
            }
        )

    def _add_mutation_rows(self, mutated, start: float) -> None:
        base = self.env_steps
        per_member = [result.iterations for result in mutated]
        for i in range(len(per_member[0])):
            row = population_row([member_rows[i] for member_rows in per_member])
            last = i == len(per_member[0]) - 1
            row.update(
                round=self.round_index,
                phase="mutation",
                iteration=i + 1,
                env_steps=base + row["env_steps"],
            )
            if last:  # the phase's end: every member's evaluation (within it: the schedule's)
                row["eval_return"] = best_of([m.eval_return for m in mutated])
            self.curve.append(row)
        self.env_steps = self.curve[-1]["env_steps"]
        for row in self.curve[-len(per_member[0]) :]:
            row["wall_seconds"] = self.wall_seconds + time.perf_counter() - start

    def run(
        self, checkpointer: Checkpointer | None = None, segment_seconds: float | None = SEGMENT_SECONDS
    ) -> GPO:
        """Run the remaining rounds. With a ``checkpointer``: resume from its last state, and
        offer the state after every round and, within each mutation phase, about every
        ``segment_seconds`` (after a learner iteration; None: at round ends only)."""
        single_threaded()
        if checkpointer is not None:
            saved = checkpointer.load("gpo")
            if saved is not None:
                self.load_state_dict(saved)
                # earlier attempts' steps count towards the budget, a stopped phase's too
                within = (
                    0
                    if self.phase is None
                    else sum(s["trainer"]["env_steps"] for s in self.phase["snapshots"])
                )
                emit_restored(self.env_steps + within)
        pool = TaskPool(self.config.workers)
        try:
            while not self.done:
                self.run_round(pool, checkpointer, segment_seconds)
                if checkpointer is not None and not self.done:
                    checkpointer.offer("gpo", self.state_dict)
        finally:
            pool.close()
        return self

    # -- resuming --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "members": self.members,
            "round_index": self.round_index,
            "env_steps": self.env_steps,
            "wall_seconds": self.wall_seconds,
            "curve": self.curve,
            "rounds": self.rounds,
            "crossovers": self.crossovers,
            "final_members": self.final_members,
            "phase": self.phase,
        }

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)
        self.round_index, self.env_steps = int(self.round_index), int(self.env_steps)
        self.wall_seconds = float(self.wall_seconds)
