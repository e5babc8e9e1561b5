"""The training loop run in this process with Ray Train's calls stood in for: a loop resumed
from a checkpoint goes on counting from it (examples seen, evaluations, training time)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from small import TINY_MODEL

from trainables import training
from trainables.offline.benchmark import generate_benchmark


class Crash(Exception):
    """Stands for a worker lost after its first report."""


class FakeContext:
    def get_world_rank(self) -> int:
        return 0

    def get_world_size(self) -> int:
        return 1


def _run_loop(monkeypatch, config: dict, resume_from: Path | None, kept: Path) -> dict:
    """Run `train_loop_per_worker` until its first report; return that report's metrics
    and keep its checkpoint in `kept`."""
    import ray.train
    import ray.train.torch

    def report(metrics: dict, checkpoint=None) -> None:
        with checkpoint.as_directory() as directory:
            shutil.copytree(directory, kept, dirs_exist_ok=True)
        raise Crash(metrics)

    monkeypatch.setattr(ray.train, "get_context", FakeContext)
    monkeypatch.setattr(ray.train, "report", report)
    monkeypatch.setattr(ray.train, "get_checkpoint", lambda: resume_from and
                        ray.train.Checkpoint.from_directory(str(resume_from)))
    monkeypatch.setattr(ray.train.torch, "get_device", lambda: torch.device("cpu"))
    monkeypatch.setattr(ray.train.torch, "prepare_model", lambda model, **kwargs: model)
    monkeypatch.setattr(training, "_worker_nodes", lambda world_size: "this-node")
    with pytest.raises(Crash) as crashed:
        training.train_loop_per_worker(config)
    return crashed.value.args[0]


def test_a_resumed_loop_counts_on_from_its_checkpoint(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    root = generate_benchmark(tmp_path / "data", train_size=64, eval_size=10,
                              retrieval_size=10, corpus_size=10)
    config = {"model": TINY_MODEL, "data": {"source": "local", "path": str(root)},
              "tasks": ["synth_xnli"], "group": "synth_xnli", "mixture_cap": None,
              "max_length": 32, "evals_per_epoch": 1, "intermediate": "none",
              "init_checkpoint": None,
              "hparams": {"seed": 0, "batch_size": 16, "epochs": 3, "learning_rate": 1e-3,
                          "warmup_ratio": 0.1}}
    first = _run_loop(monkeypatch, config, None, tmp_path / "first")
    assert first["evaluations"] == 1 and first["examples_seen"] == 64
    # The time the lost worker had trained, as its checkpoint recorded it, made long enough
    # that a loop counting from zero again cannot reach it.
    state_file = tmp_path / "first" / "training_state.pt"
    saved = torch.load(state_file, weights_only=False)
    saved["state"]["train_seconds"] = 1000.0
    torch.save(saved, state_file)

    second = _run_loop(monkeypatch, config, tmp_path / "first", tmp_path / "second")
    assert second["evaluations"] == 2 and second["examples_seen"] == 2 * 64
    assert 1000.0 < second["train_seconds"] < 1000.0 + 600
