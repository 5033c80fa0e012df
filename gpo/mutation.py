"""Mutation (Section 3.1): every member improves itself with its policy-gradient learner (PPO or
A2C) on its own samples, for its share of the round's budget.

``mutate`` is a pure task: member state in, member state out, seeded only by (run seed, round,
slot), so it can run in any worker process. By default the environments are reset at the start
of each phase with that seed, so a new member never inherits the middle of its predecessor's
episode; with ``PopulationSpec.continue_episodes`` a member carries its environments (physics and
the episode in progress) from one phase to its next, as an uninterrupted learner would.
At the end, the member is evaluated with its deterministic mean action (steps not counted).
``mutate_group`` runs several members in lockstep with their policies batched (how a worker runs
its share of the population); with ``neighbours`` it runs all members together for data sharing
(``gpo.data_sharing``): every iteration all members collect, then each updates on its own samples
and its neighbours'.

A phase can stop after any learner iteration and go on later (``iterations``, ``snapshots``):
each member's snapshot holds its state, its trainer's (random streams, environments, the phase's
rows so far) and its episodes in progress, so the phase ends with the numbers of an unstopped
one. GPO saves a run there (``GPO.run``), so a time-limited attempt loses at most what it
trained since the last such point, not a whole round.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gpo.core.seeding import derive_seed
from gpo.core.trainer import TrainConfig, Trainer, collect_all, update_all
from gpo.data_sharing import shared_batch
from gpo.population import EPISODES, Member, PopulationSpec, evaluate_members


@dataclass
class Paused:
    """A member stopped after a learner iteration of its mutation phase (``mutate_group``)."""

    snapshot: dict  # its state ("member"), its trainer's ("trainer") and its episodes in progress


@dataclass
class MutationResult:
    state: dict  # the member after mutation
    iterations: list[dict]  # one row per learner iteration (steps, returns, losses)
    eval_return: float  # at the end of the phase
    eval_steps: int  # at the end of the phase
    seconds: float  # the member's share of the phase's wall time, evaluations included
    eval_seconds: float  # of which evaluation (within the phase and at its end)


def _start(
    state: dict,
    spec: PopulationSpec,
    steps: int,
    run_seed: int,
    round_index: int,
    slot: int,
    eval_episodes: int,
    steps_before: int,
) -> tuple[Member, Trainer]:
    member = Member.from_state(spec, state)
    config = TrainConfig(
        spec.env_id,
        steps,
        seed=derive_seed(run_seed, "mutation", round_index, slot),
        learner=spec.learner,
        policy=spec.policy,
        # Within the phase, evaluations on the run's env-step schedule (per-policy steps, counted
        # from the run's start), from the run's evaluation states; the phase's end is evaluated
        # by _finish_all for every member anyway.
        eval_every_steps=spec.eval_every_steps,
        eval_offset_steps=steps_before,
        eval_at_end=False,
        eval_seed=derive_seed(run_seed, "evaluation"),
        eval_episodes=eval_episodes,
        log_every_steps=1,  # a row per iteration; GPO aggregates them across members
        env_kwargs=spec.env_kwargs,
    )
    trainer = Trainer(config, agent=member.agent, learner=member.learner)
    if spec.continue_episodes and EPISODES in state:
        trainer.collector.load_state_dict(state[EPISODES])
    return member, trainer


def _pause(member: Member, trainer: Trainer) -> Paused:
    snapshot = {
        "member": member.state_dict(),
        "partial": member.trajectories.partial_state(),
        "trainer": trainer.state_dict(),
    }
    trainer.close()
    return Paused(snapshot)


def _resume(member: Member, trainer: Trainer, snapshot: dict) -> None:
    trainer.load_state_dict(snapshot["trainer"])  # agent and learner too: they are the member's
    member.trajectories.load_partial_state(snapshot["partial"])


def _record(member: Member, trainer: Trainer) -> None:
    member.recent_returns.extend(trainer.last_rollout.episode_returns)
    member.trajectories.add(trainer.last_rollout)


def _finish_all(
    started: list[tuple[Member, Trainer]], spec: PopulationSpec, run_seed: int, eval_episodes: int
) -> list[MutationResult]:
    """Each member's state after the phase, then all of them evaluated together (deterministic
    mean action, the run's evaluation seed, steps not counted; each as if evaluated alone)."""
    states = []
    for member, trainer in started:
        state = member.state_dict()
        if spec.continue_episodes:
            state[EPISODES] = trainer.collector.state_dict()
        trainer.close()
        member.trajectories.end_phase()
        states.append(state)
    start = time.perf_counter()
    evaluated = evaluate_members([member for member, _ in started], spec, eval_episodes, run_seed)
    seconds = (time.perf_counter() - start) / len(started)
    return [
        MutationResult(
            state, trainer.curve, ret, steps, trainer.wall_seconds + seconds, trainer.eval_seconds + seconds
        )
        for state, (_, trainer), (ret, steps) in zip(states, started, evaluated)
    ]


def mutate(
    state: dict,
    spec: PopulationSpec,
    steps: int,
    run_seed: int,
    round_index: int,
    slot: int,
    eval_episodes: int,
    steps_before: int = 0,
) -> MutationResult:
    """Train member ``state`` for exactly ``steps`` env steps with its learner, then evaluate it
    (``steps_before``: the member's per-policy steps before this phase, for the evaluation
    schedule)."""
    return mutate_group([state], spec, steps, run_seed, round_index, [slot], eval_episodes, steps_before)[0]


def mutate_group(
    states: list[dict],
    spec: PopulationSpec,
    steps: int,
    run_seed: int,
    round_index: int,
    slots: list[int],
    eval_episodes: int,
    steps_before: int = 0,
    neighbours: list[list[int]] | None = None,
    snapshots: list[dict] | None = None,
    iterations: int | None = None,
) -> list[MutationResult] | list[Paused]:
    """``mutate`` for the members in ``slots``, in lockstep: their environments step together and
    their policies are computed as one batch (``gpo.core.batched``). Each member's result is exactly
    the one it gets mutated alone, so how members are grouped over workers changes nothing.
    With ``neighbours`` (data sharing), member i of the group also learns from the rollouts of
    the group's members ``neighbours[i]``.

    ``snapshots`` (of ``Paused`` members) go on with a phase stopped earlier, in place of
    ``states``; with ``iterations``, the phase stops once its members have run that many learner
    iterations and each is returned ``Paused`` (unless the phase ended first)."""
    if snapshots is not None:
        states = [snapshot["member"] for snapshot in snapshots]
    started = [
        _start(s, spec, steps, run_seed, round_index, slot, eval_episodes, steps_before)
        for s, slot in zip(states, slots)
    ]
    trainers = [trainer for _, trainer in started]
    try:
        for (member, trainer), snapshot in zip(started, snapshots or ()):
            _resume(member, trainer, snapshot)
        while not trainers[0].done:
            if iterations is not None and trainers[0].iteration >= iterations:
                return [_pause(member, trainer) for member, trainer in started]
            rollouts = collect_all(trainers)
            for member, trainer in started:
                _record(member, trainer)
            extra = None
            if neighbours is not None:
                # Shared batches are built from every member's pre-update policy and statistics.
                extra = [
                    [shared_batch(trainers[i].agent, trainers[i].learner, rollouts[j]) for j in near]
                    for i, near in enumerate(neighbours)
                ]
            update_all(trainers, rollouts, extra)
    except BaseException:
        for trainer in trainers:
            trainer.close()
        raise
    return _finish_all(started, spec, run_seed, eval_episodes)
