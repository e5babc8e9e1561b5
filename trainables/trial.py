"""The Tune trial: a function trainable that runs the training loop once.

Tune hands it a sampled configuration (learning rate, epochs, ..., and in the target stage the
intermediate choice, with the checkpoint the driver started it from under START_CHECKPOINT).
With several workers per trial it builds a `TorchTrainer` whose workers run
`trainables.training.train_loop_per_worker` (DDP), and `TuneReportCallback` forwards rank 0's
reports to Tune so ASHA can stop the trial between evaluations. With one worker the loop runs
in the trial's own process and reports to Tune directly: no worker group, controller or
placement group to start for each trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_INTERMEDIATE = "none"
# The config key where Tune's Repeater numbers the repeats of one suggestion
# (ray.tune.search.repeater.TRIAL_INDEX; written out so that this module loads without Ray).
TRIAL_INDEX = "__trial_index__"
# The config key where the driver puts the checkpoint a trial starts from when it starts it
# (`sweep.stages.gate`): not a sampled value.
START_CHECKPOINT = "start_checkpoint"


def with_seed(config: Mapping[str, Any], seeds: list[int] | None) -> dict[str, Any]:
    """A trial's sampled point with the seed it trains with: the seeds' entry its repeat
    index names, where a searcher repeats each configuration by index; else as sampled."""
    point = {key: value for key, value in config.items()
             if key not in (TRIAL_INDEX, START_CHECKPOINT)}
    if seeds and TRIAL_INDEX in config:
        point["seed"] = seeds[int(config[TRIAL_INDEX])]
    return point


def worker_resources(resources: Mapping[str, Any]) -> dict[str, float]:
    """What one Train worker asks Ray for, from the spec's `resources` section (the
    pre-flight checks the same bundle). Custom resources (fake accelerators in tests, node
    labels) ride along per worker."""
    bundle = {"CPU": resources["cpus_per_worker"]}
    if resources["gpus_per_worker"]:
        bundle["GPU"] = resources["gpus_per_worker"]
    return {**bundle, **resources["custom_per_worker"]}


def in_trial_process(resources: Mapping[str, Any]) -> bool:
    """Whether a trial runs its loop in its own process (one worker) rather than on a Train
    worker group."""
    return resources["workers_per_trial"] == 1


def trial_resources(resources: Mapping[str, Any], driver_resource: str) -> dict[str, float]:
    """What a trial's own process asks Ray for: one worker's bundle where it trains in
    process, else a driver slot (`driver_resource`) while its Train workers ask for the rest."""
    if in_trial_process(resources):
        return worker_resources(resources)
    return {"CPU": 0, driver_resource: 1}


def evaluation_resources(resources: Mapping[str, Any]) -> dict[str, float]:
    """What one evaluation or retrieval Ray task asks for: `eval_cpus`, and one GPU where
    the trials use GPUs."""
    bundle = {"CPU": resources["eval_cpus"]}
    if resources["gpus_per_worker"]:
        bundle["GPU"] = min(resources["gpus_per_worker"], 1)
    return bundle


def train_trial(config: dict[str, Any], run: dict[str, Any]) -> None:
    """Tune function trainable. `config` is the sampled point (and where it starts from),
    `run` the stage's fixed part."""
    start = config.get(START_CHECKPOINT)
    config = with_seed(config, run.get("seeds"))
    intermediate = config.get("intermediate", NO_INTERMEDIATE)
    if start is None and intermediate != NO_INTERMEDIATE:
        raise ValueError(f"a trial from intermediate {intermediate!r} was started without "
                         f"its checkpoint (config key {START_CHECKPOINT!r})")
    hparams = {key: value for key, value in config.items() if key != "intermediate"}
    loop_config = {**run["loop"], "hparams": hparams, "intermediate": intermediate,
                   "init_checkpoint": start}
    resources = run["resources"]
    # Imports are lazy here: `sweep plan` and spec validation import this module for its
    # resource helpers and must load neither Ray nor torch.
    if in_trial_process(resources):
        from trainables.session import TrialProcessSession
        from trainables.training import train_loop

        train_loop(loop_config, TrialProcessSession(resources["cpus_per_worker"]))
    else:
        _fit_worker_group(loop_config, run)


def _fit_worker_group(loop_config: dict[str, Any], run: dict[str, Any]) -> None:
    """One Ray Train fit of the loop on `workers_per_trial` DDP workers."""
    from ray import tune
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    from trainables.storage import Location
    from trainables.training import SCORE, train_loop_per_worker

    resources = run["resources"]
    use_gpu = resources["gpus_per_worker"] > 0
    storage = Location.parse(run["train_storage"])
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config,
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=resources["workers_per_trial"], use_gpu=use_gpu,
            resources_per_worker=worker_resources(resources),
            placement_strategy=resources["placement_strategy"],
        ),
        run_config=RunConfig(
            # Named after the trial so that a restored trial resumes its own Train run.
            name=tune.get_context().get_trial_id(),
            storage_path=storage.path,
            storage_filesystem=storage.storage_filesystem,
            callbacks=[TuneReportCallback()],
            checkpoint_config=CheckpointConfig(
                num_to_keep=1, checkpoint_score_attribute=SCORE, checkpoint_score_order="max"
            ),
            failure_config=FailureConfig(
                max_failures=run["max_failures"], controller_failure_limit=0
            ),
        ),
    )
    trainer.fit()
