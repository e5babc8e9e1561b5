"""What a run cost, per stage and in all: elapsed, busy and device time, from the manifest,
Tune's trial tables, the result rows and the efficiency records (`sweep results --cost`,
the report's cost figure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from sweep.estimate import TRAINING_KINDS
from trainables.trial import evaluation_resources

# What makes one evaluation: an eval or retrieval stage writes one row per metric of it.
EVALUATION = ["stage", "checkpoint_uri", "task", "language", "split"]
COST_COLUMNS = ["wall_seconds", "busy_seconds", "device_hours", "gpu_hours", "cpu_hours"]


def stage_costs(stages: dict[str, dict[str, Any]], rows: pd.DataFrame,
                trials: pd.DataFrame | None = None,
                efficiency: pd.DataFrame | None = None,
                resources: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per stage of the manifest, in the order they ran: `wall_seconds`, its elapsed time
    (NaN for a stage still running or recorded before start times were); `busy_seconds`,
    its trials', evaluations' or measurements' own times summed; `device_hours`, what they
    used (a trial's training time on each of its devices; an evaluation's or a
    measurement's time on one device, as the rows charge it); and with the run's
    `resources`, `gpu_hours` and `cpu_hours` apart: the same times on the GPUs (fractions
    kept) and CPUs each trial worker or evaluation task held (NaN without them)."""
    evaluations = rows.drop_duplicates(EVALUATION).groupby("stage")["wall_seconds"].sum()
    if efficiency is not None:  # each measurement's own time, once per encoder and repeat
        measured = efficiency.drop_duplicates(["stage", "checkpoint_uri", "repeat"])
        evaluations = pd.concat([evaluations, measured.groupby("stage")["seconds"].sum()])
    costs = []
    for name, entry in stages.items():
        kind = name.split("/")[0]  # stage names are <kind>/<task>
        busy = device_seconds = held_seconds = float("nan")
        held = _held(resources, training=kind in TRAINING_KINDS)
        if kind in TRAINING_KINDS and trials is not None:
            in_stage = trials[trials["stage"] == name]
            if not in_stage.empty:
                busy = float(in_stage["time_total_s"].sum())
                devices = entry.get("best", {}).get("devices", 1)
                held_seconds = float(in_stage["train_seconds"].sum())
                device_seconds = held_seconds * devices
        elif name in evaluations:
            busy = device_seconds = held_seconds = float(evaluations[name])
        finished = entry.get("status") == "finished" and "started_at" in entry
        costs.append({
            "stage": name, "kind": kind, "status": entry.get("status", "-"),
            "wall_seconds": entry["recorded_at"] - entry["started_at"] if finished
            else float("nan"),
            "busy_seconds": busy, "device_hours": device_seconds / 3600,
            "gpu_hours": held_seconds * held["GPU"] / 3600,
            "cpu_hours": held_seconds * held["CPU"] / 3600,
            "order": entry.get("started_at", entry.get("recorded_at", 0.0)),
        })
    if not costs:
        return pd.DataFrame(columns=["kind", "status", *COST_COLUMNS])
    return pd.DataFrame(costs).sort_values("order", kind="stable").drop(columns="order") \
        .set_index("stage")


def _held(resources: Mapping[str, Any] | None, training: bool) -> dict[str, float]:
    """The GPUs and CPUs a trial's workers (`training`) or an evaluation task hold."""
    if resources is None:
        return {"GPU": float("nan"), "CPU": float("nan")}
    if training:
        workers = resources.get("workers_per_trial", 1)
        return {"GPU": workers * resources.get("gpus_per_worker", 0),
                "CPU": workers * resources.get("cpus_per_worker", 1)}
    bundle = evaluation_resources({"eval_cpus": 1, "gpus_per_worker": 0, **resources})
    return {"GPU": bundle.get("GPU", 0.0), "CPU": bundle["CPU"]}


def elapsed_seconds(stages: dict[str, dict[str, Any]]) -> float:
    """The time any finished stage was running: the union of their [start, end] spans
    (stages overlap, and the time between an interruption and --resume counts for none);
    NaN where no stage recorded a start."""
    spans = sorted((entry["started_at"], entry["recorded_at"]) for entry in stages.values()
                   if entry.get("status") == "finished" and "started_at" in entry)
    if not spans:
        return float("nan")
    total, (start, end) = 0.0, spans[0]
    for later_start, later_end in spans[1:]:
        if later_start > end:
            total, start = total + end - start, later_start
        end = max(end, later_end)
    return total + end - start


def cost_table(stages: dict[str, dict[str, Any]], rows: pd.DataFrame,
               trials: pd.DataFrame | None = None,
               efficiency: pd.DataFrame | None = None,
               resources: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """`stage_costs` with a `total` row: the sum of every stage's busy and device time, and
    the time any stage ran (`elapsed_seconds`: stages run side by side)."""
    costs = stage_costs(stages, rows, trials, efficiency, resources)
    total = costs[COST_COLUMNS].sum(min_count=1)
    total["wall_seconds"] = elapsed_seconds(stages)
    return pd.concat([costs, total.to_frame("total").T.assign(kind="-", status="-")]) \
        .rename_axis("stage")
