"""after-target/<task>: retrieval (Tatoeba, BUCC) with the encoder of every target
checkpoint, every seed of each intermediate choice's chosen configuration, x languages. Set
against the same retrieval from the intermediate encoder the checkpoint started from
(`retrieval/<task>`), it measures what target fine-tuning forgets (`sweep.vision`)."""

from __future__ import annotations

from typing import Any

from sweep.rows import target_facts
from sweep.stages.base import StageContext
from sweep.stages.evaluation import Job, collect_jobs, remote_task, upstream_checkpoint
from trainables.evaluation import evaluate_retrieval


def run_after_target(ctx: StageContext) -> dict[str, Any]:
    """Retrieve with every target checkpoint's encoder in every language."""
    spec, stage, manifest = ctx.spec, ctx.stage, ctx.manifest
    retrieval = spec.evaluation.retrieval
    model_cfg, data_cfg = spec.model.model_dump(), ctx.data_config()
    remote = remote_task(spec, evaluate_retrieval)
    jobs: list[Job] = []
    for target in stage.config["targets"]:
        chosen = manifest.chosen_by_intermediate(spec.stage_path("target", target))
        for checkpoint in [checkpoint for group in chosen.values() for checkpoint in group]:
            facts = {**target_facts(checkpoint, upstream_checkpoint(spec, manifest, checkpoint)),
                     "target_task": target, "retrieval_layer": retrieval.layer,
                     "retrieval_pooling": retrieval.pooling, "split": "test"}
            for language in stage.config["languages"]:
                jobs.append(({**facts, "language": language}, remote.remote(
                    model_cfg, data_cfg, checkpoint.checkpoint, stage.task, language,
                    retrieval.layer, retrieval.pooling, retrieval.direction,
                    retrieval.max_length)))
    return collect_jobs(ctx, jobs, shows_best=lambda facts: True)
