"""Data sharing: a neighbour's samples, importance-weighted, and who counts as a neighbour."""

import numpy as np

from gpo.core.distributions import log_prob_value
from gpo.core.learner import make_batch
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPO, PPOConfig
from gpo.core.rollout import RolloutCollector, make_vector_env
from gpo.crossover import CrossoverConfig
from gpo.dagger import DAggerConfig
from gpo.data_sharing import DataSharingConfig, shared_batch, sharing_neighbours
from gpo.gpo import GPO, GPOConfig

# Without observation normalisation, "as member i reads it" and "as it was sampled" coincide, so
# these properties hold exactly (with it, a neighbour's samples are read through i's statistics).
RAW = PolicyConfig(normalize_obs=False)


def rollout_of(agent, rng, steps=300):
    collector = RolloutCollector(make_vector_env("InvertedPendulum-v5", 1), seed=0)
    rollout = collector.collect(agent, steps, rng)
    collector.close()
    return rollout


def test_own_samples_through_sharing_equal_the_own_batch(rng):
    agent = ActorCritic(4, 1, RAW, rng)
    learner = PPO(PPOConfig(reward_scaling=False), agent)
    rollout = rollout_of(agent, rng)
    shared = shared_batch(agent, learner, rollout)
    own = make_batch(rollout, None, 0.99, 0.95)
    for name in ("obs", "actions", "log_probs", "means", "values", "advantages", "returns"):
        np.testing.assert_allclose(
            getattr(shared, name), getattr(own, name), rtol=1e-12, atol=1e-12, err_msg=name
        )


def test_neighbour_samples_keep_behaviour_probabilities_for_importance_weights(rng):
    behaviour = ActorCritic(4, 1, RAW, rng)
    learner_agent = ActorCritic(4, 1, RAW, rng)
    learner_agent.params += 0.1 * rng.standard_normal(learner_agent.params.shape)
    rollout = rollout_of(behaviour, rng)
    batch = shared_batch(learner_agent, PPO(PPOConfig(), learner_agent), rollout)
    # PPO's ratio on this batch is π_learner(a|s) / π_behaviour(a|s): an importance weight.
    mine = log_prob_value(batch.actions, learner_agent.pi(batch.obs), learner_agent.log_std)
    theirs = log_prob_value(
        batch.actions, behaviour.mean_action(rollout.raw_obs.reshape(300, -1)), behaviour.log_std
    )
    np.testing.assert_allclose(batch.log_probs, theirs, rtol=1e-10)
    np.testing.assert_array_equal(batch.log_probs, rollout.log_probs.reshape(-1))
    assert np.abs(mine - batch.log_probs).max() > 1e-3
    np.testing.assert_allclose(batch.means, learner_agent.pi(batch.obs))  # own old policy, for the KL


def test_neighbours_are_those_within_the_kl_threshold(rng):
    a = ActorCritic(3, 2, PolicyConfig(), rng)
    near, far = a.copy(), ActorCritic(3, 2, PolicyConfig(), rng)
    near.log_std += 0.01
    far.params += rng.standard_normal(far.params.shape)
    states = [rng.standard_normal((100, 3)) for _ in range(3)]
    assert sharing_neighbours([a, near, far], states, max_kl=0.1) == [[1], [0], []]


def test_sharing_changes_learning_but_not_the_budget():
    def run(sharing: DataSharingConfig) -> GPO:
        return GPO(
            GPOConfig(
                "InvertedPendulum-v5",
                4096,
                population=3,
                rounds=3,
                learner=PPOConfig.kl_penalty(n_steps=256),
                eval_episodes=1,
                data_sharing=sharing,
                crossover=CrossoverConfig(
                    dagger=DAggerConfig(hybrid_steps=256, child_steps=128, iterations=2, epochs=2)
                ),
            )
        ).run()

    shared, alone = run(DataSharingConfig(enabled=True, max_kl=5.0)), run(DataSharingConfig())
    assert [r["shared_pairs"] for r in shared.rounds] == [0, 6, 6]  # nothing measured in round 0
    assert shared.env_steps == alone.env_steps == 3 * 4096
    assert shared.members[0]["agent"]["params"].tolist() != alone.members[0]["agent"]["params"].tolist()
