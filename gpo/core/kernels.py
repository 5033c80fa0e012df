"""One instruction-set level for every number: the numerical kernels pinned to x86-64-v3 (AVX2, FMA).

Why. NumPy, OpenBLAS and torch each choose their SIMD kernels by CPU when they load. On an
AVX-512 CPU OpenBLAS takes its SkylakeX kernel and NumPy its X86_V4 and AVX512_ICL loops, where an
AVX2 CPU gets OpenBLAS's Haswell (or Zen) kernel and NumPy's X86_V3 loops. Their float64 results
differ in the last bits, and MuJoCo's contacts turn a last-bit difference into another run within
one episode. So unpinned, the same configuration and seed replay only on the kind of CPU that made
them. Measured on an AVX-512 AMD EPYC on 2026-12-07: the golden curves of ``tests/golden/`` (made
on an AVX2-only EPYC) come back bit for bit with this pin, and not without it. OpenBLAS's pin alone
or NumPy's alone is not enough (``tests/test_kernels.py``).

What is pinned, each by the environment variable its library reads when it loads:

- ``OPENBLAS_CORETYPE=Haswell``: the OpenBLAS inside NumPy's and SciPy's wheels (DYNAMIC_ARCH
  builds), the matmuls of every MLP pass (``gpo.core.nn``).
- ``NPY_ENABLE_CPU_FEATURES=X86_V3``: NumPy (>= 2.4) dispatches to no target above x86-64-v3.
  NumPy refuses ``NPY_DISABLE_CPU_FEATURES`` beside it, so a value of that is removed.
- ``ATEN_CPU_CAPABILITY=avx2``: torch's vectorised kernels (the tanh of the training passes).
- ``MKL_ENABLE_INSTRUCTIONS=AVX2``, ``MKL_CBWR=AVX2`` and ``ONEDNN_MAX_CPU_ISA=AVX2``: torch's own
  BLAS and oneDNN. No training number goes through them, but ``Policy.to_torch()`` modules and
  the Stable-Baselines3 peer check do.

What needs no pin:

- MuJoCo is compiled for one instruction set and has no dispatch of its own. Its
  ``libmujoco.so`` (4.0.1) uses AVX's ymm registers, no AVX-512 zmm register, no FMA
  instruction and no ``cpuid`` (``objdump -d``, 2026-12-08).
- The libm functions it and NumPy's scalar loops call (glibc's ``exp``, ``sin``, ``tanh``, ...)
  choose their variant by FMA, which every CPU at this level has, and glibc has no AVX-512
  variant of them.
- gymnasium computes with NumPy. SciPy's numerics go through the same pinned OpenBLAS, and they
  serve analysis only.
- ``OPENBLAS_L2_SIZE``, which some machines here set beside ``OPENBLAS_CORETYPE``: the pinned
  kernel gives the golden bits with it at 256 KiB, 1 MiB and 32 MiB (2026-12-08).

How. ``import gpo`` calls :func:`pin`, which sets these variables unless NumPy, SciPy or torch is
already loaded. ``bench`` imports ``gpo`` before anything else, so the ``gpo-bench`` CLI is
pinned. Every process it starts inherits the environment: submitit's local and SLURM jobs,
member workers, the video child. A worker also checks that it computes at its parent's level
(``gpo.core.parallel``). The pin overrides values the environment already had; a cluster's
module system may export ``OPENBLAS_CORETYPE``, for example. Only the opt-out
``GPO_BENCH_KERNELS=native`` leaves the machine's own choice. A CPU that lacks x86-64-v3 (ARM,
or an x86-64 CPU before AVX2) runs unpinned too, and so does a process that loaded NumPy before
``gpo``. Each unpinned case is said once (:class:`UnpinnedKernels`) and recorded in ``run.json``
(:func:`record`).
"""

from __future__ import annotations

import os
import platform
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

LEVEL = "x86-64-v3"
OPT_OUT = "GPO_BENCH_KERNELS"
MODES = ("pinned", "native")  # pinned: the default; native: this CPU's own kernels
ENVIRONMENT = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_ENABLE_CPU_FEATURES": "X86_V3",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}
REMOVED = ("NPY_DISABLE_CPU_FEATURES",)  # NumPy refuses it beside NPY_ENABLE_CPU_FEATURES
# /proc/cpuinfo's names for x86-64-v3's features (abm carries LZCNT); NumPy raises at import if
# NPY_ENABLE_CPU_FEATURES names a level the CPU lacks, so the pin is set only where all are present.
V3_FLAGS = frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})
LIBRARIES = ("numpy", "scipy", "torch")  # those that read the pin when they load


class UnpinnedKernels(UserWarning):
    """This process computes with its CPU's own kernels: its numbers may differ from another CPU's."""


@dataclass(frozen=True)
class PinState:
    """What :func:`pin` did: ``pinned`` means the environment was set before the libraries loaded
    (or they loaded under it); otherwise ``reason`` says why not."""

    pinned: bool
    reason: str | None = None
    restart_pins: bool = False  # a fresh process, which inherits the pinned environment, would be pinned


_state: PinState | None = None


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags as Linux reports them, or None where there is no /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def unsupported_reason() -> str | None:
    """Why this CPU cannot run at the pinned level, or None if it can."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"this CPU is {platform.machine() or 'not x86-64'}, not x86-64"
    flags = cpu_flags()
    if flags is None:
        return "this system does not list the CPU's features (/proc/cpuinfo)"
    missing = sorted(V3_FLAGS - flags)
    if missing:
        return f"this CPU lacks {LEVEL} ({', '.join(missing)})"
    return None


def mode() -> str:
    """``pinned`` or ``native`` by ``GPO_BENCH_KERNELS``. A value it does not accept pins, the safe
    side; the CLI rejects such a value before anything runs (``bench.runs.settings``)."""
    value = os.environ.get(OPT_OUT, "pinned").strip().lower() or "pinned"
    return value if value in MODES else "pinned"


def pin() -> PinState:
    """Set the pinned environment for this process and its children, once; see the module's text."""
    global _state
    if _state is not None:
        return _state
    if mode() == "native":
        _state = PinState(False, f"{OPT_OUT}=native")
        return _state
    if reason := unsupported_reason():
        _state = PinState(False, reason)
        _say(f"{reason}: gpo runs with its own kernels, unpinned")
        return _state
    loaded = [name for name in LIBRARIES if name in sys.modules]
    was_pinned = all(os.environ.get(k) == v for k, v in ENVIRONMENT.items()) and not any(
        os.environ.get(k) for k in REMOVED
    )
    for name in REMOVED:
        os.environ.pop(name, None)
    os.environ.update(ENVIRONMENT)
    if loaded and not (was_pinned and at_level(observed())):
        _state = PinState(False, f"{', '.join(loaded)} loaded before gpo set the pin", restart_pins=True)
        _say(
            f"{_state.reason}, so this process computes with its CPU's own kernels: its numbers may "
            "differ from another CPU's (import gpo first; processes it starts are pinned)"
        )
        return _state
    _state = PinState(True)
    return _state


def state() -> PinState:
    return pin()


def _say(message: str) -> None:
    warnings.warn(f"gpo: {message}", UnpinnedKernels, stacklevel=3)


def observed() -> dict:
    """The kernels each loaded library reports: NumPy's dispatch targets in use, every BLAS's
    kernel (threadpoolctl), and torch's capability (if torch is loaded)."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    from threadpoolctl import threadpool_info

    libraries = [i for i in threadpool_info() if i["user_api"] == "blas"]
    blas = sorted({f"{i['internal_api']} {i.get('architecture') or '?'}" for i in libraries})
    seen = {"numpy": [t for t in __cpu_dispatch__ if __cpu_features__.get(t)], "blas": blas, "torch": None}
    if "torch" in sys.modules:
        seen["torch"] = sys.modules["torch"].backends.cpu.get_cpu_capability()
    return seen


def at_level(seen: dict) -> bool:
    """Whether the kernels ``seen`` (:func:`observed`) are the pinned level's."""
    return (
        seen["numpy"] == ["X86_V3"]
        and bool(seen["blas"])
        and all(kernel == "openblas Haswell" for kernel in seen["blas"])
        and seen["torch"] in (None, "AVX2")
    )


def record() -> dict:
    """This process's level for ``run.json``: ``level`` is ``x86-64-v3`` where pinned and at it,
    else ``native`` with the reason, and the kernels each library reports."""
    seen = observed()
    pinned = state().pinned and at_level(seen)
    reason = state().reason or (None if pinned else "the libraries report other kernels than the pin's")
    return {"level": LEVEL if pinned else "native", "pinned": pinned, "reason": reason, **seen}


def run_kernels(run: dict) -> dict:
    """The kernels a run computed with, from its ``run.json``. Runs from before kernels were
    recorded were unpinned; their CPU's features tell what their libraries chose. An AVX2 CPU
    without AVX-512 chose this level (the golden curves replay pinned), and one with AVX-512 chose
    its own."""
    if "kernels" in run:
        return run["kernels"]
    simd = set(run.get("cpu", {}).get("simd", []))
    if "AVX2" in simd and "FMA3" in simd and "AVX512F" not in simd:
        return {"level": LEVEL, "pinned": False, "reason": "before kernels were recorded; an AVX2 CPU"}
    reason = "before kernels were recorded"
    return {"level": "native", "pinned": False, "reason": reason, "simd": sorted(simd)}


def replay_note(run: dict, here: dict, here_simd: list[str]) -> str | None:
    """One sentence when a run's numbers may not replay in this process (``here`` is
    :func:`record`), else None. Two processes replay each other when both are at the pinned level,
    or when both are native with the same kernels (or, for older runs, the same CPU features)."""
    then = run_kernels(run)
    if then["level"] == LEVEL and here["level"] == LEVEL:
        return None
    if then["level"] == "native" and here["level"] == "native":
        same = then.get("simd") == sorted(here_simd) if "simd" in then else _kernels(then) == _kernels(here)
        if same:
            return None
    return f"computed {describe(then)}; this process computes {describe(here)}: its numbers may differ here"


def _kernels(k: dict) -> tuple:
    return (tuple(k.get("numpy") or ()), tuple(k.get("blas") or ()), k.get("torch"))


def describe(k: dict) -> str:
    """``at x86-64-v3 (pinned)`` or ``unpinned (reason: kernels)`` in a few words."""
    if k["level"] == LEVEL:
        return f"at {LEVEL}" + (" (pinned)" if k.get("pinned") else f" ({k.get('reason')})")
    if "numpy" in k:
        detail = f"NumPy {'/'.join(k['numpy']) or 'baseline'}, {', '.join(k['blas']) or 'no BLAS'}"
        detail += f", torch {k['torch']}" if k.get("torch") else ""
    else:
        detail = "an AVX-512 CPU" if "AVX512F" in k.get("simd", []) else "a CPU without AVX2"
    return f"unpinned ({k.get('reason')}; {detail})"
