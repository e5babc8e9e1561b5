"""Retrieval with relevance judgements (LAReQA, Mewsli-X): mAP@k, as xtreme
``third_party/utils_lareqa.py`` (``average_precision_at_k``, ``mean_avg_prec_at_k``),
``third_party/utils_mewslix.py`` and ``evaluate.mewslix_map20`` compute it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trainables.metrics._common import _check_lengths


def average_precision_at_k(relevant: Iterable[Any], ranked: Sequence[Any], k: int = 20) -> float:
    """AP@k of one query, as a fraction (xtreme ``utils_lareqa.average_precision_at_k``):
    precision at each relevant item among the first ``k`` of ``ranked`` (an item counted once),
    summed and divided by min(number of relevant items, k)."""
    targets = set(relevant)
    if not targets:
        raise ValueError("average precision of a query without relevant items is undefined")
    top = list(ranked[:k])
    score, hits = 0.0, 0.0
    for position, item in enumerate(top):
        if item in targets and item not in top[:position]:
            hits += 1.0
            score += hits / (position + 1.0)
    return score / min(len(targets), k)


def lareqa_map_at_k(relevant: Sequence[Iterable[Any]], rankings: Sequence[Sequence[Any]],
                    k: int = 20) -> float:
    """LAReQA's mAP@k in percent: the numpy mean of every query's AP@k (``mean_avg_prec_at_k``,
    which prints the fraction), times 100."""
    import numpy as np  # lazy: numpy loads only where a metric needs it: `sweep` starts fast

    _check_lengths(relevant, rankings, "relevant", "rankings")
    if not rankings:
        raise ValueError("mAP of no queries is undefined")
    scores = [average_precision_at_k(targets, ranked, k)
              for targets, ranked in zip(relevant, rankings, strict=True)]
    return float(np.mean(scores)) * 100


def mewslix_map_at_20(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, Sequence[str]],
                      k: int = 20) -> float:
    """Mewsli-X's "MAP@20" in percent (xtreme ``evaluate.mewslix_map20``): one gold entity per
    mention (the first of its list, stripped), so AP@k is the reciprocal rank of the gold among
    the first ``k`` predictions; a mention without predictions scores 0, predictions for
    mentions without gold are ignored; the sum over gold mentions / their number, times 100."""
    if not gold:
        raise ValueError("MAP@20 of no mentions is undefined")
    reciprocal_ranks = [
        average_precision_at_k([entities[0].strip()], list(predictions.get(mention, []))[:k], k)
        for mention, entities in gold.items()
    ]
    return sum(reciprocal_ranks) / len(reciprocal_ranks) * 100
