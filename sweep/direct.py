"""English intermediate training against direct target-language fine-tuning, from the result
rows of a run with target arms (`trainables.arms`): every system's score per arm, and per
target task and language the gap between the best zero-shot system that used an
intermediate task and the best direct arm, with the intervals and paired tests of
`sweep.comparisons`.

A system is (target task, intermediate task, arm); its score in a language is the mean over
its seeds of the task's headline there (a per-language arm's model of that language). An
average compares two systems on the languages the direct one was tested in, each language
a stratum of the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sweep.comparisons import AVERAGE, RESAMPLES, TESTS, paired_p_value
from sweep.errors import ResultsError
from sweep.results import headline_scores, reported
from sweep.statistics import holm, mean_interval
from trainables.arms import ZERO_SHOT
from trainables.tasks import BENCHMARKS, REGISTRY
from trainables.trial import NO_INTERMEDIATE

SYSTEM = ["target_task", "intermediate_task", "arm"]
CHECKPOINT = [*SYSTEM, "seed", "trial_id"]


def _with_arm(rows: pd.DataFrame) -> pd.DataFrame:
    """The eval rows, each with its arm (rows written before arms are zero-shot)."""
    rows = rows[rows["stage"].str.startswith("eval/")].copy()
    arm = rows["arm"].astype(object) if "arm" in rows else pd.Series(None, index=rows.index,
                                                                      dtype=object)
    rows["arm"] = arm.where(arm.notna(), ZERO_SHOT)
    return rows


def has_arms(rows: pd.DataFrame) -> bool:
    """Whether the run evaluated any target arm besides zero-shot."""
    return bool((_with_arm(rows)["arm"] != ZERO_SHOT).any())


def arm_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (system, seed, trial, language) of every eval stage, with `value`."""
    rows = reported(_with_arm(rows))
    if rows.empty:
        return pd.DataFrame(columns=[*CHECKPOINT, "language", "value"])
    scores = headline_scores(rows, [*CHECKPOINT, "language"], task_key="target_task")
    return scores.rename("value").reset_index()


def arm_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(intermediate task, arm) x target task: the mean over the languages each arm was
    tested in (of the mean over seeds), with each benchmark's mean over its tasks here
    where the run has them all."""
    scores = arm_scores(rows)
    if scores.empty:
        return pd.DataFrame()
    per_language = scores.groupby([*SYSTEM, "language"])["value"].mean()
    table = per_language.groupby(SYSTEM).mean().unstack("target_task")
    table.index = table.index.reorder_levels(["intermediate_task", "arm"])
    tasks = list(table.columns)
    for benchmark in BENCHMARKS:
        members = [name for name, task in REGISTRY.items() if benchmark in task.benchmarks]
        if set(members) <= set(tasks):
            table[benchmark] = table[members].mean(axis=1, skipna=False)
    return table.sort_index()


def _systems(rows: pd.DataFrame, predictions: pd.DataFrame | None,
             ) -> dict[tuple[str, str, str], dict[str, pd.DataFrame]]:
    """system -> language -> its kept examples of the reported split, over every seed."""
    if predictions is None or predictions.empty:
        return {}
    rows = _with_arm(rows)
    arm_of = rows.groupby("stage")["arm"].first()
    split = reported(rows).groupby("task")["split"].first()
    kept = predictions[predictions["stage"].isin(arm_of.index)].copy()
    kept = kept[kept["split"] == kept["task"].map(split)]
    kept["arm"] = kept["stage"].map(arm_of)
    return {system: dict(tuple(examples.groupby("language")))
            for system, examples in kept.groupby(SYSTEM)}


def _best(means: pd.Series) -> tuple[str, str] | None:
    """The (intermediate, arm) of the highest mean; None for no systems."""
    return None if means.empty else means.idxmax()


def direct_gaps(rows: pd.DataFrame, predictions: pd.DataFrame | None = None,
                test: str = "bootstrap", resamples: int = RESAMPLES) -> pd.DataFrame:
    """(target task, language) -> the best zero-shot system with an intermediate task and
    the best direct arm (their names, means over seeds and 95% intervals), `difference`
    (zero-shot minus direct, in points), and from the kept `predictions` the `test`'s
    two-sided `p_value` of that difference and `p_holm` over the table. The `avg` row
    compares the best of each on the languages the direct system was tested in."""
    if test not in TESTS:
        raise ResultsError(f"test: got {test!r}; allowed: {', '.join(TESTS)}")
    scores = arm_scores(rows)
    systems = _systems(rows, predictions)
    out = []
    for target, of_target in scores.groupby("target_task"):
        zero_shot = of_target[(of_target["arm"] == ZERO_SHOT)
                              & (of_target["intermediate_task"] != NO_INTERMEDIATE)]
        direct = of_target[of_target["arm"] != ZERO_SHOT]
        if zero_shot.empty or direct.empty:
            continue
        languages = list(dict.fromkeys(direct["language"]))
        for language in [*languages, AVERAGE]:
            chosen = _pair(zero_shot, direct, language)
            if chosen is None:
                continue
            (zs_name, zs_seeds), (d_name, d_seeds), shown = chosen
            zs, dr = mean_interval(zs_seeds), mean_interval(d_seeds)
            p_value = paired_p_value(
                TESTS[test], _restricted(systems.get((target, *zs_name), {}), shown),
                _restricted(systems.get((target, *d_name), {}), shown),
                language if language != AVERAGE else AVERAGE, resamples)
            out.append({"target_task": target, "language": language,
                        "zero_shot": zs_name[0], "zero_shot_mean": zs.mean,
                        "zero_shot_low": zs.low, "zero_shot_high": zs.high,
                        "direct": f"{d_name[1]} / {d_name[0]}", "direct_mean": dr.mean,
                        "direct_low": dr.low, "direct_high": dr.high,
                        "difference": zs.mean - dr.mean, "p_value": p_value})
    if not out:
        return pd.DataFrame()
    table = pd.DataFrame(out).set_index(["target_task", "language"])
    table["p_holm"] = holm(table["p_value"].tolist())
    return table


def _restricted(by_language: dict[str, pd.DataFrame], languages: list[str]) -> dict:
    return {language: by_language[language] for language in languages if language in by_language}


def _seed_means(scores: pd.DataFrame, languages: list[str]) -> pd.Series:
    """(intermediate, arm) -> per seed, the mean over `languages` (systems tested in all of
    them only). A seed of a per-language arm is one model per language, each its own trial."""
    scores = scores[scores["language"].isin(languages)]
    complete = scores.groupby(["intermediate_task", "arm", "seed"], dropna=False)
    per_seed = complete["value"].agg(["mean", "count"])
    per_seed = per_seed[per_seed["count"] == len(languages)]["mean"]
    return per_seed.groupby(level=["intermediate_task", "arm"]).apply(list)


def _pair(zero_shot: pd.DataFrame, direct: pd.DataFrame, language: str) -> tuple | None:
    """The best zero-shot and the best direct system in `language` (or, for the average,
    on the languages the best direct system covers), with their per-seed scores."""
    if language != AVERAGE:
        languages = [language]
        direct_seeds = _seed_means(direct, languages)
    else:
        by_system = direct.groupby(["intermediate_task", "arm"])["language"].agg(
            lambda found: list(dict.fromkeys(found)))
        candidates = {system: _seed_means(direct[(direct["intermediate_task"] == system[0])
                                                 & (direct["arm"] == system[1])], covered)
                      for system, covered in by_system.items()}
        direct_seeds = pd.Series({system: seeds.iloc[0] for system, seeds in candidates.items()
                                  if not seeds.empty}, dtype=object)
        if direct_seeds.empty:
            return None
        best_direct = _best(direct_seeds.map(np.mean))
        languages = by_system[best_direct]
        if len(languages) < 2:
            return None  # one language: its own row says it
    zero_seeds = _seed_means(zero_shot, languages)
    if zero_seeds.empty or direct_seeds.empty:
        return None
    best_zero, best_direct = _best(zero_seeds.map(np.mean)), _best(direct_seeds.map(np.mean))
    return ((best_zero, zero_seeds[best_zero]), (best_direct, direct_seeds[best_direct]),
            languages)


def named_tables(rows: pd.DataFrame, predictions: pd.DataFrame | None = None,
                 test: str = "bootstrap", resamples: int = RESAMPLES) -> dict[str, pd.DataFrame]:
    """`sweep results --arms`: both tables by title, the empty ones left out."""
    named = {"intermediate task x arm x target task (mean over the languages each arm was "
             "tested in)": arm_table(rows),
             "best zero-shot with an intermediate task against the best direct arm (mean over "
             f"seeds, 95% interval; paired {test} p-values, Holm-adjusted over the table)":
             direct_gaps(rows, predictions, test, resamples)}
    return {title: table for title, table in named.items() if not table.empty}
