"""What float32 would buy the update (a question for issue #11's owner, not a change): one
epoch's forward and backward of the policy and value MLPs (gpo.core.nn.MLP, the paper's 2 x 64 tanh
networks, HalfCheetah's 17 -> 6) plus an Adam step, on a full batch of 2,048 states (the paper's
KL-PPO) and on a minibatch of 64 (clipped PPO), in float64 and in float32; best of 7 repeats of
N passes each, one thread, both dtypes alternating. Usage: python results/perf/float32-update.py"""

import gpo  # noqa: F401  (first: pins the numerical kernels before NumPy loads)

# isort: split
import json
import time

import numpy as np

from bench.perf import limit_threads
from gpo.core.nn import MLP, mlp_size
from gpo.core.optim import Adam

limit_threads()
SIZES = [(17, 64, 64, 6), (17, 64, 64, 1)]


def passes(dtype, batch: int, n: int) -> float:
    rng = np.random.default_rng(0)
    nets = []
    for sizes in SIZES:
        params = np.zeros(mlp_size(sizes), dtype)
        grads = np.zeros_like(params)
        net = MLP(sizes, params, grads)
        net.init_orthogonal(rng, 1.0)
        nets.append((net, Adam(params, grads, 3e-4)))
    x = rng.standard_normal((batch, 17)).astype(dtype)
    dys = [rng.standard_normal((batch, sizes[-1])).astype(dtype) for sizes in SIZES]
    start = time.perf_counter()
    for _ in range(n):
        for (net, adam), dy in zip(nets, dys):
            _, activations = net.forward(x)
            net.backward(activations, dy)
            adam.step()
    return (time.perf_counter() - start) / n


out = {"command": "python results/perf/float32-update.py"}
for batch, n in ((2048, 20), (64, 400)):
    best = {"float64": float("inf"), "float32": float("inf")}
    for _ in range(7):
        for dtype in ("float64", "float32"):
            best[dtype] = min(best[dtype], passes(np.dtype(dtype), batch, n))
    out[f"batch_{batch}"] = {
        "float64_microseconds": round(best["float64"] * 1e6, 1),
        "float32_microseconds": round(best["float32"] * 1e6, 1),
        "float64_over_float32": round(best["float64"] / best["float32"], 2),
    }
print(json.dumps(out, indent=1))
