"""`sweep report`: one self-contained HTML page of a run, rendered from
`sweep/templates/report.html.j2` with Jinja2 (autoescaped).

This module shapes the data (the run's facts, every table as header and cells, the figures
as data URIs); the template only lays them out. The page loads nothing from anywhere: no
script, no stylesheet, font or image but its own inline ones.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from matplotlib.figure import Figure

from sweep.comparisons import AVERAGE, comparisons, without_default_baseline
from sweep.costs import stage_costs
from sweep.direct import arm_table, direct_gaps, has_arms
from sweep.efficiency import load_efficiency
from sweep.efficiency import named_tables as efficiency_tables
from sweep.errors import ResultsError
from sweep.figures import bars_name, make_figures, significance_marks
from sweep.manifest import Manifest
from sweep.predictions import load_predictions
from sweep.results import (
    ZERO_SHOT_EVAL,
    _cells,
    benchmark_scores,
    language_table,
    load,
    load_curves,
    load_trials,
    retrieval_table,
    transfer_table,
)
from sweep.vision import has_images
from sweep.vision import named_tables as vision_tables
from trainables.storage import Location
from trainables.tasks import BENCHMARKS
from trainables.trial import NO_INTERMEDIATE

TEMPLATE = "report.html.j2"
REPORT = "report.html"
DIGITS = 2  # scores are percentages
TRIAL_COLUMNS = [
    "stage", "trial_id", "config/intermediate", "config/learning_rate", "config/seed",
    "score", "best_score", "evaluations", "stopped_early", "time_total_s", "train_seconds",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Run:
    """What a run's storage holds: its manifest, its result rows and, where written, Tune's
    trial tables and the trials' learning curves (runs made before curves were recorded
    have none)."""

    storage: Location
    manifest: dict[str, Any]
    rows: pd.DataFrame
    trials: pd.DataFrame | None
    curves: pd.DataFrame | None
    predictions: pd.DataFrame  # empty for a run made before predictions were kept
    efficiency: pd.DataFrame | None = None  # the efficiency stage's records, where it ran


@dataclasses.dataclass(frozen=True)
class HtmlTable:
    """A table as the template shows it: its header, its cells as text, and which columns
    hold numbers (right-aligned)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]


def load_run(storage: str | Path | Location) -> Run:
    """A run read back from its storage path; a missing manifest or no result rows is a
    `ResultsError` (exit 2)."""
    location = Location.of(storage)
    try:
        manifest = Manifest.read(location).data
        rows = load(location)
    except (OSError, ValueError) as error:  # missing run, unreachable or misnamed storage
        raise ResultsError(f"{storage}: {error}") from None
    return Run(location, manifest, rows, _optional(load_trials, location),
               _optional(load_curves, location), load_predictions(location),
               _optional(load_efficiency, location))


def _optional(reader: Callable[[Location], pd.DataFrame],
              location: Location) -> pd.DataFrame | None:
    try:
        return reader(location)
    except FileNotFoundError:
        return None


def run_comparison(run: Run, baseline: str = NO_INTERMEDIATE) -> pd.DataFrame | None:
    """The run's comparisons against `baseline`, tested on its kept predictions; None
    without zero-shot eval rows, or without `none` where it is the (default) baseline: a run
    that never trained from the base model has nothing to compare with it. Another baseline
    the run lacks is an error."""
    if not run.rows["stage"].str.match(ZERO_SHOT_EVAL).any() or without_default_baseline(
            run.rows, baseline):
        return None
    return comparisons(run.rows, baseline, run.predictions)


def run_figures(run: Run, baseline: str = NO_INTERMEDIATE,
                comparison: pd.DataFrame | None = None) -> dict[str, Figure]:
    """Every figure of a run (`sweep.figures.make_figures`), by file stem; `comparison`:
    `run_comparison`'s, where the caller has it already."""
    costs = stage_costs(run.manifest["stages"], run.rows, run.trials, run.efficiency)
    if comparison is None:
        comparison = run_comparison(run, baseline)
    return make_figures(run.rows, run.curves, costs, baseline, comparison)


def html_table(title: str, table: pd.DataFrame, digits: int = DIGITS) -> HtmlTable:
    """A table's cells as `sweep results` formats them (a mean with its interval in one
    cell), a missing number shown as a dash."""
    header, rows, numeric = _cells(table, digits)
    rows = [["–" if cell in ("-", "nan", "None", "<NA>") else cell for cell in cells]
            for cells in rows]
    return HtmlTable(title, header, rows, numeric)


def marked(comparison: pd.DataFrame) -> pd.DataFrame:
    """A comparisons table as the report shows it; where it has Holm-adjusted p-values,
    each as text ("–": not tested) and the significance mark."""
    shown = comparison[["seeds", "mean", "low", "high", "difference"]].copy()
    shown["seeds"] = shown["seeds"].astype(int)
    if "p_holm" in comparison:
        shown["p (Holm)"] = comparison["p_holm"].map(
            lambda p: f"{p:.3g}" if pd.notna(p) else "–")
        shown["sig."] = significance_marks(comparison)
    return shown


def marked_gaps(gaps: pd.DataFrame) -> pd.DataFrame:
    """`direct_gaps` as the report shows it: each side's system with its mean [95% CI], the
    difference, and Holm's p with the significance mark."""
    def system(side: str, row: pd.Series) -> str:
        spread = "" if pd.isna(row[f"{side}_low"]) else \
            f" [{row[f'{side}_low']:.{DIGITS}f}, {row[f'{side}_high']:.{DIGITS}f}]"
        return f"{row[side]}: {row[f'{side}_mean']:.{DIGITS}f}{spread}"

    shown = pd.DataFrame({side.replace("_", "-"): gaps.apply(
        lambda row, side=side: system(side, row), axis=1) for side in ("zero_shot", "direct")})
    shown["difference"] = gaps["difference"]
    shown["p (Holm)"] = gaps["p_holm"].map(lambda p: f"{p:.3g}" if pd.notna(p) else "–")
    shown["sig."] = significance_marks(gaps)
    return shown


def figure_uri(figure: Figure) -> str:
    """The figure as an SVG data URI: vector, and an <img> keeps each figure's ids apart."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _revisions(revisions: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The pinned hub commits, nested keys joined with dots (`datasets.xnli`)."""
    flat = []
    for key, value in revisions.items():
        if isinstance(value, dict):
            flat += _revisions(value, f"{prefix}{key}.")
        else:
            flat.append((f"{prefix}{key}", str(value)))
    return flat


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s ({seconds / 3600:.2f} h)" if pd.notna(seconds) else "–"


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_facts(run: Run, costs: pd.DataFrame) -> dict[str, Any]:
    data = run.manifest
    recorded = [entry["recorded_at"] for entry in data["stages"].values()
                if "recorded_at" in entry]
    spec = data.get("spec")
    device_hours = costs["device_hours"].sum(min_count=1)
    return {
        "experiment": data.get("experiment", "-"), "storage": str(run.storage),
        "created": _utc(data["created"]) if "created" in data else "-",
        "stages_wall_time": _duration(costs["wall_seconds"].sum(min_count=1)),
        "span": _duration(max(recorded) - data["created"]) if recorded and "created" in data
        else "–",
        "device_hours": f"{device_hours:.4f}" if pd.notna(device_hours) else "–",
        "spec_yaml": yaml.safe_dump(spec, sort_keys=False, allow_unicode=True) if spec else None,
        "revisions": _revisions(data.get("revisions") or {}),
        "result_rows": len(run.rows),
    }


def _per_target(comparison: pd.DataFrame, languages: pd.DataFrame) -> list[dict[str, Any]]:
    """Each target's scores per language (intermediate task x language) and its
    comparisons per language with intervals and marks."""
    targets = []
    for target in sorted(set(comparison.index.get_level_values("target_task"))):
        scores = languages.xs(target, level="target_task").dropna(axis=1, how="all")
        per_language = comparison.xs(target, level="target_task")
        per_language = per_language[per_language.index.get_level_values("language") != AVERAGE]
        targets.append({
            "name": target, "figure": bars_name(target),
            "scores": html_table(f"{target}: intermediate task x language", scores),
            "comparisons": html_table(f"{target}: per language, mean over seeds [95% CI]",
                                      marked(per_language)),
        })
    return targets


def report_context(run: Run, baseline: str = NO_INTERMEDIATE) -> dict[str, Any]:
    """Everything the template shows, as text, tables and figure URIs; a section whose data
    the run lacks is None (or, for the benchmark scores, empty)."""
    rows, stages = run.rows, run.manifest["stages"]
    costs = stage_costs(stages, rows, run.trials, run.efficiency)
    comparison = run_comparison(run, baseline)
    figures = {name: figure_uri(figure) for name, figure in
               make_figures(rows, run.curves, costs, baseline, comparison).items()}
    benchmarks = [html_table(f"{benchmark.upper()} score per intermediate task", scores)
                  for benchmark in BENCHMARKS
                  if not (scores := benchmark_scores(rows, benchmark)).empty]
    transfer = None
    if comparison is not None:
        averages = comparison.xs(AVERAGE, level="language")
        transfer = {
            "scores": html_table("intermediate task x target task (mean over languages)",
                                 transfer_table(rows)),
            "comparisons": html_table(f"against {baseline}: mean over languages and seeds "
                                      "[95% CI], difference in points", marked(averages)),
            "targets": _per_target(comparison, language_table(rows)),
        }
    direct = None
    if has_arms(rows):
        gaps = direct_gaps(rows, run.predictions)
        direct = {"scores": html_table("intermediate task x arm x target task (mean over the "
                                       "languages each arm was tested in)", arm_table(rows)),
                  "gaps": html_table("best zero-shot with an intermediate task against the best "
                                     "direct arm, mean over seeds [95% CI]", marked_gaps(gaps))
                  if not gaps.empty else None}
    vision = None
    if has_images(rows):  # every table but the comparisons as it is; those with marks
        vision = [html_table(title, marked(table) if {"mean", "p_holm"} <= set(table) else table)
                  for title, table in vision_tables(rows, run.predictions).items()]
    efficiency = None
    if run.efficiency is not None:
        efficiency = [html_table(title, table, digits=4)
                      for title, table in efficiency_tables(run.efficiency).items()]
    trials = None
    if run.trials is not None:
        shown = run.trials[[c for c in TRIAL_COLUMNS if c in run.trials]]
        trials = html_table("trials", shown.set_index(["stage", "trial_id"]).rename(
            columns=lambda name: name.removeprefix("config/")), digits=4)
    return {
        "run": _run_facts(run, costs), "baseline": baseline, "figures": figures,
        "benchmarks": benchmarks, "transfer": transfer, "direct": direct,
        "vision": vision, "efficiency": efficiency,
        "retrieval": html_table("retrieval: encoder x language", retrieval_table(rows))
        if rows["stage"].str.startswith("retrieval/").any() else None,
        "costs": html_table("cost per stage", costs, digits=4) if not costs.empty else None,
        "trials": trials, "has_curves": run.curves is not None,
        "generated": _utc(time.time()),
    }


def render(context: dict[str, Any]) -> str:
    """The page: `TEMPLATE` rendered with autoescaping (every name and cell is text)."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("sweep", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template(TEMPLATE).render(**context)


def base_model_runs(run: Run) -> dict[str | None, Run]:
    """The run as it is (key None), or, where it compared several base models, one Run per
    model (by its label): its rows, kept predictions, trials, curves and efficiency records,
    and the manifest's stages of that model with the precompute stages they share."""
    models = sorted(run.rows["base_model"].dropna().unique())
    if len(models) < 2:
        return {None: run}

    def of(frame: pd.DataFrame | None, suffix: str) -> pd.DataFrame | None:
        if frame is None or "stage" not in frame:
            return frame
        return frame[frame["stage"].str.endswith(suffix)]

    parts = {}
    for model in models:
        suffix = f"~{model}"  # a listed base model's stages end with its label
        stages = {name: entry for name, entry in run.manifest["stages"].items()
                  if name.endswith(suffix) or name.startswith("precompute/")}
        parts[model] = dataclasses.replace(
            run, manifest={**run.manifest, "stages": stages},
            rows=run.rows[run.rows["base_model"] == model], trials=of(run.trials, suffix),
            curves=of(run.curves, suffix), predictions=of(run.predictions, suffix),
            efficiency=of(run.efficiency, suffix))
    return parts


def write_reports(storage: str | Path | Location, out: str | Path | None = None,
                  baseline: str = NO_INTERMEDIATE) -> list[Path]:
    """Write a run's report to `out` (default: `report.html` in a local run's storage
    folder), one per base model where it compared several (`report-<model>.html`, never
    averaging them together); returns where they went."""
    run = load_run(storage)
    if out is None:
        if not run.storage.is_local:
            raise ResultsError(f"{storage} is not a local folder: give --out FILE")
        out = Path(run.storage.uri) / REPORT
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for model, part in base_model_runs(run).items():
        context = report_context(part, baseline)
        target = out
        if model is not None:
            context["run"]["experiment"] += f" (base model {model})"
            target = out.with_name(f"{out.stem}-{model}{out.suffix}")
        target.write_text(render(context), encoding="utf-8")
        written.append(target)
    return written


def write_report(storage: str | Path | Location, out: str | Path | None = None,
                 baseline: str = NO_INTERMEDIATE) -> Path:
    """`write_reports`, returning where the (first) report went."""
    return write_reports(storage, out, baseline)[0]
