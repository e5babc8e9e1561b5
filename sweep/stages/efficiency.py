"""The efficiency stage, `efficiency/<task>`: every retrieval encoder (the base model and
each seed's encoder of every intermediate task) measured by `measure_efficiency`, each in
`noise_repeats` Ray tasks that run in processes of their own (`max_calls=1`), so that the
repeats give the noise floor of separate processes.

  1. the jobs: encoder x repeat, with the facts of their future records, each encoder's
     once it exists;
  2. the records: one per measurement (a timing cell, an index, a compression, a pool's
     geometry, the whole query), each with the encoder's facts and the hardware
     fingerprint, under `efficiency/<stage>.parquet`;
  3. the manifest entry: where they are and how many.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import ray

from sweep.efficiency import EFFICIENCY_DIR
from sweep.errors import StageFailed
from sweep.manifest import BestCheckpoint
from sweep.progress import StageProgress
from sweep.stages.base import Job, StageContext
from sweep.stages.evaluation import encoder_jobs
from trainables.efficiency.measure import measure_efficiency
from trainables.storage import Location
from trainables.tasks import REGISTRY
from trainables.trial import NO_INTERMEDIATE, evaluation_resources

KINDS = ("timing", "search", "compression", "geometry", "query", "depth")


def diversity(spec: Any, intermediate: str, checkpoint: str | None = None) -> dict[str, Any]:
    """How diverse an encoder's intermediate training was: its tasks and their families,
    and, from the checkpoint's own record of its training, the examples of one epoch and
    the entropy of the tasks' sampling weights."""
    if intermediate == NO_INTERMEDIATE:
        return {"mixture_tasks": 0, "mixture_families": 0, "mixture_examples": 0,
                "mixture_entropy": 0.0}
    members, _ = spec.intermediate_members(intermediate)
    # meta.json alone: a checkpoint on an object store is not downloaded to the driver.
    metrics = json.loads(Location.parse(checkpoint).join("meta.json").read_text()).get(
        "metrics", {}) if checkpoint else {}
    return {"mixture_tasks": len(members),
            "mixture_families": len({REGISTRY[name].family for name in members}),
            "mixture_examples": metrics.get("mixture_examples"),
            "mixture_entropy": metrics.get("mixture_entropy")}


def _plain(value: Any) -> Any:
    """A record's value as a parquet cell: parameters and lists as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def run_efficiency(ctx: StageContext) -> dict[str, Any]:
    """Measure every encoder `noise_repeats` times; returns the stage's manifest entry."""
    spec, stage = ctx.spec, ctx.stage
    config = stage.config
    bundle = evaluation_resources(spec.resources.model_dump())
    remote = ray.remote(num_cpus=bundle["CPU"], num_gpus=bundle.get("GPU", 0),
                        max_calls=1)(measure_efficiency)

    # 1. The jobs, an encoder's once it exists.
    def jobs_of(name: str, checkpoint: BestCheckpoint | None) -> list[Job]:
        facts = {"stage": stage.name, "task": stage.task, "intermediate_task": name,
                 "seed": checkpoint.config.get("seed") if checkpoint else None,
                 "checkpoint_uri": checkpoint.checkpoint if checkpoint else
                 f"base:{spec.model.name}",
                 **diversity(spec, name, checkpoint.checkpoint if checkpoint else None),
                 "equivalence_margin": config["efficiency"]["equivalence_margin"]}
        return [({**facts, "repeat": repeat}, remote.remote(
            config["model"], config["data"], checkpoint.checkpoint if checkpoint else None,
            stage.task, config["languages"], config["retrieval"], config["efficiency"]))
            for repeat in range(config["efficiency"]["noise_repeats"])]

    # 2. The records, as each job finishes; a failure is reported once all have.
    progress = StageProgress(stage.name, stage.trials, metric="sentences/s", board=ctx.board)
    records, failures = [], []
    for facts, done in ctx.finished_jobs([], encoder_jobs(ctx, jobs_of), progress):
        try:
            outcome = ray.get(done)
        except Exception as error:  # keep the others
            failures.append(f"{facts['intermediate_task']} (repeat {facts['repeat']}): {error}")
            progress.errored += 1
            continue
        progress.finished += 1
        measured = {**facts, **outcome["fingerprint"], "seconds": outcome["seconds"]}
        records += [{**measured, "kind": kind, **{key: _plain(value)
                                                  for key, value in row.items()}}
                    for kind in KINDS for row in outcome[kind]]
        if not ctx.quiet:
            progress.show()
    if failures:
        raise StageFailed(f"{stage.name}: {len(failures)} measurement(s) failed:\n  "
                          + "\n  ".join(failures))

    # 3. The manifest entry.
    relative = f"{EFFICIENCY_DIR}/{stage.slug}.parquet"
    ctx.root.join(relative).write_parquet(pd.DataFrame(records))
    return {"efficiency": relative, "measurements": len(records)}
