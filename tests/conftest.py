"""Shared fixtures: a hermetic HOME and cache, and one local Ray instance per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Hermetic before anything imports Ray: its auth token and our caches go to a temp HOME.
_HOME = Path(tempfile.mkdtemp(prefix="xs-home-"))
os.environ["HOME"] = str(_HOME)
os.environ.setdefault("XSTILTS_CACHE", str(_HOME / "cache"))
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
os.environ["RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"] = "600"  # as sweep.runner.init_ray
# Credentials for the loopback S3 server only, set before Ray starts so its workers inherit
# them; no instance-metadata lookups (they would wait for a cloud that is not there).
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server (moto in server mode) on loopback, with bucket `sweeps`.

    Storage URIs in tests are `s3://sweeps/<prefix>?endpoint_override=<this>`.
    """
    import pyarrow.fs as pafs

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        filesystem = pafs.S3FileSystem(endpoint_override=endpoint, allow_bucket_creation=True)
        deadline = time.time() + 30
        while True:
            try:
                filesystem.create_dir("sweeps")
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(params=["local", "s3"])
def run_storage(request, tmp_path):
    """A run's storage root, on a local disk and in the loopback S3 bucket (one per test)."""
    from trainables.storage import Location

    if request.param == "local":
        return Location.parse(str(tmp_path / "run"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return Location.parse(f"s3://sweeps/{request.node.name}?endpoint_override={endpoint}"
                          .replace("[", "-").replace("]", ""))
