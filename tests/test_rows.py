"""Result rows without Ray: the column contract of `write_rows` and the facts rows carry."""

from __future__ import annotations

import json

import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.manifest import BestCheckpoint, Manifest
from sweep.plan import make_plan
from sweep.results import load
from sweep.rows import COLUMNS, encoder_facts, stage_rows, target_facts, write_rows
from sweep.spec import parse_spec
from trainables.storage import Location

SPEC = parse_spec({"name": "rows", "model": SMALL_MODEL, "data": SMALL_DATA,
                   "intermediate_tasks": ["synth_nli"], "target_tasks": ["synth_xnli"],
                   "retrieval_tasks": ["synth_tatoeba"]})
OUTCOME = {"metrics": {"accuracy": 61.5}, "seconds": 360.0, "num_examples": 60,
           "node_id": "node-1"}


def _checkpoint(train_seconds: float, devices: int, **config) -> BestCheckpoint:
    return BestCheckpoint(trial_id="t1", checkpoint="/run/train/t1/checkpoint_000002",
                          score=70.0, step=40, examples_seen=600,
                          train_seconds=train_seconds, devices=devices,
                          config={"seed": 0, "learning_rate": 1e-3, **config})


def test_a_key_that_is_not_a_column_is_refused_by_name(tmp_path):
    rows = [{"stage": "eval/synth_xnli", "metric": "accuracy", "value": 1.0, "valu": 2.0}]
    with pytest.raises(ValueError, match=r"eval-synth_xnli.*: valu$"):
        write_rows(Location.parse(str(tmp_path)), "eval-synth_xnli", rows)
    assert not (tmp_path / "rows").exists()


def test_columns_come_in_order_and_missing_ones_are_null(tmp_path):
    rows = [{"value": 0.5, "metric": "accuracy", "language": "de", "stage": "eval/synth_xnli"}]
    assert write_rows(Location.parse(str(tmp_path)), "eval-synth_xnli", rows) \
        == "rows/eval-synth_xnli.parquet"
    frame = load(tmp_path)
    assert list(frame.columns) == COLUMNS
    assert frame.loc[0, ["stage", "language", "metric", "value"]].tolist() \
        == ["eval/synth_xnli", "de", "accuracy", 0.5]
    given = {"stage", "language", "metric", "value"}
    assert frame[[c for c in COLUMNS if c not in given]].isna().all().all()


def test_a_target_checkpoint_from_an_intermediate_counts_both_trainings():
    stage = make_plan(SPEC).stage("eval/synth_xnli")
    upstream = _checkpoint(train_seconds=1800.0, devices=2, learning_rate=3e-5)
    target = _checkpoint(train_seconds=3600.0, devices=2, intermediate="synth_nli")
    facts = {**target_facts(target, upstream), "target_task": "synth_xnli",
             "language": "de", "split": "test"}
    [row] = stage_rows(SPEC, stage, facts, OUTCOME)
    assert set(row) <= set(COLUMNS)
    # (3600 s x 2 devices + 1800 s x 2 devices) of training + 360 s of evaluation
    assert row["device_hours"] == pytest.approx(3.1)
    assert row["intermediate_task"] == "synth_nli"
    assert row["intermediate_learning_rate"] == 3e-5 and row["learning_rate"] == 1e-3
    assert row["checkpoint_uri"] == target.checkpoint and row["train_wall_seconds"] == 3600.0
    assert (row["stage"], row["task"], row["metric"], row["value"]) \
        == ("eval/synth_xnli", "synth_xnli", "accuracy", 61.5)


def test_a_target_checkpoint_from_the_base_model_counts_its_own_training():
    stage = make_plan(SPEC).stage("eval/synth_xnli")
    target = _checkpoint(train_seconds=3600.0, devices=1, intermediate="none")
    [row] = stage_rows(SPEC, stage, {**target_facts(target, None), "language": "en"}, OUTCOME)
    assert row["device_hours"] == pytest.approx(1.1)
    assert row["intermediate_task"] == "none" and row["intermediate_learning_rate"] is None


def test_the_base_model_encoder_has_no_training(tmp_path):
    stage = make_plan(SPEC).stage("retrieval/synth_tatoeba")
    facts = {**encoder_facts(None, SPEC.model.name), "intermediate_task": "none",
             "language": "de", "split": "test"}
    rows = stage_rows(SPEC, stage, facts, OUTCOME)
    write_rows(Location.parse(str(tmp_path)), stage.slug, rows)  # every key is a column
    assert rows[0]["device_hours"] == pytest.approx(0.1)
    assert rows[0]["checkpoint_uri"] == f"base:{SPEC.model.name}" and rows[0]["step"] == 0


def test_a_manifest_written_before_the_typed_record_still_loads(tmp_path):
    """The JSON keys stay those of the old string-keyed dicts, so old runs --resume."""
    old = {"trial_id": "t1", "checkpoint": "/run/train/t1/checkpoint_000002", "score": 70.0,
           "step": 40, "examples_seen": 600, "train_seconds": 10.0, "devices": 1,
           "config": {"seed": 0, "learning_rate": 1e-3, "intermediate": "synth_nli"}}
    (tmp_path / "manifest.json").write_text(json.dumps({"experiment": "rows", "stages": {
        "target/synth_xnli": {"status": "finished", "best": old,
                              "by_intermediate": {"synth_nli": old}}}}))
    manifest = Manifest.read(tmp_path)
    best = manifest.best("target/synth_xnli")
    assert best == manifest.best("target/synth_xnli", "synth_nli")
    assert best.checkpoint == old["checkpoint"] and best.intermediate == "synth_nli"
    assert manifest.by_intermediate("target/synth_xnli") == {"synth_nli": best}
    # A field added since (a direct arm's target examples) takes its default.
    assert best.to_dict() == {**old, "target_train_examples": 0}
