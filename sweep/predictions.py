"""Per-example predictions: every evaluation's examples, kept so that tests of significance
and error analysis need no rerun.

One parquet per evaluation stage under `predictions/`, one row per (checkpoint, language,
split, example): the example's id, the prediction and the gold answer as JSON in the task's
own terms (label names, tag names, answer texts, candidate ids), and its `score` and
`weight`: over any set of examples of one evaluation, sum(score) / sum(weight) is the task's
headline (`Task.headline`), so a resample of examples gives the resampled headline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sweep.results import read_folder
from trainables.storage import Location

PREDICTIONS_DIR = "predictions"
# The facts of the evaluation each example belongs to, as in the result rows.
EVALUATION_KEYS = ["stage", "task", "target_task", "intermediate_task", "trial_id", "seed",
                   "language", "split"]
COLUMNS = [*EVALUATION_KEYS, "example_id", "prediction", "gold", "score", "weight"]


def prediction_rows(stage: str, task: str, facts: dict[str, Any],
                    records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One evaluation's examples as rows: its facts (`facts` holds the row facts of the
    checkpoint, language and split) and each record, prediction and gold as JSON."""
    evaluation = {"stage": stage, "task": task,
                  **{key: facts.get(key) for key in EVALUATION_KEYS[2:]}}
    return [{**evaluation, "example_id": record["example_id"],
             "prediction": json.dumps(record["prediction"], ensure_ascii=False),
             "gold": json.dumps(record["gold"], ensure_ascii=False),
             "score": record["score"], "weight": record["weight"]} for record in records]


def write_predictions(storage: Location, stage_slug: str, rows: list[dict[str, Any]]) -> str:
    """Write one stage's predictions; returns the file's path relative to the storage root."""
    relative = f"{PREDICTIONS_DIR}/{stage_slug}.parquet"
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # Seeds stay nullable integers (the base model's encoder has none).
    frame["seed"] = frame["seed"].astype("Int64")
    storage.join(relative).write_parquet(frame)
    return relative


def load_predictions(storage: str | Path | Location) -> pd.DataFrame:
    """Every kept example of a run; an empty frame (with the columns) for a run made before
    predictions were kept."""
    try:
        return read_folder(storage, PREDICTIONS_DIR, "kept predictions")
    except FileNotFoundError:
        return pd.DataFrame(columns=COLUMNS)


def headline(examples: pd.DataFrame) -> float:
    """The headline of a set of examples of one evaluation: sum(score) / sum(weight)."""
    weight = examples["weight"].sum()
    return float(examples["score"].sum() / weight) if weight else 0.0


def shared_ids(*systems: pd.DataFrame) -> list[str]:
    """The example ids every seed of every system scored, sorted: the examples a paired
    test compares them on."""
    ids = [set(seed_examples["example_id"]) for examples in systems
           for _, seed_examples in examples.groupby("seed", dropna=False)]
    return sorted(set.intersection(*ids)) if ids else []


def seed_matrices(examples: pd.DataFrame, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, examples) arrays of score and weight of one system in one (task, language),
    over `ids` in that order, one row per seed."""
    by_seed = [group.drop_duplicates("example_id").set_index("example_id").loc[ids]
               for _, group in examples.groupby("seed", dropna=False)]
    return (np.stack([group["score"].to_numpy(float) for group in by_seed]),
            np.stack([group["weight"].to_numpy(float) for group in by_seed]))
