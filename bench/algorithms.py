"""The algorithms a run can name, and the configurations they map to."""

from __future__ import annotations

from gpo.a2c import A2CConfig
from gpo.ppo import PPOConfig

LEARNERS = {
    "ppo": PPOConfig,  # clipped surrogate, modern MuJoCo settings
    "ppo-kl": PPOConfig.kl_penalty,  # the GPO paper's adaptive-KL-penalty PPO
    "a2c": A2CConfig,
}
ALGORITHMS = tuple(LEARNERS)
