"""Figures of a run's results: the gain of each intermediate task over the baseline, the
target task x language scores, per-language bars with intervals, every trial's learning
curve with ASHA's stops, and the cost of each stage.

Figures are `matplotlib.figure.Figure` objects made without pyplot: no display, no global
figure registry, nothing to close; saving renders them with the Agg (PNG) and SVG canvases.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from sweep.comparisons import AVERAGE, comparisons, without_default_baseline
from sweep.results import ZERO_SHOT_EVAL, language_table
from trainables.tasks import REGISTRY
from trainables.trial import NO_INTERMEDIATE

SIGNIFICANCE = 0.05  # Holm-adjusted p below this marks a cell
MARK = "*"
FORMATS = ("png", "svg")
INTERMEDIATE_TRIAL = "(training the intermediate)"  # a learning curve's key outside targets


def significance_marks(table: pd.DataFrame) -> pd.Series:
    """`MARK` where the Holm-adjusted p-value (`p_holm`) is below `SIGNIFICANCE`, else ""
    (also where the table has no p-values, or the p-value is NaN: nothing was tested)."""
    if "p_holm" not in table:
        return pd.Series("", index=table.index)
    return table["p_holm"].map(lambda p: MARK if pd.notna(p) and p < SIGNIFICANCE else "")


def _cell_size(rows: int, columns: int) -> tuple[float, float]:
    return max(4.0, 1.1 * columns + 3.0), max(2.5, 0.5 * rows + 1.5)


def _heatmap(figure: Figure, values: pd.DataFrame, labels: pd.DataFrame, title: str,
             colorbar: str, **colors) -> None:
    """`values` as coloured cells (NaN blank), each annotated with its `labels` text."""
    axes = figure.subplots()
    image = axes.imshow(np.ma.masked_invalid(values.to_numpy(dtype=float)), aspect="auto",
                        **colors)
    axes.set_xticks(range(values.shape[1]), [str(c) for c in values.columns], rotation=45,
                    ha="right")
    axes.set_yticks(range(values.shape[0]), [str(i) for i in values.index])
    for (row, column), text in np.ndenumerate(labels.to_numpy()):
        if text:
            red, green, blue, _ = image.cmap(image.norm(values.iat[row, column]))
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived luminance
            axes.text(column, row, text, ha="center", va="center", fontsize=8,
                      color="white" if dark else "black")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label=colorbar)


def transfer_gain(comparison: pd.DataFrame, baseline: str = NO_INTERMEDIATE) -> Figure | None:
    """Intermediate task x target task: each target's average over languages minus the
    baseline's, in points, annotated with the difference and the significance mark."""
    table = comparison.xs(AVERAGE, level="language")
    table = table[table.index.get_level_values("intermediate_task") != baseline]
    if table.empty:
        return None
    differences = table["difference"].unstack("target_task")
    labels = pd.Series([f"{d:+.2f}{m}" if pd.notna(d) else "" for d, m in
                        zip(table["difference"], significance_marks(table), strict=True)],
                       index=table.index).unstack("target_task").fillna("")
    largest = float(np.nanmax(np.abs(differences.to_numpy(dtype=float)), initial=0.0)) or 1.0
    figure = Figure(figsize=_cell_size(*differences.shape), layout="constrained")
    _heatmap(figure, differences, labels,
             f"gain over {baseline} (mean over languages; {MARK}: Holm p < {SIGNIFICANCE})",
             "points", cmap="RdBu", norm=TwoSlopeNorm(0.0, -largest, largest))
    return figure


def target_language(rows: pd.DataFrame) -> Figure | None:
    """(target task / intermediate task) x language: the mean score on each language."""
    table = language_table(rows)
    if table.empty:
        return None
    targets = dict.fromkeys(table.index.get_level_values("target_task"))
    order = [_language_order(target, set(table.columns)) for target in targets]
    table = table[[*dict.fromkeys(code for codes in order for code in codes), AVERAGE]]
    table.index = [f"{target} / {intermediate}" for target, intermediate in table.index]
    labels = table.map(lambda v: f"{v:.1f}" if pd.notna(v) else "")
    figure = Figure(figsize=_cell_size(*table.shape), layout="constrained")
    _heatmap(figure, table, labels, "target task / intermediate task x language", "score",
             cmap="viridis")
    return figure


def _language_order(target: str, languages: set[str]) -> list[str]:
    """Those of `languages` the target has, in the registry's (XTREME's) order."""
    return [code for code in REGISTRY[target].languages if code in languages]


def language_bars(comparison: pd.DataFrame, target: str) -> Figure:
    """One target's mean score per language and intermediate task, with the 95% interval
    over seeds as error bars (none where one seed leaves the interval NaN)."""
    table = comparison.xs(target, level="target_task")
    languages = [*_language_order(target, set(table.index.get_level_values("language"))),
                 AVERAGE]
    intermediates = sorted(set(table.index.get_level_values("intermediate_task")))
    width = 0.8 / len(intermediates)
    figure = Figure(figsize=(max(5.0, 0.3 * len(languages) * len(intermediates) + 2), 3.5),
                    layout="constrained")
    axes = figure.subplots()
    for offset, intermediate in enumerate(intermediates):
        scores = table.xs(intermediate, level="intermediate_task").reindex(languages)
        positions = np.arange(len(languages)) + (offset - (len(intermediates) - 1) / 2) * width
        axes.bar(positions, scores["mean"], width, label=intermediate)
        known = scores["low"].notna().to_numpy()
        axes.errorbar(positions[known], scores["mean"][known],
                      yerr=[(scores["mean"] - scores["low"])[known],
                            (scores["high"] - scores["mean"])[known]],
                      fmt="none", ecolor="black", capsize=3, linewidth=1)
    axes.set_xticks(range(len(languages)), languages)
    axes.set_ylabel("score (mean over seeds, 95% interval)")
    axes.set_title(target)
    figure.legend(title="intermediate task", loc="outside right upper", fontsize=8)
    return figure


def learning_curves(curves: pd.DataFrame) -> Figure | None:
    """Every trial's English dev score against its dev evaluations, one panel per training
    stage, coloured by intermediate task; an x at the last point of a trial ASHA stopped."""
    curves = curves.dropna(subset=["score", "evaluations"])
    if curves.empty:
        return None
    stages = list(dict.fromkeys(curves["stage"]))
    # Intermediate stages' trials have no intermediate task: they train one.
    intermediate = (curves["config/intermediate"] if "config/intermediate" in curves
                    else pd.Series(np.nan, index=curves.index)).fillna(INTERMEDIATE_TRIAL)
    palette = {name: f"C{index % 10}" for index, name in enumerate(sorted(set(intermediate)))}
    columns = min(3, len(stages))
    figure = Figure(figsize=(4.5 * columns, 3.2 * math.ceil(len(stages) / columns)),
                    layout="constrained")
    panels = figure.subplots(math.ceil(len(stages) / columns), columns, squeeze=False).ravel()
    for axes, stage in zip(panels, stages, strict=False):
        in_stage = curves["stage"] == stage
        for _, trial in curves[in_stage].groupby("trial_id"):
            trial = trial.sort_values("evaluations")
            colour = palette[intermediate[trial.index[0]]]
            axes.plot(trial["evaluations"], trial["score"], color=colour, linewidth=1)
            if bool(trial["stopped_early"].iloc[-1]):
                axes.plot(trial["evaluations"].iloc[-1], trial["score"].iloc[-1], "x",
                          color=colour, markersize=8, markeredgewidth=2)
        axes.set_title(stage, fontsize=9)
        axes.set_xlabel("dev evaluations")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("English dev score")
    for axes in panels[len(stages):]:
        axes.set_visible(False)
    handles = [Line2D([], [], color=colour, label=name) for name, colour in palette.items()]
    handles.append(Line2D([], [], color="black", marker="x", linestyle="",
                          label="stopped by ASHA"))
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5),
                  fontsize=8)
    return figure


def stage_cost(costs: pd.DataFrame) -> Figure | None:
    """Per stage: its elapsed wall time and the busy time of its trials or evaluations, and
    the device-hours they used (`sweep.costs.stage_costs`)."""
    if costs.empty:
        return None
    stages = list(costs.index)
    figure = Figure(figsize=(9.0, max(2.5, 0.35 * len(stages) + 1.2)), layout="constrained")
    seconds, hours = figure.subplots(1, 2, sharey=True)
    positions = np.arange(len(stages))
    if costs["wall_seconds"].notna().any():  # runs before start times were recorded: none
        seconds.barh(positions - 0.2, costs["wall_seconds"].fillna(0), 0.4, label="elapsed")
    seconds.barh(positions + 0.2, costs["busy_seconds"].fillna(0), 0.4,
                 label="busy (trials or evaluations, summed)")
    seconds.set_yticks(positions, stages)
    seconds.invert_yaxis()
    seconds.set_xlabel("seconds")
    figure.legend(loc="outside lower center", ncols=2, fontsize=8)
    hours.barh(positions, costs["device_hours"].fillna(0), 0.6, color="C2")
    hours.set_xlabel("device-hours")
    figure.suptitle("cost per stage")
    return figure


def make_figures(
    rows: pd.DataFrame, curves: pd.DataFrame | None = None, costs: pd.DataFrame | None = None,
    baseline: str = NO_INTERMEDIATE, comparison: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    """Every figure the inputs allow, by file stem: from the result rows, the learning curves
    (`sweep.results.load_curves`), the cost table (`sweep.costs.stage_costs`) and the
    comparisons against `baseline` (`sweep.comparisons.comparisons`; made from the rows,
    untested, where not given). One whose input is absent (no eval rows, no curves, no
    costs) is left out. A baseline the eval rows lack is a `ResultsError`."""
    figures: dict[str, Figure | None] = {}
    if rows["stage"].str.match(ZERO_SHOT_EVAL).any():
        figures["target_language"] = target_language(rows)
        if comparison is None and not without_default_baseline(rows, baseline):
            comparison = comparisons(rows, baseline)
    if comparison is not None:
        figures["transfer_gain"] = transfer_gain(comparison, baseline)
        for target in sorted(set(comparison.index.get_level_values("target_task"))):
            figures[bars_name(target)] = language_bars(comparison, target)
    if curves is not None:
        figures["learning_curves"] = learning_curves(curves)
    if costs is not None:
        figures["stage_cost"] = stage_cost(costs)
    return {name: figure for name, figure in figures.items() if figure is not None}


def bars_name(target: str) -> str:
    """The file stem of a target's per-language bars (safe in a file name)."""
    return "language_bars_" + re.sub(r"[^\w.-]", "_", target)


def save_figures(figures: dict[str, Figure], out_dir: str | Path,
                 formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write each figure as `<out_dir>/<stem>.<format>`; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, figure in figures.items():
        for extension in formats:
            path = out / f"{stem}.{extension}"
            # No date in the metadata: the same run gives the same files.
            figure.savefig(path, format=extension, dpi=150,
                           metadata={"Date": None} if extension == "svg" else None)
            written.append(path)
    return written
