"""Crashes on a real sweep of two-worker DDP trials (the intermediate a mixture: one encoder,
a head per task), one after another in one run:

1. a Train worker SIGKILLed with `max_failures: 0`: the stage fails naming the trial;
2. `--resume` with `max_failures: 1`, a worker SIGKILLed again: the trial restarts from its
   last checkpoint by itself, counting examples and training time on from it;
3. the driver SIGKILLed mid-stage, then `--resume`: the sweep finishes, nothing finished is
   trained again, and every result row is there once.
"""

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
from trainables.model import read_meta
from trainables.training import EVALUATIONS

pytestmark = pytest.mark.slow

EPOCHS = 12  # long enough for three faults to land while the intermediate trial trains
CAP = 100
MIXTURE = {"name": "mix", "mixture": ["synth_nli", "synth_pos"], "cap": CAP}
EPOCH_EXAMPLES = CAP * len(MIXTURE["mixture"])  # counted globally, over both workers
LANGUAGES = {"en", "de"}


def _spec(max_failures: int) -> dict:
    return {
        "name": "faults", "model": SMALL_MODEL, "data": SMALL_DATA,
        "intermediate_tasks": [MIXTURE], "target_tasks": ["synth_pos"],
        "search": {
            "intermediate": {"learning_rate": 1e-3, "epochs": EPOCHS, "evals_per_epoch": 1},
            "target": {"intermediate": ["mix"], "epochs": 1, "learning_rate": 1e-3,
                       "evals_per_epoch": 1},
        },
        "scheduler": {"type": "fifo"}, "searcher": {"type": "grid"},
        "resources": {"workers_per_trial": 2, "max_concurrent_trials": 1,
                      "max_failures": max_failures},
        "evaluation": {"languages": sorted(LANGUAGES)},
    }


def _wait_for(condition, timeout: float, what: str, driver: subprocess.Popen):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        if driver.poll() is not None:
            raise AssertionError(f"the driver ended (rc {driver.returncode}) before {what}:\n"
                                 f"{driver.stdout.read()}")
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _evaluations(storage: Path) -> int:
    """The last evaluation the intermediate trial reported to Tune."""
    reported = [json.loads(line)[EVALUATIONS] for result in
                (storage / "tune").glob("intermediate-mix-*/*/result.json")
                for line in result.read_text().splitlines() if line.strip()]
    return max(reported, default=0)


def _kill_a_train_worker(ray_session) -> int:
    from ray.util.state import list_actors

    workers = list_actors(filters=[("class_name", "=", "RayTrainWorker"),
                                   ("state", "=", "ALIVE")])
    assert workers, "no live Train worker to kill"
    os.kill(workers[-1].pid, signal.SIGKILL)
    return workers[-1].pid


def _driver(spec_file: Path, storage: Path, ray_session, *flags: str) -> subprocess.Popen:
    env = {**os.environ, "RAY_ADDRESS": ray_session.get_runtime_context().gcs_address}
    return subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", str(spec_file), "--storage", str(storage),
         *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_lost_workers_and_a_killed_driver_lose_nothing(ray_session, tmp_path):
    spec_file, storage = tmp_path / "spec.yaml", tmp_path / "run"

    # 1. No restarts allowed: a lost worker fails the stage, naming its trial.
    spec_file.write_text(yaml.safe_dump(_spec(max_failures=0)))
    driver = _driver(spec_file, storage, ray_session)
    try:
        _wait_for(lambda: _evaluations(storage) >= 2, 300, "two evaluations", driver)
        _kill_a_train_worker(ray_session)
        output, _ = driver.communicate(timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
    [trial_folder] = [path.name for path in (storage / "tune").glob("intermediate-mix-*/*")
                      if path.is_dir()]
    assert driver.returncode == 1, output
    assert "intermediate/mix: 1 trial(s) failed" in output and trial_folder in output
    assert "max_failures" in output and "--resume" in output
    lost_at = _evaluations(storage)

    # 2. One restart allowed: the trial restarts from its checkpoint after a lost worker.
    spec_file.write_text(yaml.safe_dump(_spec(max_failures=1)))
    driver = _driver(spec_file, storage, ray_session, "--resume")
    try:
        _wait_for(lambda: _evaluations(storage) >= lost_at + 2, 300,
                  "two evaluations after the resume", driver)
        _kill_a_train_worker(ray_session)
        killed_at = _evaluations(storage)
        _wait_for(lambda: _evaluations(storage) >= killed_at + 2, 300,
                  "two evaluations after the lost worker", driver)
        # 3. The driver killed while the stage trains: no chance to save or unlock.
        assert _evaluations(storage) < EPOCHS, "the stage ended before the driver was killed"
        driver.kill()
        driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert Manifest.read(storage).stages["intermediate/mix"]["status"] == "running"

    outcome = run_sweep(parse_spec(_spec(max_failures=1)), storage=str(storage), resume=True,
                        quiet=True)
    assert outcome.ran == ["intermediate/mix", "target/synth_pos", "eval/synth_pos"]
    manifest = Manifest.read(storage)
    assert all(entry["status"] == "finished" for entry in manifest.stages.values())

    # One trial per stage, each in its own folder throughout: nothing trained twice.
    trials = load_trials(storage)
    assert sorted(trials["stage"]) == ["intermediate/mix", "target/synth_pos"]
    assert [path.name for path in (storage / "tune").glob("intermediate-mix-*/*")
            if path.is_dir()] == [trial_folder]
    # Counted on across two lost workers and a lost driver: every evaluation reported, the
    # examples of every epoch seen once, training time never started again from zero.
    curve = load_curves(storage).query("stage == 'intermediate/mix'")
    assert set(curve[EVALUATIONS]) == set(range(1, EPOCHS + 1))
    # An evaluation after the last checkpoint before a fault is reported again when the
    # trial redoes it; the redone one, with more training time, is the one whose checkpoint
    # stays.
    last = curve.groupby(EVALUATIONS)[["examples_seen", "train_seconds"]].max().sort_index()
    assert (last["examples_seen"] == last.index * EPOCH_EXAMPLES).all()
    assert last["train_seconds"].is_monotonic_increasing
    best = manifest.best("intermediate/mix")  # the best evaluation's checkpoint
    assert best.examples_seen % EPOCH_EXAMPLES == 0
    # Its evaluation may have been reported more than once, and not every report reaches
    # Tune's history when the driver is killed; none counted its time from zero again.
    first = curve.groupby(EVALUATIONS)["train_seconds"].min()
    assert best.train_seconds >= first.loc[best.examples_seen // EPOCH_EXAMPLES] - 1e-6
    # A classification head and a tagging head on one encoder.
    assert read_meta(best.checkpoint)["tasks"] == ["synth_nli", "synth_pos"]

    # Every result row once: the target's checkpoint in each language, as an uninterrupted
    # run has them.
    rows = load(storage)
    keys = ["stage", "task", "intermediate_task", "trial_id", "seed", "language", "split",
            "metric"]
    assert not rows.duplicated(keys).any()
    assert set(rows["language"]) == LANGUAGES
    assert set(rows["intermediate_task"]) == {"mix"}
    assert rows.groupby("language").size().nunique() == 1
