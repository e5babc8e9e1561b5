"""`sweep results --vision`: intermediate (modality, control) x task, image-text against its
text-only control and none, the transfer gap and retrieval forgetting, from made-up rows
whose answers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from sweep.vision import (
    against_controls,
    base_model_gaps,
    forgetting_table,
    gap_table,
    has_images,
    modality_table,
    named_tables,
    text_only_control,
)

KINDS = {"none": (None, None), "synth_caption": ("image_text", "real"),
         "synth_caption_text_only": ("text", "text_only")}
# The target score of each intermediate by language and seed: captions with images beat
# the text-only control by 4 points in English and 6 in German, none by more.
SCORES = {"none": {"en": 60.0, "de": 40.0}, "synth_caption": {"en": 70.0, "de": 56.0},
          "synth_caption_text_only": {"en": 66.0, "de": 50.0}}


def _row(stage: str, task: str, intermediate: str, language: str, value: float, seed,
         trial: str, metric: str = "accuracy", target: str | None = None) -> dict:
    modality, control = KINDS[intermediate]
    return {"experiment": "x", "stage": stage, "task": task, "target_task": target,
            "intermediate_task": intermediate, "language": language, "split": "test",
            "metric": metric, "value": value, "seed": seed, "trial_id": trial,
            "base_model": "tiny-xlmr", "modality": modality, "image_control": control}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    made = []
    for intermediate, scores in SCORES.items():
        for seed in (0, 1):
            trial = f"{intermediate}-{seed}"
            for language, value in scores.items():
                made.append(_row("eval/synth_xnli", "synth_xnli", intermediate, language,
                                 value + seed, seed, trial, target="synth_xnli"))
                # Retrieval after target fine-tuning: 10 points below the encoder's own.
                made.append(_row("after-target/synth_tatoeba", "synth_tatoeba", intermediate,
                                 language, value - 10 + seed, seed, trial,
                                 target="synth_xnli"))
            for language in ("de", "fr"):  # the intermediate encoder (one, seed None)
                made.append(_row("retrieval/synth_tatoeba", "synth_tatoeba", intermediate,
                                 language, scores.get(language, scores["de"]) + 0.5, None,
                                 f"{intermediate}-encoder"))
    return pd.DataFrame(made)


def test_the_text_only_control_of_each_image_text_task():
    assert text_only_control("synth_caption") == "synth_caption_text_only"
    assert text_only_control("synth_caption_scrambled") == "synth_caption_text_only"
    assert text_only_control("synth_caption_text_only") is None
    assert text_only_control("synth_nli") is None


def test_the_table_shows_modality_control_and_intervals(rows):
    assert has_images(rows)
    table = modality_table(rows)
    cell = table.loc[("tiny-xlmr", "synth_caption", "image_text", "real", "synth_xnli")]
    assert cell["seeds"] == 2 and cell["mean"] == pytest.approx(63.5)  # (70 + 56)/2 + 0.5
    assert cell["low"] < cell["mean"] < cell["high"]
    retrieval = table.loc[("tiny-xlmr", "none", "-", "-", "synth_tatoeba")]
    assert retrieval["mean"] == pytest.approx(40.5) and retrieval["seeds"] == 1


def test_image_text_is_compared_with_its_text_only_control_and_with_none(rows):
    table = against_controls(rows)
    control = table.loc[("tiny-xlmr", "synth_xnli", "synth_caption",
                         "synth_caption_text_only")]
    assert control["difference"] == pytest.approx(5.0)  # (4 + 6) / 2
    none = table.loc[("tiny-xlmr", "synth_xnli", "synth_caption", "none")]
    assert none["difference"] == pytest.approx(13.0)
    # The text-only control is itself compared with none, never with itself.
    assert ("tiny-xlmr", "synth_xnli", "synth_caption_text_only",
            "synth_caption_text_only") not in table.index


def test_gap_and_forgetting(rows):
    gaps = gap_table(rows)
    assert gaps.loc[("tiny-xlmr", "synth_xnli", "synth_caption", "image_text", "real"),
                    "mean"] == pytest.approx(14.0)
    forgetting = forgetting_table(rows)
    cell = forgetting.loc[("tiny-xlmr", "synth_tatoeba", "synth_xnli", "synth_caption",
                           "image_text", "real")]
    # before: the encoder's de and fr (56.5 each); after: (60 + 46) / 2 + the seed.
    assert cell["before"] == pytest.approx(56.5)
    assert cell["after"] == pytest.approx(53.5)
    assert cell["mean"] == pytest.approx(-3.0) and cell["seeds"] == 2
    assert len(named_tables(rows)) == 4


def test_a_run_without_images_has_no_vision_view(rows):
    assert not has_images(rows.assign(modality="text"))


def test_base_models_are_compared_by_their_transfer_gaps(rows):
    assert base_model_gaps(rows).empty  # one base model
    # A CLIP-aligned encoder whose German is 5 points closer to its English (gaps 9, 10).
    clip = rows.assign(base_model="mclip-xlmr")
    clip.loc[clip["language"] == "de", "value"] += 5 + clip["seed"].fillna(0)
    table = base_model_gaps(pd.concat([rows, clip]))
    cell = table.loc[("synth_xnli", "synth_caption", "image_text", "real", "tiny-xlmr")]
    assert cell["reference"] == "mclip-xlmr"  # the first by name
    assert cell["difference"] == pytest.approx(5.5) and cell["seeds"] == 2
    assert cell["low"] < cell["difference"] < cell["high"] and 0 < cell["p_holm"] <= 1
    named = named_tables(pd.concat([rows, clip]))
    assert any("each base model" in title for title in named)
    gaps = gap_table(pd.concat([rows, clip]))  # per base model, never averaged together
    assert set(gaps.index.get_level_values("base_model")) == {"tiny-xlmr", "mclip-xlmr"}


def test_each_base_model_is_tested_on_its_own_predictions(rows):
    from sweep.results import by_base_model

    clip = rows.assign(base_model="mclip-xlmr", stage=rows["stage"] + "~mclip-xlmr")
    both = pd.concat([rows, clip])
    predictions = pd.DataFrame({"stage": ["eval/synth_xnli", "eval/synth_xnli~mclip-xlmr"],
                                "example_id": ["1", "1"]})
    seen = {}

    def make(model_rows, model_predictions):
        seen[model_rows["base_model"].iloc[0]] = list(model_predictions["stage"])
        return {"t": model_rows.groupby("intermediate_task")["value"].mean().to_frame()}

    named = by_base_model(both, make, predictions)
    assert seen == {"tiny-xlmr": ["eval/synth_xnli"],
                    "mclip-xlmr": ["eval/synth_xnli~mclip-xlmr"]}
    assert set(named["t"].index.get_level_values("base_model")) == {"tiny-xlmr", "mclip-xlmr"}
