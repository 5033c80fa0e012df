"""The import path README.md gave for trained policies before the layout of issue #32; they live in
``bench.artifacts.policies`` now, and ``from bench import load_policy`` is the short form."""

from bench.artifacts.policies import NoPolicies, Policy, load_policies, load_policy  # noqa: F401
