"""The geometry of a pool of sentence embeddings, the facts that say how hard the pool is for
approximate search and how far it compresses (arms.md section 4c): anisotropy (mean cosine),
hubness (skew of k-occurrence), local intrinsic dimension (MLE) and effective rank.

A pool is an (n, d) array of finite floats, one row per sentence; everything is computed in
float64. Nearest neighbours are exact, from numpy over blocks of rows of the distance matrix
(memory stays at about `_BLOCK` floats whatever n), which is quick for the pools measured here
(a few thousand sentences); a neighbour is never the point itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_BLOCK = 2**21  # floats in one block of the distance matrix (16 MB): rows per block = this / n


def _pool(vectors: np.ndarray, least: int, why: str) -> np.ndarray:
    """The pool as a float64 (n, d) array, refused (ValueError) if it is not one, has a
    non-finite value or fewer than `least` rows."""
    pool = np.asarray(vectors, dtype=np.float64)
    if pool.ndim != 2 or pool.shape[1] == 0:
        raise ValueError(f"expected an (n, d) array of vectors, got shape {pool.shape}")
    if not np.isfinite(pool).all():
        rows = np.flatnonzero(~np.isfinite(pool).all(1))
        raise ValueError(f"non-finite values in {len(rows)} vector(s), the first row {rows[0]}")
    if len(pool) < least:
        raise ValueError(f"{why}: got {len(pool)} vectors")
    return pool


def _unit(pool: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(pool, axis=1)
    if (norms == 0).any():
        raise ValueError(f"a zero vector has no cosine: row {np.flatnonzero(norms == 0)[0]}")
    return pool / norms[:, np.newaxis]


def _check_k(n: int, k: int, what: str = "vectors") -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n <= k:
        raise ValueError(f"{k} nearest neighbours need more than {k} {what}, got {n}")


def _blocks(n: int) -> Iterator[tuple[int, int]]:
    rows = max(1, _BLOCK // n)
    for start in range(0, n, rows):
        yield start, min(n, start + rows)


def _nearest(pool: np.ndarray, k: int, cosine: bool) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (cosine: most similar; else
    Euclidean), in no particular order; ties at the k-th place broken arbitrarily."""
    n = len(pool)
    points = _unit(pool) if cosine else pool
    squares = (points**2).sum(1)
    nearest = np.empty((n, k), dtype=np.intp)
    for start, stop in _blocks(n):
        products = points[start:stop] @ points.T
        # A ranking key, smaller is nearer: -cosine, or squared distance less |row|^2
        # (constant along a row, so it ranks as the distance does).
        key = -products if cosine else squares[np.newaxis, :] - 2 * products
        key[np.arange(stop - start), np.arange(start, stop)] = np.inf  # never itself
        nearest[start:stop] = np.argpartition(key, k - 1, axis=1)[:, :k]
    return nearest


def anisotropy(vectors: np.ndarray) -> float:
    """Mean cosine similarity over all distinct pairs: about 0 for an isotropic pool, 1 when
    every vector points the same way. Exact in O(n d): with unit vectors u and s = sum(u),
    the sum over ordered pairs i != j of u_i . u_j is |s|^2 - n."""
    unit = _unit(_pool(vectors, 2, "a mean over pairs needs at least 2 vectors"))
    n = len(unit)
    total = unit.sum(0)
    return float((total @ total - n) / (n * (n - 1)))


def k_occurrence(vectors: np.ndarray, k: int = 10) -> np.ndarray:
    """How often each vector is among the k nearest neighbours (cosine) of the others; the
    counts sum to n k. A duplicate is another point: it is its twin's nearest neighbour."""
    pool = _pool(vectors, 1, "no vectors")
    _check_k(len(pool), k)
    return np.bincount(_nearest(pool, k, cosine=True).ravel(), minlength=len(pool))


def hubness(vectors: np.ndarray, k: int = 10) -> float:
    """Skewness of the k-occurrence distribution (Radovanović, Nanopoulos & Ivanović 2010,
    "Hubs in space", S_{N_k}): Fisher's moment coefficient E[(N - mean)^3] / std^3 with
    population moments (scipy.stats.skew with bias=True). Large and positive when a few
    hubs are everyone's neighbours. 0 when every vector occurs exactly k times (the
    coefficient is 0 / 0 there; a pool without hubs or anti-hubs has no skew)."""
    counts = k_occurrence(vectors, k).astype(np.float64)
    deviations = counts - counts.mean()
    second = float(np.mean(deviations**2))
    if second == 0:
        return 0.0
    return float(np.mean(deviations**3) / second**1.5)


def lid_per_point(vectors: np.ndarray, k: int = 20) -> np.ndarray:
    """Each vector's local intrinsic dimension, the maximum-likelihood estimate of Levina &
    Bickel (2005) in the form of Amsaleg et al. (2015), which Aumüller & Ceccarello (2019)
    use for ANN difficulty: -1 / mean_{i=1..k} log(r_i / r_k), the r_i the Euclidean
    distances to its k nearest neighbours, r_k the largest. (Levina & Bickel's own form
    averages over the k - 1 terms below k, a factor (k - 1) / k smaller.) For points of
    locally uniform density in d dimensions the estimate's expectation is k d / (k - 2).

    Duplicates: equal vectors are one point, since a zero distance says nothing about the
    dimension and would make the estimate 0 (log 0). The estimate is computed over the
    distinct vectors and each row gets its vector's; so k must be below the number of
    distinct vectors. Neighbours are ranked from inner products and their distances then
    recomputed from the differences, so that near-duplicates keep exact, positive ones."""
    pool = _pool(vectors, 1, "no vectors")
    _check_k(len(pool), k)
    distinct, row_of = np.unique(pool, axis=0, return_inverse=True)
    if len(distinct) <= k:
        raise ValueError(f"{k} nearest neighbours need more than {k} distinct vectors, got "
                         f"{len(distinct)} distinct among {len(pool)}")
    nearest = _nearest(distinct, k, cosine=False)
    estimates = np.empty(len(distinct))
    rows = max(1, _BLOCK // (k * distinct.shape[1]))
    for start in range(0, len(distinct), rows):
        stop = min(len(distinct), start + rows)
        offsets = distinct[nearest[start:stop]] - distinct[start:stop, np.newaxis, :]
        distances = np.linalg.norm(offsets, axis=2)
        logs = np.log(distances / distances.max(1, keepdims=True))
        estimates[start:stop] = -1.0 / logs.mean(1)
    return estimates[row_of.ravel()]


def local_intrinsic_dimension(vectors: np.ndarray, k: int = 20) -> float:
    """The mean over rows (a duplicated vector counted as often as it occurs) of
    `lid_per_point`."""
    return float(lid_per_point(vectors, k).mean())


def effective_rank(vectors: np.ndarray, centre: bool = True) -> float:
    """Roy & Vetterli's (2007) effective rank: exp of the Shannon entropy (natural log) of
    the singular values divided by their sum; between 1 and min(n, d), r for a rank-r
    matrix whose r singular values are equal.

    Centred by default (each dimension's mean over the pool subtracted), where Roy &
    Vetterli take the matrix as given: an embedding pool's common direction (its mean)
    would otherwise take the first singular value, so that the rank would fall with the
    anisotropy measured apart; centred, it counts the directions the pool spreads in, as
    PCA compression (which centres) sees them. `centre=False` gives the matrix as given."""
    pool = _pool(vectors, 2 if centre else 1,
                 "a centred pool needs at least 2 vectors" if centre else "no vectors")
    if centre:
        pool = pool - pool.mean(0)
    singular = np.linalg.svd(pool, compute_uv=False)
    if singular.sum() == 0:
        raise ValueError("the matrix is zero" + (" once centred: every vector is the same"
                                                 if centre else ""))
    shares = singular[singular > 0] / singular.sum()
    return float(np.exp(-(shares * np.log(shares)).sum()))
