"""The harness: CLI, runs, results and benchmarks. Importing it registers the Hilly tasks."""

from bench import envs as _envs  # noqa: F401  (registers gpo_bench/*Hilly-v0 with gymnasium)
