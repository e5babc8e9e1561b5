"""--resume after a real interruption: finished stages are skipped, the Tune experiment that
was cut short is restored (its trials keep their ids and Train runs), and the run completes."""

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
from sweep.results import load, load_trials
from sweep.runner import run_sweep
from sweep.spec import parse_spec

pytestmark = pytest.mark.slow

SPEC = {
    "name": "interrupted",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    "intermediate_tasks": ["synth_nli"],
    "target_tasks": ["synth_pos"],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": 1, "evals_per_epoch": 2},
        "target": {"intermediate": ["synth_nli"], "epochs": 6,
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


def _target_checkpoints(storage: Path) -> list[Path]:
    return list((storage / "train").glob("*/checkpoint_*"))


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
            finished_intermediate = Path(intermediate["best"]["checkpoint"])
            return any(path.parent != finished_intermediate.parent
                       for path in _target_checkpoints(storage))

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
    runs_before = {path.name for path in (storage / "train").iterdir() if path.is_dir()}

    outcome = run_sweep(parse_spec(SPEC), storage=str(storage), resume=True, quiet=True)
    assert outcome.skipped == ["intermediate/synth_nli"]
    assert outcome.ran == ["target/synth_pos", "eval/synth_pos"]

    runs_after = {path.name for path in (storage / "train").iterdir() if path.is_dir()}
    assert runs_before <= runs_after  # the interrupted trial continued its own Train run
    assert len(runs_after) == 1 + 2  # one intermediate run, two target trials: nothing redone
    trials = load_trials(storage)
    target = trials[trials["stage"] == "target/synth_pos"]
    assert len(target) == 2
    assert (target["evaluations"] == 6 * 2).all()  # counted across the interruption
    assert not target["stopped_early"].any()
    # The interrupted trial went on from its last Train checkpoint rather than from scratch:
    # after the restore Tune saw fewer reports from it than the evaluations it counts.
    assert (target["training_iteration"] < target["evaluations"]).any()
    assert set(load(storage)["language"]) == {"en", "de"}

    # A changed evaluation re-runs only what it affects: no training, just the new evaluation.
    changed = parse_spec({**SPEC, "evaluation": {"languages": ["en", "de", "fr"]}})
    outcome = run_sweep(changed, storage=str(storage), resume=True, quiet=True)
    assert outcome.ran == ["eval/synth_pos"]
    assert {path.name for path in (storage / "train").iterdir() if path.is_dir()} == runs_after
    assert set(load(storage)["language"]) == {"en", "de", "fr"}
