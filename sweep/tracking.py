"""The experiment trackers: one entry per field of the spec's `tracking` section, each a Tune
callback that runs on the driver beside the sweep's own (`sweep.stages.training`).

Every stage is one Tune experiment, so a tracker groups a stage's trials under
`<spec.name>/<stage.name>` (an MLflow experiment, a W&B group): one run per trial, its
config (hyperparameters, intermediate checkpoint, seed) as parameters and each reported
result (score, evaluations, train_seconds, ...) as a step. Spec validation reads this module,
so Ray and the trackers' packages are imported inside the build functions only.
Adding a tracker (Comet, Aim, ...) is one entry in TRACKERS and its settings in
`schema.Tracking`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sweep.schema import MLflowTracking, Spec, WandbTracking, problem

# The spec's trackers install with the project's extra; each entry names its own package too.
INSTALL_EXTRA = "pip install 'xstilts-sweep[tracking]'"
# MLflow refuses a file-system tracking store from this version on, unless told to allow it.
MLFLOW_REFUSES_FILE_STORE = (3, 13)


def no_problems(settings: Any, path: str) -> list[str]:
    """The check of a tracker whose settings the schema's field checks cover."""
    return []


@dataclass(frozen=True)
class TrackerOption:
    """One field of `tracking`; a field left out (or `tensorboard: false`) needs no package.

    module: the package its callback imports (`sweep validate` looks for it, without
    importing it); install: how to install that package.
    build(settings, sweep, stage) -> the Tune callback for one stage of sweep `sweep`.
    check(settings, path) -> problems of the settings, found before any cluster time.
    """

    module: str
    install: str
    build: Callable[[Any, str, str], Any]
    check: Callable[[Any, str], list[str]] = no_problems


def experiment_name(sweep: str, stage: str) -> str:
    """Where a tracker groups one stage's trials, e.g. `offline-default/target/synth_xnli`."""
    return f"{sweep}/{stage}"


# -- MLflow: an experiment per stage, a run per trial -------------------------------------


def _build_mlflow(settings: MLflowTracking, sweep: str, stage: str) -> Any:
    from ray.air.integrations.mlflow import MLflowLoggerCallback  # lazy: module docstring

    return MLflowLoggerCallback(
        tracking_uri=settings.tracking_uri, experiment_name=experiment_name(sweep, stage),
        tags={"sweep": sweep, "stage": stage, **settings.tags},
        save_artifact=settings.save_artifact)


def _mlflow_version() -> tuple[int, ...] | None:
    """(major, minor) of the installed MLflow, full or skinny; None where neither is."""
    for distribution in ("mlflow", "mlflow-skinny"):
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        return tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    return None


def _mlflow_store(settings: MLflowTracking, path: str) -> list[str]:
    """A file-system store (a path, or file://) only where this MLflow still writes one."""
    uri = settings.tracking_uri
    file_store = uri is not None and ("://" not in uri or uri.startswith("file:"))
    allowed = os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() in ("true", "1")
    version = _mlflow_version()
    if not file_store or allowed or version is None or version < MLFLOW_REFUSES_FILE_STORE:
        return []
    return [problem(f"{path}.tracking_uri", uri,
                    "a database or server URI, e.g. sqlite:///<dir>/mlflow.db or "
                    f"http://host:5000 (MLflow {'.'.join(map(str, version))} refuses a "
                    "file store unless MLFLOW_ALLOW_FILE_STORE=true)")]


# -- TensorBoard: event files in every trial directory ------------------------------------


def _build_tensorboard(write: bool, sweep: str, stage: str) -> Any:
    from ray.tune.logger import LoggerCallback, TBXLoggerCallback  # lazy: module docstring

    if write:
        return TBXLoggerCallback()

    class NoEventFiles(TBXLoggerCallback):
        """Stands in for the TBXLoggerCallback Tune adds unless one is given. Tune's only
        switch, TUNE_DISABLE_AUTO_CALLBACK_LOGGERS, would also drop the CSV and JSON logs
        that the trial tables and learning curves are read from."""

        def __init__(self) -> None:
            pass  # no tensorboardX writer

        log_trial_start = LoggerCallback.log_trial_start
        log_trial_result = LoggerCallback.log_trial_result
        log_trial_end = LoggerCallback.log_trial_end

    return NoEventFiles()


# -- Weights & Biases: a run per trial, grouped by stage ----------------------------------


def _build_wandb(settings: WandbTracking, sweep: str, stage: str) -> Any:
    from ray.air.integrations.wandb import WandbLoggerCallback  # lazy: module docstring

    if settings.mode != "online":
        # Ray's setup asks for an API key unless WANDB_MODE (in the driver's environment)
        # says offline or disabled; the logging actors get the mode through wandb.init.
        os.environ["WANDB_MODE"] = settings.mode
    # Resolved here, on the driver: the logging actors run in each trial's staging directory,
    # which Tune copies to storage before W&B has finished writing.
    directory = Path(settings.dir or os.environ.get("WANDB_DIR") or os.getcwd()).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    return WandbLoggerCallback(project=settings.project, group=experiment_name(sweep, stage),
                               entity=settings.entity, mode=settings.mode, dir=str(directory))


# The order here is the order the callbacks run in.
TRACKERS: dict[str, TrackerOption] = {
    "mlflow": TrackerOption(module="mlflow", install="pip install mlflow-skinny",
                            build=_build_mlflow, check=_mlflow_store),
    "tensorboard": TrackerOption(module="tensorboardX", install="pip install tensorboardX",
                                 build=_build_tensorboard),
    "wandb": TrackerOption(module="wandb", install="pip install wandb", build=_build_wandb),
}


def tracking_callbacks(spec: Spec, stage: str) -> list[Any]:
    """The Tune callbacks of the spec's trackers for one stage (none without `tracking`)."""
    if spec.tracking is None:
        return []
    return [option.build(settings, spec.name, stage) for name, option in TRACKERS.items()
            if (settings := getattr(spec.tracking, name)) is not None]
