"""Where the training loop runs, and how it talks to Ray from there.

A trial with several workers runs the loop on each worker of a Ray Train worker group (DDP,
`TrainWorkerSession`); a one-worker trial runs it in the Tune trial's own process
(`TrialProcessSession`), so that it pays for no worker group, controller or placement group.
The loop sees only this interface: its rank, its device, the model prepared for it, the
checkpoint to resume from and a way to report an evaluation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import torch


class LoopSession(Protocol):
    rank: int
    world_size: int
    device: torch.device

    def prepare_model(self, model: torch.nn.Module, find_unused: bool) -> torch.nn.Module:
        """The model on this session's device, DDP-wrapped where there are several ranks."""

    def resumed(self) -> contextlib.AbstractContextManager[Path | None]:
        """The directory of the checkpoint to resume from, or None on a fresh start."""

    def report(self, metrics: dict[str, Any], checkpoint: Path | None) -> None:
        """Report one evaluation's metrics, with the checkpoint directory to persist."""

    def node_ids(self) -> str:
        """The Ray node ids of the trial's ranks, comma-joined in rank order."""


def _this_node() -> str:
    import ray  # lazy: worker-side only

    return ray.get_runtime_context().get_node_id()


@contextlib.contextmanager
def _directory_of(checkpoint: Any) -> Iterator[Path | None]:
    if checkpoint is None:
        yield None
        return
    with checkpoint.as_directory() as directory:
        yield Path(directory)


class TrainWorkerSession:
    """One rank of a Ray Train worker group (`ray.train` inside `TorchTrainer`)."""

    def __init__(self) -> None:
        import ray.train
        import ray.train.torch

        context = ray.train.get_context()
        self.rank, self.world_size = context.get_world_rank(), context.get_world_size()
        self.device = ray.train.torch.get_device()

    def prepare_model(self, model: torch.nn.Module, find_unused: bool) -> torch.nn.Module:
        import ray.train.torch

        return ray.train.torch.prepare_model(
            model, parallel_strategy_kwargs={"find_unused_parameters": find_unused})

    def resumed(self) -> contextlib.AbstractContextManager[Path | None]:
        import ray.train

        return _directory_of(ray.train.get_checkpoint())

    def report(self, metrics: dict[str, Any], checkpoint: Path | None) -> None:
        import ray.train

        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(checkpoint)
                         if checkpoint else None)

    def node_ids(self) -> str:
        node = _this_node()
        if self.world_size == 1:
            return node
        nodes: list[str] = [""] * self.world_size
        torch.distributed.all_gather_object(nodes, node)
        return ",".join(nodes)


class TrialProcessSession:
    """The Tune trial's own process: rank 0 of 1, reporting straight to Tune, which persists
    the checkpoints (the best and the latest) and restarts the trial from the latest."""

    rank, world_size = 0, 1

    def __init__(self, cpus: float) -> None:
        import ray

        # Ray gives the trial's process the GPU it asked for as device 0.
        self.device = torch.device("cuda" if ray.get_gpu_ids() else "cpu")
        if self.device.type == "cuda":
            torch.cuda.set_device(0)
        # As a Train worker would be: threads for the CPUs the trial holds, not the node's.
        torch.set_num_threads(max(1, int(cpus)))

    def prepare_model(self, model: torch.nn.Module, find_unused: bool) -> torch.nn.Module:
        return model.to(self.device)

    def resumed(self) -> contextlib.AbstractContextManager[Path | None]:
        from ray import tune

        return _directory_of(tune.get_checkpoint())

    def report(self, metrics: dict[str, Any], checkpoint: Path | None) -> None:
        from ray import tune

        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(checkpoint)
                    if checkpoint else None)

    def node_ids(self) -> str:
        return _this_node()
