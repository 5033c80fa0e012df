"""The harness around ``gpo``: the ``gpo-bench`` CLI (``bench.cli``) over three layers, each
importing only those below it:

- ``bench.analysis``: a study's finished results: tables, statistics and figures (over ``figures/``);
- ``bench.runs``: suites, run families, the algorithm registry, planning (pricing, admission,
  calibration: ``planning``), launching, the runner, leases, checkpoints,
  progress and the run folder's record;
- ``bench.artifacts``: files a run leaves besides its record (atomic writes, saved policies,
  video).

``bench.perf`` (benchmarks and the fidelity audit) stands beside the CLI on top; ``bench.envs``
(the paper's Hilly tasks) stands apart. Importing ``bench`` registers the Hilly tasks.

    from bench import load_policy
    policy = load_policy("results/smoke/gpo/Hopper-v5/seed0")
"""

import gpo  # noqa: F401  (first: it pins the numerical kernels before NumPy loads, gpo.core.kernels)
from bench import envs as _envs  # noqa: F401  (registers gpo_bench/*Hilly-v1 with gymnasium)

__all__ = ["load_policies", "load_policy"]


def __getattr__(name: str):
    # Trained policies load on demand, so `import bench` does not import torch.
    if name in __all__:
        from bench.artifacts import policies

        return getattr(policies, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
