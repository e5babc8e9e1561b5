"""The direct arms' answer from result rows and kept predictions, without Ray: every system's
score, and the best zero-shot system with an intermediate task against the best direct arm
per language and on average, with intervals and paired tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sweep.cli import main
from sweep.comparisons import AVERAGE
from sweep.direct import arm_table, direct_gaps, has_arms
from sweep.results import tables

# (intermediate task, arm, stage suffix per language or None) -> chance of a correct answer.
SYSTEMS = {
    ("none", "zero_shot"): 0.5, ("synth_nli", "zero_shot"): 0.6,
    ("none", "translate_train"): 0.7, ("synth_nli", "translate_train"): 0.8,
    ("none", "translate_test"): 0.55,
}
LANGUAGES = {"zero_shot": ["en", "de", "sw"], "translate_train": ["de", "sw"],
             "translate_test": ["de", "sw"]}


def _stage(arm: str, language: str) -> str:
    if arm == "zero_shot":
        return "eval/synth_xnli"
    return "eval/synth_xnli@" + (f"{arm}-{language}" if arm == "translate_train" else arm)


def _run(examples: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows, kept = [], []
    for (intermediate, arm), chance in SYSTEMS.items():
        for seed in (0, 1):
            for language in LANGUAGES[arm]:
                scores = 100.0 * (rng.random(examples) < chance + 0.05 * seed)
                facts = {"stage": _stage(arm, language), "task": "synth_xnli",
                         "target_task": "synth_xnli", "intermediate_task": intermediate,
                         "seed": seed, "trial_id": f"{intermediate}-{arm}-{seed}-{language}",
                         "language": language, "split": "test"}
                rows.append({**facts, "arm": arm, "metric": "accuracy",
                             "value": float(scores.mean())})
                kept += [{**facts, "example_id": str(i), "prediction": "0", "gold": "0",
                          "score": score, "weight": 1.0} for i, score in enumerate(scores)]
    return pd.DataFrame(rows), pd.DataFrame(kept)


def test_every_system_has_its_mean_over_the_languages_it_was_tested_in():
    rows, _ = _run()
    assert has_arms(rows) and not has_arms(rows[rows["arm"] == "zero_shot"])
    table = arm_table(rows)
    expected = rows[(rows["intermediate_task"] == "synth_nli")
                    & (rows["arm"] == "translate_train")].groupby("language")["value"].mean()
    assert table.loc[("synth_nli", "translate_train"), "synth_xnli"] == pytest.approx(
        expected.mean())
    assert len(table) == len(SYSTEMS)
    # The zero-shot tables leave the direct arms out.
    transfer = tables(rows)["intermediate task x target task (mean over languages)"]
    zero_shot = rows[(rows["arm"] == "zero_shot") & (rows["intermediate_task"] == "none")]
    assert transfer.loc["none", "synth_xnli"] == pytest.approx(
        zero_shot.groupby("language")["value"].mean().mean())


def test_the_best_zero_shot_system_against_the_best_direct_arm():
    rows, kept = _run()
    gaps = direct_gaps(rows, kept, resamples=2000)
    assert list(gaps.index) == [("synth_xnli", "de"), ("synth_xnli", "sw"),
                                ("synth_xnli", AVERAGE)]
    de = gaps.loc[("synth_xnli", "de")]
    assert de["zero_shot"] == "synth_nli"  # `none` is not the zero-shot side's candidate
    assert de["direct"] == "translate_train / synth_nli"
    mine = rows[(rows["language"] == "de") & (rows["arm"] == "translate_train")
                & (rows["intermediate_task"] == "synth_nli")]["value"]
    assert de["direct_mean"] == pytest.approx(mine.mean())
    assert de["direct_low"] < de["direct_mean"] < de["direct_high"]
    assert de["difference"] == pytest.approx(de["zero_shot_mean"] - de["direct_mean"])
    assert de["difference"] < 0 and 0 < de["p_value"] < 0.05
    average = gaps.loc[("synth_xnli", AVERAGE)]
    # On the direct system's languages (de, sw), English left out of the zero-shot side.
    zs = rows[(rows["arm"] == "zero_shot") & (rows["intermediate_task"] == "synth_nli")
              & rows["language"].isin(["de", "sw"])]
    assert average["zero_shot_mean"] == pytest.approx(
        zs.groupby("seed")["value"].mean().mean())
    assert (gaps["p_holm"] >= gaps["p_value"]).all()
    without = direct_gaps(rows)  # no kept predictions: no test, the rest as before
    assert without["p_value"].isna().all()
    assert without["difference"].tolist() == pytest.approx(gaps["difference"].tolist())


def test_sweep_results_arms_prints_both_tables_and_refuses_a_run_without_arms(
        tmp_path, capsys):
    rows, kept = _run()
    for folder, frame in (("rows", rows), ("predictions", kept)):
        (tmp_path / "run" / folder).mkdir(parents=True)
        frame.to_parquet(tmp_path / "run" / folder / "eval.parquet")
    assert main(["results", str(tmp_path / "run"), "--arms", "--resamples", "200"]) == 0
    shown = capsys.readouterr().out
    assert "intermediate task x arm x target task" in shown
    assert "translate_train / synth_nli" in shown
    only_zero_shot = rows[rows["arm"] == "zero_shot"]
    (tmp_path / "plain" / "rows").mkdir(parents=True)
    only_zero_shot.to_parquet(tmp_path / "plain" / "rows" / "eval.parquet")
    assert main(["results", str(tmp_path / "plain"), "--arms"]) == 2
    assert "no evaluation of a target arm" in capsys.readouterr().err


def test_the_report_shows_each_side_with_its_interval_and_the_mark():
    from sweep.report import marked_gaps

    rows, kept = _run()
    gaps = direct_gaps(rows, kept, resamples=2000)
    shown = marked_gaps(gaps)
    de = shown.loc[("synth_xnli", "de")]
    assert de["direct"].startswith("translate_train / synth_nli: ")
    low, high = gaps.loc[("synth_xnli", "de"), ["direct_low", "direct_high"]]
    assert de["direct"].endswith(f"[{low:.2f}, {high:.2f}]")
    assert de["sig."] == ("*" if gaps.loc[("synth_xnli", "de"), "p_holm"] < 0.05 else "")
