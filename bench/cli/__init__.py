"""``gpo-bench``: the command-line tool, one module per group of commands over ``app`` (the Typer
application, the helpers the commands share, and the entry points). Bad input exits 2 with one
line on stderr."""

# isort: off
# Each module registers its commands on ``app`` when imported, in the order ``--help`` lists them.
from bench.cli import train  # noqa: F401
from bench.cli import launch  # noqa: F401
from bench.cli import results  # noqa: F401
from bench.cli import policies  # noqa: F401
from bench.cli import machine  # noqa: F401

# isort: on
from bench.cli.app import BadInput, app, cli, default_workers, main

__all__ = ["BadInput", "app", "cli", "default_workers", "main"]
