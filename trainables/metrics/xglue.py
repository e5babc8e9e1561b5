"""XGLUE Web Page Ranking (WPR): nDCG per query, as microsoft/XGLUE
``evaluation/xglue_evaluate.py`` computes it (``load_data``, ``simple_ndcg``) with scikit-learn's
``ndcg_score`` (no cutoff, tied predictions averaged), which is re-done here without sklearn."""

from __future__ import annotations

from collections.abc import Sequence

from trainables.metrics._common import _check_lengths


def ndcg(labels: Sequence[float], scores: Sequence[float]) -> float:
    """One query's nDCG as a fraction, equal to ``sklearn.metrics.ndcg_score([labels],
    [scores])``: gains are the labels, discount 1/log2(rank + 1), items with tied scores share
    their average gain; a query whose ideal DCG is 0 (all labels 0) scores 0, as sklearn's."""
    import numpy as np  # lazy: numpy loads only where a metric needs it: `sweep` starts fast

    _check_lengths(labels, scores, "labels", "scores")
    if len(labels) < 2:
        raise ValueError(f"nDCG needs at least 2 items, got {len(labels)}")
    # One row, as sklearn sees XGLUE's [labels]: the same shapes take the same numpy paths, so
    # the floats agree to the last bit.
    true = np.asarray([[float(label) for label in labels]], dtype=np.float64)
    predicted = np.asarray([float(score) for score in scores], dtype=np.float64)
    if not (np.isfinite(true).all() and np.isfinite(predicted).all()):
        raise ValueError("nDCG of non-finite labels or scores is undefined")
    if true.min() < 0:
        raise ValueError("nDCG of negative labels is undefined (sklearn refuses them)")
    discount = 1 / (np.log(np.arange(true.shape[1]) + 2) / np.log(2))

    # DCG, tie-averaged (sklearn ``_tie_averaged_dcg``): each run of equal scores, best first,
    # gets its mean gain times the sum of its positions' discounts.
    _, run, run_sizes = np.unique(-predicted, return_inverse=True, return_counts=True)
    run_gains = np.zeros(len(run_sizes))
    np.add.at(run_gains, run, true[0])
    run_gains /= run_sizes
    discount_cumsum = np.cumsum(discount)
    run_ends = np.cumsum(run_sizes) - 1
    run_discounts = np.empty(len(run_sizes))
    run_discounts[0] = discount_cumsum[run_ends[0]]
    run_discounts[1:] = np.diff(discount_cumsum[run_ends])
    gain = (run_gains * run_discounts).sum()

    # Ideal DCG: labels in decreasing order (sklearn ranks them with ignore_ties=True).
    order = np.argsort(true)[:, ::-1]
    ideal = discount.dot(true[np.arange(1)[:, np.newaxis], order].T)[0]
    if ideal == 0:
        return 0.0
    return float(gain / ideal)


def query_groups(queries: Sequence[str]) -> list[int]:
    """Each ground-truth line's query group, as XGLUE's ``load_data`` numbers them for WPR:
    ``queries`` are the lines' first tab fields; the id goes up by one where a query differs
    from the line before's, unless that one was empty. A group is a contiguous run, so a query
    seen again after another is a new group."""
    groups: list[int] = []
    group, last_query = 0, ""
    for query in queries:
        if query != last_query and len(last_query) > 0:
            group += 1
        last_query = query
        groups.append(group)
    return groups


def xglue_ndcg(groups: Sequence[int], predictions: Sequence[float],
               labels: Sequence[float]) -> float:
    """XGLUE's WPR score in percent (``simple_ndcg``, which reports the fraction): every group
    of at least 2 items scored by ``ndcg`` (smaller groups skipped), the numpy mean over
    groups in order of first appearance, times 100."""
    import numpy as np  # lazy: numpy loads only where a metric needs it: `sweep` starts fast

    _check_lengths(groups, predictions, "groups", "predictions")
    _check_lengths(groups, labels, "groups", "labels")
    members: dict[int, tuple[list[float], list[float]]] = {}
    for group, prediction, label in zip(groups, predictions, labels, strict=True):
        group_predictions, group_labels = members.setdefault(group, ([], []))
        group_predictions.append(float(prediction))
        group_labels.append(float(label))
    scores = [ndcg(group_labels, group_predictions)
              for group_predictions, group_labels in members.values()
              if len(group_labels) >= 2]
    if not scores:
        raise ValueError("XGLUE nDCG needs a query group of at least 2 items; none has")
    return float(np.array(scores).mean()) * 100
