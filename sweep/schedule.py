"""When a sweep's work runs: a pure, deterministic list-scheduling simulation of the policy.

The work is a list of items (a training trial, an evaluation or retrieval task), each with a
duration, the amount of each shared pool it holds while it runs (`{"gpu": 4, "trial": 1}`:
four GPUs and one of the sweep's `max_concurrent_trials` slots) and the stages that must have
finished before it may start. Whenever something finishes, the free pools go to ready items
in list order (plan order): each item that fits starts, one that does not is passed over for
later ones that do. Two policies:

- DAG (the default): an item starts once the stages it needs are done. A target trial that
  starts from intermediate X waits for X's stage only (a `none` trial starts at once), a
  finished target's evaluation runs while other targets still train, and retrieval from an
  intermediate encoder starts once that encoder exists. Independent stages share the pools.
- one stage at a time (`one_stage_at_a_time=True`): a stage's items start only once every
  stage before it in plan order is done, as the runner executed a plan before it ran the
  DAG.

A stage is done when its last item ends; every stage an item waits for must have an item
(a zero-second one will do). `sweep plan --estimate` and a makespan benchmark read the same
policy from here; the runner (`sweep.dag`, `sweep.stages.gate`) follows the DAG policy.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Work:
    """One item of a stage's work."""

    stage: str
    seconds: float
    needs: Mapping[str, float] = field(default_factory=dict)  # pool -> amount held
    after: tuple[str, ...] = ()  # stages that must be done before it starts


@dataclass(frozen=True)
class Schedule:
    """When each item started (in the order the work was given) and each stage's span."""

    starts: tuple[float, ...]
    stage_spans: dict[str, tuple[float, float]]  # stage -> (first start, last end)

    @property
    def makespan(self) -> float:
        return max((end for _, end in self.stage_spans.values()), default=0.0)


def _check(work: Sequence[Work], pools: Mapping[str, float]) -> None:
    stages = {item.stage for item in work}
    for item in work:
        if item.seconds < 0:
            raise ValueError(f"{item.stage}: a work item lasts {item.seconds} s; allowed: >= 0")
        missing = [stage for stage in item.after if stage not in stages]
        if missing:
            raise ValueError(f"{item.stage}: waits for {', '.join(missing)}, which has no work")
        for pool, amount in item.needs.items():
            if amount > pools.get(pool, 0):
                raise ValueError(f"{item.stage}: an item needs {amount:g} {pool} of the "
                                 f"{pools.get(pool, 0):g} there are; it could never start")


def simulate(work: Sequence[Work], pools: Mapping[str, float], *,
             one_stage_at_a_time: bool = False) -> Schedule:
    """List-schedule `work` on `pools`; see the module docstring for the policy."""
    _check(work, pools)
    order = list(dict.fromkeys(item.stage for item in work))  # plan order
    remaining = {stage: 0 for stage in order}
    for item in work:
        remaining[item.stage] += 1
    waits = [set(item.after) | (set(order[:order.index(item.stage)]) if one_stage_at_a_time
                                else set()) for item in work]
    waiting_on: dict[str, list[int]] = {stage: [] for stage in order}
    for index, stages in enumerate(waits):
        for stage in stages:
            waiting_on[stage].append(index)
    ready = [index for index, stages in enumerate(waits) if not stages]
    free = dict(pools)
    starts: list[float | None] = [None] * len(work)
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    running: list[tuple[float, int]] = []  # (end, index): ties end in plan order
    now = 0.0
    while ready or running:
        started, refused = [], set()
        for index in ready:
            needs = work[index].needs
            key = tuple(sorted(needs.items()))
            if key in refused:  # an item that asks the same as one that did not fit
                continue
            if all(free.get(pool, 0) >= amount for pool, amount in needs.items()):
                for pool, amount in needs.items():
                    free[pool] -= amount
                starts[index] = now
                first.setdefault(work[index].stage, now)
                heapq.heappush(running, (now + work[index].seconds, index))
                started.append(index)
            else:
                refused.add(key)
        if started:
            taken = set(started)
            ready = [index for index in ready if index not in taken]
        if not running:
            if ready:  # float drift in a fractional pool: with nothing running, it is whole
                free = dict(pools)
                continue
            break
        now, index = heapq.heappop(running)
        finished = [index]
        while running and running[0][0] == now:
            finished.append(heapq.heappop(running)[1])
        for index in finished:
            item = work[index]
            for pool, amount in item.needs.items():
                free[pool] += amount
            remaining[item.stage] -= 1
            if remaining[item.stage] == 0:
                last[item.stage] = now
                for waiter in waiting_on[item.stage]:
                    waits[waiter].discard(item.stage)
                    if not waits[waiter]:
                        insort(ready, waiter)
    if None in starts:
        raise ValueError("stages wait for each other: "
                         + ", ".join(stage for stage in order if stage not in last))
    return Schedule(tuple(starts), {stage: (first[stage], last[stage]) for stage in order})


def critical_path(work: Sequence[Work]) -> float:
    """The longest chain of waits: when the last stage would end with unlimited pools."""
    ends: dict[str, float] = {}
    by_stage: dict[str, list[Work]] = {}
    for item in work:
        by_stage.setdefault(item.stage, []).append(item)

    def end(stage: str, path: tuple[str, ...]) -> float:
        if stage in path:
            raise ValueError(f"stages wait for each other: {' -> '.join((*path, stage))}")
        if stage not in ends:
            ends[stage] = max(max((end(other, (*path, stage)) for other in item.after),
                                  default=0.0) + item.seconds for item in by_stage[stage])
        return ends[stage]

    return max((end(stage, ()) for stage in by_stage), default=0.0)


def busy_bound(work: Sequence[Work], pools: Mapping[str, float]) -> float:
    """The longest any pool must be busy: its items' total holding time over its size."""
    return max((sum(item.seconds * item.needs.get(pool, 0) for item in work) / size
                for pool, size in pools.items() if size > 0), default=0.0)


def lower_bound(work: Sequence[Work], pools: Mapping[str, float]) -> float:
    """No schedule ends sooner: the critical path, or the busiest pool's total work."""
    _check(work, pools)
    return max(critical_path(work), busy_bound(work, pools))
