"""Does seeing help? Image-text intermediate training against text-only training, from the
result rows: per base model and intermediate task (with its modality and image control),
every target task's score averaged over its languages and every retrieval task's, as a mean
over seeds with a 95% interval; each image-text intermediate against the text-only control
on the same captions and against no intermediate task (the paired tests of
`sweep.comparisons`, Holm-adjusted); and two measures of the degradation a CLIP-aligned
encoder might reduce: the cross-lingual transfer gap (en - others) per intermediate, and
retrieval forgetting, the retrieval score of target checkpoints (`after-target/` stages)
minus that of the intermediate encoder they started from; and, with several base models (a
CLIP-distilled encoder beside XLM-R), each one's transfer gap against the first's.
"""

from __future__ import annotations

import pandas as pd

from sweep.comparisons import AVERAGE, RESAMPLES, checkpoint_scores, comparisons, transfer_gaps
from sweep.results import headline_scores, reported
from sweep.statistics import holm, mean_interval, welch
from trainables.tasks import REGISTRY, ImageControl
from trainables.tasks.schema import CONTROL_SUFFIXES
from trainables.trial import NO_INTERMEDIATE

KIND = ["modality", "image_control"]
NO_KIND = "-"  # the modality of no intermediate training


def has_images(rows: pd.DataFrame) -> bool:
    """Whether any checkpoint of the run trained on image-text data."""
    return "modality" in rows and rows["modality"].isin(["image_text", "mixed"]).any()


def text_only_control(intermediate: str) -> str | None:
    """The text-only control on the same captions as image-text task `intermediate`."""
    task = REGISTRY.get(intermediate)
    if task is None or task.images is None or task.image_control is ImageControl.TEXT_ONLY:
        return None
    control = (task.files_of or task.name) + CONTROL_SUFFIXES[ImageControl.TEXT_ONLY]
    return control if control in REGISTRY else None


def _kinds(rows: pd.DataFrame) -> pd.DataFrame:
    """(base model, intermediate task) -> its modality and image control."""
    kinds = rows.groupby(["base_model", "intermediate_task"], dropna=False)[KIND].first()
    return kinds.fillna(NO_KIND)


def _scores(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (base model, task, intermediate task, seed, trial): each target
    checkpoint's average over its languages and each retrieval encoder's."""
    frames = []
    for base_model, group in rows.groupby("base_model"):
        targets = checkpoint_scores(group)
        targets = targets[targets["language"] == AVERAGE].rename(columns={"target_task": "task"})
        retrieval = reported(group[group["stage"].str.startswith("retrieval/")])
        if not retrieval.empty:
            keys = ["task", "intermediate_task", "seed", "trial_id", "language"]
            per_language = headline_scores(retrieval, keys).rename("value").reset_index()
            targets = pd.concat([targets, per_language.groupby(
                keys[:-1], dropna=False)["value"].mean().reset_index()], ignore_index=True)
        frames.append(targets.assign(base_model=base_model))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _intervals(values: pd.Series) -> pd.Series:
    return pd.Series(vars(mean_interval(values.dropna().tolist()))).rename(
        {"count": "seeds"})


def modality_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(base model, intermediate task, modality, image control, task) -> seeds, mean over
    seeds of the task's average over languages, and its 95% interval."""
    scores = _scores(rows)
    if scores.empty:
        return pd.DataFrame()
    table = scores.groupby(["base_model", "intermediate_task", "task"])["value"].apply(
        _intervals).unstack()
    table = table.join(_kinds(rows), on=["base_model", "intermediate_task"])
    table = table.reset_index().set_index(
        ["base_model", "intermediate_task", *KIND, "task"]).sort_index()
    return table[["seeds", "mean", "low", "high"]]


def against_controls(rows: pd.DataFrame, predictions: pd.DataFrame | None = None,
                     test: str = "bootstrap", resamples: int = RESAMPLES) -> pd.DataFrame:
    """Each image-text intermediate against its text-only control (same captions, no
    image) and against no intermediate task, on every target task's average over languages:
    (base model, target task, intermediate task, baseline) -> seeds, mean, interval,
    difference and the paired test's p-values (Holm within each comparison's table)."""
    tables = []
    for base_model, group in rows.groupby("base_model"):
        # The intermediates some evaluated target checkpoint started from (a partial run, or
        # search.target.intermediate leaving a control out, has fewer).
        trained = set(checkpoint_scores(group)["intermediate_task"].dropna())
        pairs = {(candidate, control) for candidate in trained
                 if (control := text_only_control(candidate)) in trained}
        pairs |= {(candidate, NO_INTERMEDIATE) for candidate in trained
                  if REGISTRY.get(candidate) is not None and REGISTRY[candidate].images
                  and NO_INTERMEDIATE in trained}
        for baseline in sorted({baseline for _, baseline in pairs}):
            candidates = {candidate for candidate, other in pairs if other == baseline}
            kept = group[group["intermediate_task"].isin(candidates | {baseline})]
            kept_predictions = None if predictions is None else predictions[
                predictions["stage"].isin(set(group["stage"]))  # this base model's only
                & predictions["intermediate_task"].isin(candidates | {baseline})]
            table = comparisons(kept, baseline, kept_predictions, test, resamples)
            table = table.xs(AVERAGE, level="language", drop_level=False)
            table = table[table.index.get_level_values("intermediate_task") != baseline]
            tables.append(table.assign(base_model=base_model, baseline=baseline))
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables).reset_index()
    return table.set_index(["base_model", "target_task", "intermediate_task", "baseline"]
                           ).drop(columns="language").sort_index()


def gap_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(base model, target task, intermediate task, modality, image control) -> seeds and
    the mean over seeds of the transfer gap (en - others) with its interval."""
    frames = []
    for base_model, group in rows.groupby("base_model"):
        gaps = transfer_gaps(group).reset_index()
        if gaps.empty:
            continue
        table = gaps.groupby(["target_task", "intermediate_task"])["gap"].apply(
            _intervals).unstack()
        frames.append(table.reset_index().assign(base_model=base_model))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True).join(
        _kinds(rows), on=["base_model", "intermediate_task"])
    return table.set_index(["base_model", "target_task", "intermediate_task", *KIND]
                           ).sort_index()[["seeds", "mean", "low", "high"]]


def base_model_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """With several base models: (target task, intermediate task, modality, image control,
    base model) -> each base model's mean transfer gap over seeds against the first base
    model's (by name, `reference`): the difference (negative: it degrades less), Welch's
    95% interval and p over the seeds' gaps, and p Holm-adjusted over the table."""
    models = sorted(rows["base_model"].dropna().unique())
    if len(models) < 2:
        return pd.DataFrame()
    gaps = {model: transfer_gaps(rows[rows["base_model"] == model]).reset_index()
            for model in models}
    keys = ["target_task", "intermediate_task"]
    reference = dict(tuple(gaps[models[0]].groupby(keys)["gap"]))
    found = []
    for model in models[1:]:
        for key, gap in gaps[model].groupby(keys)["gap"]:
            if key not in reference:
                continue
            test = welch(gap.tolist(), reference[key].tolist())
            found.append({**dict(zip(keys, key, strict=True)), "base_model": model,
                          "reference": models[0], "seeds": len(gap), "gap": gap.mean(),
                          "reference_gap": reference[key].mean(), **vars(test)})
    if not found:
        return pd.DataFrame()
    table = pd.DataFrame(found).join(_kinds(rows).droplevel("base_model").groupby(
        level="intermediate_task").first(), on="intermediate_task")
    table["p_holm"] = holm(table["p_value"].tolist())
    return table.set_index([*keys, *KIND, "base_model"]).sort_index()


def _retrieval_means(rows: pd.DataFrame, prefix: str, keys: list[str]) -> pd.Series:
    """Each encoder's retrieval score averaged over its languages, of `prefix` stages."""
    rows = reported(rows[rows["stage"].str.startswith(prefix)])
    if rows.empty:
        return pd.Series(dtype=float)
    per_language = headline_scores(rows, [*keys, "language"])
    return per_language.groupby(level=list(range(len(keys))), dropna=False).mean()


def forgetting_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(base model, retrieval task, target task, intermediate task, modality, image
    control) -> `before`, the intermediate encoder's retrieval score (mean over languages
    and its seeds; the base model's for none), and, over the target checkpoints' seeds, the
    mean `after` target fine-tuning and the change (after - before) with its interval."""
    keys = ["base_model", "task", "intermediate_task"]
    before = _retrieval_means(rows, "retrieval/", [*keys, "seed"])
    after = _retrieval_means(rows, "after-target/", [*keys, "target_task", "seed", "trial_id"])
    if before.empty or after.empty:
        return pd.DataFrame()
    before = before.groupby(level=keys, dropna=False).mean().rename("before")
    frame = after.rename("after").reset_index().join(before, on=keys)
    frame["change"] = frame["after"] - frame["before"]
    groups = frame.groupby([*keys[:2], "target_task", "intermediate_task"], dropna=False)
    table = groups["change"].apply(_intervals).unstack()
    table["before"], table["after"] = groups["before"].first(), groups["after"].mean()
    table = table.reset_index().join(_kinds(rows), on=["base_model", "intermediate_task"])
    return table.set_index(["base_model", "task", "target_task", "intermediate_task", *KIND]
                           ).sort_index()[["seeds", "before", "after", "mean", "low", "high"]]


def named_tables(rows: pd.DataFrame, predictions: pd.DataFrame | None = None,
                 test: str = "bootstrap", resamples: int = RESAMPLES) -> dict[str, pd.DataFrame]:
    """`sweep results --vision`: its tables by title, the empty ones left out."""
    named = {
        "intermediate task (modality, image control) x task: mean over languages (mean over "
        "seeds, 95% interval)": modality_table(rows),
        "image-text intermediates against the text-only control on the same captions and "
        f"against none (paired {test} p-values, Holm-adjusted per baseline)":
        against_controls(rows, predictions, test, resamples),
        "cross-lingual transfer gap (en - others; mean over seeds, 95% interval)":
        gap_table(rows),
        "retrieval forgetting: after target fine-tuning minus the intermediate encoder "
        "(change: mean over target seeds, 95% interval)": forgetting_table(rows),
        "transfer gap of each base model against the first (difference: Welch's 95% "
        "interval and p over seeds, Holm-adjusted)": base_model_gaps(rows),
    }
    return {title: table for title, table in named.items() if not table.empty}
