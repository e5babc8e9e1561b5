"""precompute/<task>: the image vectors of an image-text task whose images are a local
folder, made in one Ray task (on a GPU where trials have GPUs) with the task's own image
encoder (`trainables.precompute`), cached on that node by content hash and copied into the
run's storage, `precompute/<stage>-<hash>/embeddings.parquet`; every later stage reads them
in place of the task's published files (`StageContext.data_config`)."""

from __future__ import annotations

from typing import Any

import ray

from sweep.progress import say
from sweep.stages.base import StageContext
from trainables.precompute import TABLE, precompute_table
from trainables.tasks import get_task
from trainables.trial import evaluation_resources


def run_precompute(ctx: StageContext) -> dict[str, Any]:
    """Embed the stage's image folder; the manifest entry names the table and the vectors'
    files it stands for."""
    spec, stage = ctx.spec, ctx.stage
    settings = spec.precompute
    on_gpu = settings.device == "cuda" or (settings.device == "auto"
                                           and spec.resources.gpus_per_worker > 0)
    bundle = evaluation_resources(spec.resources.model_dump())
    remote = ray.remote(num_cpus=bundle["CPU"], num_gpus=1 if on_gpu else 0)(precompute_table)
    # The config hash in the path: a rerun with other settings never overwrites a table
    # that nodes may hold cached by its location.
    destination = ctx.root.join("precompute", f"{stage.slug}-{stage.config_hash}")
    if not ctx.quiet:
        say(ctx.board, f"[{stage.name}] embedding {stage.config['image_folder']} with "
            f"{stage.config['encoder']}")
    job = ({}, remote.remote(
        spec.data.model_dump(), stage.config["image_folder"], stage.config["encoder"],
        settings.encoder_revision, destination.uri, device="cuda" if on_gpu else "cpu",
        precision=settings.precision, batch_size=settings.batch_size,
        ids=stage.config["image_ids"]))
    [(_, done)] = ctx.finished_jobs([job])
    record = ray.get(done)
    return {"table": destination.join(TABLE).uri, "images": get_task(stage.task).images.files,
            "image_count": record["images"], "dim": record["dim"], "key": record["key"],
            "encoder": record["encoder"], "encoder_revision": record["revision"],
            "seconds": record["seconds"], "device": record["device"]}
