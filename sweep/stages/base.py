"""What a stage function is given."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray

from sweep.errors import SweepInterrupted
from sweep.manifest import Manifest
from sweep.plan import Plan, Stage
from sweep.progress import ProgressBoard
from sweep.spec import Spec
from sweep.stages.gate import TrialSlots
from trainables.storage import Location

POLL_SECONDS = 0.5  # how often a stage waiting on Ray tasks looks at its stop event


@dataclass(frozen=True)
class StageContext:
    """One stage about to run, with the run around it."""

    plan: Plan
    stage: Stage
    manifest: Manifest  # upstream stages' checkpoints are read from here
    root: Location  # the run's storage
    resume: bool
    quiet: bool
    # The sweep's trial slots, shared with the other stages running (None: a stage run on
    # its own has the spec's max_concurrent_trials to itself).
    slots: TrialSlots | None = None
    # Set to end the stage early, its state saved for --resume (Ctrl-C, a failed upstream).
    stop: threading.Event = field(default_factory=threading.Event)
    board: ProgressBoard | None = None  # where its progress line goes (None: stderr)

    @property
    def spec(self) -> Spec:
        """The run's spec, its `model` the stage's base model."""
        return self.plan.spec.for_model(self.stage.config.get("base_model"))

    def data_config(self) -> dict[str, Any]:
        """The data settings trials and evaluations read: the spec's, and the tables the
        run's precompute stages made (`image_tables`: the vectors' registry files -> the
        table in the run's storage that replaces them)."""
        data = self.spec.data.model_dump()
        planned = {stage.name for stage in self.plan.stages if stage.kind == "precompute"}
        tables = {entry["images"]: entry["table"]
                  for name, entry in self.manifest.stages.items()
                  if name in planned and entry.get("status") == "finished"}
        return {**data, "image_tables": tables} if tables else data

    def wait_one(self, refs: Sequence[ray.ObjectRef]) -> ray.ObjectRef:
        """The first of `refs` to finish; if the stage is stopped first, the rest are
        cancelled and SweepInterrupted says that --resume reruns the stage."""
        while True:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_SECONDS)
            if done:
                return done[0]
            if self.stop.is_set():
                for ref in refs:
                    ray.cancel(ref)
                raise SweepInterrupted(f"{self.stage.name} was interrupted; --resume runs it "
                                       "again (its finished evaluations are not kept)")


# Runs one stage; returns its manifest entry (the runner adds status, config hash and kind).
StageFunction = Callable[[StageContext], dict[str, Any]]
