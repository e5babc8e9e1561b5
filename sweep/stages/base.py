"""What a stage function is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sweep.manifest import Manifest
from sweep.plan import Plan, Stage
from sweep.spec import Spec
from trainables.storage import Location


@dataclass(frozen=True)
class StageContext:
    """One stage about to run, with the run around it."""

    plan: Plan
    stage: Stage
    manifest: Manifest  # upstream stages' checkpoints are read from here
    root: Location  # the run's storage
    resume: bool
    quiet: bool

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


# Runs one stage; returns its manifest entry (the runner adds status, config hash and kind).
StageFunction = Callable[[StageContext], dict[str, Any]]
