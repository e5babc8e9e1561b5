"""The statistics a comparison needs: a mean over seeds with its interval, paired tests of
two systems on the same test examples (over examples and seeds), Holm's correction over a
table of tests, and XTREME's cross-lingual transfer gap.

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


def _matrix(scores: Sequence, name: str) -> np.ndarray:
    array = np.asarray(scores, dtype=float)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected (seeds, examples) scores, got shape {array.shape}")
    return array


def _paired(candidate: Sequence, baseline: Sequence) -> tuple[np.ndarray, np.ndarray]:
    ours, theirs = _matrix(candidate, "candidate"), _matrix(baseline, "baseline")
    if ours.shape[1] != theirs.shape[1]:
        raise ValueError(f"candidate and baseline must score the same examples: "
                         f"{ours.shape[1]} and {theirs.shape[1]} examples")
    return ours, theirs


def paired_bootstrap(
    candidate: Sequence, baseline: Sequence, resamples: int = 10_000,
    confidence: float = CONFIDENCE, seed: int = 0,
) -> PairedTest:
    """Bootstrap of the difference in mean score, resampling test examples (the same ones
    for both systems: they are paired) and, independently, each system's seeds (separate
    training runs). Percentile interval; the p-value is twice the smaller share of
    resampled differences on either side of zero."""
    ours, theirs = _paired(candidate, baseline)
    rng = np.random.default_rng(seed)
    examples = ours.shape[1]
    differences = np.empty(resamples)
    for index in range(resamples):
        picked = rng.integers(0, examples, examples)
        our_seeds = rng.integers(0, len(ours), len(ours))
        their_seeds = rng.integers(0, len(theirs), len(theirs))
        differences[index] = (ours[np.ix_(our_seeds, picked)].mean()
                              - theirs[np.ix_(their_seeds, picked)].mean())
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    p_value = min(1.0, 2 * min((differences <= 0).mean(), (differences >= 0).mean()))
    return PairedTest(float(ours.mean() - theirs.mean()), float(low), float(high), p_value)


def paired_permutation(
    candidate: Sequence, baseline: Sequence, resamples: int = 10_000, seed: int = 0,
) -> float:
    """Two-sided p-value of a paired permutation (sign-flip) test on the per-example
    differences of the seed means: exact over every assignment where 2**examples <=
    `resamples`, else from `resamples` random ones (the observed one counted among them)."""
    ours, theirs = _paired(candidate, baseline)
    differences = ours.mean(axis=0) - theirs.mean(axis=0)
    observed = abs(differences.mean())
    if 2 ** len(differences) <= resamples:
        signs = np.array(list(itertools.product((1, -1), repeat=len(differences))))
        return float((np.abs((signs * differences).mean(axis=1)) >= observed - 1e-12).mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice((1, -1), size=(resamples - 1, len(differences)))
    extreme = (np.abs((signs * differences).mean(axis=1)) >= observed - 1e-12).sum()
    return float((extreme + 1) / resamples)


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
