"""Trials across stages: the sweep's trial slots, and trials that wait for their own start.

Every training stage's Tune experiment runs with a `StageGate` around its scheduler (ASHA or
FIFO). Tune adds each trial the stage's searcher makes; the gate holds it back (PAUSED) and
starts it, through the scheduler's `choose_trial_to_run`, once
  1. its start exists: a target trial's intermediate stage has finished and its checkpoint
     is in the manifest (a `none` trial, and every intermediate trial, at once);
  2. the sweep has a free trial slot (`max_concurrent_trials` counts the running trials of
     every stage together), and no stage before it in plan order has a trial ready for that
     slot: free slots go to ready work in plan order, as `sweep.schedule` simulates.
A trial started from a checkpoint carries it in its config (`START_CHECKPOINT`): the driver
decides where a trial starts, when it starts it.

A stage whose trials all wait is idle, and Tune's loop would spin through it without pause
(it waits on the futures of running trials, and there are none): the gate makes it pause.

Tune pickles the scheduler with its experiment (and `--resume` unpickles it), so a gate holds
only its stage's name and finds the live state of its stage in `GATES`, which the stage fills
while it fits (`entered`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from trainables.trial import START_CHECKPOINT

HOLDS_A_SLOT = (Trial.RUNNING, Trial.PENDING)  # started by a gate: paused ones are not
IDLE_SECONDS = 0.2  # the pause of a stage's loop while none of its trials runs


@dataclass
class TrialSlots:
    """The sweep's `max_concurrent_trials`, shared by the stages training at the same time."""

    budget: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: dict[str, set[str]] = field(default_factory=dict)  # stage -> trial ids
    ready: dict[str, int] = field(default_factory=dict)  # stage -> trials ready to start
    order: dict[str, int] = field(default_factory=dict)  # stage -> plan index

    def expect(self, stage: str, order: int, ready: int) -> None:
        """A stage that will train: until its own loop counts its trials, `ready` of them
        are taken to be waiting, so that later stages starting sooner leave them the slots."""
        with self.lock:
            self.order[stage], self.ready[stage] = order, ready

    def forget(self, stage: str) -> None:
        """A stage done with the slots (ended, or never to start): nothing held or waiting."""
        with self.lock:
            for counts in (self.held, self.ready, self.order):
                counts.pop(stage, None)

    def free_for(self, stage: str) -> int:
        """Slots `stage` may take now: the free ones less those the ready trials of stages
        before it in plan order ask for. Call with `lock` held."""
        free = self.budget - sum(len(trials) for trials in self.held.values())
        first = self.order[stage]
        return free - sum(count for other, count in self.ready.items()
                          if self.order.get(other, first) < first)



# A trial's intermediate choice (None for an intermediate stage's trial) -> whether it may
# start, and the checkpoint it starts from (None: the base model).
StartOf = Callable[[str | None], tuple[bool, str | None]]


@dataclass(frozen=True)
class GateState:
    """What a stage's gate reads while the stage fits."""

    slots: TrialSlots
    start_of: StartOf


GATES: dict[str, GateState] = {}


@contextmanager
def entered(stage: str, order: int, state: GateState) -> Iterator[None]:
    """Register a stage's gate state for the fit inside; its slots are given back after."""
    slots = state.slots
    with slots.lock:
        slots.order[stage] = order
        slots.held[stage] = set()
        slots.ready.setdefault(stage, 0)
    GATES[stage] = state
    try:
        yield
    finally:
        GATES.pop(stage, None)
        slots.forget(stage)


class StageGate(TrialScheduler):
    """A stage's scheduler (`inner`: ASHA, FIFO) whose trials start only through the gate."""

    def __init__(self, inner: TrialScheduler, stage: str) -> None:
        super().__init__()
        self.inner, self.stage = inner, stage
        self._requeued: set[str] = set()  # trials Tune restarts after a failure

    @property
    def metric(self) -> str | None:
        return self.inner.metric

    @property
    def supports_buffered_results(self) -> bool:
        return self.inner.supports_buffered_results

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self.inner.on_trial_add(tune_controller, trial)
        if trial.trial_id in self._requeued:
            # Tune restarts a failed trial at once (its start existed when it first started),
            # in the slot it held: taken back before another stage can choose it.
            self._requeued.discard(trial.trial_id)
            state = GATES.get(self.stage)
            if state is not None:
                with state.slots.lock:
                    state.slots.held.setdefault(self.stage, set()).add(trial.trial_id)
            return
        if self.stage in GATES and trial.status == Trial.PENDING:
            # Set before Tune files the trial by its status: it waits among the paused.
            trial.set_status(Trial.PAUSED)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        if trial.status == Trial.ERROR:  # stopped to be restarted (Tune's _try_recover)
            self._requeued.add(trial.trial_id)
        self._release(trial)
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        return self.inner.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        self._release(trial)
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._release(trial)
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        state = GATES.get(self.stage)
        if state is None:  # not inside a sweep's stage: the plain scheduler
            return self.inner.choose_trial_to_run(tune_controller)
        trials = tune_controller.get_trials()
        slots = state.slots
        with slots.lock:
            # Recounted from the trials themselves, so that a slot is never lost to an event
            # the gate did not see (a restart, a restore).
            held = {trial.trial_id for trial in trials if trial.status in HOLDS_A_SLOT}
            slots.held[self.stage] = held
            ready = [(trial, start) for trial in trials if trial.status == Trial.PAUSED
                     for can_start, start in [state.start_of(trial.config.get("intermediate"))]
                     if can_start]
            slots.ready[self.stage] = len(ready)
            chosen = ready[0] if ready and slots.free_for(self.stage) > 0 else None
            if chosen is not None:
                held.add(chosen[0].trial_id)
                slots.ready[self.stage] -= 1
        if chosen is None:
            if not held:
                time.sleep(IDLE_SECONDS)
            return None
        trial, start = chosen
        if start is not None:
            trial.set_config({**trial.config, START_CHECKPOINT: start})
        return trial

    def debug_string(self) -> str:
        return self.inner.debug_string()

    def save(self, checkpoint_path: str) -> None:
        self.inner.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.inner.restore(checkpoint_path)

    def _release(self, trial: Trial) -> None:
        state = GATES.get(self.stage)
        if state is not None:
            with state.slots.lock:
                state.slots.held.get(self.stage, set()).discard(trial.trial_id)
