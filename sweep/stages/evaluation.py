"""Evaluation stages: Ray tasks fanned out over checkpoints x languages, collected into rows.

  eval/<task>       every seed's checkpoint of the target stage's chosen configuration (of
                    each intermediate choice's with `full_table`) x languages x splits,
                    zero-shot; `eval/<task>@<arm>` likewise for a target arm's stage (the
                    zero-shot stage's checkpoints on translated test sets, for
                    translate-test);
  retrieval/<task>  the base model and every seed's encoder of each intermediate task x
                    languages, each encoder's jobs started once it exists.

Each job is the facts of its future rows plus the Ray task computing the rest; a failed task
fails the stage only once every other task has finished and been recorded. Every
evaluation's examples go under predictions/ beside the rows (`sweep.predictions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ray

from sweep.errors import StageFailed
from sweep.manifest import BestCheckpoint, Manifest
from sweep.predictions import prediction_rows, write_predictions
from sweep.progress import StageProgress
from sweep.rows import arm_facts, encoder_facts, stage_rows, target_facts, write_rows
from sweep.spec import Spec
from sweep.stages.base import Job, MoreJobs, StageContext
from trainables.evaluation import evaluate_checkpoint, evaluate_retrieval
from trainables.tasks import get_task
from trainables.trial import NO_INTERMEDIATE, evaluation_resources


def run_eval(ctx: StageContext) -> dict[str, Any]:
    """Evaluate a target task's chosen checkpoints in every language and split."""
    spec, stage, manifest = ctx.spec, ctx.stage, ctx.manifest
    target = stage.config.get("target_stage", spec.stage_path("target", stage.task))
    arm = stage.config.get("arm")
    # translate-test: each language's test set translated into English, in its place.
    tested_on = {language: [tuple(pair)] for pair in (arm or {}).get("test", [])
                 for language in [pair[1]]}
    # Every seed's checkpoint of each chosen configuration.
    checkpoints = [checkpoint for group in manifest.chosen_by_intermediate(target).values()
                   for checkpoint in group] \
        if spec.evaluation.full_table else manifest.chosen(target)
    model_cfg, data_cfg = spec.model.model_dump(), ctx.data_config()
    remote = remote_task(spec, evaluate_checkpoint)
    jobs: list[Job] = []
    for checkpoint in checkpoints:
        facts = {**target_facts(checkpoint, upstream_checkpoint(spec, manifest, checkpoint)),
                 **arm_facts(arm, checkpoint), "target_task": stage.task}
        for language in stage.config["languages"]:
            for split in stage.config["splits"]:
                jobs.append(({**facts, "language": language, "split": split}, remote.remote(
                    model_cfg, data_cfg, checkpoint.checkpoint, stage.task, language, split,
                    spec.model.max_length, sources=tested_on.get(language))))
    # The progress line's best is the English score: transfer is read against it.
    return collect_jobs(ctx, jobs, shows_best=lambda facts: facts["language"] == "en")


def run_retrieval(ctx: StageContext) -> dict[str, Any]:
    """Retrieve with the base model and every intermediate encoder in every language, each
    encoder once it exists."""
    spec, stage = ctx.spec, ctx.stage
    retrieval = spec.evaluation.retrieval
    model_cfg, data_cfg = spec.model.model_dump(), ctx.data_config()
    remote = remote_task(spec, evaluate_retrieval)

    def jobs_of(name: str, checkpoint: BestCheckpoint | None) -> list[Job]:
        facts = {**encoder_facts(checkpoint, spec.model.name), "intermediate_task": name,
                 "retrieval_layer": retrieval.layer, "retrieval_pooling": retrieval.pooling,
                 "split": "test"}
        return [({**facts, "language": language}, remote.remote(
            model_cfg, data_cfg, checkpoint.checkpoint if checkpoint else None, stage.task,
            language, retrieval.layer, retrieval.pooling, retrieval.direction,
            retrieval.max_length)) for language in stage.config["languages"]]
    # English is the other side of every pair, so any language's score may show as the best.
    return collect_jobs(ctx, [], shows_best=lambda facts: True,
                        more=encoder_jobs(ctx, jobs_of))


# An encoder's jobs, from its intermediate task (`none`) and checkpoint (None: the base model).
JobsOf = Callable[[str, BestCheckpoint | None], list[Job]]


def encoder_jobs(ctx: StageContext, jobs_of: JobsOf) -> MoreJobs:
    """The jobs of every encoder a retrieval stage reads, each encoder's once it exists: the
    base model's at once, those of every seed's encoder of an intermediate task once its
    stage has finished. Each call gives the jobs new since the last ([] while others
    train), then None."""
    spec, manifest = ctx.spec, ctx.manifest
    waiting = [NO_INTERMEDIATE, *spec.intermediate_names()]

    def new() -> list[Job] | None:
        if not waiting:
            return None
        jobs: list[Job] = []
        for name in list(waiting):
            if name == NO_INTERMEDIATE:
                jobs += jobs_of(name, None)
            else:
                upstream = spec.stage_path("intermediate", name)
                if not manifest.is_finished(upstream, ctx.plan.stage(upstream).config_hash):
                    continue
                for checkpoint in manifest.chosen(upstream):
                    jobs += jobs_of(name, checkpoint)
            waiting.remove(name)
        return jobs
    return new


def upstream_checkpoint(spec: Spec, manifest: Manifest, checkpoint: BestCheckpoint,
              ) -> BestCheckpoint | None:
    """The intermediate checkpoint a target checkpoint started from; None for the base model."""
    name = checkpoint.intermediate
    return (manifest.best(spec.stage_path("intermediate", name))
            if name != NO_INTERMEDIATE else None)


def remote_task(spec: Spec, function: Callable[..., dict[str, Any]]) -> Any:
    """`function` as a Ray task with an evaluation's resources."""
    bundle = evaluation_resources(spec.resources.model_dump())
    # SPREAD: the fan-out uses every node, not only the one the driver is on.
    return ray.remote(function).options(num_cpus=bundle["CPU"], num_gpus=bundle.get("GPU", 0),
                                        scheduling_strategy="SPREAD")


def collect_jobs(
    ctx: StageContext, jobs: list[Job], shows_best: Callable[[dict[str, Any]], bool],
    more: MoreJobs | None = None,
) -> dict[str, Any]:
    """Wait for every job (and those `more` gives, as they can start), turn each outcome into
    rows, write the stage's rows and return its manifest entry; `shows_best` picks the jobs
    whose score the progress line may show."""
    stage = ctx.stage
    metric = get_task(stage.task).metric
    progress = StageProgress(stage.name, len(jobs) if more is None else stage.trials,
                             metric=metric, board=ctx.board)
    rows, examples, failures = [], [], []
    evaluations = 0
    for facts, done in ctx.finished_jobs(jobs, more, progress):
        evaluations += 1
        try:
            outcome = ray.get(done)
        except Exception as error:  # keep the others; report every failure at the end
            failures.append(f"{facts['language']}: {error}")
            progress.errored += 1
            continue
        progress.finished += 1
        if shows_best(facts):
            progress.offer_best(outcome["metrics"].get(metric), f" ({facts['language']})")
        rows += stage_rows(ctx.spec, stage, facts, outcome)
        examples += prediction_rows(stage.name, stage.task, facts, outcome["examples"])
        if not ctx.quiet:
            progress.show()
    if failures:
        raise StageFailed(f"{stage.name}: {len(failures)} evaluation(s) failed:\n  "
                          + "\n  ".join(failures))
    return {"rows": write_rows(ctx.root, stage.slug, rows),
            "predictions": write_predictions(ctx.root, stage.slug, examples),
            "evaluations": evaluations}
