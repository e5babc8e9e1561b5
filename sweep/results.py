"""Result rows: tidy long parquet files under the storage path, and the tables made from them.

Every evaluation writes one row per (checkpoint, task, language, split, metric). `load(path)`
reads a finished (or partly finished) run back with no cluster running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sweep.errors import CorruptStateError, ResultsError
from sweep.plan import ARM_MARK
from trainables.storage import CorruptFile, Location
from trainables.tasks import BENCHMARK_SUBSCORES, BENCHMARKS, REGISTRY, Task

# Zero-shot evaluation stages: a target arm's stages carry the arm after the task
# (`sweep.plan.stage_name`); rows written before arms are zero-shot too.
ZERO_SHOT_EVAL = rf"eval/[^{ARM_MARK}]+$"
ROWS_DIR = "rows"
TRIALS_DIR = "trials"
CURVES_DIR = "curves"


def read_table(file: Location) -> pd.DataFrame:
    """One parquet of a run; one that does not parse (truncated, corrupt) is a
    CorruptStateError naming it."""
    try:
        return file.read_parquet()
    except CorruptFile as error:
        raise CorruptStateError(f"{error}; it was left as it is") from None


def read_folder(storage: str | Path | Location, folder: str, what: str) -> pd.DataFrame:
    """Every parquet in one folder of a run, as one frame; none is a FileNotFoundError
    naming `what`."""
    directory = Location.of(storage).join(folder)
    files = directory.files(".parquet")
    if not files:
        raise FileNotFoundError(f"no {what} under {directory}")
    return pd.concat([read_table(file) for file in files], ignore_index=True)


def load(storage: str | Path | Location) -> pd.DataFrame:
    """All result rows of a run (a local path or a cloud URI), one per (checkpoint, task,
    language, split, metric)."""
    return read_folder(storage, ROWS_DIR, "result rows")


def load_trials(storage: str | Path | Location) -> pd.DataFrame:
    """Tune's per-trial dataframe of every training stage, with a `stage` column."""
    return read_folder(storage, TRIALS_DIR, "trial tables")


def load_curves(storage: str | Path | Location) -> pd.DataFrame:
    """Every result each trial of every training stage reported: its learning curve, with
    the trial's stage, intermediate task, learning rate, seed and `stopped_early`."""
    return read_folder(storage, CURVES_DIR, "learning curves")


def task_entries(rows: pd.DataFrame) -> dict[str, Task]:
    """The registry entry of every task the rows name; an unknown one is an error, since
    its metric and split would be guesses."""
    unknown = sorted(set(rows["task"]) - set(REGISTRY))
    if unknown:
        raise ResultsError(f"result rows name task(s) the registry does not know: "
                         f"{', '.join(unknown)}; known tasks: {', '.join(sorted(REGISTRY))}")
    return {name: REGISTRY[name] for name in set(rows["task"])}


def zero_shot_evaluations(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of zero-shot evaluation stages (English training, every language)."""
    return rows[rows["stage"].str.match(ZERO_SHOT_EVAL)]


def reported(rows: pd.DataFrame) -> pd.DataFrame:
    """Each task's test rows, or its dev rows where the run evaluated dev only."""
    has_test = rows.groupby("task")["split"].transform(lambda splits: (splits == "test").any())
    return rows[rows["split"] == has_test.map({True: "test", False: "dev"})]


def headline_scores(rows: pd.DataFrame, keys: list[str], task_key: str = "task") -> pd.Series:
    """Each group's headline (`Task.headline`, QA's (F1 + EM) / 2) of the mean of each of its
    metrics, indexed by `keys`; `task_key` is the key that names the task."""
    entries = task_entries(rows)
    levels = list(range(len(keys)))
    position = keys.index(task_key)
    means = rows.groupby([*keys, "metric"], dropna=False)["value"].mean()
    return means.groupby(level=levels, dropna=False).apply(
        lambda scores: entries[scores.name[position]].headline(scores.droplevel(levels)))


def _pivot(rows: pd.DataFrame, kind: str, index: list[str], columns: str) -> pd.DataFrame:
    """Mean of each task's own metric on its reported split (`reported`) of `kind` stages,
    as index x columns, with the mean over columns as `avg`."""
    rows = reported(zero_shot_evaluations(rows) if kind == "eval"
                    else rows[rows["stage"].str.startswith(f"{kind}/")])
    entries = task_entries(rows)
    rows = rows[rows["metric"] == rows["task"].map(lambda name: entries[name].metric)]
    table = rows.pivot_table(index=index, columns=columns, values="value", aggfunc="mean")
    table["avg"] = table.mean(axis=1)
    return table


def transfer_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Intermediate task x target task: each target's score averaged over its languages."""
    return _pivot(rows, "eval", ["intermediate_task"], "target_task")


def language_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(target task, intermediate task) x language, with the average over languages."""
    return _pivot(rows, "eval", ["target_task", "intermediate_task"], "language")


def retrieval_table(rows: pd.DataFrame) -> pd.DataFrame:
    """(retrieval task, intermediate encoder) x language."""
    return _pivot(rows, "retrieval", ["task", "intermediate_task"], "language")


def benchmark_scores(rows: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """XTREME, XTREME-R or XGLUE aggregate per intermediate task: each of the benchmark's
    tasks averaged over the languages the benchmark counts (its headline, `Task.headline`:
    XTREME's QA is (F1 + EM) / 2), and `score`, their mean, with the benchmark's sub-scores
    (XGLUE's `unique`: NC, QADSM, WPR, QAM) where all their tasks have results. `missing`
    lists the benchmark's tasks without results: a score over a partial set is not comparable
    with the benchmark's published numbers."""
    members = sorted(name for name, task in REGISTRY.items() if benchmark in task.benchmarks)
    counted = {(name, language) for name in members
               for language in REGISTRY[name].languages_in(benchmark)}
    rows = rows[(rows["stage"].str.match(ZERO_SHOT_EVAL)
                 | rows["stage"].str.startswith("retrieval/"))
                & pd.Series(list(zip(rows["task"], rows["language"], strict=True)),
                            index=rows.index).isin(counted)]
    if rows.empty:
        return pd.DataFrame()
    rows = reported(rows)
    # Per language first (the task's headline), then over languages, as XTREME does.
    per_language = headline_scores(rows, ["intermediate_task", "task", "language"])
    table = per_language.groupby(["intermediate_task", "task"]).mean().unstack("task")
    tasks = list(table.columns)
    table["score"] = table[tasks].mean(axis=1)
    for name, parts in BENCHMARK_SUBSCORES.get(benchmark, {}).items():
        if set(parts) <= set(tasks):
            table[name] = table[list(parts)].mean(axis=1, skipna=False)
    table["missing"] = table[tasks].apply(
        lambda row: ", ".join(t for t in members if t not in row.dropna().index) or "-", axis=1)
    return table


def tables(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The named tables `sweep results` prints; empty ones are left out."""
    made = {}
    stages = rows["stage"]
    if stages.str.match(ZERO_SHOT_EVAL).any():
        made["intermediate task x target task (mean over languages)"] = transfer_table(rows)
        made["target task x language"] = language_table(rows)
    if stages.str.startswith("retrieval/").any():
        made["retrieval: encoder x language"] = retrieval_table(rows)
    for benchmark in BENCHMARKS:
        scores = benchmark_scores(rows, benchmark)
        if not scores.empty:
            made[f"{benchmark.upper()} score per intermediate task"] = scores
    return made


def by_base_model(rows: pd.DataFrame, make: Callable[..., Any],
                  predictions: pd.DataFrame | None = None) -> Any:
    """`make(rows, predictions)` (a table, or tables by title) once per base model, each
    with that model's rows and kept predictions (those of its stages), each table gaining
    a leading `base_model` level, where the run compared several base models; else as it
    is. Scores of different base models are never averaged or tested together."""
    models = sorted(rows["base_model"].dropna().unique()) if "base_model" in rows else []
    if len(models) < 2:
        return make(rows, predictions)

    def of(model: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        chosen = rows[rows["base_model"] == model]
        return chosen, None if predictions is None else predictions[
            predictions["stage"].isin(set(chosen["stage"]))]

    parts = {model: make(*of(model)) for model in models}
    if not all(isinstance(part, dict) for part in parts.values()):
        return pd.concat(parts, names=["base_model"])
    titles = dict.fromkeys(title for part in parts.values() for title in part)
    return {title: pd.concat({model: part[title] for model, part in parts.items()
                              if title in part}, names=["base_model"]) for title in titles}


INTERVAL = "mean [95% CI]"


def _cells(table: pd.DataFrame, digits: int) -> tuple[list[str], list[list[str]], list[bool]]:
    """The header, the formatted rows and which columns hold numbers, the table's index as
    leading columns; a mean with an interval (`mean`, `low`, `high`) becomes one cell,
    `mean [low, high]`."""
    frame = table.reset_index()
    if {"mean", "low", "high"} <= set(frame.columns):
        def interval(row: pd.Series) -> str:
            if pd.isna(row["low"]):
                return f"{row['mean']:.{digits}f}"
            return f"{row['mean']:.{digits}f} [{row['low']:.{digits}f}, {row['high']:.{digits}f}]"

        frame.insert(list(frame.columns).index("mean"), INTERVAL,
                     frame.apply(interval, axis=1))
        frame = frame.drop(columns=["mean", "low", "high"])
    header = [str(column) for column in frame.columns]
    rows = [[("-" if pd.isna(v) else f"{v:.{digits}f}") if isinstance(v, float) else str(v)
             for v in values] for values in frame.itertuples(index=False)]
    numeric = [column == INTERVAL or pd.api.types.is_numeric_dtype(frame[column])
               for column in frame.columns]
    return header, rows, numeric


def to_markdown(table: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    header, rows, _ = _cells(table, digits)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$",
                   "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def to_latex(table: pd.DataFrame, digits: int = 2) -> str:
    """A booktabs tabular (needs \\usepackage{booktabs}); numbers right-aligned."""
    header, rows, numeric = _cells(table, digits)
    lines = [r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}",
             r"\toprule",
             " & ".join(_latex_escape(name) for name in header) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_escape(cell) for cell in cells) + r" \\" for cells in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)
