"""One instruction-set level for every process (``gpo.core.kernels``): the golden curves made on
another CPU replay bit for bit, the pin holds against an environment that names other kernels,
member workers compute at their run's level, and what runs unpinned says so."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpo.core import kernels
from gpo.core.parallel import TaskPool, _init_worker

GOLDEN = Path(__file__).parent / "golden"
COMMANDS = {
    "gpo-Hopper-v5-seed3.csv": "--algo gpo --env Hopper-v5 --steps 24576 --population 2 --rounds 2 --seed 3",
    "ppo-kl-HalfCheetah-v5-seed1.csv": "--algo ppo-kl --env HalfCheetah-v5 --steps 20480 --seed 1",
}
# An environment that names other kernels, as a cluster's module system might export: the pin
# overrides every one of them (numpy would refuse NPY_DISABLE_CPU_FEATURES beside the pin's own).
HOSTILE = {
    "OPENBLAS_CORETYPE": "Sandybridge",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3",
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
}

needs_level = pytest.mark.skipif(
    kernels.unsupported_reason() is not None, reason=f"unpinned here: {kernels.unsupported_reason()}"
)


def clean_env(**extra: str) -> dict:
    """This environment without the pin's variables (as a new shell has it), plus ``extra``."""
    drop = {*kernels.ENVIRONMENT, *kernels.REMOVED, kernels.OPT_OUT}
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def gpo_bench(args: list[str], env: dict) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def train(folder: Path, command: str, env: dict) -> Path:
    gpo_bench(["train", *command.split(), "--out", str(folder)], env)
    return folder


def assert_bits_equal(curve: pd.DataFrame, golden: pd.DataFrame) -> None:
    """Every golden column equal to the run's: the same NaNs, and every other float equal (float
    equality is bit equality but for the sign of zero)."""
    for column in golden.columns:
        a, b = curve[column].to_numpy(), golden[column].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(np.float64), b.astype(np.float64)
            same_nan = np.array_equal(np.isnan(a), np.isnan(b))
            assert same_nan and np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)]), column
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column


@pytest.fixture(scope="module")
def golden_runs(tmp_path_factory) -> dict[str, Path]:
    """The two golden commands: GPO in a new shell's environment, PPO in the hostile one."""
    root = tmp_path_factory.mktemp("golden")
    envs = {"gpo-Hopper-v5-seed3.csv": clean_env(), "ppo-kl-HalfCheetah-v5-seed1.csv": clean_env(**HOSTILE)}
    return {name: train(root / name, COMMANDS[name], envs[name]) for name in COMMANDS}


@needs_level
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_golden_curves_made_on_another_cpu_replay_bit_for_bit(golden_runs, name):
    folder = golden_runs[name]
    assert_bits_equal(pd.read_parquet(folder / "curve.parquet"), pd.read_csv(GOLDEN / name))
    recorded = json.loads((folder / "run.json").read_text())["kernels"]
    assert recorded["level"] == kernels.LEVEL and recorded["pinned"]
    assert recorded["numpy"] == ["X86_V3"] and recorded["blas"] == ["openblas Haswell"]
    assert recorded["torch"] == "AVX2"


@pytest.mark.skipif("avx512f" not in (kernels.cpu_flags() or ()), reason="this CPU has no AVX-512")
def test_unpinned_on_an_avx512_cpu_the_golden_curve_does_not_replay(tmp_path):
    """What the pin is for: the same command with this CPU's own kernels gives other numbers, so
    the golden test above can fail."""
    name = "ppo-kl-HalfCheetah-v5-seed1.csv"
    folder = train(tmp_path / "native", COMMANDS[name], clean_env(**{kernels.OPT_OUT: "native"}))
    with pytest.raises(AssertionError):
        assert_bits_equal(pd.read_parquet(folder / "curve.parquet"), pd.read_csv(GOLDEN / name))
    recorded = json.loads((folder / "run.json").read_text())["kernels"]
    assert recorded == recorded | {"level": "native", "pinned": False, "reason": "GPO_BENCH_KERNELS=native"}
    assert "X86_V4" in recorded["numpy"]


@needs_level
def test_the_test_process_and_member_workers_compute_at_the_pinned_level():
    here = kernels.record()
    assert here["level"] == kernels.LEVEL and here["torch"] == "AVX2"
    pool = TaskPool(2)
    try:
        inside = pool.map(kernels.record, [(), (), (), ()])  # read back inside the workers
    finally:
        pool.close()
    assert inside == [here] * 4


def test_a_worker_on_other_kernels_than_its_run_refuses_to_start():
    other = kernels.observed() | {"blas": ["openblas Sandybridge"]}
    with pytest.raises(RuntimeError, match="member worker's kernels"):
        _init_worker((), other, None)


def python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@needs_level
def test_import_gpo_pins_before_numpy_and_says_once_when_numpy_came_first():
    report = "from gpo.core import kernels; print(kernels.record()['level'])"
    first = python(f"import gpo, numpy, torch; {report}", clean_env())
    assert first.stdout.split() == [kernels.LEVEL] and "UnpinnedKernels" not in first.stderr
    late = python(f"import numpy; import gpo; import gpo.gpo; {report}", clean_env())
    assert late.stdout.split() == ["native"]
    assert late.stderr.count("UnpinnedKernels") == 1 and "numpy loaded before gpo" in late.stderr
    # a process that inherits the pinned environment is pinned, whatever it imports first
    inherited = python(f"import numpy; import gpo; {report}", clean_env(**kernels.ENVIRONMENT))
    assert inherited.stdout.split() == [kernels.LEVEL] and "UnpinnedKernels" not in inherited.stderr
    opted_out = python(f"import gpo; {report}", clean_env(**{kernels.OPT_OUT: "native"}))
    assert opted_out.stdout.split() == ["native"] and "UnpinnedKernels" not in opted_out.stderr


@needs_level
def test_the_cli_starts_again_pinned_when_numpy_was_loaded_before_it(tmp_path):
    argv = ["gpo-bench", "train", "--algo", "ppo-kl", "--env", "InvertedPendulum-v5", "--steps", "2048"]
    argv += ["--out", str(tmp_path / "run")]
    out = python(f"import numpy, sys; sys.argv = {argv!r}; from bench.cli import cli; cli()", clean_env())
    assert out.returncode == 0, out.stderr
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["kernels"]
    assert recorded["level"] == kernels.LEVEL and recorded["pinned"]


def test_an_opt_out_value_it_does_not_accept_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "bench.cli", "suites"],
        capture_output=True,
        text=True,
        env=clean_env(**{kernels.OPT_OUT: "fastest"}),
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "gpo-bench: error: GPO_BENCH_KERNELS='fastest': expected pinned or native [pinned: every number at "
        "x86-64-v3 on any x86-64 CPU with AVX2 (default); native: this CPU's own kernels, unpinned]"
    ]


@needs_level
def test_evaluate_and_video_say_in_one_line_when_a_run_was_made_at_other_kernels(tmp_path, golden_runs):
    golden = golden_runs["gpo-Hopper-v5-seed3.csv"]
    pinned = gpo_bench(["evaluate", "--run", str(golden), "--episodes", "1"], clean_env())
    assert "note:" not in pinned.stderr
    native = train(
        tmp_path / "native",
        "--algo ppo-kl --env InvertedPendulum-v5 --steps 2048",
        clean_env(**{kernels.OPT_OUT: "native"}),
    )
    out = gpo_bench(["evaluate", "--run", str(native), "--episodes", "1"], clean_env())
    notes = [line for line in out.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert notes[0].startswith(f"note: {native} was computed unpinned (GPO_BENCH_KERNELS=native; NumPy ")
    here = f"this process computes at {kernels.LEVEL} (pinned): its numbers may differ here"
    assert notes[0].endswith(here)
    film = ["video", "--run", str(native), "--out", str(tmp_path / "v.mp4"), "--frames", "2", "--width", "32"]
    video = gpo_bench([*film, "--height", "32"], clean_env())
    assert [line for line in video.stderr.splitlines() if line.startswith("note:")] == notes


def test_replay_notes_for_runs_recorded_before_and_after_the_pin():
    pinned = {"level": kernels.LEVEL, "pinned": True, "reason": None, "numpy": ["X86_V3"],
              "blas": ["openblas Haswell"], "torch": "AVX2"}  # fmt: skip
    native = {"level": "native", "pinned": False, "reason": "GPO_BENCH_KERNELS=native",
              "numpy": ["X86_V3", "X86_V4"], "blas": ["openblas SkylakeX"], "torch": "AVX512"}  # fmt: skip
    avx512 = ["AVX2", "AVX512F", "FMA3", "X86_V4"]
    assert kernels.replay_note({"kernels": pinned}, pinned, avx512) is None
    assert kernels.replay_note({"kernels": native}, native, avx512) is None  # same CPU's own kernels
    assert "may differ here" in kernels.replay_note({"kernels": native}, pinned, avx512)
    assert "may differ here" in kernels.replay_note({"kernels": pinned}, native, avx512)
    # before kernels were recorded: an AVX2-only CPU's choice was the pinned level
    assert kernels.replay_note({"cpu": {"simd": ["AVX2", "FMA3"]}}, pinned, avx512) is None
    old_avx512 = {"cpu": {"simd": avx512}}
    assert "an AVX-512 CPU" in kernels.replay_note(old_avx512, pinned, avx512)
    assert kernels.replay_note(old_avx512, native, avx512) is None  # same features, unpinned
    assert kernels.replay_note(old_avx512, native, ["AVX2", "FMA3"]) is not None
