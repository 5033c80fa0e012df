"""End-to-end learning, exact budgets and bit-for-bit determinism of the single-policy loop."""

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from baselines.single import SingleConfig, joint_config, run_single
from gpo.core.a2c import A2CConfig
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig, Trainer, train, train_policy, train_together

PPO_BUDGET = 51_200  # 25 iterations of 2048; PPO first reaches 900 at ~27k steps here


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppo_solves_inverted_pendulum(seed):
    trainer = Trainer(TrainConfig("InvertedPendulum-v5", PPO_BUDGET, seed=seed, eval_every_steps=0))
    try:
        trainer.run()
        last10 = list(trainer.recent_returns)[-10:]
    finally:
        trainer.close()
    assert len(last10) == 10 and np.mean(last10) >= 900, last10


@pytest.mark.slow
def test_a2c_improves_over_its_first_iteration():
    curve = train(
        TrainConfig(
            "InvertedPendulum-v5",
            20_000,
            seed=0,
            learner=A2CConfig(),
            eval_every_steps=0,
            log_every_steps=2000,
        )
    )
    first, last = curve[0]["return_mean"], curve[-1]["return_mean"]
    assert last >= 5 * first and last >= 200, (first, last)


@pytest.mark.parametrize(
    "learner,total", [(PPOConfig(n_steps=512), 1300), (A2CConfig(), 1000), (A2CConfig(), 1004)]
)
def test_run_stops_at_its_exact_budget(learner, total):
    trainer = Trainer(
        TrainConfig("InvertedPendulum-v5", total, seed=0, learner=learner, eval_every_steps=400)
    )
    try:
        curve = trainer.run()
    finally:
        trainer.close()
    assert trainer.env_steps == total
    assert curve[-1]["env_steps"] == total
    assert all(b["env_steps"] > a["env_steps"] for a, b in zip(curve, curve[1:]))
    # Evaluation steps are counted apart: the final row always evaluates, and they add nothing
    # to env_steps.
    assert not math.isnan(curve[-1]["eval_return"]) and curve[-1]["eval_steps"] > 0


def test_the_papers_a2c_steps_once_per_batch_and_joint_a2c_on_an_m_times_batch():
    """A run of the paper's A2C takes one optimiser step per 2,048-step batch (489 for a million
    steps; SB3's takes one per 20); Joint's batch is m environments' (as for PPO), still one step."""
    from bench.runs.algorithms import build_run

    trainer = Trainer(TrainConfig("InvertedPendulum-v5", 3 * 1024, learner=A2CConfig.paper(n_steps=1024)))
    try:
        trainer.run()
    finally:
        trainer.close()
    assert trainer.learner.optimizer.t == 3
    for algo in ("a2c", "gpo-a2c", "single-a2c", "joint-a2c"):
        config = build_run(algo, "InvertedPendulum-v5", 1_000_000, 0, population=8).config
        assert config.learner == A2CConfig.paper(n_envs=8 if algo == "joint-a2c" else 1)
    assert build_run("a2c-sb3", "InvertedPendulum-v5", 1000, 0).config.learner == A2CConfig()


def test_budget_must_divide_among_the_environments():
    with pytest.raises(ValueError, match="multiple of n_envs"):
        TrainConfig("InvertedPendulum-v5", 1002, learner=A2CConfig(n_envs=4))


CURVE_SCRIPT = """
import json, sys
import torch
from threadpoolctl import threadpool_limits
# The threads the process had before the run started: BLAS's (numpy) and torch's.
threadpool_limits(int(sys.argv[3]))
torch.set_num_threads(int(sys.argv[3]))
from gpo.core.a2c import A2CConfig
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig, train
learner = {"ppo": PPOConfig(n_steps=1024), "kl": PPOConfig.kl_penalty(n_steps=1024),
           "a2c-sb3": A2CConfig.sb3(), "a2c": A2CConfig.paper(n_steps=1024)}[sys.argv[1]]
curve = train(TrainConfig("HalfCheetah-v5", 3072, seed=int(sys.argv[2]), learner=learner,
                          eval_every_steps=2048, eval_episodes=1, log_every_steps=1000))
# float.hex is exact to the bit (and NaN-safe); times are the only numbers allowed to differ.
print(json.dumps([{k: float(v).hex() for k, v in row.items() if "seconds" not in k}
                  for row in curve]))
"""


def curve_in_subprocess(learner: str, seed: int, threads: int = 1) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-c", CURVE_SCRIPT, learner, str(seed), str(threads)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("learner", ["ppo", "kl", "a2c", "a2c-sb3"])
def test_same_seed_gives_bit_identical_curves_across_processes(learner):
    first, second = curve_in_subprocess(learner, 7), curve_in_subprocess(learner, 7)
    assert len(first) >= 3 and "value_loss" in first[-1]
    assert first == second
    other = curve_in_subprocess(learner, 8)
    assert other[-1]["value_loss"] != first[-1]["value_loss"]


def test_a_run_computes_on_one_thread_whatever_threads_the_process_had():
    """Every run computes on one torch and one BLAS thread (``gpo.core.parallel.single_threaded``), as
    GPO's and Single's always did: with more, BLAS and torch split large products across threads, so
    the numbers would depend on the machine's core count, and two runs side by side on two cores
    would oversubscribe them."""
    assert curve_in_subprocess("kl", 7, threads=2) == curve_in_subprocess("kl", 7, threads=1)


@pytest.mark.parametrize("learner", [A2CConfig(), PPOConfig(n_steps=256)], ids=["a2c", "ppo"])
def test_evaluation_runs_on_an_env_step_schedule_whatever_the_iteration_size(learner):
    """A2C (20 steps an iteration) and PPO (256) evaluate at the same points of the budget: the
    first iteration end at or past each multiple of eval_every_steps, and the end."""
    curve = train(
        TrainConfig(
            "InvertedPendulum-v5",
            2000,
            learner=learner,
            eval_every_steps=500,
            eval_episodes=1,
            log_every_steps=10**9,
        )
    )
    evaluated = [row["env_steps"] for row in curve if not math.isnan(row["eval_return"])]
    per_iteration = learner.n_envs * learner.n_steps
    due = {min(2000, -(-point // per_iteration) * per_iteration) for point in (500, 1000, 1500, 2000)}
    assert evaluated == sorted(due)
    assert curve[-1]["eval_seconds"] > 0


def _members_alone(config: SingleConfig) -> list:
    return [train_policy(config.member_config(slot)) for slot in range(config.population)]


def _without_times(curves):
    return [[{k: v for k, v in row.items() if "seconds" not in k} for row in rows] for rows in curves]


@pytest.mark.slow
def test_single_members_trained_in_lockstep_equal_each_trained_alone_for_any_workers():
    config = SingleConfig(
        "InvertedPendulum-v5",
        1024,
        population=3,
        learner=PPOConfig.kl_penalty(n_steps=256),
        eval_every_steps=512,
        eval_episodes=1,
    )
    alone = _members_alone(config)
    for workers in (1, 2):
        result = run_single(replace(config, workers=workers))
        assert _without_times(result.member_curves) == _without_times([curve for curve, _ in alone])
        for got, (_, state) in zip(result.policies, alone):
            np.testing.assert_array_equal(got["params"], state["params"])
    assert joint_config(config).eval_every_steps == 3 * config.eval_every_steps


def test_a_trainer_that_is_behind_catches_up_before_training_in_lockstep():
    """Resuming members from checkpoints of different ages: the one behind trains alone until it
    is level, then they go on together; both end as if trained alone."""
    configs = [
        TrainConfig("InvertedPendulum-v5", 1536, seed=s, learner=PPOConfig(n_steps=256), eval_every_steps=512)
        for s in (0, 1)
    ]
    alone = [train_policy(c) for c in configs]
    trainers = [Trainer(c) for c in configs]
    try:
        trainers[0].step()
        trainers[0].step()  # member 0 is two iterations ahead
        train_together(trainers)
        for trainer, (curve, state) in zip(trainers, alone):
            assert _without_times([trainer.curve]) == _without_times([curve])
            np.testing.assert_array_equal(trainer.agent.params, state["params"])
    finally:
        for trainer in trainers:
            trainer.close()


@pytest.mark.parametrize("learner", ["ppo", "a2c-sb3"])
def test_the_sb3_peer_is_configured_with_our_learners_settings(learner):
    """``python -m bench.perf peer --learner L`` compares ours with SB3's own PPO or A2C: each SB3
    model must carry our configuration's batch, rates and coefficients, or the check compares two
    different learners."""
    from bench.perf import ours_trainer, sb3_model

    ours = ours_trainer("InvertedPendulum-v5", 4096, 0, learner=learner)
    config = ours.config.learner
    ours.close()
    model = sb3_model("InvertedPendulum-v5", 0, learner)
    try:
        assert model.get_env().num_envs == config.n_envs and model.n_steps == config.n_steps
        assert (model.learning_rate, model.gamma, model.gae_lambda) == (
            config.learning_rate,
            config.gamma,
            config.gae_lambda,
        )
        assert (model.ent_coef, model.vf_coef, model.max_grad_norm) == (
            config.ent_coef,
            config.vf_coef,
            config.max_grad_norm,
        )
        optimizer = model.policy.optimizer
        if learner == "a2c-sb3":
            assert type(optimizer).__name__ == "RMSprop" and optimizer.defaults["eps"] == config.rms_eps
            assert optimizer.defaults["alpha"] == config.rms_alpha and not model.normalize_advantage
        else:
            assert model.batch_size == config.n_steps * config.n_envs // config.n_minibatches
            assert model.n_epochs == config.n_epochs
    finally:
        model.get_env().close()
