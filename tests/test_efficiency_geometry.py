"""Geometry of embedding pools (issue 15), checked against brute-force definitions, scipy and
pools whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from trainables.efficiency import geometry
from trainables.efficiency.geometry import (
    anisotropy,
    effective_rank,
    hubness,
    k_occurrence,
    lid_per_point,
    local_intrinsic_dimension,
)


def _embedded(points: np.ndarray, dimension: int, seed: int = 0) -> np.ndarray:
    """`points` placed isometrically in `dimension` dimensions (a random orthonormal basis,
    then an offset), so that every distance is kept."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dimension, points.shape[1])))
    return points @ basis.T + rng.normal(size=dimension)


def test_anisotropy_is_the_mean_cosine_over_distinct_pairs():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(40, 8)) + 0.7
    unit = pool / np.linalg.norm(pool, axis=1, keepdims=True)
    cosines = unit @ unit.T
    brute = cosines[~np.eye(40, dtype=bool)].mean()
    assert anisotropy(pool) == pytest.approx(brute, rel=1e-12)
    one_way = rng.normal(size=64) + 0.01 * rng.normal(size=(300, 64))
    assert anisotropy(one_way) > 0.99
    # Isotropic in 512 dimensions: each cosine is about 0 +- 1 / sqrt(512).
    assert abs(anisotropy(rng.normal(size=(500, 512)))) < 0.005


def _brute_k_occurrence(pool: np.ndarray, k: int) -> np.ndarray:
    unit = pool / np.linalg.norm(pool, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return np.bincount(nearest.ravel(), minlength=len(pool))


def test_hubness_is_scipys_skew_of_the_brute_force_k_occurrence(monkeypatch):
    rng = np.random.default_rng(1)
    pool = rng.random((300, 50))  # Radovanović et al.'s iid uniform data, 50 dimensions
    counts = _brute_k_occurrence(pool, 10)
    assert (k_occurrence(pool, 10) == counts).all() and counts.sum() == 300 * 10
    expected = stats.skew(counts, bias=True)
    assert hubness(pool, 10) == pytest.approx(expected, rel=1e-12)
    # The vectors nearest the pool's mean direction are everyone's neighbours. (Isotropic
    # Gaussians have none under cosine: on the sphere no point is central.)
    assert expected > 1
    monkeypatch.setattr(geometry, "_BLOCK", 1000)  # 3 rows per block: the same answer
    assert hubness(pool, 10) == pytest.approx(expected, rel=1e-12)
    assert hubness(pool, 3) == pytest.approx(stats.skew(_brute_k_occurrence(pool, 3)))


def test_hubness_of_a_pool_without_hubs_is_zero():
    # A regular 24-gon: each vertex is among the 4 nearest of exactly 4 others.
    angles = 2 * np.pi * np.arange(24) / 24
    polygon = np.stack([np.cos(angles), np.sin(angles)], 1)
    assert (k_occurrence(polygon, 4) == 4).all() and hubness(polygon, 4) == 0.0


def _brute_lid(pool: np.ndarray, k: int) -> np.ndarray:
    distances = cdist(pool, pool)
    np.fill_diagonal(distances, np.inf)
    nearest = np.sort(distances, axis=1)[:, :k]
    return -1 / np.log(nearest / nearest[:, -1:]).mean(1)


def test_lid_per_point_is_the_mle_over_the_k_nearest(monkeypatch):
    pool = _embedded(np.random.default_rng(2).normal(size=(200, 6)), 40)
    for k in (5, 20):
        assert lid_per_point(pool, k) == pytest.approx(_brute_lid(pool, k), rel=1e-9)
    monkeypatch.setattr(geometry, "_BLOCK", 5000)  # blocks of a few rows
    assert lid_per_point(pool, 20) == pytest.approx(_brute_lid(pool, 20), rel=1e-9)
    assert local_intrinsic_dimension(pool) == pytest.approx(_brute_lid(pool, 20).mean())


@pytest.mark.parametrize("dimension", [2, 5, 10])
def test_lid_recovers_the_dimension_of_a_cube_in_a_bigger_space(dimension):
    rng = np.random.default_rng(dimension)
    pool = _embedded(rng.random((2000, dimension)), 64, seed=dimension)
    estimate = local_intrinsic_dimension(pool, k=20)
    # Where the density is locally uniform, -1 / mean log(r_i / r_k) is k / S with S a sum
    # of k - 1 independent Exp(d) variables, so its mean is d k / (k - 2): 11% high at
    # k = 20 (the upper bound, with 3% for sampling). Points near the cube's faces see
    # neighbours on one side only and read lower, more so as d grows (their share does):
    # at n = 2000 the mean is about 1.09 d, 1.00 d and 0.90 d for d = 2, 5, 10 (the lower
    # bound, 0.85 d, leaves room for that and for sampling).
    assert 0.85 * dimension < estimate < 1.03 * dimension * 20 / 18


def test_lid_counts_equal_vectors_as_one_point():
    distinct = np.random.default_rng(3).normal(size=(60, 5))
    doubled = np.concatenate([distinct, distinct[:25], distinct[::-1]])  # zero distances
    per_point = lid_per_point(doubled, 10)
    assert np.isfinite(per_point).all()
    reference = lid_per_point(distinct, 10)
    assert per_point == pytest.approx(np.concatenate([reference, reference[:25],
                                                      reference[::-1]]), rel=1e-12)
    assert local_intrinsic_dimension(doubled, 10) == pytest.approx(per_point.mean())
    with pytest.raises(ValueError, match="more than 10 distinct vectors, got 8 distinct "
                                         "among 16"):
        lid_per_point(np.concatenate([distinct[:8]] * 2), 10)


def test_effective_rank_is_exp_of_the_entropy_of_the_singular_values():
    matrix = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 4.0], [2.0, 0.0, 1.0],
                       [1.0, 1.0, 1.0]])
    for centre, given in ((False, matrix), (True, matrix - matrix.mean(0))):
        singular = np.linalg.svd(given, compute_uv=False)
        shares = singular / singular.sum()
        assert effective_rank(matrix, centre=centre) == pytest.approx(
            np.exp(stats.entropy(shares)), rel=1e-12)
    # Centring removes the common offset, which the uncentred rank counts as a direction.
    rng = np.random.default_rng(4)
    offset = rng.normal(size=(200, 30)) * 0.1 + 5 * rng.normal(size=30)
    assert effective_rank(offset, centre=False) < 2 < 25 < effective_rank(offset)


@pytest.mark.parametrize("rank", [1, 3, 7])
def test_effective_rank_of_equal_singular_values_is_the_rank(rank):
    rng = np.random.default_rng(rank)
    columns = rng.normal(size=(100, rank))
    left, _ = np.linalg.qr(columns - columns.mean(0))  # mean-zero: centring keeps them
    right, _ = np.linalg.qr(rng.normal(size=(48, rank)))
    matrix = 3.0 * left @ right.T
    assert effective_rank(matrix) == pytest.approx(rank, rel=1e-9)
    assert effective_rank(matrix, centre=False) == pytest.approx(rank, rel=1e-9)


def test_bad_pools_are_refused_naming_the_problem():
    pool = np.random.default_rng(5).normal(size=(30, 4))
    for function in (anisotropy, hubness, lid_per_point, effective_rank):
        with pytest.raises(ValueError, match=r"\(n, d\) array of vectors, got shape \(30,\)"):
            function(pool[:, 0])
        broken = pool.copy()
        broken[7, 2] = np.nan
        with pytest.raises(ValueError, match="non-finite values in 1 vector.*row 7"):
            function(broken)
    with pytest.raises(ValueError, match="10 nearest neighbours need more than 10 vectors"):
        hubness(pool[:10], 10)
    with pytest.raises(ValueError, match="20 nearest neighbours need more than 20 vectors"):
        local_intrinsic_dimension(pool[:20])
    with pytest.raises(ValueError, match="k must be at least 1"):
        hubness(pool, 0)
    with pytest.raises(ValueError, match="at least 2 vectors: got 1"):
        anisotropy(pool[:1])
    with pytest.raises(ValueError, match="zero vector has no cosine: row 3"):
        anisotropy(np.where(np.arange(30)[:, None] == 3, 0.0, pool))
    with pytest.raises(ValueError, match="every vector is the same"):
        effective_rank(np.ones((5, 3)))
