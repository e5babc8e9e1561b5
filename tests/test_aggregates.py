"""XTREME and XTREME-R aggregate scores from result rows, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from sweep.results import benchmark_scores, tables


def row(intermediate, task, language, metric, value, stage="eval", split="test"):
    return {"stage": f"{stage}/{task}", "task": task, "target_task": task,
            "intermediate_task": intermediate, "language": language, "split": split,
            "metric": metric, "value": value}


ROWS = pd.DataFrame([
    row("none", "xnli", "en", "accuracy", 80.0), row("none", "xnli", "de", "accuracy", 70.0),
    row("none", "xnli", "de", "accuracy", 10.0, split="dev"),  # dev rows do not count
    row("none", "xquad", "en", "f1", 80.0), row("none", "xquad", "en", "exact_match", 70.0),
    row("none", "xquad", "zh", "f1", 60.0), row("none", "xquad", "zh", "exact_match", 40.0),
    row("none", "tatoeba", "de", "accuracy", 50.0, stage="retrieval"),
    row("mnli", "xnli", "en", "accuracy", 84.0), row("mnli", "xnli", "de", "accuracy", 76.0),
    row("mnli", "synth_xnli", "de", "accuracy", 99.0),  # not an XTREME task
])


def test_xtreme_score_by_hand():
    scores = benchmark_scores(ROWS, "xtreme")
    none = scores.loc["none"]
    assert none["xnli"] == pytest.approx(75.0)  # (80 + 70) / 2
    assert none["xquad"] == pytest.approx(62.5)  # en (80+70)/2 = 75, zh (60+40)/2 = 50
    assert none["tatoeba"] == pytest.approx(50.0)
    assert none["score"] == pytest.approx((75.0 + 62.5 + 50.0) / 3)
    assert "pawsx" in none["missing"] and "xnli" not in none["missing"]
    mnli = scores.loc["mnli"]
    assert mnli["xnli"] == pytest.approx(80.0) and mnli["score"] == pytest.approx(80.0)
    assert "synth_xnli" not in scores.columns


def test_xtreme_r_leaves_out_pawsx_and_bucc():
    extra = pd.DataFrame([row("none", "pawsx", "en", "accuracy", 90.0),
                          row("none", "xcopa", "et", "accuracy", 60.0),
                          row("none", "lareqa", "de", "map@20", 30.0),
                          row("none", "lareqa", "zh", "map@20", 20.0)])
    scores = benchmark_scores(pd.concat([ROWS, extra]), "xtreme-r")
    assert "pawsx" not in scores.columns and scores.loc["none", "xcopa"] == 60.0
    assert scores.loc["none", "lareqa"] == pytest.approx(25.0)
    assert "bucc2018" not in scores.loc["none", "missing"]
    # A task without rows makes the score incomplete.
    assert "mewsli_x" in scores.loc["none", "missing"]
    assert "lareqa" not in scores.loc["none", "missing"]


def test_results_tables_include_the_aggregates():
    made = tables(ROWS)
    assert "XTREME score per intermediate task" in made
    assert "XTREME-R score per intermediate task" in made
    synthetic_only = ROWS[ROWS["task"] == "synth_xnli"]
    assert not any("XTREME" in title for title in tables(synthetic_only))


def test_a_task_evaluated_on_dev_only_counts_its_dev_rows():
    dev_only = pd.DataFrame([row("none", "pawsx", "en", "accuracy", 90.0, split="dev"),
                             row("none", "pawsx", "de", "accuracy", 80.0, split="dev")])
    scores = benchmark_scores(pd.concat([ROWS, dev_only]), "xtreme")
    assert scores.loc["none", "pawsx"] == pytest.approx(85.0)
    assert scores.loc["none", "xnli"] == pytest.approx(75.0)  # its test rows, not its dev row


def test_each_benchmark_counts_its_own_languages_and_pos_task():
    extra = pd.DataFrame([
        row("none", "panx", "en", "f1", 80.0), row("none", "panx", "qu", "f1", 40.0),
        row("none", "udpos", "en", "f1", 90.0), row("none", "udpos_r", "en", "f1", 88.0),
        row("none", "udpos_r", "wo", "f1", 60.0),
    ])
    rows = pd.concat([ROWS, extra])
    xtreme, xtreme_r = benchmark_scores(rows, "xtreme"), benchmark_scores(rows, "xtreme-r")
    # Quechua is one of WikiANN's eight XTREME-R languages; XTREME's PAN-X has 40.
    assert xtreme.loc["none", "panx"] == 80.0
    assert xtreme_r.loc["none", "panx"] == pytest.approx(60.0)
    # UD-POS: XTREME's task on UD 2.5, XTREME-R's on UD 2.7 with Wolof and four more.
    assert xtreme.loc["none", "udpos"] == 90.0 and "udpos_r" not in xtreme.columns
    assert xtreme_r.loc["none", "udpos_r"] == pytest.approx(74.0)
    assert "udpos" not in xtreme_r.columns


def test_tables_refuse_a_task_the_registry_does_not_know():
    rows = pd.concat([ROWS, pd.DataFrame([row("none", "xnli_typo", "en", "accuracy", 1.0)])])
    with pytest.raises(ValueError, match="registry does not know: xnli_typo"):
        tables(rows)


def test_each_task_is_tabled_on_its_test_rows_else_its_dev_rows():
    rows = pd.DataFrame([
        row("none", "xnli", "de", "accuracy", 70.0), row("none", "xnli", "de", "accuracy", 10.0,
                                                         split="dev"),
        row("none", "pawsx", "de", "accuracy", 60.0, split="dev"),  # dev only: its dev rows
    ])
    table = tables(rows)["target task x language"]
    assert table.loc[("xnli", "none"), "de"] == pytest.approx(70.0)
    assert table.loc[("pawsx", "none"), "de"] == pytest.approx(60.0)
