"""Trained policies are results too: every finished run's final policies in ``policies.pt``.

The file is a plain dict of tensors, numbers and strings written with ``torch.save`` (atomically)
and read with ``torch.load(weights_only=True)``: loading a results folder never executes pickled
code. It holds everything needed to act: the architecture (``PolicyConfig``), each member's
parameters and observation statistics, log σ, the env id and its constructor arguments (a Hilly
task's terrain seed and difficulty), which member is best (highest final evaluation return;
the only one for PPO, A2C and Joint) and the seed and episodes of the run's own final evaluation,
so ``gpo-bench evaluate`` with the defaults reproduces it.

    policy = load_policy("results/lite/gpo/Hopper-v5/seed0")      # member="best" | "all" | index
    action = policy.act(obs)                                       # deterministic: μ_θ(ŝ)
    module = policy.to_torch()                                     # torch.nn.Module, normaliser folded in
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from bench.artifacts.files import atomic_write
from gpo.core.policy import ActorCritic, PolicyConfig

POLICIES_FILE = "policies.pt"
FORMAT = 1


class NoPolicies(Exception):
    """The run has no policies file (it predates them, or has not finished)."""


def policies_payload(
    algo: str,
    env_id: str,
    env_kwargs: dict,
    policy_config: PolicyConfig,
    states: list[dict],
    eval_seeds: list[int],
    eval_returns: list[float | None],
    eval_episodes: int,
) -> dict:
    """What ``policies.pt`` holds, from each member's ``ActorCritic.state_dict``."""
    finite = [r if r is not None and np.isfinite(r) else -np.inf for r in eval_returns]
    env = gym.make(env_id, **env_kwargs)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    return {
        "format": FORMAT,
        "algo": algo,
        "env_id": env_id,
        "env_kwargs": dict(env_kwargs),
        "obs_dim": int(obs_dim),
        "act_dim": int(act_dim),
        "policy_config": {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(policy_config).items()
        },
        "best": int(np.argmax(finite)),
        "eval_episodes": int(eval_episodes),
        "members": [
            {
                "params": torch.from_numpy(np.asarray(state["params"], dtype=np.float64).copy()),
                "obs_mean": torch.from_numpy(np.asarray(state["obs_rms"]["mean"], dtype=np.float64).copy()),
                "obs_var": torch.from_numpy(np.asarray(state["obs_rms"]["var"], dtype=np.float64).copy()),
                "obs_count": float(state["obs_rms"]["count"]),
                "eval_seed": int(seed),
                "eval_return": None if ret is None or not np.isfinite(ret) else float(ret),
            }
            for state, seed, ret in zip(states, eval_seeds, eval_returns, strict=True)
        ],
    }


def save_policies(path: Path, payload: dict) -> None:
    atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def read_payload(run_dir: Path) -> dict:
    path = Path(run_dir) / POLICIES_FILE
    if not Path(run_dir).is_dir():
        raise NoPolicies(f"{run_dir}: no such run folder")
    if not path.exists():
        raise NoPolicies(
            f"{run_dir} has no {POLICIES_FILE}: the run has not finished, "
            "or it finished before runs saved their policies"
        )
    try:
        payload = torch.load(path, weights_only=True)
    except Exception as error:
        raise NoPolicies(f"{path} cannot be read ({' '.join(str(error).split())[:100]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise NoPolicies(f"{path} is not a gpo-bench policies file of format {FORMAT}")
    return payload


@dataclass
class Policy:
    """One trained policy: acts on raw observations of its task."""

    agent: ActorCritic
    env_id: str
    env_kwargs: dict
    algo: str
    member: int
    is_best: bool
    eval_seed: int
    eval_episodes: int
    eval_return: float | None

    def act(self, obs, deterministic: bool = True, rng: np.random.Generator | None = None) -> np.ndarray:
        """The action for one observation (O,) or a batch (B, O); deterministic = μ_θ(ŝ), else
        μ + σ ε. Unclipped, as the policy computes it; ``step`` clips to the action bounds."""
        obs = np.asarray(obs, dtype=np.float64)
        mean = self.agent.mean_action(obs[None] if obs.ndim == 1 else obs)
        if not deterministic:
            rng = rng if rng is not None else np.random.default_rng()
            mean = mean + np.exp(self.agent.log_std) * rng.standard_normal(mean.shape)
        return mean[0] if obs.ndim == 1 else mean

    def episode(self, env: gym.Env, obs, on_step=None, max_steps: int | None = None) -> tuple[float, int]:
        """One deterministic episode in ``env`` from ``obs`` (just reset), actions clipped to the
        bounds as the run's evaluation does; ``on_step(step, return_so_far)`` before each step;
        at most ``max_steps`` steps. Its return and length."""
        low, high = env.action_space.low, env.action_space.high
        total, length, done = 0.0, 0, False
        while not done and (max_steps is None or length < max_steps):
            if on_step is not None:
                on_step(length, total)
            action = np.clip(self.agent.mean_action(obs[None])[0], low, high)
            obs, reward, terminated, truncated, _ = env.step(action)
            total, length, done = total + float(reward), length + 1, terminated or truncated
        return total, length

    def make_env(self, **kwargs) -> gym.Env:
        """The policy's task, with the run's constructor arguments (``kwargs`` added)."""
        return gym.make(self.env_id, **{**self.env_kwargs, **kwargs})

    def to_torch(self) -> torch.nn.Module:
        return TorchPolicy(self.agent)


class TorchPolicy(torch.nn.Module):
    """μ_θ(clip((s − mean)/√(var + 1e-8))) as a torch module (float64; ``.float()`` converts)."""

    def __init__(self, agent: ActorCritic):
        super().__init__()
        rms, normalizer = agent.obs_normalizer.rms, agent.obs_normalizer
        self.register_buffer("obs_mean", torch.tensor(rms.mean if normalizer.enabled else 0.0 * rms.mean))
        self.register_buffer("obs_std", torch.tensor(rms.std if normalizer.enabled else 1.0 + 0.0 * rms.std))
        self.clip = float(normalizer.clip) if normalizer.enabled else float("inf")
        layers: list[torch.nn.Module] = []
        for k, (W, b) in enumerate(agent.pi.layers):
            linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(linear)
            if k < len(agent.pi.layers) - 1:
                layers.append(torch.nn.Tanh())
        self.mu = torch.nn.Sequential(*layers)
        self.log_std = torch.nn.Parameter(torch.from_numpy(agent.log_std.copy()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action for raw observations (…, O)."""
        z = (obs.to(self.obs_mean.dtype) - self.obs_mean) / self.obs_std
        return self.mu(torch.clamp(z, -self.clip, self.clip))


def _policy(payload: dict, index: int) -> Policy:
    config = PolicyConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in payload["policy_config"].items()}
    )
    agent = ActorCritic(payload["obs_dim"], payload["act_dim"], config, np.random.default_rng(0))
    saved = payload["members"][index]
    agent.load_state_dict(
        {
            "params": saved["params"].numpy(),
            "obs_rms": {
                "mean": saved["obs_mean"].numpy(),
                "var": saved["obs_var"].numpy(),
                "count": saved["obs_count"],
            },
        }
    )
    return Policy(
        agent,
        payload["env_id"],
        dict(payload["env_kwargs"]),
        payload["algo"],
        index,
        index == payload["best"],
        saved["eval_seed"],
        payload["eval_episodes"],
        saved["eval_return"],
    )


def load_policies(run_dir: Path, member: str | int = "all") -> list[Policy]:
    """The run's policies: ``"all"``, ``"best"`` or one member's index. NoPolicies if it has none;
    ValueError for a member it does not have."""
    payload = read_payload(run_dir)
    count = len(payload["members"])
    if member == "all":
        return [_policy(payload, i) for i in range(count)]
    if member == "best":
        return [_policy(payload, payload["best"])]
    try:
        index = int(member)
    except (TypeError, ValueError):
        raise ValueError(f"member must be best, all or an index 0..{count - 1}, got {member!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"member must be best, all or an index 0..{count - 1}, got {member!r}")
    return [_policy(payload, index)]


def load_policy(run_dir: Path, member: str | int = "best") -> Policy:
    """One policy of a finished run (the best member by default)."""
    if member == "all":
        raise ValueError(
            "load_policy returns one policy: member must be best or an index (load_policies for all)"
        )
    return load_policies(run_dir, member)[0]


def evaluate_policy(policy: Policy, episodes: int, seed: int) -> tuple[list[float], list[int]]:
    """Deterministic episodes from ``env.reset(seed=seed)``, as the run's own evaluation does:
    returns and lengths."""
    env = policy.make_env()
    returns, lengths = [], []
    try:
        obs, _ = env.reset(seed=seed)
        for _ in range(episodes):
            total, length = policy.episode(env, obs)
            returns.append(total)
            lengths.append(length)
            obs, _ = env.reset()
    finally:
        env.close()
    return returns, lengths
