"""Comparisons against `none` and transfer gaps from result rows, checked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sweep.comparisons import checkpoint_scores, comparisons, transfer_gaps
from sweep.errors import ResultsError


def row(intermediate, seed, language, metric, value, task="xnli", split="test"):
    return {"stage": f"eval/{task}", "task": task, "target_task": task,
            "intermediate_task": intermediate, "seed": seed, "trial_id": f"{intermediate}-{seed}",
            "language": language, "split": split, "metric": metric, "value": value}


ROWS = pd.DataFrame([
    # none: two seeds; mnli: two seeds, 4 points better in de on average.
    row("none", 0, "en", "accuracy", 80.0), row("none", 0, "de", "accuracy", 70.0),
    row("none", 1, "en", "accuracy", 82.0), row("none", 1, "de", "accuracy", 72.0),
    row("mnli", 0, "en", "accuracy", 84.0), row("mnli", 0, "de", "accuracy", 74.0),
    row("mnli", 1, "en", "accuracy", 84.0), row("mnli", 1, "de", "accuracy", 76.0),
    row("mnli", 1, "de", "accuracy", 10.0, split="dev"),  # dev rows do not count
    # QA: a checkpoint's score is (F1 + EM) / 2.
    row("none", 0, "en", "f1", 80.0, task="xquad"), row("none", 0, "en", "exact_match", 60.0,
                                                        task="xquad"),
])


def test_checkpoint_scores_use_each_tasks_headline_and_add_the_average():
    scores = checkpoint_scores(ROWS).set_index(["target_task", "intermediate_task", "seed",
                                                "language"])["value"]
    assert scores[("xquad", "none", 0, "en")] == pytest.approx(70.0)
    assert scores[("xnli", "mnli", 1, "de")] == pytest.approx(76.0)
    assert scores[("xnli", "mnli", 1, "avg")] == pytest.approx(80.0)


def test_mean_over_seeds_with_interval_and_difference_to_none():
    table = comparisons(ROWS)
    mnli_de = table.loc[("xnli", "de", "mnli")]
    assert mnli_de["seeds"] == 2 and mnli_de["mean"] == pytest.approx(75.0)
    # t(0.975, 1) = 12.7062; sem of (74, 76) is 1: 75 -+ 12.7062
    assert mnli_de["low"] == pytest.approx(75.0 - 12.7062047, abs=1e-5)
    assert mnli_de["high"] == pytest.approx(75.0 + 12.7062047, abs=1e-5)
    assert mnli_de["difference"] == pytest.approx(75.0 - 71.0)
    assert table.loc[("xnli", "avg", "mnli"), "difference"] == pytest.approx(79.5 - 76.0)
    assert table.loc[("xnli", "de", "none"), "difference"] == 0
    one_seed = table.loc[("xquad", "en", "none")]
    assert one_seed["seeds"] == 1 and math.isnan(one_seed["low"])


def test_transfer_gap_per_checkpoint():
    gaps = transfer_gaps(ROWS)["gap"]
    assert gaps[("xnli", "mnli", 1, "mnli-1")] == pytest.approx(84.0 - 76.0)
    assert math.isnan(gaps[("xquad", "none", 0, "none-0")])  # English only: no gap


def test_sweep_results_compare_prints_both_tables(tmp_path, capsys):
    from sweep.cli import main
    from sweep.rows import write_rows
    from trainables.storage import Location

    write_rows(Location.parse(str(tmp_path)), "eval-xnli", ROWS.to_dict("records"))
    assert main(["results", str(tmp_path), "--compare", "none", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "# intermediate task against none (mean over seeds, 95% interval; paired bootstrap " \
        "p-values, Holm-adjusted over the table)" in out
    assert "xnli,de,mnli,2.0,75.0," in out and ",4.0,,\n" in out  # no predictions: no p
    assert "# cross-lingual transfer gap per checkpoint (en - others)" in out


def test_latex_and_markdown_show_a_mean_with_its_interval(tmp_path, capsys):
    from sweep.cli import main
    from sweep.results import to_latex
    from sweep.rows import write_rows
    from trainables.storage import Location

    latex = to_latex(comparisons(ROWS).loc[[("xnli", "de", "mnli")]])
    assert latex.splitlines()[:2] == [r"\begin{tabular}{lllrrrrr}", r"\toprule"]
    assert (r"target\_task & language & intermediate\_task & seeds & mean [95\% CI] & "
            r"difference & p\_value & p\_holm \\") in latex
    assert r"xnli & de & mnli & 2.00 & 75.00 [62.29, 87.71] & 4.00 & - & - \\" in latex
    assert latex.splitlines()[-2:] == [r"\bottomrule", r"\end{tabular}"]
    write_rows(Location.parse(str(tmp_path)), "eval-xnli", ROWS.to_dict("records"))
    assert main(["results", str(tmp_path), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert "% target task x language" in out and r"\begin{tabular}" in out


def test_a_baseline_the_rows_lack_and_an_unknown_task_exit_2(tmp_path, capsys):
    from sweep.cli import main
    from sweep.rows import write_rows
    from trainables.storage import Location

    write_rows(Location.parse(str(tmp_path)), "eval-xnli", ROWS.to_dict("records"))
    assert main(["results", str(tmp_path), "--compare", "nonee"]) == 2
    assert "--compare nonee: no evaluated checkpoint started from 'nonee'; the rows have: " \
        "mnli, none" in capsys.readouterr().err
    write_rows(Location.parse(str(tmp_path)), "eval-typo",
               [row("none", 0, "en", "accuracy", 1.0, task="xnli_typo")])
    assert main(["results", str(tmp_path)]) == 2
    assert "registry does not know: xnli_typo" in capsys.readouterr().err


def _kept(intermediate, seed, language, correct, examples=40):
    """Kept predictions of one xnli evaluation: the first `correct` examples right."""
    return [{"stage": "eval/xnli", "task": "xnli", "target_task": "xnli",
             "intermediate_task": intermediate, "trial_id": f"{intermediate}-{seed}",
             "seed": seed, "language": language, "split": "test", "example_id": str(index),
             "prediction": '"entailment"', "gold": '"entailment"',
             "score": 100.0 * (index < correct), "weight": 1.0} for index in range(examples)]


KEPT = pd.DataFrame([record for intermediate, base in (("none", 28), ("mnli", 31))
                     for seed in (0, 1) for offset, language in enumerate(("en", "de"))
                     for record in _kept(intermediate, seed, language,
                                         base + seed + 4 * (language == "en") - offset)])


def _strata(intermediate, languages):
    from sweep.predictions import seed_matrices

    kept = KEPT[KEPT["intermediate_task"] == intermediate]
    ids = sorted(str(index) for index in range(40))  # as shared_ids orders them
    return [seed_matrices(kept[kept["language"] == language], ids) for language in languages]


def test_paired_tests_on_the_kept_predictions_with_holms_correction():
    from sweep.statistics import holm, paired_bootstrap_strata, paired_permutation_strata

    table = comparisons(ROWS, predictions=KEPT, resamples=2000)
    expected = paired_bootstrap_strata(_strata("mnli", ["de"]), _strata("none", ["de"]), 2000)
    assert table.loc[("xnli", "de", "mnli"), "p_value"] == expected.p_value
    average = paired_bootstrap_strata(_strata("mnli", ["de", "en"]),
                                      _strata("none", ["de", "en"]), 2000)
    assert table.loc[("xnli", "avg", "mnli"), "p_value"] == average.p_value
    assert math.isnan(table.loc[("xnli", "de", "none"), "p_value"])  # the baseline itself
    assert math.isnan(table.loc[("xquad", "en", "none"), "p_value"])  # nothing kept
    assert table["p_holm"].tolist() == pytest.approx(holm(table["p_value"].tolist()),
                                                     nan_ok=True)
    assert (table["p_holm"].dropna() >= table["p_value"].dropna()).all()
    permuted = comparisons(ROWS, predictions=KEPT, test="permutation", resamples=2000)
    assert permuted.loc[("xnli", "de", "mnli"), "p_value"] == paired_permutation_strata(
        _strata("mnli", ["de"]), _strata("none", ["de"]), 2000)
    without = comparisons(ROWS)
    assert without["p_value"].isna().all() and without["p_holm"].isna().all()
    with pytest.raises(ResultsError, match="test: got 'ttest'; allowed: bootstrap, permutation"):
        comparisons(ROWS, predictions=KEPT, test="ttest")
    with pytest.raises(ResultsError, match="resamples: got 0; allowed: a positive number"):
        comparisons(ROWS, predictions=KEPT, resamples=0)
