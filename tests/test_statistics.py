"""Comparison statistics, checked by hand and against scipy on fixed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sweep.statistics import (
    Interval,
    holm,
    mean_interval,
    paired_bootstrap,
    paired_bootstrap_strata,
    paired_permutation,
    paired_permutation_strata,
    stratum,
    transfer_gap,
)


def test_mean_interval_is_students_t_over_seeds():
    interval = mean_interval([1.0, 2.0, 3.0, 4.0])
    # sem = 1.2909944 / 2, t(0.975, 3) = 3.1824463: 2.5 -+ 2.0542...
    assert interval.mean == 2.5 and interval.count == 4
    assert interval.low == pytest.approx(2.5 - 3.1824463 * 0.6454972, abs=1e-6)
    assert interval.high == pytest.approx(2.5 + 3.1824463 * 0.6454972, abs=1e-6)
    one = mean_interval([70.0])
    assert one.mean == 70.0 and math.isnan(one.low) and math.isnan(one.high)
    assert mean_interval([84.0, 84.0]) == Interval(84.0, 84.0, 84.0, 2)


def _systems(examples: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    baseline = (rng.random(examples) < 0.6).astype(float) * 100
    candidate = np.where(rng.random(examples) < 0.2, 100 - baseline, baseline)
    candidate[rng.random(examples) < 0.1] = 100.0  # a little better
    return candidate, baseline


def test_paired_bootstrap_of_one_seed_agrees_with_scipy():
    candidate, baseline = _systems()
    ours = paired_bootstrap(candidate, baseline, resamples=20_000, seed=0)
    reference = stats.bootstrap(
        (candidate, baseline), lambda a, b, axis: a.mean(axis) - b.mean(axis), paired=True,
        vectorized=True, n_resamples=20_000, method="percentile", rng=np.random.default_rng(0))
    assert ours.difference == pytest.approx(candidate.mean() - baseline.mean())
    low, high = reference.confidence_interval
    assert ours.low == pytest.approx(low, abs=0.5)  # points; two Monte Carlo estimates
    assert ours.high == pytest.approx(high, abs=0.5)
    assert ours.low < ours.difference < ours.high


def test_paired_bootstrap_widens_with_seed_noise_and_tests_the_sign():
    candidate, baseline = _systems()
    noisy = np.stack([candidate, np.roll(candidate, 7), np.where(candidate > 0, 0, 100.0)])
    one, three = (paired_bootstrap(scores, baseline, resamples=2000)
                  for scores in (candidate, noisy))
    assert three.high - three.low > one.high - one.low
    same = paired_bootstrap(baseline, baseline, resamples=500)
    assert same.difference == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="same examples: 300 and 299"):
        paired_bootstrap(candidate, baseline[:-1])


def test_exact_paired_permutation_agrees_with_scipy():
    rng = np.random.default_rng(3)
    baseline = rng.normal(60, 10, 12)
    candidate = baseline + rng.normal(3, 5, 12)
    reference = stats.permutation_test(
        (candidate, baseline), lambda a, b, axis: (a - b).mean(axis), vectorized=True,
        permutation_type="samples", n_resamples=np.inf, alternative="two-sided")
    assert paired_permutation(candidate, baseline) == pytest.approx(reference.pvalue)


def test_sampled_paired_permutation_agrees_with_scipy():
    candidate, baseline = _systems(examples=60)
    reference = stats.permutation_test(
        (candidate, baseline), lambda a, b, axis: (a - b).mean(axis), vectorized=True,
        permutation_type="samples", n_resamples=20_000, alternative="two-sided",
        rng=np.random.default_rng(0))
    assert paired_permutation(candidate, baseline, resamples=20_000) == pytest.approx(
        reference.pvalue, abs=0.01)


def test_holm_by_hand():
    # Sorted 0.01, 0.02, 0.03, 0.5 times 4, 3, 2, 1 -> 0.04, 0.06, 0.06 (monotone), 0.5.
    assert holm([0.03, 0.5, 0.01, 0.02, float("nan")])[:4] == pytest.approx(
        [0.06, 0.5, 0.04, 0.06])
    assert math.isnan(holm([0.2, float("nan")])[1])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_transfer_gap_is_english_minus_the_mean_of_the_others():
    assert transfer_gap({"en": 80.0, "de": 70.0, "zh": 60.0}) == pytest.approx(15.0)
    assert math.isnan(transfer_gap({"de": 70.0}))


def _weighted_systems(examples: int = 80, seed: int = 2) -> tuple[np.ndarray, ...]:
    """Per-sentence chunk counts of two taggers: score 2 x correct (x 100), weight chunks."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 6, examples).astype(float)
    baseline = 100 * 2 * rng.binomial(weights.astype(int), 0.5) / 2
    candidate = 100 * 2 * rng.binomial(weights.astype(int), 0.6) / 2
    return candidate, weights, baseline, weights.copy()


def test_weighted_bootstrap_of_a_ratio_agrees_with_scipy():
    candidate, candidate_weights, baseline, baseline_weights = _weighted_systems()
    ours = paired_bootstrap_strata([stratum(candidate, candidate_weights)],
                                   [stratum(baseline, baseline_weights)], resamples=20_000)

    def ratio_difference(cs, cw, bs, bw, axis):
        return cs.sum(axis) / cw.sum(axis) - bs.sum(axis) / bw.sum(axis)

    reference = stats.bootstrap(
        (candidate, candidate_weights, baseline, baseline_weights), ratio_difference,
        paired=True, vectorized=True, n_resamples=20_000, method="percentile",
        rng=np.random.default_rng(0))
    assert ours.difference == pytest.approx(
        candidate.sum() / candidate_weights.sum() - baseline.sum() / baseline_weights.sum())
    low, high = reference.confidence_interval
    assert ours.low == pytest.approx(low, abs=0.5) and ours.high == pytest.approx(high, abs=0.5)


def test_exact_weighted_permutation_agrees_with_scipy():
    candidate, candidate_weights, baseline, baseline_weights = _weighted_systems(examples=11)
    ours = paired_permutation_strata([stratum(candidate, candidate_weights)],
                                     [stratum(baseline, baseline_weights)])
    # Each sample's observation is a (score, weight) column: a swap moves both.
    reference = stats.permutation_test(
        (np.stack([candidate, candidate_weights]), np.stack([baseline, baseline_weights])),
        lambda a, b, axis: a[..., 0, :].sum(-1) / a[..., 1, :].sum(-1)
        - b[..., 0, :].sum(-1) / b[..., 1, :].sum(-1),
        vectorized=True, permutation_type="samples", n_resamples=np.inf,
        alternative="two-sided", axis=-1)
    assert ours == pytest.approx(reference.pvalue)


def test_strata_average_their_differences_and_share_seed_draws():
    candidate, _ = _systems(examples=100, seed=4)
    baseline, _ = _systems(examples=100, seed=5)
    one = [stratum(np.stack([candidate, candidate[::-1]]))]
    two = [stratum(np.stack([baseline, baseline])), stratum(np.stack([baseline, candidate]))]
    with pytest.raises(ValueError, match="same strata: 1 and 2"):
        paired_bootstrap_strata(one, two)
    both = paired_bootstrap_strata(one * 2, two, resamples=1000)
    assert both.difference == pytest.approx(
        ((candidate.mean() - baseline.mean()) + (candidate.mean()
                                                 - (baseline.mean() + candidate.mean()) / 2)) / 2)
    same = paired_permutation_strata(two, two, resamples=500)
    assert same == 1.0
    with pytest.raises(ValueError, match="baseline: every stratum needs the same seeds"):
        paired_bootstrap_strata(one * 2, [two[0], stratum(baseline)])
