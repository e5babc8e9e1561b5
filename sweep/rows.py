"""Result rows: their columns, and how an evaluation's outcome becomes rows.

A row is one (checkpoint, task, language, split, metric). An evaluation stage gathers the
facts of what it evaluates (`target_facts`, `encoder_facts`), adds where (language, split),
and `stage_rows` turns each outcome into one row per metric. Every key a row has is a column:
`write_rows` refuses any other, so a misspelt or new fact fails loudly instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from sweep.manifest import BestCheckpoint
from sweep.plan import Stage
from sweep.results import ROWS_DIR
from sweep.spec import Spec
from trainables.arms import ARMS, ZERO_SHOT
from trainables.storage import Location
from trainables.tasks import get_task
from trainables.trial import NO_INTERMEDIATE

COLUMNS = [
    "experiment", "stage", "trial_id", "base_model", "intermediate_task", "target_task", "task",
    "language", "split", "metric", "value", "learning_rate", "intermediate_learning_rate",
    "seed", "step", "retrieval_layer", "retrieval_pooling", "checkpoint_uri",
    "train_examples_seen", "wall_seconds", "train_wall_seconds", "device_hours", "num_examples",
    "node_id", "synthetic", "arm", "train_languages", "n_train_target", "translation_source",
    "selection", "shots", "shot_seed", "modality", "image_control", "image_encoder",
]  # fmt: skip

# A fact, not a column: `stage_rows` adds the evaluation's own time and reports device_hours.
TRAIN_DEVICE_SECONDS = "train_device_seconds"


def write_rows(storage: Location, stage_slug: str, rows: Iterable[dict[str, Any]]) -> str:
    """Write one stage's rows as parquet, with every column in COLUMNS order (missing ones
    null); returns the file's path relative to the storage root. A key that is not a column
    is a ValueError."""
    rows = list(rows)
    unknown = sorted({key for row in rows for key in row} - set(COLUMNS))
    if unknown:
        raise ValueError(f"rows of stage {stage_slug} have keys that are not columns "
                         f"(sweep.rows.COLUMNS): {', '.join(unknown)}")
    relative = f"{ROWS_DIR}/{stage_slug}.parquet"
    storage.join(relative).write_parquet(pd.DataFrame(rows).reindex(columns=COLUMNS))
    return relative


def checkpoint_facts(checkpoint: BestCheckpoint) -> dict[str, Any]:
    """Row facts of a trained checkpoint being evaluated."""
    return {
        "trial_id": checkpoint.trial_id, "seed": checkpoint.config["seed"],
        "step": checkpoint.step, "checkpoint_uri": checkpoint.checkpoint,
        "train_examples_seen": checkpoint.examples_seen,
        "train_wall_seconds": checkpoint.train_seconds,
    }


def target_facts(checkpoint: BestCheckpoint, upstream: BestCheckpoint | None) -> dict[str, Any]:
    """Row facts of a target checkpoint and of the intermediate one it started from
    (`upstream`; None when it started from the base model): its device time is both
    trainings'."""
    device_seconds = checkpoint.device_seconds
    if upstream:
        device_seconds += upstream.device_seconds
    return {
        **checkpoint_facts(checkpoint),
        "intermediate_task": checkpoint.intermediate,
        "learning_rate": checkpoint.config["learning_rate"],
        "intermediate_learning_rate": upstream.config["learning_rate"] if upstream else None,
        TRAIN_DEVICE_SECONDS: device_seconds,
    }


def arm_facts(arm: dict[str, Any] | None, checkpoint: BestCheckpoint) -> dict[str, Any]:
    """Row facts of the target arm (`trainables.arms`) a checkpoint was trained under, or is
    tested under (translate-test); None: zero-shot. Training languages in the order the arm
    reads them; the translation source is the registry task holding the translations."""
    name = arm["name"] if arm else ZERO_SHOT
    train = arm["train"] if arm else [["", "en"]]
    translations = [source for source, language in arm.get("train", []) + arm.get("test", [])
                    if language != "en"] if arm and ARMS[name].data != "in_language" else []
    return {
        "arm": name, "train_languages": ",".join(dict.fromkeys(lang for _, lang in train)),
        "n_train_target": checkpoint.target_train_examples,
        "translation_source": translations[0] if translations else None,
        "selection": ARMS[name].selection,
        "shots": checkpoint.config.get("shots"), "shot_seed": checkpoint.config.get("shot_seed"),
    }


def encoder_facts(checkpoint: BestCheckpoint | None, base_model: str) -> dict[str, Any]:
    """Row facts of a retrieval encoder: an intermediate checkpoint, or (None) the base model,
    which no one trained."""
    if checkpoint is None:
        return {
            "trial_id": None, "seed": None, "step": 0, "intermediate_learning_rate": None,
            "checkpoint_uri": f"base:{base_model}", "train_examples_seen": 0,
            "train_wall_seconds": 0.0, TRAIN_DEVICE_SECONDS: 0.0,
        }
    return {
        **checkpoint_facts(checkpoint),
        "intermediate_learning_rate": checkpoint.config["learning_rate"],
        TRAIN_DEVICE_SECONDS: checkpoint.device_seconds,
    }


def intermediate_facts(spec: Spec, name: str) -> dict[str, Any]:
    """Row facts of what intermediate `name` trained on: its modality (`text`, `image_text`,
    `mixed` for a mixture of both; none for the base model), the image controls and image
    encoders of its image-text members."""
    if name == NO_INTERMEDIATE:
        return {"modality": None, "image_control": None, "image_encoder": None}
    members = [get_task(member) for member in spec.intermediate_members(name)[0]]
    modalities = {task.modality for task in members}
    imaged = [task for task in members if task.images is not None]
    return {"modality": modalities.pop() if len(modalities) == 1 else "mixed",
            "image_control": ",".join(sorted({str(t.image_control) for t in imaged})) or None,
            "image_encoder": ",".join(sorted({t.images.encoder for t in imaged})) or None}


def stage_rows(
    spec: Spec, stage: Stage, facts: dict[str, Any], outcome: dict[str, Any]
) -> list[dict[str, Any]]:
    """One evaluation's rows, one per metric it measured: `facts` plus the outcome of an
    `evaluate_*` task (metrics, seconds, num_examples, node_id)."""
    base = {
        "experiment": spec.name, "stage": stage.name,
        # Several base models may share a name (two revisions): their labels tell them apart.
        "base_model": spec.model.label if spec.base_models else spec.model.name,
        "task": stage.task, "synthetic": get_task(stage.task).synthetic,
        "wall_seconds": outcome["seconds"], "num_examples": outcome["num_examples"],
        "node_id": outcome["node_id"],
        **intermediate_facts(spec, facts.get("intermediate_task", NO_INTERMEDIATE)),
        **{key: value for key, value in facts.items() if key != TRAIN_DEVICE_SECONDS},
    }
    device_hours = (facts[TRAIN_DEVICE_SECONDS] + outcome["seconds"]) / 3600
    return [{**base, "metric": metric, "value": value, "device_hours": device_hours}
            for metric, value in outcome["metrics"].items()]
