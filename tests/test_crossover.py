"""State-space crossover on a hand-made task, and against parameter-space crossover."""

import gymnasium as gym
import numpy as np
import pytest

from gpo.core.distributions import kl
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.rollout import RolloutCollector, make_vector_env
from gpo.crossover import CrossoverConfig, crossover, crossover_group
from gpo.dagger import DAggerConfig, HybridTargets, imitation_loss
from gpo.population import Member, PopulationSpec
from gpo.selector import SelectorConfig, train_selector

TARGET = 0.5  # the best action: +0.5 where s < 0, −0.5 where s > 0


class TwoHalves(gym.Env):
    """s₀ ~ U(−1, 1) stays put (plus a little noise) for 20 steps; r = 1 − (a − a*(s))² with
    a*(s) = +0.5 for s < 0 and −0.5 for s > 0. A policy that always plays +0.5 is perfect in the
    left half only, its best episodes start there; one playing −0.5 the reverse."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.s = 0, float(self.np_random.uniform(-1.0, 1.0))
        return np.array([self.s]), {}

    def step(self, action):
        best = TARGET if self.s < 0 else -TARGET
        reward = 1.0 - float((action[0] - best) ** 2)
        self.t += 1
        self.s = float(np.clip(self.s + 0.01 * self.np_random.standard_normal(), -1.0, 1.0))
        return np.array([self.s]), reward, False, self.t >= 20, {}


gym.register("GPOTest/TwoHalves-v0", entry_point=TwoHalves)
SPEC = PopulationSpec("GPOTest/TwoHalves-v0", 1, 1, PolicyConfig(normalize_obs=False), PPOConfig.kl_penalty())


def constant_parent(action: float, rng, steps: int = 2000, spec: PopulationSpec = SPEC) -> Member:
    """A parent that plays N(action, 0.1²) everywhere, with 100 episodes of experience."""
    member = Member.new(spec, rng)
    W_out, b_out = member.agent.pi.layers[-1]
    W_out[...], b_out[...] = 0.0, action
    member.agent.log_std[...] = np.log(0.1)
    collector = RolloutCollector(make_vector_env(SPEC.env_id, 1), seed=int(rng.integers(1000)))
    member.trajectories.add(collector.collect(member.agent, steps, rng))
    collector.close()
    return member


@pytest.fixture(scope="module")
def parents():
    rng = np.random.default_rng(0)
    return constant_parent(+TARGET, rng), constant_parent(-TARGET, rng)


LEFT, RIGHT = np.linspace(-0.95, -0.2, 20)[:, None], np.linspace(0.2, 0.95, 20)[:, None]


def test_selector_picks_each_parent_in_its_half(parents):
    x, y = parents
    states_x, states_y = x.trajectories.good_states(0.5), y.trajectories.good_states(0.5)
    assert (states_x < 0).mean() > 0.9 and (states_y > 0).mean() > 0.9  # good episodes
    selector, accuracy = train_selector(
        states_x, states_y, x.agent.obs_normalizer, SelectorConfig(epochs=30), np.random.default_rng(1)
    )
    assert accuracy > 0.9
    assert (selector.prob_x(LEFT) > 0.5).all() and (selector.prob_x(RIGHT) < 0.5).all()


def child_kl_to(child: ActorCritic, parent: ActorCritic, states: np.ndarray) -> float:
    return float(
        np.mean(
            kl(child.mean_action(states), child.log_std, parent.mean_action(states), parent.log_std).value
        )
    )


@pytest.fixture(scope="module")
def state_child(parents):
    x, y = parents
    config = CrossoverConfig(
        selector=SelectorConfig(epochs=30),
        dagger=DAggerConfig(hybrid_steps=2000, child_steps=1000, epochs=40),
    )
    result = crossover(
        x.state_dict(),
        y.state_dict(),
        SPEC,
        config,
        run_seed=0,
        round_index=0,
        child_index=0,
        eval_episodes=20,
    )
    return Member.from_state(SPEC, result.state), result


def test_dagger_child_matches_each_parent_where_it_is_picked(parents, state_child):
    (x, y), (child, result) = parents, state_child
    assert child_kl_to(child.agent, x.agent, LEFT) < 0.1
    assert child_kl_to(child.agent, y.agent, RIGHT) < 0.1
    assert result.env_steps == 2000 + 3 * 1000
    assert result.record["selector_accuracy"] > 0.9


def test_a_child_imitated_in_float32_matches_its_parents_as_in_float64(parents, state_child):
    """DAgger's fits run in the children's training precision: with float32 passes the child is
    another child (the passes did round) and still the parent it should be in each half."""
    spec = PopulationSpec(
        "GPOTest/TwoHalves-v0",
        1,
        1,
        PolicyConfig(normalize_obs=False, training_dtype="float32"),
        PPOConfig.kl_penalty(),
    )
    x, y = parents
    config = CrossoverConfig(
        selector=SelectorConfig(epochs=30),
        dagger=DAggerConfig(hybrid_steps=2000, child_steps=1000, epochs=40),
    )
    result = crossover(x.state_dict(), y.state_dict(), spec, config, 0, 0, 0, 20)
    child = Member.from_state(spec, result.state)
    assert not np.array_equal(result.state["agent"]["params"], state_child[1].state["agent"]["params"])
    assert child_kl_to(child.agent, x.agent, LEFT) < 0.1
    assert child_kl_to(child.agent, y.agent, RIGHT) < 0.1
    assert result.record["child_return"] > 18.0


def test_dagger_child_scores_at_least_as_well_as_the_better_parent(parents, state_child):
    from gpo.population import evaluate_member

    x, y = parents
    best_parent = max(evaluate_member(p, SPEC, 20, run_seed=0)[0] for p in (x, y))
    # Each parent is perfect in one half only (≈ 10 of 20 per episode); the child in both.
    assert state_child[1].record["child_return"] >= best_parent
    assert state_child[1].record["child_return"] > 18.0


def test_the_hybrid_acts_as_the_parent_its_selector_picks_and_its_return_is_recorded(parents, state_child):
    """π_H's deterministic action is the mean of the parent π_S favours; on TwoHalves that is the
    perfect policy (each parent is perfect in its half), so its recorded return (``hybrid_return``,
    own episodes outside the budget) is near 20 while each parent's is near 10."""
    from gpo.dagger import Hybrid, Hybrids
    from gpo.population import evaluate_member
    from gpo.selector import train_selector

    x, y = parents
    selector, _ = train_selector(
        x.trajectories.good_states(0.5),
        y.trajectories.good_states(0.5),
        x.agent.obs_normalizer,
        SelectorConfig(epochs=30),
        np.random.default_rng(1),
    )
    hybrids = Hybrids([Hybrid(x.agent, y.agent, selector)])
    np.testing.assert_allclose(hybrids.mean_action(LEFT[None])[0], x.agent.mean_action(LEFT))
    np.testing.assert_allclose(hybrids.mean_action(RIGHT[None])[0], y.agent.mean_action(RIGHT))
    record = state_child[1].record
    best_parent = max(evaluate_member(p, SPEC, 20, run_seed=0)[0] for p in (x, y))
    assert record["hybrid_return"] > 18.0 > best_parent + 5.0
    assert record["hybrid_eval_steps"] == 20 * 20  # 20 episodes of 20 steps, not in env_steps
    assert state_child[1].env_steps == 2000 + 3 * 1000


def test_parameter_crossover_child_is_far_from_both_parents_state_child_close(parents, state_child):
    x, y = parents
    result = crossover(
        x.state_dict(),
        y.state_dict(),
        SPEC,
        CrossoverConfig(kind="parameter"),
        run_seed=0,
        round_index=0,
        child_index=0,
        eval_episodes=2,
    )
    param_child = Member.from_state(SPEC, result.state).agent
    assert result.env_steps == 0
    param_far = min(child_kl_to(param_child, x.agent, LEFT), child_kl_to(param_child, y.agent, RIGHT))
    state_close = max(
        child_kl_to(state_child[0].agent, x.agent, LEFT), child_kl_to(state_child[0].agent, y.agent, RIGHT)
    )
    assert param_far > 10.0 and state_close < 0.1


def test_monte_carlo_kl_gradient_agrees_with_closed_form_when_the_selector_is_certain():
    """With π_S(x|s) = 1 the mixture is π_x, so the one-sample estimator is unbiased for the
    closed form: batch sums (where per-sample noise averages out) must agree."""
    rng = np.random.default_rng(3)
    B, A = 20000, 2
    mean, log_std = rng.standard_normal((B, A)), np.array([-0.3, 0.2])
    target_mean = mean + np.array([0.7, -0.4])  # a systematic offset to recover
    targets = HybridTargets(
        np.ones(B), target_mean, np.array([0.1, -0.2]), rng.standard_normal((B, A)), np.zeros(A)
    )
    exact = imitation_loss(mean, log_std, targets, "picked_parent", rng)
    mc = imitation_loss(mean, log_std, targets, "monte_carlo", rng)
    assert abs(mc.value - exact.value) < 0.05 * abs(exact.value)
    np.testing.assert_allclose(mc.d_log_std, exact.d_log_std, rtol=0.05, atol=0.02)
    np.testing.assert_allclose(mc.d_mean.sum(0), exact.d_mean.sum(0), rtol=0.05)


def test_policy_gradient_refinement_moves_the_selector_towards_the_better_parent(parents):
    from gpo.crossover import refine_selector
    from gpo.dagger import Hybrid
    from gpo.selector import Selector

    x, y = parents
    config = SelectorConfig(refine_steps=4000, refine_gamma=0.0, learning_rate=3e-3)
    rng = np.random.default_rng(5)
    selector = Selector(1, x.agent.obs_normalizer, config, rng)  # untrained: ≈ ½ everywhere
    before_left, before_right = selector.prob_x(LEFT).mean(), selector.prob_x(RIGHT).mean()
    envs = make_vector_env(SPEC.env_id, 1)
    steps = refine_selector(Hybrid(x.agent, y.agent, selector), envs, 0, config, rng)
    envs.close()
    assert steps == 4000
    assert selector.prob_x(LEFT).mean() > before_left + 0.1
    assert selector.prob_x(RIGHT).mean() < before_right - 0.1


def test_refinement_steps_count_against_the_budget():
    config = CrossoverConfig(selector=SelectorConfig(refine_steps=1000))
    assert config.env_steps_per_child == DAggerConfig().env_steps + 1000
    assert CrossoverConfig(kind="parameter").env_steps_per_child == 0


def _cross(x: Member, y: Member, **fields):
    small = DAggerConfig(hybrid_steps=200, child_steps=100, iterations=2, epochs=1)
    config = CrossoverConfig(dagger=small, **fields)
    result = crossover(x.state_dict(), y.state_dict(), SPEC, config, 0, 0, 0, 1)
    return Member.from_state(SPEC, result.state)


def test_child_learner_fresh_or_continued_from_the_fitter_parent(parents):
    x, y = (Member.from_state(SPEC, p.state_dict()) for p in parents)
    # Give parent x a learner with a history: an adapted β and Adam moments after some steps.
    x.learner.kl_coef = 0.125
    x.learner.optimizer.load_state_dict({**x.learner.optimizer.state_dict(), "t": 37})
    x.learner.reward_scaler.rms.update(np.array([1.0, 5.0, 2.0]))
    fresh, continued = _cross(x, y), _cross(x, y, child_learner="fitter_parent")
    assert fresh.learner.kl_coef == SPEC.learner.kl_coef_init
    assert fresh.learner.optimizer.state_dict()["t"] == 0
    assert continued.learner.kl_coef == 0.125
    assert continued.learner.optimizer.state_dict()["t"] == 37
    for child in (fresh, continued):  # reward scaling is x's either way (its critic learned under it)
        assert child.learner.reward_scaler.rms.count == x.learner.reward_scaler.rms.count
    np.testing.assert_array_equal(fresh.agent.params, continued.agent.params)
    with pytest.raises(ValueError, match="child_learner"):
        CrossoverConfig(child_learner="mother")


@pytest.mark.parametrize(
    "estimator,dtype",
    [("picked_parent", "float64"), ("monte_carlo", "float64"), ("picked_parent", "float32")],
)
def test_children_made_together_are_exactly_those_made_alone(estimator, dtype):
    """A worker makes its share of a round's children together (selectors and DAgger's fits
    batched, rollouts in lockstep); each child must be bit for bit the one made alone, so the
    number of workers never changes a run, in either training precision. Observation
    normalisation on; the three selectors' datasets have two sizes (760 and 600 states per
    parent), so both batched and single fits run."""
    policy = PolicyConfig(training_dtype=dtype)
    spec = PopulationSpec("GPOTest/TwoHalves-v0", 1, 1, policy, PPOConfig.kl_penalty())
    rng = np.random.default_rng(3)
    parents = [
        constant_parent(a, rng, steps, spec).state_dict()
        for a, steps in ((TARGET, 2000), (-TARGET, 1500), (0.2, 1200))
    ]
    pairs = [(parents[0], parents[1]), (parents[1], parents[2]), (parents[2], parents[0])]
    config = CrossoverConfig(
        dagger=DAggerConfig(hybrid_steps=256, child_steps=128, iterations=3, kl_estimator=estimator)
    )
    together = crossover_group(pairs, spec, config, 5, 1, [0, 1, 2], 2)
    for c, ((x, y), made) in enumerate(zip(pairs, together)):
        alone = crossover(x, y, spec, config, 5, 1, c, 2)
        assert made.record == alone.record and made.env_steps == alone.env_steps
        assert np.array_equal(made.state["agent"]["params"], alone.state["agent"]["params"])
        assert np.array_equal(made.state["trajectories"]["recent"], alone.state["trajectories"]["recent"])
    assert len({made.record["imitation_kl"] for made in together}) == 3  # three different children
