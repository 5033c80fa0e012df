"""Keeping other programs' chatter off the terminal where it says nothing to the user."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_stderr(quiet: bool = True):
    """Standard error of this process and its children to /dev/null for the block (submitit's
    ``sacct`` calls print to it directly)."""
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
