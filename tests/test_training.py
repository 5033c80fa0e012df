"""End-to-end learning, exact budgets and bit-for-bit determinism of the single-policy loop."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from gpo.a2c import A2CConfig
from gpo.ppo import PPOConfig
from gpo.trainer import TrainConfig, Trainer, train

PPO_BUDGET = 51_200  # 25 iterations of 2048; PPO first reaches 900 at ~27k steps here


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppo_solves_inverted_pendulum(seed):
    trainer = Trainer(TrainConfig("InvertedPendulum-v5", PPO_BUDGET, seed=seed, eval_every=0))
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
            "InvertedPendulum-v5", 20_000, seed=0, learner=A2CConfig(), eval_every=0, log_every_steps=2000
        )
    )
    first, last = curve[0]["return_mean"], curve[-1]["return_mean"]
    assert last >= 5 * first and last >= 200, (first, last)


@pytest.mark.parametrize(
    "learner,total", [(PPOConfig(n_steps=512), 1300), (A2CConfig(), 1000), (A2CConfig(), 1004)]
)
def test_run_stops_at_its_exact_budget(learner, total):
    trainer = Trainer(TrainConfig("InvertedPendulum-v5", total, seed=0, learner=learner, eval_every=2))
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


def test_budget_must_divide_among_the_environments():
    with pytest.raises(ValueError, match="multiple of n_envs"):
        TrainConfig("InvertedPendulum-v5", 1002, learner=A2CConfig(n_envs=4))


CURVE_SCRIPT = """
import json, sys
from gpo.a2c import A2CConfig
from gpo.ppo import PPOConfig
from gpo.trainer import TrainConfig, train
learner = {"ppo": PPOConfig(n_steps=1024), "kl": PPOConfig.kl_penalty(n_steps=1024),
           "a2c": A2CConfig()}[sys.argv[1]]
curve = train(TrainConfig("HalfCheetah-v5", 3072, seed=int(sys.argv[2]), learner=learner,
                          eval_every=2, eval_episodes=1, log_every_steps=1000))
# float.hex is exact to the bit (and NaN-safe); wall time is the one number allowed to differ.
print(json.dumps([{k: float(v).hex() for k, v in row.items() if k != "wall_seconds"}
                  for row in curve]))
"""


def curve_in_subprocess(learner: str, seed: int) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-c", CURVE_SCRIPT, learner, str(seed)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("learner", ["ppo", "kl", "a2c"])
def test_same_seed_gives_bit_identical_curves_across_processes(learner):
    first, second = curve_in_subprocess(learner, 7), curve_in_subprocess(learner, 7)
    assert len(first) >= 3 and "value_loss" in first[-1]
    assert first == second
    other = curve_in_subprocess(learner, 8)
    assert other[-1]["value_loss"] != first[-1]["value_loss"]
