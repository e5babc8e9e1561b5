"""Shared fixtures: a hermetic HOME and cache, and one local Ray instance per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Hermetic before anything imports Ray: its auth token and our caches go to a temp HOME.
_HOME = Path(tempfile.mkdtemp(prefix="xs-home-"))
os.environ["HOME"] = str(_HOME)
os.environ.setdefault("XSTILTS_CACHE", str(_HOME / "cache"))
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session, with its own short temp dir (socket paths)."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="xs-ray-", dir="/tmp")
    ray.init(num_cpus=2, resources={"trial_driver": 2}, include_dashboard=True,
             _temp_dir=temp_dir, log_to_driver=False)
    yield ray
    ray.shutdown()  # ends only the processes this session started
    shutil.rmtree(temp_dir, ignore_errors=True)
