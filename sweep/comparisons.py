"""Comparisons of intermediate tasks against a baseline (`none`: no intermediate training),
from the result rows: every checkpoint's score, the mean over seeds with its interval and
the difference to the baseline, per target task and language and for each target's average
over languages, tested on the kept predictions (a paired bootstrap over test examples and
seeds, or a permutation test) with Holm's correction over the table; and XTREME's
cross-lingual transfer gap per checkpoint.

A checkpoint's score in a language is its task's headline (`Task.headline`: QA is
(F1 + EM) / 2) on the task's reported split (`sweep.results.reported`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sweep.errors import ResultsError
from sweep.predictions import seed_matrices, shared_ids
from sweep.results import headline_scores, reported, zero_shot_evaluations
from sweep.statistics import (
    Stratum,
    holm,
    mean_interval,
    paired_bootstrap_strata,
    paired_permutation_strata,
    transfer_gap,
)
from trainables.trial import NO_INTERMEDIATE

AVERAGE = "avg"  # the language label of a target's average over its languages
CHECKPOINT = ["target_task", "intermediate_task", "seed", "trial_id"]
RESAMPLES = 10_000


def _bootstrap(candidate: list[Stratum], baseline: list[Stratum], resamples: int) -> float:
    return paired_bootstrap_strata(candidate, baseline, resamples).p_value


# The tests `comparisons` can run on the kept predictions: (candidate strata, baseline
# strata, resamples) -> two-sided p-value.
TESTS: dict[str, Callable[[list[Stratum], list[Stratum], int], float]] = {
    "bootstrap": _bootstrap,
    "permutation": paired_permutation_strata,
}


def checkpoint_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (target task, intermediate task, seed, trial, language) of the eval
    stages, with `value`; each checkpoint also gets its average over languages (`avg`)."""
    rows = reported(zero_shot_evaluations(rows))
    if rows.empty:
        return pd.DataFrame(columns=[*CHECKPOINT, "language", "value"])
    per_language = headline_scores(rows, [*CHECKPOINT, "language"], task_key="target_task")
    scores = per_language.rename("value").reset_index()
    averages = scores.groupby(CHECKPOINT, dropna=False)["value"].mean().reset_index()
    return pd.concat([scores, averages.assign(language=AVERAGE)], ignore_index=True)


def without_default_baseline(rows: pd.DataFrame, baseline: str) -> bool:
    """Whether `baseline` is the default, `none`, and no zero-shot checkpoint started from
    the base model: a run with nothing to compare with it (views leave comparisons out; any
    other baseline the run lacks is an error, `comparisons`)."""
    return baseline == NO_INTERMEDIATE and baseline not in set(
        zero_shot_evaluations(rows)["intermediate_task"])


def comparisons(
    rows: pd.DataFrame, baseline: str = NO_INTERMEDIATE, predictions: pd.DataFrame | None = None,
    test: str = "bootstrap", resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """(target task, language, intermediate task) -> seeds, mean over seeds, its 95%
    interval (`low`, `high`: NaN from one seed), `difference`, the mean minus the baseline's
    mean in points (NaN where the baseline has no score there), and, from the kept
    `predictions` (`sweep.predictions`), the `test`'s two-sided `p_value` of that difference
    over test examples and seeds (an average over languages is tested with each language a
    stratum) and `p_holm`, Holm-adjusted over the table (NaN without predictions). A
    baseline no evaluated checkpoint started from is an error."""
    if test not in TESTS:
        raise ResultsError(f"test: got {test!r}; allowed: {', '.join(TESTS)}")
    if resamples < 1:
        raise ResultsError(f"resamples: got {resamples}; allowed: a positive number")
    scores = checkpoint_scores(rows)
    if baseline not in set(scores["intermediate_task"]):
        known = ", ".join(sorted(set(scores["intermediate_task"])))
        raise ResultsError(f"--compare {baseline}: no evaluated checkpoint started from "
                           f"{baseline!r}; the rows have: {known or 'no evaluation rows'}")
    table = scores.groupby(["target_task", "language", "intermediate_task"])["value"].apply(
        lambda values: pd.Series(vars(mean_interval(values.tolist())))).unstack()
    table = table.rename(columns={"count": "seeds"})
    base = table.xs(baseline, level="intermediate_task")["mean"]
    table["difference"] = table["mean"] - base.reindex(
        table.index.droplevel("intermediate_task")).to_numpy()
    systems = _systems(rows, predictions)
    table["p_value"] = [
        paired_p_value(TESTS[test], systems.get((target, intermediate), {}),
                 systems.get((target, baseline), {}), language, resamples)
        if intermediate != baseline else np.nan
        for target, language, intermediate in table.index]
    table["p_holm"] = holm(table["p_value"].tolist())
    return table[["seeds", "mean", "low", "high", "difference", "p_value", "p_holm"]]


def _systems(rows: pd.DataFrame, predictions: pd.DataFrame | None,
             ) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    """(target task, intermediate task) -> language -> its kept examples over every seed,
    of the eval stages' reported split (`reported`), as the scores."""
    if predictions is None or predictions.empty:
        return {}
    split = reported(zero_shot_evaluations(rows)).groupby("task")["split"].first()
    kept = zero_shot_evaluations(predictions)
    kept = kept[kept["split"] == kept["task"].map(split)]
    return {system: dict(tuple(examples.groupby("language")))
            for system, examples in kept.groupby(["target_task", "intermediate_task"])}


def paired_p_value(test: Callable[[list[Stratum], list[Stratum], int], float],
             candidate: dict[str, pd.DataFrame], baseline: dict[str, pd.DataFrame],
             language: str, resamples: int) -> float:
    """The test's p-value in one language, or over the languages both systems have with
    each a stratum (the average); NaN where either system kept no examples there."""
    languages = sorted(candidate.keys() & baseline.keys()) if language == AVERAGE \
        else [language] if language in candidate and language in baseline else []
    strata: tuple[list[Stratum], list[Stratum]] = ([], [])
    for name in languages:
        ids = shared_ids(candidate[name], baseline[name])
        if not ids:
            return np.nan
        strata[0].append(seed_matrices(candidate[name], ids))
        strata[1].append(seed_matrices(baseline[name], ids))
    if not languages:
        return np.nan
    try:
        return test(*strata, resamples)
    except ValueError:  # languages with different seeds: an average no paired test covers
        return np.nan


def transfer_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """(target task, intermediate task, seed, trial) -> `gap`: English minus the mean of the
    other languages, as XTREME reports it."""
    scores = checkpoint_scores(rows)
    scores = scores[scores["language"] != AVERAGE]
    gaps = scores.groupby(CHECKPOINT, dropna=False).apply(
        lambda group: transfer_gap(dict(zip(group["language"], group["value"], strict=True))),
        include_groups=False)
    return gaps.rename("gap").to_frame()
