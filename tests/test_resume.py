"""--resume after a real interruption: finished stages are skipped, the Tune experiment that
was cut short is restored (its one-worker trials keep their ids and go on from their last
checkpoint), and the run completes."""

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

EPOCHS = 20  # long enough for Ctrl-C to land in the first target trial (~1 s an epoch)
SPEC = {
    "name": "interrupted",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    "intermediate_tasks": ["synth_nli"],
    "target_tasks": ["synth_pos"],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": 1, "evals_per_epoch": 2},
        "target": {"intermediate": ["synth_nli"], "epochs": EPOCHS,
                   "learning_rate": {"choice": [3e-3, 1e-3]}, "evals_per_epoch": 2},
    },
    "scheduler": {"type": "fifo"},
    "searcher": {"type": "grid"},
    "resources": {"max_concurrent_trials": 1},
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


def test_resume_restores_an_interrupted_stage(ray_session, tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    storage = tmp_path / "run"
    env = {**os.environ, "RAY_ADDRESS": ray_session.get_runtime_context().gcs_address}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", str(spec_file), "--storage", str(storage)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        def target_trial_has_checkpointed() -> bool:
            manifest = storage / "manifest.json"
            if not manifest.exists():
                return False
            intermediate = json.loads(manifest.read_text())["stages"].get(
                "intermediate/synth_nli", {})
            if intermediate.get("status") != "finished":
                return False
            # Its second: the first is then surely in the experiment's saved state.
            return any(path.name != "checkpoint_000000" for path in
                       (storage / "tune").glob("target-synth_pos-*/*/checkpoint_*"))

        _wait_for(target_trial_has_checkpointed, 240, "a checkpoint of the first target trial")
        sweep.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, output
    assert "--resume" in output

    manifest = Manifest.read(storage)
    assert manifest.stages["intermediate/synth_nli"]["status"] == "finished"
    assert manifest.stages["target/synth_pos"]["status"] == "running"
    trials_before = _trial_folders(storage, "target-synth_pos")

    outcome = run_sweep(parse_spec(SPEC), storage=str(storage), resume=True, quiet=True)
    assert outcome.skipped == ["intermediate/synth_nli"]
    assert outcome.ran == ["target/synth_pos", "eval/synth_pos"]

    trials_after = _trial_folders(storage, "target-synth_pos")
    assert trials_before <= trials_after  # the interrupted trial continued in its own folder
    assert len(trials_after) == 2  # two target trials: nothing redone
    trials = load_trials(storage)
    target = trials[trials["stage"] == "target/synth_pos"]
    assert len(target) == 2
    assert (target["evaluations"] == EPOCHS * 2).all()  # counted across the interruption
    assert not target["stopped_early"].any()
    # The interrupted trial went on from a checkpoint rather than from scratch: each trial
    # reported every evaluation, and its first only once (what came after the last saved
    # checkpoint may be reported again).
    curves = load_curves(storage)
    for _, curve in curves[curves["stage"] == "target/synth_pos"].groupby("trial_id"):
        assert set(curve[EVALUATIONS]) == set(range(1, EPOCHS * 2 + 1))
        assert list(curve[EVALUATIONS]).count(1) == 1
    assert set(load(storage)["language"]) == {"en", "de"}

    # A changed evaluation re-runs only what it affects: no training, just the new evaluation.
    changed = parse_spec({**SPEC, "evaluation": {"languages": ["en", "de", "fr"]}})
    outcome = run_sweep(changed, storage=str(storage), resume=True, quiet=True)
    assert outcome.ran == ["eval/synth_pos"]
    assert _trial_folders(storage, "target-synth_pos") == trials_after
    assert set(load(storage)["language"]) == {"en", "de", "fr"}
