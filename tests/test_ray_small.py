"""Short real Ray checks: the pre-flight refusals (a 2-worker DDP trial with a mixture runs in
`test_faults.py`)."""

from __future__ import annotations

import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.preflight import PreflightError
from sweep.runner import run_sweep
from sweep.spec import parse_spec


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
