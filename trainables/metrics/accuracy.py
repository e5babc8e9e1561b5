"""Accuracy (XNLI, PAWS-X, Tatoeba), in percent as xtreme ``evaluate.py`` reports it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trainables.metrics._common import _check_lengths


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Percentage of positions where prediction == reference (xtreme ``evaluate.accuracy``)."""
    _check_lengths(predictions, references, "predictions", "references")
    if len(predictions) == 0:
        raise ValueError("accuracy of an empty list of predictions is undefined")
    correct = sum(int(p == r) for p, r in zip(predictions, references, strict=True))
    return float(correct) / len(predictions) * 100


def tatoeba_accuracy(nearest_indices: Any, gold_indices: Any = None) -> float:
    """Percentage of queries whose top-1 neighbour is the gold one.

    ``nearest_indices`` holds one candidate index per query (shape (n,) or (n, 1), as faiss
    returns it); the gold of query i is i unless ``gold_indices`` says otherwise (Tatoeba's
    sentences are aligned line by line).
    """
    import numpy as np  # lazy: numpy loads only where a metric needs it: `sweep` starts fast

    nearest = np.asarray(nearest_indices)
    if nearest.ndim == 2 and nearest.shape[1] == 1:
        nearest = nearest[:, 0]
    if nearest.ndim != 1:
        raise ValueError(f"expected one neighbour per query, got shape {nearest.shape}")
    gold = np.arange(len(nearest)) if gold_indices is None else np.asarray(gold_indices)
    return accuracy(nearest.tolist(), gold.reshape(-1).tolist())
