"""MuJoCo's warnings, less one that says nothing a user can act on.

gymnasium's own ``half_cheetah.xml`` sets ``settotalmass``, which MuJoCo 3.3+ compiles with a
deprecation warning ("compiler attribute 'settotalmass' is deprecated ..."). Every HalfCheetah
model printed it, HalfCheetah-Hilly's included: in ``evaluate``, ``video`` and every run's log.
It concerns gymnasium's file, and nothing in this project can change that file.

:func:`install` replaces MuJoCo's warning handler with one that drops exactly that warning, and
only while the model being compiled is that file. It tells by the env whose constructor is
compiling it: gymnasium's ``MujocoEnv`` keeps the model's path in ``fullpath``, and compiling is a
synchronous call from there. Every other warning, and this one from any other model, is written
as MuJoCo's own handler writes it (``WARNING: ...`` and a blank line on stderr; MuJoCo's handler
also appends to ``MUJOCO_LOG.TXT``, which this one does not).
"""

from __future__ import annotations

import sys

import mujoco

SETTOTALMASS = "compiler attribute 'settotalmass' is deprecated"
MODEL = "half_cheetah.xml"


def compiling(model: str) -> bool:
    """Whether a MuJoCo env constructor up the stack is compiling the file named ``model``."""
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if str(getattr(owner, "fullpath", "")).endswith(model):
            return True
        frame = frame.f_back
    return False


def handle(message: str) -> None:
    if message.startswith(SETTOTALMASS) and compiling(MODEL):
        return
    sys.stderr.write(f"WARNING: {message}\n\n")


def install() -> None:
    mujoco.set_mju_user_warning(handle)
