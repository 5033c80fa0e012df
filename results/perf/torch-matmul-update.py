"""What torch's matmul (MKL) would buy the update (a question for issue #11's owner, not a change):
one whole PPO update of HalfCheetah's policy and value MLPs on a synthetic batch of 2,048 steps,
clipped (320 minibatches of 64) and the GPO paper's KL-PPO (10 full-batch passes), with gpo.core.nn.MLP's
2-D matmuls as they are (NumPy, OpenBLAS) or through torch.mm on the same arrays (zero-copy) where
an operand has 256 rows or more (below that torch's per-call cost eats its gain); stacked (3-D)
matmuls untouched. Prints CPU milliseconds (best of 7) and the sum of the parameters after the 7
updates: the two differ in the last bits, so the switch would change every run's rounding.
Usage: python results/perf/torch-matmul-update.py {numpy|torch}; alternate the two processes
(results/perf/torch-matmul-update-2026-11-27.jsonl: four alternations, numpy first)."""

import gpo  # noqa: F401  (first: pins the numerical kernels before NumPy loads)

# isort: split
import json
import sys
import time

import numpy as np
import torch

import gpo.core.nn as nn
from bench.perf import limit_threads
from gpo.core.learner import Batch
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPO, PPOConfig

limit_threads()
ROWS = 256


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if a.ndim == 2 and b.ndim == 2 and max(a.shape[0], a.shape[1]) >= ROWS:
        out = np.empty((a.shape[0], b.shape[1])) if out is None else out
        torch.mm(torch.from_numpy(a), torch.from_numpy(b), out=torch.from_numpy(out))
        return out
    return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)


def forward(self, x):  # gpo.core.nn.MLP.forward with its matmuls through ``matmul``
    activations = [x]
    *hidden, (W_out, b_out) = self.layers
    for W, b in hidden:
        x = matmul(x, W)
        x += b
        activations.append(nn.tanh_(x))
    y = matmul(x, W_out)
    y += b_out
    return y, activations


def backward(self, activations, dy, accumulate=False):  # gpo.core.nn.MLP.backward, likewise
    assert not accumulate
    for k in range(len(self.layers) - 1, -1, -1):
        x = activations[k]
        gW, gb = self.grad_layers[k]
        matmul(np.swapaxes(x, -1, -2), dy, out=gW)
        np.add.reduce(dy, axis=-2, out=gb, keepdims=gb.ndim == dy.ndim)
        if k:
            slope = x * x
            np.subtract(1.0, slope, out=slope)
            dy = matmul(dy, np.swapaxes(self.layers[k][0], -1, -2))
            dy *= slope


if sys.argv[1:] == ["torch"]:
    nn.MLP.forward, nn.MLP.backward = forward, backward
elif sys.argv[1:] != ["numpy"]:
    raise SystemExit("usage: python results/perf/torch-matmul-update.py {numpy|torch}")
row = {"matmul": sys.argv[1]}
for name, config in (("clipped", PPOConfig()), ("kl_penalty", PPOConfig.kl_penalty())):
    rng = np.random.default_rng(0)
    agent = ActorCritic(17, 6, PolicyConfig(), rng)
    learner = PPO(config, agent)
    n = 2048
    shapes = ((n, 17), (n, 6), n, (n, 6))
    columns = [rng.standard_normal(s) for s in shapes]
    batch = Batch(*columns, agent.log_std.copy(), *(rng.standard_normal(n) for _ in range(3)))
    learner.make_batch = lambda rollout, extra, batch=batch: batch
    times = []
    for _ in range(7):
        start = time.process_time()
        learner.update(agent, None, rng)
        times.append(time.process_time() - start)
    row[f"{name}_ms"] = round(1e3 * min(times), 2)
    row[f"{name}_params_sum"] = float(agent.params.sum())
print(json.dumps(row), flush=True)
