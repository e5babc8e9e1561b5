"""What a stage function is given."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray

from sweep.errors import SweepInterrupted
from sweep.manifest import Manifest
from sweep.plan import Plan, Stage
from sweep.progress import ProgressBoard, StageProgress
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
                  for name, entry in self.manifest.entries().items()
                  if name in planned and entry.get("status") == "finished"}
        return {**data, "image_tables": tables} if tables else data

    def finished_jobs(self, jobs: Sequence[Job], more: MoreJobs | None = None,
                      progress: StageProgress | None = None) -> Iterator[Job]:
        """Each job (its facts and its Ray task) once it has finished, first come first
        served; `more()` gives the jobs that can start now, None once none will come, and
        `progress` counts the jobs running (and shows its last line at the end). Stopping
        the stage cancels the rest and raises SweepInterrupted (--resume runs the stage
        again; its finished jobs are not kept)."""
        try:
            yield from self._finished_jobs(jobs, more, progress)
        finally:
            if progress is not None and not self.quiet:
                progress.close()

    def _finished_jobs(self, jobs: Sequence[Job], more: MoreJobs | None,
                       progress: StageProgress | None) -> Iterator[Job]:
        pending = {ref: facts for facts, ref in jobs}
        while pending or more is not None:
            new = more() if more is not None else []
            if new is None:
                more = None
            else:
                pending.update({ref: facts for facts, ref in new})
            if progress is not None:
                progress.running = len(pending)
            if pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            else:
                done = []
                self.stop.wait(POLL_SECONDS if more is not None else 0)
            if self.stop.is_set():
                for ref in pending:
                    ray.cancel(ref)
                raise SweepInterrupted(f"{self.stage.name} was interrupted; --resume runs it "
                                       "again")
            for ref in done:
                facts = pending.pop(ref)
                if progress is not None:
                    progress.running = len(pending)
                yield facts, ref


# A job: the facts of its future rows and the Ray task computing the rest.
Job = tuple[dict[str, Any], ray.ObjectRef]
# The jobs that can start now ([] if none yet), or None once no more will come.
MoreJobs = Callable[[], list[Job] | None]


# Runs one stage; returns its manifest entry (the runner adds status, config hash and kind).
StageFunction = Callable[[StageContext], dict[str, Any]]
