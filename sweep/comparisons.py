"""Comparisons of intermediate tasks against a baseline (`none`: no intermediate training),
from the result rows: every checkpoint's score, the mean over seeds with its interval and
the difference to the baseline, per target task and language and for each target's average
over languages; and XTREME's cross-lingual transfer gap per checkpoint.

A checkpoint's score in a language is its task's headline (`Task.headline`: QA is
(F1 + EM) / 2) on the task's reported split (`sweep.results.reported`).
"""

from __future__ import annotations

import pandas as pd

from sweep.errors import ResultsError
from sweep.results import headline_scores, reported
from sweep.statistics import mean_interval, transfer_gap
from trainables.trial import NO_INTERMEDIATE

AVERAGE = "avg"  # the language label of a target's average over its languages
CHECKPOINT = ["target_task", "intermediate_task", "seed", "trial_id"]


def checkpoint_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (target task, intermediate task, seed, trial, language) of the eval
    stages, with `value`; each checkpoint also gets its average over languages (`avg`)."""
    rows = reported(rows[rows["stage"].str.startswith("eval/")])
    if rows.empty:
        return pd.DataFrame(columns=[*CHECKPOINT, "language", "value"])
    per_language = headline_scores(rows, [*CHECKPOINT, "language"], task_key="target_task")
    scores = per_language.rename("value").reset_index()
    averages = scores.groupby(CHECKPOINT, dropna=False)["value"].mean().reset_index()
    return pd.concat([scores, averages.assign(language=AVERAGE)], ignore_index=True)


def comparisons(rows: pd.DataFrame, baseline: str = NO_INTERMEDIATE) -> pd.DataFrame:
    """(target task, language, intermediate task) -> seeds, mean over seeds, its 95%
    interval (`low`, `high`: NaN from one seed) and `difference`, the mean minus the
    baseline's mean in points (NaN where the baseline has no score there). A baseline no
    evaluated checkpoint started from is an error."""
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
    return table[["seeds", "mean", "low", "high", "difference"]]


def transfer_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """(target task, intermediate task, seed, trial) -> `gap`: English minus the mean of the
    other languages, as XTREME reports it."""
    scores = checkpoint_scores(rows)
    scores = scores[scores["language"] != AVERAGE]
    gaps = scores.groupby(CHECKPOINT, dropna=False).apply(
        lambda group: transfer_gap(dict(zip(group["language"], group["value"], strict=True))),
        include_groups=False)
    return gaps.rename("gap").to_frame()
