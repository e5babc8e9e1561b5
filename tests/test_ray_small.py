"""Short real Ray checks: the pre-flight refusal and one 2-worker DDP trial with a mixture."""

from __future__ import annotations

import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.manifest import Manifest
from sweep.preflight import PreflightError
from sweep.results import load, load_trials
from sweep.runner import run_sweep
from sweep.spec import parse_spec
from trainables.model import read_meta


def test_preflight_refuses_a_trial_larger_than_the_cluster(ray_session, tmp_path):
    spec = parse_spec({
        "name": "too-big", "model": SMALL_MODEL, "data": SMALL_DATA, "target_tasks": ["synth_pos"],
        "search": {"target": {"batch_size": 30}},
        "resources": {"workers_per_trial": 3},
    })
    refusal = r"needs 3 Train workers of 1 CPU; the cluster's nodes hold 2"
    with pytest.raises(PreflightError, match=refusal):
        run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    assert not (tmp_path / "run" / "manifest.json").exists()  # nothing to --resume or clean


def test_preflight_refuses_storage_it_cannot_write(ray_session, s3_endpoint):
    spec = parse_spec({"name": "nowhere", "model": SMALL_MODEL, "data": SMALL_DATA,
                       "target_tasks": ["synth_pos"]})
    missing_bucket = f"s3://no-such-bucket/run?endpoint_override={s3_endpoint}"
    with pytest.raises(PreflightError, match="storage: cannot write to s3://no-such-bucket/run"):
        run_sweep(spec, storage=missing_bucket, quiet=True)


@pytest.mark.slow
def test_two_worker_ddp_trial_with_a_mixture(ray_session, tmp_path):
    spec = parse_spec({
        "name": "ddp", "model": SMALL_MODEL, "data": SMALL_DATA,
        "intermediate_tasks": [{"name": "mix", "mixture": ["synth_nli", "synth_pos"],
                                "cap": 100}],
        "target_tasks": ["synth_pos"],
        "search": {"intermediate": {"epochs": 1, "batch_size": 16, "evals_per_epoch": 1},
                   "target": {"intermediate": ["mix"], "epochs": 1, "batch_size": 16,
                              "evals_per_epoch": 1}},
        "scheduler": {"type": "fifo"},
        "resources": {"workers_per_trial": 2, "max_concurrent_trials": 1},
        "evaluation": {"languages": ["en", "de"]},
    })
    outcome = run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    assert outcome.ran == ["intermediate/mix", "target/synth_pos", "eval/synth_pos"]
    manifest = Manifest.read(outcome.storage)
    mixture = manifest.best("intermediate/mix")
    # A classification head and a tagging head on one encoder, trained over 2 DDP workers;
    # examples are counted globally: 2 tasks x 100 (cap) in one epoch.
    assert read_meta(mixture.checkpoint)["tasks"] == ["synth_nli", "synth_pos"]
    assert mixture.examples_seen == 200
    trials = load_trials(outcome.storage)
    assert len(trials) == 2 and not trials["stopped_early"].any()
    rows = load(outcome.storage)
    assert set(rows["language"]) == {"en", "de"}
    assert set(rows["intermediate_task"]) == {"mix"}
