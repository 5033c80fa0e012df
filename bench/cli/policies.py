"""``gpo-bench evaluate`` and ``video``: a finished run's saved policies, acted out."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from bench.cli.app import BadInput, app
from bench.runs.results import CorruptRun, read_run, replay_note


@app.command("evaluate")
def evaluate_command(
    run: Path = typer.Option(..., help="a finished run's folder"),
    episodes: int = typer.Option(
        None, help="episodes per member (default: as many as the run's own evaluation)"
    ),
    member: str = typer.Option("best", help="best, all, or a member's index"),
    seed: int = typer.Option(
        None, help="reset seed of the first episode (default: the run's own evaluation seed)"
    ),
) -> int:
    """Evaluate a finished run's saved policies: mean ± std return and length per member."""
    import numpy as np

    from bench.artifacts.policies import NoPolicies, evaluate_policy, load_policies

    if episodes is not None and episodes < 1:
        raise BadInput(f"--episodes must be >= 1, got {episodes}")
    try:
        policies = load_policies(run, member)
    except NoPolicies as error:
        raise BadInput(str(error)) from None
    except ValueError as error:
        raise BadInput(f"--member: {error}") from None
    say_replay(run)
    typer.echo(f"{policies[0].algo} on {policies[0].env_id}, {run}")
    typer.echo("| member | episodes | seed | return mean ± std | length mean ± std |")
    typer.echo("|---|---|---|---|---|")
    for policy in policies:
        n = episodes or policy.eval_episodes
        start = policy.eval_seed if seed is None else seed
        returns, lengths = evaluate_policy(policy, n, start)
        name = f"{policy.member}{' (best)' if policy.is_best else ''}"
        typer.echo(
            f"| {name} | {n} | {start} | {np.mean(returns):.1f} ± {np.std(returns):.1f} "
            f"| {np.mean(lengths):.1f} ± {np.std(lengths):.1f} |"
        )
    return 0


def say_replay(run: Path) -> None:
    """One line on stderr when the run was computed at other kernels than this process's."""
    try:
        record = read_run(run) or {}
    except CorruptRun:
        return
    if note := replay_note(record):
        typer.echo(f"note: {run} was {note}", err=True)


@app.command()
def video(
    run: Path = typer.Option(..., help="a finished run's folder"),
    out: Path = typer.Option(..., help="the MP4 (or, with --gif, GIF) file to write"),
    episodes: int = typer.Option(1, help="episodes to film"),
    member: str = typer.Option("best", help="best or a member's index"),
    seed: int = typer.Option(None, help="reset seed (default: the run's own evaluation seed)"),
    frames: int = typer.Option(None, help="stop after this many frames (default: whole episodes)"),
    width: int = typer.Option(480, help="frame width in pixels"),
    height: int = typer.Option(480, help="frame height in pixels"),
    fps: int = typer.Option(30, help="frames per second"),
    gif: bool = typer.Option(False, "--gif", help="an animated GIF (every second frame) instead of an MP4"),
) -> int:
    """Film a trained policy with MuJoCo's offscreen renderer (EGL, else OSMesa)."""
    from bench.artifacts.policies import NoPolicies, load_policies
    from bench.artifacts.video import RenderError, render_in_child

    for flag, value in (("--episodes", episodes), ("--width", width), ("--height", height), ("--fps", fps)):
        if value < 1:
            raise BadInput(f"{flag} must be >= 1, got {value}")
    if frames is not None and frames < 1:
        raise BadInput(f"--frames must be >= 1, got {frames}")
    if member == "all":
        raise BadInput("--member: a video films one policy: best or a member's index")
    try:
        load_policies(run, member)
    except NoPolicies as error:
        raise BadInput(str(error)) from None
    except ValueError as error:
        raise BadInput(f"--member: {error}") from None
    say_replay(run)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir() or not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise BadInput(f"--out: cannot write {out} (its folder must exist and be writable)")
    job = {
        "kind": "video",
        "run": str(run),
        "member": member,
        "seed": seed,
        "episodes": episodes,
        "frames": frames,
        "width": width,
        "height": height,
        "fps": fps,
        "gif": gif,
        "out": str(out),
    }
    try:
        answer = render_in_child(job)["answers"][0]
    except RenderError as error:
        raise BadInput(str(error)) from None
    returns = ", ".join(f"{r:.1f}" for r in answer["returns"])
    typer.echo(f"{out}: {answer['frames']} frames, return {returns}")
    return 0
