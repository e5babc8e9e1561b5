"""Figures from small hand-made inputs in the real schemas: which are made, which are left
out, the files they become, and what the gain heatmap says."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from sweep import figures
from sweep.comparisons import comparisons
from sweep.figures import make_figures, save_figures, transfer_gain
from sweep.rows import COLUMNS
from trainables.tasks import REGISTRY

TARGETS = ["xnli", "pawsx"]
INTERMEDIATES = ["none", "mnli", "a<b>&c"]  # a name the report must escape
GAIN = {"none": 0.0, "mnli": 3.0, "a<b>&c": -1.5}
SEEDS = [0, 1, 2]


def languages(task: str) -> list[str]:
    return list(REGISTRY[task].languages[:3])


def result_rows(seeds: list[int] = SEEDS, retrieval: bool = True) -> pd.DataFrame:
    """Eval rows of every (target, intermediate, seed, language) and retrieval rows of each
    intermediate encoder, in `sweep.rows.COLUMNS`."""
    rows = []
    for target in TARGETS:
        for intermediate in INTERMEDIATES:
            for seed in seeds:
                checkpoint = f"{target}/{intermediate}/{seed}"
                for number, language in enumerate(languages(target)):
                    rows.append({
                        "experiment": "figures", "stage": f"eval/{target}",
                        "trial_id": checkpoint, "intermediate_task": intermediate,
                        "target_task": target, "task": target, "language": language,
                        "split": "test", "metric": "accuracy", "seed": seed,
                        "value": 70.0 + GAIN[intermediate] - 4 * number + 0.5 * seed,
                        "checkpoint_uri": checkpoint, "wall_seconds": 2.0,
                        "device_hours": 0.01})
    if retrieval:
        for intermediate in INTERMEDIATES:
            for language in ["de", "fr"]:
                rows.append({
                    "experiment": "figures", "stage": "retrieval/tatoeba",
                    "intermediate_task": intermediate, "task": "tatoeba",
                    "language": language, "split": "test", "metric": "accuracy",
                    "value": 50.0 + GAIN[intermediate], "checkpoint_uri": intermediate,
                    "wall_seconds": 3.0, "device_hours": 0.02})
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


# Two training stages: the intermediate stage's second trial and one target trial were
# stopped by ASHA.
TRIALS = [
    {"stage": "intermediate/mnli", "trial_id": "i1", "stopped": False, "evaluations": 4},
    {"stage": "intermediate/mnli", "trial_id": "i2", "stopped": True, "evaluations": 1},
    {"stage": "target/xnli", "trial_id": "t1", "intermediate": "none", "stopped": False,
     "evaluations": 4},
    {"stage": "target/xnli", "trial_id": "t2", "intermediate": "mnli", "stopped": True,
     "evaluations": 2},
]


def curve_rows() -> pd.DataFrame:
    """Every result each trial reported, as `sweep.results.load_curves` reads them."""
    rows = []
    for trial in TRIALS:
        for evaluation in range(1, trial["evaluations"] + 1):
            rows.append({
                "stage": trial["stage"], "trial_id": trial["trial_id"],
                "config/intermediate": trial.get("intermediate", np.nan),
                "config/learning_rate": 1e-4, "config/seed": 0,
                "stopped_early": trial["stopped"], "training_iteration": evaluation,
                "score": 50.0 + 5 * evaluation, "evaluations": evaluation,
                "time_total_s": 10.0 * evaluation, "train_seconds": 8.0 * evaluation})
    return pd.DataFrame(rows)


def trial_rows() -> pd.DataFrame:
    """Tune's per-trial table: each trial's last result and its config."""
    last = curve_rows().groupby("trial_id", sort=False).tail(1)
    return last.assign(best_score=last["score"]).drop(columns="training_iteration")


def cost_rows() -> pd.DataFrame:
    return pd.DataFrame({"kind": ["intermediate", "eval"], "status": ["finished"] * 2,
                         "wall_seconds": [60.0, np.nan], "busy_seconds": [50.0, 20.0],
                         "device_hours": [0.02, 0.005]},
                        index=pd.Index(["intermediate/mnli", "eval/xnli"], name="stage"))


def test_every_figure_is_made_from_complete_inputs():
    made = make_figures(result_rows(), curve_rows(), cost_rows())
    assert set(made) == {"transfer_gain", "target_language", "language_bars_xnli",
                         "language_bars_pawsx", "learning_curves", "stage_cost"}


def test_figures_are_left_out_when_their_inputs_are_missing():
    assert set(make_figures(result_rows())) == {
        "transfer_gain", "target_language", "language_bars_xnli", "language_bars_pawsx"}
    retrieval_only = result_rows()[lambda rows: rows["stage"].str.startswith("retrieval/")]
    assert make_figures(retrieval_only, curve_rows()).keys() == {"learning_curves"}
    no_scores = curve_rows().assign(score=np.nan)
    assert "learning_curves" not in make_figures(result_rows(), no_scores)
    assert "stage_cost" not in make_figures(result_rows(), costs=cost_rows().iloc[:0])
    only_baseline = result_rows()[lambda rows: rows["intermediate_task"] == "none"]
    assert "transfer_gain" not in make_figures(only_baseline)


def test_saved_files_are_valid_png_and_svg(tmp_path):
    made = make_figures(result_rows(), curve_rows(), cost_rows())
    written = save_figures(made, tmp_path / "figures")
    assert sorted(path.name for path in written) == sorted(
        f"{stem}.{extension}" for stem in made for extension in ("png", "svg"))
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        else:
            assert ElementTree.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert save_figures(made, tmp_path / "png_only", formats=("png",))[0].suffix == ".png"


def cell_texts(figure) -> dict[tuple[str, str], str]:
    """The gain heatmap's annotations by (intermediate task, target task)."""
    axes = figure.axes[0]
    rows = [label.get_text() for label in axes.get_yticklabels()]
    columns = [label.get_text() for label in axes.get_xticklabels()]
    return {(rows[round(text.get_position()[1])], columns[round(text.get_position()[0])]):
            text.get_text() for text in axes.texts}


def test_gain_heatmap_shows_each_difference_and_marks_only_holm_significant_cells():
    comparison = comparisons(result_rows())
    p_holm = {("xnli", "mnli"): 0.01, ("pawsx", "mnli"): 0.049, ("xnli", "a<b>&c"): 0.05,
              ("pawsx", "a<b>&c"): np.nan}
    comparison["p_holm"] = [p_holm.get((target, intermediate), 0.5)
                            for target, _, intermediate in comparison.index]
    texts = cell_texts(transfer_gain(comparison))
    averages = comparison.xs("avg", level="language")
    assert set(texts) == {(i, t) for i in ["mnli", "a<b>&c"] for t in TARGETS}
    for (intermediate, target), text in texts.items():
        difference = averages.loc[(target, intermediate), "difference"]
        assert float(text.rstrip("*")) == pytest.approx(round(difference, 2))
        assert text.endswith("*") == (p_holm[(target, intermediate)] < 0.05)
    assert float(texts[("mnli", "xnli")].rstrip("*")) == pytest.approx(3.0)


def test_gain_heatmap_has_no_marks_without_p_values(monkeypatch):
    texts = cell_texts(make_figures(result_rows())["transfer_gain"])
    assert texts and not any(text.endswith("*") for text in texts.values())
    # The column present but NaN (no per-example predictions): no mark either.
    with_nan = comparisons(result_rows()).assign(p_holm=np.nan)
    monkeypatch.setattr(figures, "comparisons", lambda rows, baseline: with_nan)
    texts = cell_texts(make_figures(result_rows())["transfer_gain"])
    assert not any(text.endswith("*") for text in texts.values())


def error_bars(figure) -> int:
    return sum(len(container.lines[2][0].get_segments())
               for container in figure.axes[0].containers
               if isinstance(container, ErrorbarContainer))


def test_language_bars_have_intervals_only_where_seeds_give_one():
    bars = make_figures(result_rows())["language_bars_xnli"]
    # (3 languages + avg) x 3 intermediate tasks, each with its interval.
    assert error_bars(bars) == 4 * len(INTERMEDIATES)
    assert [label.get_text() for label in bars.axes[0].get_xticklabels()] == [
        *languages("xnli"), "avg"]
    one_seed = make_figures(result_rows(seeds=[0]))["language_bars_xnli"]
    assert error_bars(one_seed) == 0


def test_learning_curves_have_a_panel_per_stage_and_mark_asha_stops():
    curves = make_figures(result_rows(), curve_rows())["learning_curves"]
    panels = [axes for axes in curves.axes if axes.get_visible()]
    assert [axes.get_title() for axes in panels] == ["intermediate/mnli", "target/xnli"]
    stops = [line for axes in panels for line in axes.get_lines() if line.get_marker() == "x"]
    assert len(stops) == sum(trial["stopped"] for trial in TRIALS)
    # Each x sits at its trial's last point.
    assert sorted(float(line.get_xdata()[0]) for line in stops) == [1.0, 2.0]


def test_stage_cost_plots_each_stage():
    figure = make_figures(result_rows(), costs=cost_rows())["stage_cost"]
    seconds, hours = figure.axes[:2]
    assert [label.get_text() for label in seconds.get_yticklabels()] == list(cost_rows().index)
    assert [patch.get_width() for patch in hours.patches] == pytest.approx([0.02, 0.005])
    assert not any(math.isnan(patch.get_width()) for patch in seconds.patches)
