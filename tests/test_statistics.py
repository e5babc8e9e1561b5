"""Comparison statistics, checked by hand and against scipy on fixed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sweep.statistics import (
    Equivalence,
    Interval,
    holm,
    mean_interval,
    paired_bootstrap,
    paired_bootstrap_strata,
    paired_permutation,
    paired_permutation_strata,
    stratum,
    tost,
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


def _throughputs(shift: float, seed: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Sentences/s of a baseline checkpoint (8 repeats) and a candidate `shift` x faster and
    noisier (5 repeats): unequal sizes and variances, as Welch's test allows."""
    rng = np.random.default_rng(seed)
    return rng.normal(1000 * (1 + shift), 12, 5), rng.normal(1000, 5, 8)


def test_tost_one_sided_p_values_are_welchs_t_on_shifted_samples():
    for shift, margin in ((0.0, 0.02), (0.015, 0.02), (-0.03, 0.05), (0.04, 0.02)):
        candidate, baseline = _throughputs(shift)
        bound = margin * baseline.mean()
        # Lower test, H0: difference <= -bound, is "candidate + bound > baseline"; upper
        # test, H0: difference >= bound, is "candidate - bound < baseline".
        above = stats.ttest_ind(candidate + bound, baseline, equal_var=False,
                                alternative="greater")
        below = stats.ttest_ind(candidate - bound, baseline, equal_var=False,
                                alternative="less")
        result = tost(candidate, baseline, margin=margin)
        assert result.p_value == pytest.approx(max(above.pvalue, below.pvalue), rel=1e-12,
                                               abs=1e-15)
        assert result.difference == pytest.approx(candidate.mean() / baseline.mean() - 1,
                                                  rel=1e-12)
        # The (1 - 2 alpha) Welch interval of the difference, relative to the baseline.
        welch = stats.ttest_ind(candidate, baseline, equal_var=False).confidence_interval(0.9)
        assert result.low == pytest.approx(welch.low / baseline.mean(), rel=1e-12)
        assert result.high == pytest.approx(welch.high / baseline.mean(), rel=1e-12)
        assert result.margin == margin


def test_tost_decision_is_the_intervals_inside_the_margin():
    rng = np.random.default_rng(7)
    verdicts = set()
    for _ in range(300):
        candidate = rng.normal(100 * (1 + rng.normal(0, 0.02)), rng.uniform(0.1, 3), 4)
        baseline = rng.normal(100, rng.uniform(0.1, 3), int(rng.integers(2, 7)))
        for alpha in (0.05, 0.1):
            result = tost(candidate, baseline, alpha=alpha)
            assert result.equivalent == (result.p_value < alpha)
            assert result.equivalent == (result.low > -0.02 and result.high < 0.02)
            verdicts.add(result.equivalent)
    assert verdicts == {True, False}  # both verdicts were exercised


def test_tost_finds_equivalence_and_difference():
    rng = np.random.default_rng(8)
    same = tost(rng.normal(1000, 5, 10), rng.normal(1000, 5, 10))  # 0.5% noise, 10 repeats
    assert same.equivalent and same.p_value < 0.001 and -0.02 < same.low < same.high < 0.02
    faster = tost(*_throughputs(0.10))
    assert not faster.equivalent and faster.p_value > 0.99
    assert faster.low > 0.02 and faster.difference == pytest.approx(0.10, abs=0.02)
    # Too few repeats to tell: the interval is wider than the margin, not equivalent.
    assert not tost([990.0, 1010.0], [1000.0, 1005.0]).equivalent


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, constant sample
def test_tost_without_variance_takes_the_means_as_exact():
    assert tost([101.0, 101.0], [100.0, 100.0, 100.0]) == Equivalence(
        pytest.approx(0.01), pytest.approx(0.01), pytest.approx(0.01), 0.0, True, 0.02)
    outside = tost([103.0, 103.0], [100.0, 100.0])
    assert outside.p_value == 1.0 and not outside.equivalent
    assert tost([5.0, 5.0], [5.0, 5.0]).difference == 0.0
    # One side constant: Welch's degrees of freedom are the other side's n - 1.
    one = tost([100.0, 100.0, 100.0], [99.0, 100.0, 101.0])
    reference = stats.ttest_ind([102.0] * 3, [99.0, 100.0, 101.0], equal_var=False,
                                alternative="greater")
    assert one.p_value == pytest.approx(reference.pvalue, rel=1e-12)


def test_tost_refuses_what_it_cannot_test():
    with pytest.raises(ValueError, match="candidate: .* at least 2 values"):
        tost([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="baseline: .* at least 2 values"):
        tost([1.0, 2.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="baseline: non-finite"):
        tost([1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(ValueError, match="positive mean, got 0.0"):
        tost([1.0, 2.0], [-1.0, 1.0])
    with pytest.raises(ValueError, match="margin must be > 0"):
        tost([1.0, 2.0], [1.0, 2.0], margin=0)
    with pytest.raises(ValueError, match="alpha in"):
        tost([1.0, 2.0], [1.0, 2.0], alpha=0.5)


def test_welch_is_the_textbook_formula():
    from sweep.statistics import welch

    a, b = [3.0, 4.5, 5.0, 6.5], [1.0, 2.0, 2.5]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 3
    freedom = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    t = (np.mean(a) - np.mean(b)) / np.sqrt(va + vb)
    half = stats.t.ppf(0.975, freedom) * np.sqrt(va + vb)
    result = welch(a, b)
    assert result.difference == pytest.approx(np.mean(a) - np.mean(b))
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), freedom))
    assert (result.low, result.high) == pytest.approx((result.difference - half,
                                                       result.difference + half))
    assert np.isnan(welch([1.0], [2.0, 3.0]).p_value)  # one seed: no test
    assert np.isnan(welch([1.0, 1.0], [2.0, 2.0]).p_value)
