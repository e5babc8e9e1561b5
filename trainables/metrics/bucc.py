"""BUCC 2018 bitext mining: xtreme ``evaluate.py`` (``bucc_f1``) and
``third_party/utils_retrieve.py`` (``mine_bitext``, ``bucc_optimize``, ``bucc_extract``).

A threshold or margin score is a similarity ratio, not a percentage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads only where a metric needs it: `sweep` commands start fast
    import numpy as np  # lazy: see the TYPE_CHECKING import

Pair = tuple[str, ...]  # a BUCC (source id, target id) pair


def bucc_scores(predictions: Iterable[Pair], gold: Iterable[Pair]) -> dict[str, float]:
    """BUCC ``{"f1", "precision", "recall"}`` in percent over sets of (source id, target id)
    pairs: precision = correct / predicted, recall = correct / gold (xtreme ``bucc_f1``)."""
    predicted, expected = {tuple(p) for p in predictions}, {tuple(g) for g in gold}
    ncorrect = len(expected & predicted)
    if ncorrect > 0:
        precision = ncorrect / len(predicted)
        recall = ncorrect / len(expected)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0
    return {"f1": float(f1 * 100), "precision": float(precision * 100),
            "recall": float(recall * 100)}


def bucc_best_threshold(candidate_scores: Mapping[Pair, float], gold: Iterable[Pair]) -> float:
    """The margin threshold that maximises F1 on gold pairs (xtreme ``bucc_optimize``).

    Candidates are sorted by score, descending (ties keep their mapping order); walking down
    the list, each strict improvement of F1 sets the threshold to the midpoint between the
    current candidate's score and the next one's. 0 if no candidate is correct. Where the best
    F1 is reached at the last candidate the reference raises IndexError; we return that
    candidate's score, which extracts the same set.
    """
    items = sorted(candidate_scores.items(), key=lambda item: -item[1])
    expected = {tuple(g) for g in gold}
    ngold = len(expected)
    ncorrect = 0
    threshold: float = 0
    best_f1: float = 0
    for i, (pair, score) in enumerate(items):
        nextract = i + 1
        if tuple(pair) in expected:
            ncorrect += 1
        if ncorrect > 0:
            precision = ncorrect / nextract
            recall = ncorrect / ngold
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                following = items[i + 1][1] if i + 1 < len(items) else score
                threshold = (score + following) / 2
    return threshold


def bucc_extract(candidate_scores: Mapping[Pair, float], threshold: float) -> list[Pair]:
    """The candidate pairs scoring at least ``threshold``, in mapping order (``bucc_extract``)."""
    return [pair for pair, score in candidate_scores.items() if score >= threshold]


def margin_mine(x: np.ndarray, y: np.ndarray, k: int = 4, threshold: float = 0.0,
                device: str | None = None) -> list[tuple[float, int, int]]:
    """Ratio-margin bitext mining, xtreme/LASER ``mine_bitext`` (mode 'mine', retrieval 'max',
    margin 'ratio', cosine, no embedding shift).

    ``x`` (sources) and ``y`` (targets) are embeddings of *unique* sentences (the reference
    de-duplicates texts first: the caller's job). Both are L2-normalised; each side takes its
    k nearest neighbours in the other (exact inner product, faiss as in the reference); a
    candidate (i, j) scores cos(x_i, y_j) / ((mean knn sim of x_i + mean knn sim of y_j) / 2).
    Each source's and each target's best candidate are pooled and taken greedily by score,
    each source and target used once. Returns ``(score, source index, target index)`` with
    score > threshold, best first: the reference's candidates file, before the id mapping.
    `device` (a GPU an evaluation holds) runs the exact search there instead of in faiss.
    """
    import faiss  # lazy: `sweep score` loads this module without faiss
    import numpy as np  # lazy: see the TYPE_CHECKING import

    from trainables.knn import exact_knn

    x = np.array(x, dtype=np.float32, order="C", copy=True)
    y = np.array(y, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(x)
    faiss.normalize_L2(y)

    # Exact search: the reference's faiss IndexFlatIP, or the same search on `device`.
    x2y_sim, x2y_ind = exact_knn(x, y, min(y.shape[0], k), device)
    y2x_sim, y2x_ind = exact_knn(y, x, min(x.shape[0], k), device)
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)

    def score_candidates(a: np.ndarray, b: np.ndarray, inds: np.ndarray, fwd_mean: np.ndarray,
                         bwd_mean: np.ndarray) -> np.ndarray:
        # One dot product per candidate, float32 like the reference, stored in float64.
        scores = np.zeros(inds.shape)
        for i in range(scores.shape[0]):
            for j in range(scores.shape[1]):
                t = inds[i, j]
                scores[i, j] = a[i].dot(b[t]) / ((fwd_mean[i] + bwd_mean[t]) / 2)
        return scores

    fwd_scores = score_candidates(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd_scores = score_candidates(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd_scores.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd_scores.argmax(axis=1)]
    indices = np.stack((np.concatenate((np.arange(x.shape[0]), bwd_best)),
                        np.concatenate((fwd_best, np.arange(y.shape[0])))), axis=1)
    scores = np.concatenate((fwd_scores.max(axis=1), bwd_scores.max(axis=1)))
    seen_src: set[int] = set()
    seen_trg: set[int] = set()
    mined: list[tuple[float, int, int]] = []
    for i in np.argsort(-scores):  # the reference's (unstable) sort, for identical tie order
        src, trg = int(indices[i][0]), int(indices[i][1])
        if src not in seen_src and trg not in seen_trg:
            seen_src.add(src)
            seen_trg.add(trg)
            if scores[i] > threshold:
                mined.append((float(scores[i]), src, trg))
    return mined
