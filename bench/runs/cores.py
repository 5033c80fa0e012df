"""How many member workers a run trains with: the cores it is given, never more than it can use.

A population's members train in parallel worker processes with the same numbers for any count
(``gpo.core.parallel``), so cores beyond the first only save wall time:

- **On SLURM** a run takes the CPUs its job was granted (``SLURM_CPUS_PER_TASK``, what
  ``--cpus-per-task`` asks for; else the CPUs the job may run on), read inside the job.
- **Locally** the launcher shares this machine's cores between the runs it executes at once: a
  run starting now gets the cores no running run holds, divided among the runs that start with
  it (``spare // starting``). With more runs than cores every run gets one; when fewer remain
  than cores (the end of a suite, or a small suite on a big machine), they get the spare ones.
- Either way a run gets at most one worker per member, and a run of one policy (plain PPO, A2C,
  Joint's single learner) gets one.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def slurm_cpus() -> int | None:
    """The CPUs SLURM granted the job this process runs in, or None outside a SLURM job."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    granted = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(granted) if granted.isdigit() and int(granted) > 0 else usable_cores()


def members_of(run) -> int:
    """How many policies of ``run`` can train in parallel (its family says: GPO's and Single's
    population, else 1)."""
    spec = run.spec()
    return spec.family.parallel_members(spec.config)


def member_workers(run, cores: int) -> int:
    """Workers for ``run`` on ``cores`` cores: at least 1, at most one per member."""
    return max(1, min(members_of(run), cores))


def local_share(spare: int, starting: int) -> int:
    """Cores for each of ``starting`` runs starting together on ``spare`` free cores (at least 1)."""
    return max(1, spare // max(1, starting))
