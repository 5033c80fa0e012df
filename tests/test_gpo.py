"""Algorithm 1: pair selection, the budget, workers, the no-crossover ablation, learning."""

import numpy as np
import pytest

from gpo.core.parallel import TaskPool
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.crossover import CrossoverConfig
from gpo.dagger import DAggerConfig
from gpo.data_sharing import DataSharingConfig
from gpo.gpo import GPO, GPOConfig
from gpo.selection import SelectionConfig, beta_at, divergence_matrix, select_pairs

SMALL_CROSSOVER = CrossoverConfig(
    dagger=DAggerConfig(hybrid_steps=256, child_steps=128, iterations=2, epochs=2)
)


def tiny(**overrides) -> GPOConfig:
    base = dict(
        env_id="InvertedPendulum-v5",
        steps_per_policy=2048,
        population=3,
        rounds=3,
        learner=PPOConfig.kl_penalty(n_steps=256),
        crossover=SMALL_CROSSOVER,
        eval_episodes=1,
    )
    return GPOConfig(**{**base, **overrides})


def bits(value):
    """Floats as their exact bit pattern (NaN-safe), recursively."""
    if isinstance(value, dict):
        return {k: bits(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bits(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    return value


def comparable(run: GPO) -> dict:
    """Everything a run records, less wall-clock times, bit for bit."""

    def strip(rows):
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]

    return bits(
        {
            "curve": strip(run.curve),
            "rounds": strip(run.rounds),
            "crossovers": strip(run.crossovers),
            "final": run.final_members,
            "params": [m["agent"]["params"].tolist() for m in run.members],
        }
    )


# -- selection ------------------------------------------------------------------------------------
@pytest.fixture
def three_agents(rng):
    a = ActorCritic(3, 2, PolicyConfig(), rng)
    twin = a.copy()
    other = ActorCritic(3, 2, PolicyConfig(), rng)
    other.params += 0.5 * rng.standard_normal(other.params.shape)
    return [a, twin, other]


def test_divergence_is_zero_for_identical_policies_and_symmetric(three_agents, rng):
    states = [rng.standard_normal((50, 3)) for _ in range(3)]
    div = divergence_matrix(three_agents, states)
    assert div[0, 1] == 0.0 and div[0, 2] > 0.1
    np.testing.assert_array_equal(div, div.T)


def test_beta_prefers_the_diverse_pair_and_zero_beta_does_not(three_agents, rng):
    states = [rng.standard_normal((50, 3)) for _ in range(3)]
    div = divergence_matrix(three_agents, states)
    returns = np.array([100.0, 100.0, 100.0])  # equal returns: only diversity can decide
    diverse = select_pairs(returns, div, beta=1.0, n_children=1)[0]
    assert 2 in diverse
    # β = 0: the identical pair (0, 1) is exactly as fit as any other; ties go by index.
    assert select_pairs(returns, div, beta=0.0, n_children=1)[0] == (0, 1)
    # Returns still dominate when they differ enough.
    assert set(select_pairs(np.array([500.0, 500.0, 0.0]), div, 1.0, 1)[0]) == {0, 1}


def test_pairs_put_the_fitter_parent_first_and_reuse_pairs_with_roles_swapped():
    div = np.zeros((2, 2))
    pairs = select_pairs(np.array([1.0, 2.0]), div, beta=0.0, n_children=2)
    assert pairs == [(1, 0), (0, 1)]


def test_a_cap_on_children_takes_pairs_in_rank_order_while_neither_parent_is_full():
    """Ranked by R alone: (0,1) 19, (0,2) 18, (1,2) 17, (0,3) 11, (0,4) 10, (1,3) 10, (2,3) 9,
    (1,4) 9, (2,4) 8, (3,4) 1. Uncapped, member 0 parents four of five children; capped at two,
    (3,4) is the only pair left with room after the first three, and the best pair not taken yet
    fills the last place."""
    returns, div = np.array([10.0, 9.0, 8.0, 1.0, 0.0]), np.zeros((5, 5))
    uncapped = select_pairs(returns, div, beta=0.0, n_children=5)
    assert uncapped == [(0, 1), (0, 2), (1, 2), (0, 3), (0, 4)]
    capped = select_pairs(returns, div, beta=0.0, n_children=5, max_children=2)
    assert capped == [(0, 1), (0, 2), (1, 2), (3, 4), (0, 3)]
    # three members, three children: a cap of two means each pair exactly once
    assert sorted(select_pairs(returns[:3], div[:3, :3], 0.0, 3, max_children=2)) == [(0, 1), (0, 2), (1, 2)]
    for bad in (1, -1):
        with pytest.raises(ValueError, match="max_children must be 0"):
            SelectionConfig(max_children=bad)
    with pytest.raises(ValueError, match="fitness must be one of"):
        SelectionConfig(fitness="lagged")


def test_beta_schedules():
    linear = SelectionConfig(beta_init=8.0)
    assert [beta_at(linear, k, 5) for k in range(5)] == [8.0, 6.0, 4.0, 2.0, 0.0]
    exponential = SelectionConfig(beta_init=8.0, beta_schedule="exponential", beta_decay=0.5)
    assert beta_at(exponential, 3, 5) == 1.0
    with pytest.raises(ValueError, match="beta_schedule"):
        SelectionConfig(beta_schedule="cosine")


# -- budget -----------------------------------------------------------------------------------------
def test_mutation_hybrid_and_dagger_steps_add_up_to_the_budget():
    run = GPO(tiny()).run()
    cfg = run.config
    mutation = sum(r["mutation_steps_per_member"] for r in run.rounds) * cfg.population
    crossover = sum(c["env_steps"] for c in run.crossovers)
    assert crossover == (cfg.rounds - 1) * cfg.population * (256 + 128)
    assert mutation + crossover == run.curve[-1]["env_steps"] == cfg.total_steps == 3 * 2048
    assert run.env_steps == cfg.total_steps
    assert len(run.final_members) == cfg.population


def test_budget_too_small_for_the_crossovers_is_rejected():
    message = "is too small for .* rounds: .* the smallest budget these settings accept"
    with pytest.raises(ValueError, match=message):
        tiny(steps_per_policy=700)


def test_no_member_counts_more_observations_than_its_lineage_has_seen():
    """Crossover must not count the parents' shared history twice: after every round, each
    member's normaliser count is at most the env steps per policy taken so far (a summed merge
    roughly doubles it per round)."""
    run = GPO(tiny(rounds=4, steps_per_policy=3072))
    pool = TaskPool(1)
    try:
        while not run.done:
            run.run_round(pool)
            per_policy = run.env_steps / run.config.population
            counts = [state["agent"]["obs_rms"]["count"] for state in run.members]
            assert max(counts) <= per_policy + 1.0, (run.round_index, counts, per_policy)
            # ... and no less than the mutation steps its lineage took (nothing was dropped).
            mutated = sum(r["mutation_steps_per_member"] for r in run.rounds)
            assert min(counts) >= mutated
    finally:
        pool.close()


def test_continue_episodes_carries_each_members_environments_into_its_next_phase():
    from gpo.mutation import _start, mutate
    from gpo.population import EPISODES

    run = GPO(tiny(env_id="Hopper-v5", continue_episodes=True))
    spec, state = run.spec, run.members[0]
    after = mutate(state, spec, 256, 0, 0, 0, 1).state
    carried = after[EPISODES]
    member, trainer = _start(after, spec, 256, 0, 1, 0, 1, 0)
    try:  # the next phase starts where the last one stopped, mid-episode, not from a reset
        np.testing.assert_array_equal(trainer.collector.obs, carried["obs"])
        assert trainer.collector.episode_length.tolist() == carried["episode_length"].tolist()
    finally:
        trainer.close()
    reset_spec = GPO(tiny(env_id="Hopper-v5")).spec
    member, trainer = _start(after, reset_spec, 256, 0, 1, 0, 1, 0)
    try:  # by default every phase resets
        assert (trainer.collector.episode_length == 0).all()
        assert not np.array_equal(trainer.collector.obs, carried["obs"])
    finally:
        trainer.close()
    # Through a whole run: children carry their fitter parent's environments; budget unchanged.
    done = run.run()
    assert all(EPISODES in m for m in done.members) and done.env_steps == done.config.total_steps


# -- ablation -------------------------------------------------------------------------------------
def test_no_crossover_keeps_selected_members_and_fills_with_the_fittest():
    run = GPO(tiny(crossover=None, population=4))
    run.members = ["m0", "m1", "m2", "m3"]  # stand-ins: reproduction only moves states around
    returns = np.array([1.0, 5.0, 3.0, 9.0])
    run._reproduce(TaskPool(1), [(2, 1), (2, 1), (1, 2), (2, 1)], returns, returns, None, 0)
    # The distinct selected members in rank order, then copies of the fittest (member 3).
    assert run.members == ["m2", "m1", "m3", "m3"]
    assert not run.crossovers


def test_selection_switches_reach_the_run_and_the_hybrid_changes_no_training_number(monkeypatch):
    """``fitness="evaluation"`` makes the fitter parent x the one with the higher evaluation;
    ``max_children=2`` with three members gives each member two children a round; the hybrid's
    evaluation (``hybrid_return``) is recorded, and with it replaced by NaN every other number
    of the run is the same bits."""
    import gpo.crossover as crossover_module

    evaluation = GPO(tiny(selection=SelectionConfig(fitness="evaluation"))).run()
    assert all(c["parent_x_return"] >= c["parent_y_return"] for c in evaluation.crossovers)
    default = GPO(tiny()).run()
    assert all(c["parent_x_train_return"] >= c["parent_y_train_return"] for c in default.crossovers)
    assert all(np.isfinite(c["hybrid_return"]) and c["hybrid_eval_steps"] > 0 for c in default.crossovers)

    capped = GPO(tiny(selection=SelectionConfig(max_children=2))).run()
    for k in range(capped.config.rounds - 1):
        parents = [p for c in capped.crossovers if c["round"] == k for p in (c["parent_x"], c["parent_y"])]
        assert sorted(parents) == [0, 0, 1, 1, 2, 2]

    def no_hybrids(hybrids, spec, episodes, run_seed):
        return [(float("nan"), 0)] * len(hybrids)

    monkeypatch.setattr(crossover_module, "evaluate_hybrids", no_hybrids)
    without = GPO(tiny()).run()

    def training(run):
        record = comparable(run)
        record["crossovers"] = [
            {k: v for k, v in c.items() if not k.startswith("hybrid_")} for c in record["crossovers"]
        ]
        return record

    assert training(without) == training(default)


# -- workers and learning ---------------------------------------------------------------------------
@pytest.mark.slow
def test_any_number_of_workers_gives_identical_runs():
    """1 worker mutates all 3 members in one lockstep batch, 2 workers batches of 2 and 1, 3
    workers each alone: no member's numbers may depend on which others share its batch. The
    evaluation schedule puts evaluations inside the phases too."""
    one = GPO(tiny(workers=1, eval_every_steps=300)).run()
    for workers in (2, 3):
        assert comparable(GPO(tiny(workers=workers, eval_every_steps=300)).run()) == comparable(one)
    other_seed = GPO(tiny(workers=1, seed=1, eval_every_steps=300)).run()
    assert comparable(other_seed)["final"] != comparable(one)["final"]
    mutation_rows = [row for row in one.curve if row["phase"] == "mutation"]
    evaluated = [row for row in mutation_rows if not np.isnan(row["eval_return"])]
    assert len(evaluated) > one.config.rounds  # within phases as well as at their ends
    assert all(r["seconds_evaluation"] > 0 for r in one.rounds)


@pytest.mark.slow
def test_gpo_learns_inverted_pendulum():
    config = GPOConfig(
        "InvertedPendulum-v5",
        20480,
        population=4,
        rounds=3,
        learner=PPOConfig.kl_penalty(n_steps=1024),
        crossover=CrossoverConfig(dagger=DAggerConfig(hybrid_steps=1024, child_steps=512, iterations=3)),
        eval_episodes=3,
    )
    run = GPO(config).run()
    assert run.rounds[-1]["best_eval_return"] >= 900
    assert run.rounds[0]["mean_return"] < 100  # it did have to learn


class MemoryCheckpointer:
    """Keeps the last state offered; ``stop_after`` offers, it stops the run as a kill would."""

    def __init__(self, stop_after: int | None = None):
        import copy

        self.copy, self.saved, self.offers, self.within, self.stop_after = (
            copy.deepcopy,
            None,
            0,
            0,
            stop_after,
        )

    def load(self, name):
        return self.copy(self.saved)

    def offer(self, name, state):
        self.offers += 1
        self.saved = self.copy(state())
        self.within += self.saved["phase"] is not None
        if self.offers == self.stop_after:
            raise KeyboardInterrupt


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [{"workers": 2}, {"data_sharing": DataSharingConfig(enabled=True)}])
def test_a_run_stopped_within_a_mutation_phase_resumes_with_the_bits_of_an_unstopped_one(overrides):
    """Issue #45: a saved GPO run offers its state after learner iterations within each mutation
    phase, not only at round ends; stopped at such a point (here the fifth, inside round 0 or 1)
    and resumed, it ends with exactly the numbers of a run never stopped, over member workers and
    with data sharing's neighbourhoods alike."""
    config = tiny(learner=PPOConfig.kl_penalty(n_steps=64), eval_every_steps=300, **overrides)
    unstopped = GPO(config).run()
    saved = MemoryCheckpointer(stop_after=5)
    with pytest.raises(KeyboardInterrupt):
        GPO(config).run(saved, segment_seconds=0.0)  # a safe point after every iteration
    assert saved.saved["phase"] is not None and saved.within == 5  # stopped within a phase
    resumed = GPO(config).run(saved, segment_seconds=0.0)
    assert comparable(resumed) == comparable(unstopped)
    whole = MemoryCheckpointer()
    GPO(config).run(whole, segment_seconds=0.0)
    # it went on from the fifth safe point: the two attempts offered what one whole run offers
    assert saved.offers == whole.offers > 5 and resumed.phase is None
