"""--resume after a real interruption with two stages in flight: the intermediate stage and
the target stage, whose `none` trial trains beside it (its other trial waits for the
intermediate checkpoint). Each Tune experiment cut short is restored (its one-worker trials
keep their ids and go on from their last checkpoint), and the run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from small import SMALL_DATA, SMALL_MODEL

from sweep.manifest import Manifest
from sweep.results import load, load_curves, load_trials
from sweep.runner import run_sweep
from sweep.spec import parse_spec
from trainables.training import EVALUATIONS

pytestmark = pytest.mark.slow

EPOCHS = 12  # long enough for Ctrl-C to land while both stages train (~1 s an epoch)
SPEC = {
    "name": "interrupted",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    "intermediate_tasks": ["synth_nli"],
    "target_tasks": ["synth_pos"],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": EPOCHS, "evals_per_epoch": 2},
        "target": {"intermediate": ["none", "synth_nli"], "epochs": EPOCHS,
                   "learning_rate": 1e-3, "evals_per_epoch": 2},
    },
    "scheduler": {"type": "fifo"},
    "searcher": {"type": "grid"},
    "resources": {"max_concurrent_trials": 2},
    "evaluation": {"languages": ["en", "de"]},
}


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _trial_folders(storage: Path, stage_slug: str) -> set[str]:
    """The trial folders of a stage's Tune experiment (one-worker trials keep their
    checkpoints there)."""
    return {path.name for experiment in (storage / "tune").glob(f"{stage_slug}-*")
            for path in experiment.iterdir() if path.is_dir()}


def test_resume_restores_the_stages_in_flight(ray_session, tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    storage = tmp_path / "run"
    env = {**os.environ, "RAY_ADDRESS": ray_session.get_runtime_context().gcs_address}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", str(spec_file), "--storage", str(storage)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        def both_stages_have_checkpointed() -> bool:
            # Each one's second: the first is then surely in its experiment's saved state.
            return all(any(path.name != "checkpoint_000000" for path in
                           (storage / "tune").glob(f"{slug}-*/*/checkpoint_*"))
                       for slug in ("intermediate-synth_nli", "target-synth_pos"))

        _wait_for(both_stages_have_checkpointed, 240, "checkpoints of both stages' trials")
        sweep.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, output
    assert "--resume" in output and "intermediate/synth_nli, target/synth_pos" in output

    manifest = Manifest.read(storage)
    assert manifest.stages["intermediate/synth_nli"]["status"] == "running"
    assert manifest.stages["target/synth_pos"]["status"] == "running"
    before = {slug: _trial_folders(storage, slug)
              for slug in ("intermediate-synth_nli", "target-synth_pos")}
    assert len(before["target-synth_pos"]) == 1  # the `none` trial; the other waits

    outcome = run_sweep(parse_spec(SPEC), storage=str(storage), resume=True, quiet=True)
    assert outcome.skipped == []
    assert outcome.ran == ["intermediate/synth_nli", "target/synth_pos", "eval/synth_pos"]

    for slug, folders in before.items():
        assert folders <= _trial_folders(storage, slug)  # each went on in its own folder
    trials_after = _trial_folders(storage, "target-synth_pos")
    assert len(trials_after) == 2  # two target trials: nothing redone
    trials = load_trials(storage)
    assert (trials["evaluations"] == EPOCHS * 2).all()  # counted across the interruption
    assert not trials["stopped_early"].any()
    # The target trial from synth_nli started from the intermediate stage's best checkpoint,
    # which the manifest names, once that stage had finished.
    manifest = Manifest.read(storage)
    target = trials[trials["stage"] == "target/synth_pos"].set_index("config/intermediate")
    assert target.loc["synth_nli", "config/start_checkpoint"] == \
        manifest.best("intermediate/synth_nli").checkpoint
    assert manifest.stages["intermediate/synth_nli"]["recorded_at"] <= \
        manifest.stages["target/synth_pos"]["recorded_at"]
    # Each stage's trials trained that stage's task (stages fitting side by side keep their
    # own settings), from the start each was given.
    chosen = {("synth_nli", "none"): manifest.chosen("intermediate/synth_nli"),
              **{("synth_pos", choice): group for choice, group in
                 manifest.chosen_by_intermediate("target/synth_pos").items()}}
    for (task, start), checkpoints in chosen.items():
        for checkpoint in checkpoints:
            meta = json.loads((Path(checkpoint.checkpoint) / "meta.json").read_text())
            assert (meta["group"], meta["intermediate"]) == (task, start)
    # The interrupted trials went on from a checkpoint rather than from scratch: each trial
    # reported every evaluation, and its first only once (what came after the last saved
    # checkpoint may be reported again).
    curves = load_curves(storage)
    for _, curve in curves.groupby("trial_id"):
        reported = (curve["stage"].iloc[0], list(curve[EVALUATIONS]))
        assert set(curve[EVALUATIONS]) == set(range(1, EPOCHS * 2 + 1)), reported
        assert list(curve[EVALUATIONS]).count(1) == 1, reported
    assert set(load(storage)["language"]) == {"en", "de"}

    # A changed evaluation re-runs only what it affects: no training, just the new evaluation.
    changed = parse_spec({**SPEC, "evaluation": {"languages": ["en", "de", "fr"]}})
    outcome = run_sweep(changed, storage=str(storage), resume=True, quiet=True)
    assert outcome.ran == ["eval/synth_pos"]
    assert _trial_folders(storage, "target-synth_pos") == trials_after
    assert set(load(storage)["language"]) == {"en", "de", "fr"}
