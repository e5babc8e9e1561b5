"""The stages a plan runs, by kind: each kind's function runs one stage and returns its
manifest entry. A new kind is one module here plus one entry in STAGES (and its stages in
`sweep.plan`)."""

from __future__ import annotations

from sweep.stages.after_target import run_after_target
from sweep.stages.base import StageContext, StageFunction
from sweep.stages.efficiency import run_efficiency
from sweep.stages.evaluation import run_eval, run_retrieval
from sweep.stages.precompute import run_precompute
from sweep.stages.training import run_training

STAGES: dict[str, StageFunction] = {
    "precompute": run_precompute,
    "intermediate": run_training,
    "target": run_training,
    "eval": run_eval,
    "retrieval": run_retrieval,
    "after_target": run_after_target,
    "efficiency": run_efficiency,
}

__all__ = ["STAGES", "StageContext", "StageFunction"]
