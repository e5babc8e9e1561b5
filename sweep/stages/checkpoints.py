"""Checkpoint selection: the best kept checkpoint of each trial, then the configuration a
stage chooses (overall, and per intermediate choice for target stages).

Where a stage trains each configuration once per seed (`seeds`), a configuration is a
trial's sampled point without its seed, chosen by the mean English dev score of its seeds,
never by its best seed, and every seed's checkpoint goes on to evaluation. Without seeds,
each trial stands alone and the best one is chosen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
from ray.train.constants import CHECKPOINT_DIR_NAME
from ray.tune import Result

from sweep.manifest import BestCheckpoint
from sweep.spec import Spec
from trainables.storage import Location
from trainables.training import SCORE
from trainables.trial import with_seed


def best_of_trial(result: Result, spec: Spec, root: Location,
                  seeds: list[int] | None = None) -> BestCheckpoint | None:
    """The best reported checkpoint of one trial that Train still keeps, with what produced
    it; None if the trial kept none."""
    history = result.metrics_dataframe
    if history is None or SCORE not in history:
        return None
    if "checkpoint_path" not in history:
        # A trial that trained in its own process: Tune kept its checkpoints in the trial's
        # folder and names each result's.
        if CHECKPOINT_DIR_NAME not in history:
            return None
        # A restarted trial may report a checkpoint's evaluation again and rewrite its
        # folder: the later report is the one that describes the weights kept there.
        history = history.drop_duplicates(CHECKPOINT_DIR_NAME, keep="last")
        history = history.assign(checkpoint_path=[
            f"{result.path}/{name}" if isinstance(name, str) else None
            for name in history[CHECKPOINT_DIR_NAME]])
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
        config=with_seed(result.config, seeds),
        target_train_examples=int(row.get("target_train_examples", 0)) if pd.notna(
            row.get("target_train_examples", 0)) else 0,
    )


def _configuration(checkpoint: BestCheckpoint) -> str:
    return json.dumps({key: value for key, value in checkpoint.config.items() if key != "seed"},
                      sort_keys=True, default=str)


def chosen_configuration(candidates: Iterable[BestCheckpoint],
                         seeds: list[int] | None) -> list[BestCheckpoint]:
    """The checkpoints, one per seed (by seed), of the configuration with the highest mean
    score over its seeds (the first of equals); without seeds, the best trial's."""
    candidates = list(candidates)
    if not seeds:
        return [best_seed(candidates)]
    groups: dict[str, list[BestCheckpoint]] = {}
    for candidate in candidates:
        groups.setdefault(_configuration(candidate), []).append(candidate)
    best = max(groups.values(), key=lambda group: sum(c.score for c in group) / len(group))
    return sorted(best, key=lambda checkpoint: checkpoint.config.get("seed", 0))


def chosen_per_intermediate(
    candidates: Iterable[BestCheckpoint], seeds: list[int] | None,
) -> dict[str, list[BestCheckpoint]]:
    """A target stage's chosen configuration for each intermediate choice it started from,
    in the order the choices first appear."""
    by_choice: dict[str, list[BestCheckpoint]] = {}
    for candidate in candidates:
        by_choice.setdefault(candidate.intermediate, []).append(candidate)
    return {name: chosen_configuration(group, seeds) for name, group in by_choice.items()}


def best_seed(checkpoints: list[BestCheckpoint]) -> BestCheckpoint:
    """The chosen configuration's best-scoring checkpoint: the one later training stages
    start from (the first of equals)."""
    return max(checkpoints, key=lambda checkpoint: checkpoint.score)
