"""Checkpoint selection: the best kept checkpoint of each trial, then the best of a stage
(overall, and per intermediate choice for target stages)."""

from __future__ import annotations

from collections.abc import Iterable

from ray.tune import Result

from sweep.manifest import BestCheckpoint
from sweep.spec import Spec
from trainables.storage import Location
from trainables.training import SCORE


def best_of_trial(result: Result, spec: Spec, root: Location) -> BestCheckpoint | None:
    """The best reported checkpoint of one trial that Train still keeps, with what produced
    it; None if the trial kept none."""
    history = result.metrics_dataframe
    if history is None or SCORE not in history or "checkpoint_path" not in history:
        return None
    history = history.dropna(subset=["checkpoint_path"])
    # Best first, so only the best kept checkpoint's existence is asked for (one request
    # each on an object store); reported paths become URIs users can open.
    for _, row in history.sort_values(SCORE, ascending=False, kind="stable").iterrows():
        checkpoint = root.with_path(row["checkpoint_path"])
        if checkpoint.exists():
            break
    else:
        return None
    return BestCheckpoint(
        trial_id=result.metrics.get("trial_id"),
        checkpoint=str(checkpoint),
        score=float(row[SCORE]),
        step=int(row["step"]),
        examples_seen=int(row["examples_seen"]),
        train_seconds=float(history["train_seconds"].max()),
        # A trial's devices: one GPU per worker, or on a CPU-only run each worker's CPUs.
        devices=spec.resources.workers_per_trial,
        config=dict(result.config),
    )


def best_of_stage(candidates: Iterable[BestCheckpoint]) -> BestCheckpoint:
    """The highest-scoring checkpoint (the first of equals)."""
    return max(candidates, key=lambda candidate: candidate.score)


def best_per_intermediate(candidates: Iterable[BestCheckpoint]) -> dict[str, BestCheckpoint]:
    """A target stage's best checkpoint for each intermediate choice it started from (the
    first of equals), in the order the choices first appear."""
    best: dict[str, BestCheckpoint] = {}
    for candidate in candidates:
        name = candidate.intermediate
        if name not in best or candidate.score > best[name].score:
            best[name] = candidate
    return best
