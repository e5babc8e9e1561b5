"""A sweep on a four-node `ray.cluster_utils.Cluster` on this machine, two of whose nodes
are lost while it runs.

The head runs the trial drivers; three worker nodes each advertise one fake accelerator, so
a 2-worker trial must place its Train workers on two of them, and the evaluation fans out
over nodes. A node holding a Train worker is removed once the intermediate trial has
checkpointed, and another while the evaluation runs: the trial restarts on the nodes left
(`max_failures`), the evaluation's tasks are retried, and the sweep finishes. The cluster
lives in a subprocess (this file run as a script) so that it does not collide with the
session's own Ray instance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.manifest import Manifest
from sweep.results import load, load_trials

pytestmark = pytest.mark.slow

ACCELERATOR = "fake_accelerator"
SPEC = {
    "name": "multinode",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    "intermediate_tasks": ["synth_nli"],
    "target_tasks": ["synth_xnli"],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": 3, "batch_size": 32,
                         "evals_per_epoch": 1},
        "target": {"intermediate": ["synth_nli"], "learning_rate": 3e-3, "epochs": 1,
                   "batch_size": 32, "evals_per_epoch": 1},
    },
    "scheduler": {"type": "fifo"},
    "searcher": {"type": "grid"},
    "resources": {"workers_per_trial": 2, "custom_per_worker": {ACCELERATOR: 1},
                  "max_concurrent_trials": 1, "max_failures": 2},
    "evaluation": {"splits": ["test"], "languages": ["en", "de", "ru", "zh", "ar", "hi"]},
}


def run_on_cluster(spec: dict, storage: str) -> None:
    """Start the cluster, run the sweep on it, and end every process the cluster started."""
    import ray
    from conftest import free_port
    from ray._common.utils import get_default_ray_temp_dir
    from ray.cluster_utils import Cluster

    from sweep.runner import run_sweep
    from sweep.spec import parse_spec

    # Ports of its own: the session's Ray may hold the default ones (8265, 52365, ...).
    ports = {name: free_port() for name in (
        "gcs_server_port", "dashboard_port", "dashboard_agent_listen_port", "metrics_export_port",
        "runtime_env_agent_port")}
    # cluster_utils writes the head's address to Ray's default temp dir whatever temp_dir
    # says, and fails where that folder does not exist yet (a fresh machine).
    os.makedirs(get_default_ray_temp_dir(), exist_ok=True)
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {"trial_driver": 1}, "include_dashboard": True,
        "temp_dir": tempfile.mkdtemp(prefix="xs-mn-", dir="/tmp"), **ports,
    })
    try:
        for _ in range(3):
            cluster.add_node(num_cpus=1, resources={ACCELERATOR: 1})
        ray.init(address=cluster.address, log_to_driver=False)
        lost: list[dict] = []
        losing = threading.Thread(target=_lose_two_nodes, args=(cluster, Path(storage), lost),
                                  daemon=True)
        losing.start()
        run_sweep(parse_spec(spec), storage=storage, quiet=True)
        losing.join(timeout=5)
        Path(storage, LOST_NODES).write_text(json.dumps(lost))
    finally:
        ray.shutdown()
        cluster.shutdown()


LOST_NODES = "lost_nodes.json"  # what the script removed, for the test to read


def _lose_two_nodes(cluster, storage: Path, lost: list[dict]) -> None:
    """Remove the node of a live Train worker once a Train checkpoint exists, then the node
    of a running evaluation task; each removal goes into `lost`."""
    import time

    from ray.util.state import list_actors, list_tasks

    def lose(phase: str, node_ids: set[str]) -> bool:
        for node in cluster.worker_nodes:
            if node.node_id in node_ids:
                cluster.remove_node(node, allow_graceful=False)
                lost.append({"phase": phase, "node_id": node.node_id})
                return True
        return False

    deadline = time.time() + 400
    while time.time() < deadline and not lost:
        if any((storage / "train").glob("*/checkpoint_*")):
            lose("training", {actor.node_id for actor in list_actors(
                filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])})
        time.sleep(0.2)
    while time.time() < deadline and len(lost) < 2:
        lose("evaluation", {task.node_id for task in list_tasks(
            filters=[("state", "=", "RUNNING"), ("type", "=", "NORMAL_TASK")])
            if task.name.startswith("evaluate")})
        time.sleep(0.2)


def test_trials_and_evaluations_spread_over_nodes_and_survive_lost_ones(tmp_path):
    storage = tmp_path / "run"
    # Without the RAY_AUTH_MODE=token that the session's ray.init leaves in this process's
    # environment: ray.cluster_utils cannot start a token-auth cluster (Ray aborts in its
    # token loader); token auth is tested against a real head in test_jobs.py.
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    finished = subprocess.run(
        [sys.executable, __file__, json.dumps(SPEC), str(storage)],
        cwd=Path(__file__).parent, env=env, capture_output=True, text=True, timeout=540,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]

    manifest = Manifest.read(storage)
    assert all(entry["status"] == "finished" for entry in manifest.stages.values())
    lost = json.loads((storage / LOST_NODES).read_text())
    assert [node["phase"] for node in lost] == ["training", "evaluation"], lost
    trials = load_trials(storage)
    for workers in trials["worker_nodes"]:
        assert len(set(workers.split(","))) == 2  # one Train worker per accelerator node
        assert lost[0]["node_id"] not in workers  # the trial went on without the lost node
    rows = load(storage)
    assert len(rows) == len(SPEC["evaluation"]["languages"])  # every language, once
    assert rows["node_id"].nunique() > 1  # the evaluation fanned out over nodes
    assert not set(rows["node_id"]) & {node["node_id"] for node in lost}


if __name__ == "__main__":
    run_on_cluster(json.loads(sys.argv[1]), sys.argv[2])
