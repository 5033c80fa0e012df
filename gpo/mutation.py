"""Mutation (Section 3.1): every member improves itself with its policy-gradient learner (PPO or
A2C) on its own samples, for its share of the round's budget.

``mutate`` is a pure task: member state in, member state out, seeded only by (run seed, round,
slot), so it can run in any worker process. By default the environments are reset at the start
of each phase with that seed, so a new member never inherits the middle of its predecessor's
episode; with ``PopulationSpec.continue_episodes`` a member carries its environments (physics and
the episode in progress) from one phase to its next, as an uninterrupted learner would.
At the end, the member is evaluated with its deterministic mean action (steps not counted).
``mutate_together`` is the same for all members in lockstep, for data sharing
(``gpo.data_sharing``): every iteration all members collect, then each updates on its own samples
and its neighbours'.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpo.data_sharing import shared_batch
from gpo.population import EPISODES, Member, PopulationSpec, evaluate_member
from gpo.seeding import derive_seed
from gpo.trainer import TrainConfig, Trainer


@dataclass
class MutationResult:
    state: dict  # the member after mutation
    iterations: list[dict]  # one row per learner iteration (steps, returns, losses)
    eval_return: float
    eval_steps: int
    seconds: float


def _start(
    state: dict, spec: PopulationSpec, steps: int, run_seed: int, round_index: int, slot: int
) -> tuple[Member, Trainer]:
    member = Member.from_state(spec, state)
    config = TrainConfig(
        spec.env_id,
        steps,
        seed=derive_seed(run_seed, "mutation", round_index, slot),
        learner=spec.learner,
        policy=spec.policy,
        eval_every=0,
        log_every_steps=1,  # a row per iteration; GPO aggregates them across members
        env_kwargs=spec.env_kwargs,
    )
    trainer = Trainer(config, agent=member.agent, learner=member.learner)
    if spec.continue_episodes and EPISODES in state:
        trainer.collector.load_state_dict(state[EPISODES])
    return member, trainer


def _record(member: Member, trainer: Trainer) -> None:
    member.recent_returns.extend(trainer.last_rollout.episode_returns)
    member.trajectories.add(trainer.last_rollout)


def _finish(
    member: Member, trainer: Trainer, spec: PopulationSpec, run_seed: int, eval_episodes: int
) -> MutationResult:
    state = member.state_dict()
    if spec.continue_episodes:
        state[EPISODES] = trainer.collector.state_dict()
    trainer.close()
    member.trajectories.end_phase()
    eval_return, eval_steps = evaluate_member(member, spec, eval_episodes, run_seed)
    return MutationResult(state, trainer.curve, eval_return, eval_steps, trainer.wall_seconds)


def mutate(
    state: dict,
    spec: PopulationSpec,
    steps: int,
    run_seed: int,
    round_index: int,
    slot: int,
    eval_episodes: int,
) -> MutationResult:
    """Train member ``state`` for exactly ``steps`` env steps with its learner, then evaluate it."""
    member, trainer = _start(state, spec, steps, run_seed, round_index, slot)
    try:
        while not trainer.done:
            trainer.step()
            _record(member, trainer)
    except BaseException:
        trainer.close()
        raise
    return _finish(member, trainer, spec, run_seed, eval_episodes)


def mutate_together(
    states: list[dict],
    spec: PopulationSpec,
    steps: int,
    run_seed: int,
    round_index: int,
    eval_episodes: int,
    neighbours: list[list[int]],
) -> list[MutationResult]:
    """Mutate all members in lockstep; member i also learns from members ``neighbours[i]``."""
    started = [_start(s, spec, steps, run_seed, round_index, slot) for slot, s in enumerate(states)]
    trainers = [trainer for _, trainer in started]
    try:
        while not trainers[0].done:
            rollouts = [trainer.collect() for trainer in trainers]
            for member, trainer in started:
                _record(member, trainer)
            # Shared batches are built from every member's pre-update policy and statistics.
            extra = [
                [shared_batch(trainers[i].agent, trainers[i].learner, rollouts[j]) for j in near]
                for i, near in enumerate(neighbours)
            ]
            for trainer, rollout, shared in zip(trainers, rollouts, extra):
                trainer.update(rollout, shared)
    except BaseException:
        for trainer in trainers:
            trainer.close()
        raise
    return [_finish(member, trainer, spec, run_seed, eval_episodes) for member, trainer in started]
