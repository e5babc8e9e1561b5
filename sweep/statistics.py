"""The statistics a comparison needs: a mean over seeds with its interval, paired tests of
two systems on the same test examples (over examples and seeds), Welch's test of two
independent samples (two base models' seeds), Holm's correction over a table of tests, an
equivalence test (TOST) of repeated measurements, and XTREME's cross-lingual transfer gap.

Scores are percentages, as everywhere in the engine. A system's per-example scores are a
(seeds, examples) array: one row per trained seed, one column per test example (1/0 for
accuracy, per-example F1 for QA), every row over the same examples in the same order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval; NaN bounds from fewer than two values."""

    mean: float
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class PairedTest:
    """Candidate minus baseline: the observed difference, its interval and a two-sided
    p-value."""

    difference: float
    low: float
    high: float
    p_value: float


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean over seeds with Student's t interval (the seeds are the sample)."""
    array = np.asarray(values, dtype=float)
    count, mean = len(array), float(array.mean()) if len(array) else float("nan")
    if count < 2:
        return Interval(mean, float("nan"), float("nan"), count)
    spread = float(stats.sem(array))
    if spread == 0:  # every seed scored the same
        return Interval(mean, mean, mean, count)
    low, high = stats.t.interval(confidence, count - 1, loc=mean, scale=spread)
    return Interval(mean, float(low), float(high), count)


# One system's per-example outcomes in one stratum (a language): (seeds, examples) arrays of
# score and weight; the stratum's score is sum(score) / sum(weight) (a mean where weights
# are 1, seqeval's and BUCC's F1 from their counts otherwise).
Stratum = tuple[np.ndarray, np.ndarray]
_BATCH = 500  # resamples drawn at once: (batch, examples) count matrices stay small


def _matrix(scores: Sequence, name: str) -> np.ndarray:
    array = np.asarray(scores, dtype=float)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected (seeds, examples) scores, got shape {array.shape}")
    return array


def stratum(scores: Sequence, weights: Sequence | None = None, name: str = "scores") -> Stratum:
    """A (scores, weights) stratum; no weights: each example weighs 1 (a mean)."""
    matrix = _matrix(scores, name)
    weight = np.ones_like(matrix) if weights is None else _matrix(weights, f"{name} weights")
    if weight.shape != matrix.shape:
        raise ValueError(f"{name}: weights of shape {weight.shape} for scores {matrix.shape}")
    return matrix, weight


def _check_pairs(candidate: Sequence[Stratum], baseline: Sequence[Stratum]) -> None:
    if len(candidate) != len(baseline) or not candidate:
        raise ValueError(f"candidate and baseline need the same strata: {len(candidate)} and "
                         f"{len(baseline)}")
    for ours, theirs in zip(candidate, baseline, strict=True):
        if ours[0].shape[1] != theirs[0].shape[1]:
            raise ValueError(f"candidate and baseline must score the same examples: "
                             f"{ours[0].shape[1]} and {theirs[0].shape[1]} examples")
    for system, name in ((candidate, "candidate"), (baseline, "baseline")):
        if len({scores.shape[0] for scores, _ in system}) > 1:
            raise ValueError(f"{name}: every stratum needs the same seeds")


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator),
                     where=denominator != 0)


def _counts(rng: np.random.Generator, draws: int, size: int) -> np.ndarray:
    """(draws, size) counts of `size` picks with replacement from `size` items per draw
    (a bootstrap resample as counts; bincount, as multinomial is slow over many items)."""
    picks = rng.integers(0, size, (draws, size)) + np.arange(draws)[:, np.newaxis] * size
    return np.bincount(picks.ravel(), minlength=draws * size).reshape(draws, size).astype(float)


def _score(system: Sequence[Stratum]) -> float:
    """The mean over strata of each stratum's score over all its seeds and examples."""
    return float(np.mean([_ratio(np.array(s.sum()), np.array(w.sum())) for s, w in system]))


def paired_bootstrap_strata(
    candidate: Sequence[Stratum], baseline: Sequence[Stratum], resamples: int = 10_000,
    confidence: float = CONFIDENCE, seed: int = 0,
) -> PairedTest:
    """Bootstrap of the difference in score (the mean over strata of each stratum's score),
    resampling each stratum's test examples (the same ones for both systems: they are
    paired) and, independently, each system's seeds (separate training runs, the same draw
    in every stratum: a seed is one model evaluated in every language). Percentile
    interval; the p-value is twice the smaller share of resampled differences on either
    side of zero, counting the observed one (so never 0)."""
    _check_pairs(candidate, baseline)
    rng = np.random.default_rng(seed)
    seeds = (candidate[0][0].shape[0], baseline[0][0].shape[0])
    differences = []
    for start in range(0, resamples, _BATCH):
        batch = min(_BATCH, resamples - start)
        seed_counts = [_counts(rng, batch, n) for n in seeds]
        total = np.zeros(batch)
        for ours, theirs in zip(candidate, baseline, strict=True):
            counts = _counts(rng, batch, ours[0].shape[1])
            for sign, (scores, weights), picked in ((1, ours, seed_counts[0]),
                                                    (-1, theirs, seed_counts[1])):
                numerator = ((picked @ scores) * counts).sum(1)
                if (weights == 1).all():  # a mean: every resample weighs seeds x examples
                    denominator = np.full(batch, float(scores.size))
                else:
                    denominator = ((picked @ weights) * counts).sum(1)
                total += sign * _ratio(numerator, denominator)
        differences.append(total / len(candidate))
    resampled = np.concatenate(differences)
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    # (k + 1) / (B + 1): a resampled distribution that never crosses zero says p < 1 / B,
    # not p = 0.
    share = min((resampled <= 0).sum(), (resampled >= 0).sum())
    p_value = min(1.0, 2 * float(share + 1) / (resamples + 1))
    return PairedTest(_score(candidate) - _score(baseline), float(low), float(high), p_value)


def paired_bootstrap(
    candidate: Sequence, baseline: Sequence, resamples: int = 10_000,
    confidence: float = CONFIDENCE, seed: int = 0,
) -> PairedTest:
    """`paired_bootstrap_strata` of two (seeds, examples) score arrays, one stratum of
    equally weighted examples: the difference in mean score."""
    return paired_bootstrap_strata([stratum(candidate, name="candidate")],
                                   [stratum(baseline, name="baseline")], resamples,
                                   confidence, seed)


def paired_permutation_strata(
    candidate: Sequence[Stratum], baseline: Sequence[Stratum], resamples: int = 10_000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of a paired permutation test: each example's two systems (their
    seed means) swap places or not; the statistic is the difference in score (the mean over
    strata of each stratum's score). Exact over every assignment where 2**examples <=
    `resamples`, else from `resamples` random ones (the observed one counted among them)."""
    _check_pairs(candidate, baseline)
    pairs = [(ours[0].mean(0), ours[1].mean(0), theirs[0].mean(0), theirs[1].mean(0))
             for ours, theirs in zip(candidate, baseline, strict=True)]
    bounds = np.cumsum([0, *(len(pair[0]) for pair in pairs)])
    examples = int(bounds[-1])  # a Python int: 2 ** a numpy integer overflows to 0

    def statistic(swapped: np.ndarray) -> np.ndarray:
        total = np.zeros(len(swapped))
        for (our_s, our_w, their_s, their_w), lo, hi in zip(pairs, bounds, bounds[1:],
                                                          strict=False):
            mask = swapped[:, lo:hi]
            total += (_ratio(np.where(mask, their_s, our_s).sum(1),
                             np.where(mask, their_w, our_w).sum(1))
                      - _ratio(np.where(mask, our_s, their_s).sum(1),
                               np.where(mask, our_w, their_w).sum(1)))
        return total / len(pairs)

    observed = abs(statistic(np.zeros((1, examples), dtype=bool))[0]) - 1e-12
    if 2 ** examples <= resamples:
        every = np.array(list(itertools.product((False, True), repeat=examples)))
        return float((np.abs(statistic(every)) >= observed).mean())
    rng = np.random.default_rng(seed)
    extreme = 0
    for start in range(0, resamples - 1, _BATCH):
        batch = min(_BATCH, resamples - 1 - start)
        extreme += int((np.abs(statistic(rng.random((batch, examples)) < 0.5))
                        >= observed).sum())
    return float((extreme + 1) / resamples)


def paired_permutation(
    candidate: Sequence, baseline: Sequence, resamples: int = 10_000, seed: int = 0,
) -> float:
    """`paired_permutation_strata` of two (seeds, examples) score arrays: a sign-flip test
    on the per-example differences of the seed means."""
    return paired_permutation_strata([stratum(candidate, name="candidate")],
                                     [stratum(baseline, name="baseline")], resamples, seed)


def welch(candidate: Sequence[float], baseline: Sequence[float],
          confidence: float = CONFIDENCE) -> PairedTest:
    """Candidate minus baseline mean of two independent samples (two base models' seeds):
    Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom), its interval
    and two-sided p-value; NaN interval and p-value with fewer than two values a side or no
    variance in either."""
    ours, theirs = (np.asarray(values, dtype=float) for values in (candidate, baseline))
    difference = float(ours.mean() - theirs.mean())
    if min(len(ours), len(theirs)) < 2 or (ours.var() == 0 and theirs.var() == 0):
        return PairedTest(difference, float("nan"), float("nan"), float("nan"))
    result = stats.ttest_ind(ours, theirs, equal_var=False)
    interval = result.confidence_interval(confidence)
    return PairedTest(difference, float(interval.low), float(interval.high),
                      float(result.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input's order (NaN stays NaN, uncounted)."""
    values = np.asarray(p_values, dtype=float)
    known = np.flatnonzero(~np.isnan(values))
    adjusted = values.copy()
    running = 0.0
    for rank, position in enumerate(known[np.argsort(values[known], kind="stable")]):
        running = max(running, min(1.0, (len(known) - rank) * values[position]))
        adjusted[position] = running
    return adjusted.tolist()


def transfer_gap(scores: dict[str, float], source: str = "en") -> float:
    """XTREME's cross-lingual transfer gap: the score in `source` minus the mean over the
    other languages."""
    others = [value for language, value in scores.items() if language != source]
    if source not in scores or not others:
        return float("nan")
    return scores[source] - sum(others) / len(others)


@dataclass(frozen=True)
class Equivalence:
    """An equivalence test of candidate against baseline, relative to the baseline's mean:
    the relative difference of means, its (1 - 2 alpha) interval, the larger one-sided
    p-value, the verdict (p_value < alpha: equivalent within +-margin) and the margin."""

    difference: float
    low: float
    high: float
    p_value: float
    equivalent: bool
    margin: float


def tost(
    candidate: Sequence[float], baseline: Sequence[float], margin: float = 0.02,
    alpha: float = 0.05,
) -> Equivalence:
    """Schuirmann's two one-sided tests that candidate and baseline (e.g. throughput of two
    checkpoints over repeated measurements) have equal means up to a relative margin.

    The margin is relative to the baseline's mean, as "within 2%" is read: with d the
    difference of means and b the baseline's mean, H0 is d <= -margin b or d >= margin b,
    each side tested by Welch's t (unequal variances, Welch-Satterthwaite degrees of
    freedom), b taken as known. `difference`, `low` and `high` are divided by b (so
    `difference` is candidate mean / baseline mean - 1); the decision is the interval's:
    equivalent exactly when -margin < low and high < margin. Needs at least 2 values per
    side and a positive baseline mean (a timing, a throughput, a score). With no variance
    on either side the means are taken as exact: the interval is the difference alone and
    each one-sided p-value is 0 if it lies strictly inside that bound, else 1 (the limit of
    Welch's t as both variances go to 0)."""
    ours, theirs = (np.asarray(values, dtype=float) for values in (candidate, baseline))
    for values, name in ((ours, "candidate"), (theirs, "baseline")):
        if values.ndim != 1 or len(values) < 2:
            raise ValueError(f"{name}: an equivalence test needs at least 2 values, got "
                             f"shape {values.shape}")
        if not np.isfinite(values).all():
            raise ValueError(f"{name}: non-finite values")
    if not margin > 0 or not 0 < alpha < 0.5:
        raise ValueError(f"margin must be > 0 and alpha in (0, 0.5): got {margin}, {alpha}")
    scale = float(theirs.mean())
    if not scale > 0:
        raise ValueError(f"baseline: a relative margin needs a positive mean, got {scale}")
    difference, bound = float(ours.mean()) - scale, margin * scale
    variances = (ours.var(ddof=1) / len(ours), theirs.var(ddof=1) / len(theirs))
    spread = float(np.sqrt(sum(variances)))
    if spread == 0:
        p_value = 0.0 if abs(difference) < bound else 1.0
        low = high = difference
    else:
        freedom = sum(variances) ** 2 / sum(v**2 / (len(x) - 1) for v, x in
                                            zip(variances, (ours, theirs), strict=True))
        above = stats.t.sf((difference + bound) / spread, freedom)  # H0: d <= -bound
        below = stats.t.cdf((difference - bound) / spread, freedom)  # H0: d >= bound
        p_value = float(max(above, below))
        half = float(stats.t.ppf(1 - alpha, freedom)) * spread
        low, high = difference - half, difference + half
    return Equivalence(difference / scale, low / scale, high / scale, p_value,
                       bool(p_value < alpha), margin)
