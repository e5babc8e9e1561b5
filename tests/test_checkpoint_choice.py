"""`best_of_trial` on a one-worker trial's results (Tune keeps its checkpoints in the trial's
folder and names each result's `checkpoint_dir_name`): the best kept checkpoint, and after a
restart that reported an evaluation again, the later report of that folder."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from small import SMALL_DATA, SMALL_MODEL

from sweep.spec import parse_spec
from sweep.stages.checkpoints import best_of_trial
from trainables.storage import Location


def _result(folder, rows: list[dict]) -> SimpleNamespace:
    history = pd.DataFrame([{"step": 10 * i, "examples_seen": 32 * i, "train_seconds": float(i),
                             **row} for i, row in enumerate(rows, 1)])
    return SimpleNamespace(metrics_dataframe=history, path=str(folder),
                           metrics={"trial_id": "t1"}, config={"learning_rate": 1e-3})


def test_the_best_kept_checkpoint_and_the_later_report_of_a_rewritten_one(tmp_path):
    spec = parse_spec({"name": "c", "model": SMALL_MODEL, "data": SMALL_DATA,
                       "target_tasks": ["synth_xnli"]})
    for name in ("checkpoint_000001", "checkpoint_000002"):  # 000000 was deleted by Tune
        (tmp_path / name).mkdir()
    result = _result(tmp_path, [
        {"score": 90.0, "checkpoint_dir_name": "checkpoint_000000"},  # best, not kept
        {"score": 70.0, "checkpoint_dir_name": "checkpoint_000001"},
        {"score": 80.0, "checkpoint_dir_name": "checkpoint_000002"},  # before the crash
        {"score": 60.0, "checkpoint_dir_name": "checkpoint_000002"},  # rewritten after it
    ])
    best = best_of_trial(result, spec, Location.parse(str(tmp_path)))
    assert best.checkpoint == str(tmp_path / "checkpoint_000001")
    assert best.score == 70.0 and best.step == 20
    assert best.train_seconds == 4.0


def test_a_trial_without_checkpoints_has_none(tmp_path):
    spec = parse_spec({"name": "c", "model": SMALL_MODEL, "data": SMALL_DATA,
                       "target_tasks": ["synth_xnli"]})
    result = _result(tmp_path, [{"score": 50.0, "checkpoint_dir_name": None}])
    assert best_of_trial(result, spec, Location.parse(str(tmp_path))) is None
