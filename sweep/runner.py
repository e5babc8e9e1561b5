"""Running a plan on Ray: each stage in order, skipping those already finished.

  1. training stages (intermediate, then target) are Tune experiments of `train_trial`;
  2. their best checkpoints go to the manifest;
  3. eval and retrieval stages fan out Ray tasks over checkpoints x languages;
  4. every stage writes its rows (and Tune's trial table) under the storage path.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow
import ray
from ray import tune

from sweep.manifest import Manifest
from sweep.plan import Plan, Stage, make_plan, max_iterations
from sweep.preflight import TRIAL_DRIVER, PreflightError, pin_revisions, run_preflight
from sweep.progress import StageProgress, TuneProgress
from sweep.results import TRIALS_DIR, write_rows
from sweep.search import build_scheduler, build_search, expected_iterations
from sweep.spec import Spec
from trainables.data import data_root
from trainables.evaluation import evaluate_checkpoint, evaluate_retrieval
from trainables.model import base_model_reference
from trainables.storage import Location
from trainables.tasks import get_task
from trainables.training import EVALUATIONS, SCORE
from trainables.trial import NO_INTERMEDIATE, evaluation_resources, train_trial


class StageFailed(RuntimeError):
    """A stage ended with failed trials or tasks; finished stages stay recorded."""


class SweepInterrupted(RuntimeError):
    """Stopped by the user (Ctrl-C) mid-stage; --resume continues from the saved state."""


@dataclass
class SweepOutcome:
    storage: Location
    ran: list[str]
    skipped: list[str]
    seconds: float


def resolve_storage(spec: Spec, storage: str | None) -> Location:
    """Where the run lives: --storage, else the file's `storage`, else results/<name>."""
    return Location.parse(storage or spec.storage or os.path.join("results", spec.name))


def init_ray(spec: Spec) -> None:
    """Connect to RAY_ADDRESS, or start a local Ray sized for this spec."""
    # Our one-line progress replaces Tune's tables; worker logs stay in Ray's session logs.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = os.environ.get("RAY_ADDRESS", "")
    if address.startswith(("http://", "https://")):
        raise PreflightError(
            f"RAY_ADDRESS={address} is a dashboard URL, which `sweep submit` uses; `sweep run` "
            "joins a cluster by its GCS address (HOST:6379) or starts a local Ray: unset "
            "RAY_ADDRESS, or use `sweep submit` to run on that cluster")
    if not ray.is_initialized():
        if address:
            ray.init(log_to_driver=False)
        else:
            ray.init(
                resources={TRIAL_DRIVER: spec.resources.max_concurrent_trials},
                include_dashboard=True,  # the State API cleans up ASHA-stopped Train runs
                log_to_driver=False,
            )
    for name in ("ray", "ray.tune", "ray.train", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)


def prepare_offline_assets(spec: Spec, quiet: bool) -> None:
    """Build the cached offline benchmark and tiny model once, on the driver, so that trials
    starting side by side do not each build them (workers on other nodes build their own
    identical copy)."""
    if spec.model.source != "offline" and spec.data.source != "offline":
        return
    if not quiet:
        print("[prepare] offline benchmark and tiny model (cached after the first run)",
              file=sys.stderr)
    if spec.data.source == "offline":
        data_root(spec.data.model_dump())
    if spec.model.source == "offline":
        base_model_reference(spec.model.model_dump())


def run_sweep(
    spec: Spec, storage: str | None = None, resume: bool = False, quiet: bool = False
) -> SweepOutcome:
    """Run every stage of the spec's plan; with `resume`, skip what is already finished."""
    started = time.time()
    root = resolve_storage(spec, storage)
    try:
        manifest = Manifest.open(root, spec.name, resume)
    except (OSError, pyarrow.ArrowException) as error:  # unreachable bucket, bad URI options
        raise PreflightError(f"storage: cannot open {root}: {error}") from None
    init_ray(spec)
    commits = run_commits(manifest, spec, resume, run_preflight(spec, root))
    plan = make_plan(pin_revisions(spec, commits))
    # Written only once the run can start, so a refused run leaves nothing behind.
    manifest.data["spec"] = spec.model_dump(mode="json")
    manifest.data["revisions"] = commits
    manifest.save()
    prepare_offline_assets(spec, quiet)
    ran, skipped = [], []
    for stage in plan.stages:
        if manifest.is_finished(stage.name, stage.config_hash):
            skipped.append(stage.name)
            if not quiet:
                print(f"[{stage.name}] finished earlier, skipped", file=sys.stderr)
            continue
        runner = _run_training_stage if stage.kind in ("intermediate", "target") else \
            _run_evaluation_stage
        entry = runner(plan, stage, manifest, root, resume, quiet)
        manifest.record(stage.name, {"status": "finished", "config_hash": stage.config_hash,
                                     "kind": stage.kind, **entry})
        ran.append(stage.name)
    return SweepOutcome(root, ran, skipped, time.time() - started)


def run_commits(
    manifest: Manifest, spec: Spec, resume: bool, resolved: dict[str, Any]
) -> dict[str, Any]:
    """The hub commits a run reads: those its revisions name now for a new run; for a resumed
    one, those recorded when it began wherever the spec still asks for the same thing, so that
    every stage reads the same snapshot even if a branch (`main`, `refs/convert/parquet`)
    moved in between. A run begun before commits were recorded resumes unpinned, as it
    began."""
    if not resume:
        return resolved
    if "revisions" not in manifest.data:
        return {} if manifest.stages else resolved
    recorded, began = manifest.data["revisions"], manifest.data.get("spec", {})
    commits = {**resolved, "datasets": dict(resolved.get("datasets", {}))}
    asked_then = {key: began.get("model", {}).get(key) for key in ("name", "revision")}
    if resolved.get("model") and recorded.get("model") and \
            asked_then == {"name": spec.model.name, "revision": spec.model.revision}:
        commits["model"] = recorded["model"]
    pinned_then = began.get("data", {}).get("revisions", {})
    for task in commits["datasets"]:
        if recorded.get("datasets", {}).get(task) and \
                pinned_then.get(task) == spec.data.revisions.get(task):
            commits["datasets"][task] = recorded["datasets"][task]
    return commits


# -- training stages -------------------------------------------------------------------------


def _run_training_stage(
    plan: Plan, stage: Stage, manifest: Manifest, root: Location, resume: bool, quiet: bool
) -> dict[str, Any]:
    spec = plan.spec
    choices = stage.config.get("intermediate")
    run = {
        "loop": {
            "model": spec.model.model_dump(), "data": spec.data.model_dump(),
            "tasks": stage.config["tasks"], "group": stage.task,
            "mixture_cap": stage.config.get("cap"), "max_length": spec.model.max_length,
            "evals_per_epoch": spec.scheduler.evals_per_epoch,
        },
        "intermediate_checkpoints": {
            name: manifest.best(f"intermediate/{name}")["checkpoint"]
            for name in choices or [] if name != NO_INTERMEDIATE
        },
        "resources": spec.resources.model_dump(),
        "train_storage": root.join("train").uri,
        "max_failures": spec.resources.max_failures,
    }
    trainable = tune.with_resources(
        tune.with_parameters(train_trial, run=run), {"CPU": 0, TRIAL_DRIVER: 1}
    )
    max_t = max_iterations(spec, stage.kind, stage.task)
    metric = get_task(stage.task).metric if stage.kind == "target" else "score"
    progress = StageProgress(stage.name, stage.trials, metric=f"en dev {metric}")
    callbacks = [] if quiet else [TuneProgress(progress,
                                               lambda c: expected_iterations(spec, c, max_t))]
    # Named by config hash: a changed config starts a new experiment beside the old one,
    # and --resume restores only the experiment its own config started.
    tune_root = root.join("tune")
    filesystem = root.storage_filesystem
    experiment_name = f"{stage.slug}-{stage.config_hash[:8]}"
    experiment = tune_root.join(experiment_name)
    if resume and tune.Tuner.can_restore(experiment.path, storage_filesystem=filesystem):
        tuner = tune.Tuner.restore(experiment.path, trainable, resume_unfinished=True,
                                   resume_errored=True, storage_filesystem=filesystem)
    else:
        manifest.record(stage.name, {"status": "running", "config_hash": stage.config_hash,
                                     "kind": stage.kind, "experiment": experiment.uri})
        param_space, search_alg, num_samples = build_search(spec, stage.kind, stage.task,
                                                            choices)
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(
                metric=SCORE, mode="max", scheduler=build_scheduler(spec, max_t),
                search_alg=search_alg, num_samples=num_samples,
                max_concurrent_trials=spec.resources.max_concurrent_trials,
            ),
            run_config=tune.RunConfig(
                name=experiment_name, storage_path=tune_root.path,
                storage_filesystem=filesystem, verbose=0, callbacks=callbacks,
            ),
        )
    grid = tuner.fit()
    if not quiet:
        progress.close()
    if _was_interrupted(experiment, stage):
        raise SweepInterrupted(
            f"{stage.name} was interrupted; its state is saved in {experiment}. "
            "Rerun with --resume to continue it."
        )

    trials = _trial_table(grid, spec, stage, max_t)
    trials_table = f"{TRIALS_DIR}/{stage.slug}.parquet"
    root.join(trials_table).write_parquet(trials)
    if grid.errors:
        raise StageFailed(
            f"{stage.name}: {len(grid.errors)} trial(s) failed; see the error files under "
            f"{experiment}. Finished stages are kept: fix the cause and rerun with --resume."
            f"\nfirst error: {grid.errors[0]}"
        )

    candidates = [_best_of_trial(result, spec, root) for result in grid]
    candidates = [c for c in candidates if c]
    if not candidates:
        raise StageFailed(f"{stage.name}: no trial produced a checkpoint")
    entry: dict[str, Any] = {
        "best": max(candidates, key=lambda c: c["score"]),
        "trials": len(trials),
        "stopped_early": int(trials["stopped_early"].sum()),
        "trials_table": trials_table,
        "experiment": experiment.uri,
    }
    if stage.kind == "target":
        by_choice: dict[str, dict] = {}
        for candidate in candidates:
            name = candidate["config"]["intermediate"]
            if name not in by_choice or candidate["score"] > by_choice[name]["score"]:
                by_choice[name] = candidate
        entry["by_intermediate"] = by_choice
    return entry


def _was_interrupted(experiment: Location, stage: Stage) -> bool:
    """Whether Tune returned early because of Ctrl-C.

    After SIGINT, Tune saves the experiment with its live trials as PENDING and then stops
    them, so the in-memory results look finished; the saved state tells the truth.
    """
    saved = tune.ExperimentAnalysis(
        experiment.path, storage_filesystem=experiment.storage_filesystem
    ).trials
    done = {"TERMINATED", "ERROR"}
    return len(saved) < stage.trials or any(trial.status not in done for trial in saved)


def _best_of_trial(result: Any, spec: Spec, root: Location) -> dict[str, Any] | None:
    """The best reported checkpoint of one trial (one Train kept), with what produced it."""
    history = result.metrics_dataframe
    if history is None or SCORE not in history or "checkpoint_path" not in history:
        return None
    history = history.dropna(subset=["checkpoint_path"])
    # Best first, so only the best kept checkpoint's existence is asked for (one request
    # each on an object store); reported paths become URIs users can open.
    for _, row in history.sort_values(SCORE, ascending=False, kind="stable").iterrows():
        checkpoint = root.with_path(row["checkpoint_path"])
        if checkpoint.exists():
            break
    else:
        return None
    resources = spec.resources
    devices = resources.workers_per_trial * (1 if resources.gpus_per_worker else 0)
    return {
        "trial_id": result.metrics.get("trial_id"),
        "checkpoint": str(checkpoint),
        "score": float(row[SCORE]),
        "step": int(row["step"]),
        "examples_seen": int(row["examples_seen"]),
        "train_seconds": float(history["train_seconds"].max()),
        "devices": devices or resources.workers_per_trial,
        "config": dict(result.config),
    }


def _trial_table(grid: Any, spec: Spec, stage: Stage, max_t: int) -> pd.DataFrame:
    """Tune's per-trial dataframe plus the stage and whether ASHA stopped the trial."""
    frame = grid.get_dataframe()
    if frame.empty:
        return frame
    frame.insert(0, "stage", stage.name)
    errored = {result.metrics.get("trial_id") for result in grid if result.error}
    config_columns = {c[len("config/"):]: c for c in frame.columns if c.startswith("config/")}
    expected = frame.apply(lambda row: expected_iterations(
        spec, {key: row[col] for key, col in config_columns.items()}, max_t), axis=1)
    frame["stopped_early"] = (frame[EVALUATIONS] < expected) & \
        ~frame["trial_id"].isin(errored)
    return frame


# -- evaluation stages -----------------------------------------------------------------------


def _lineage(manifest: Manifest, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Training facts of a target checkpoint and the intermediate one it started from."""
    intermediate = checkpoint["config"].get("intermediate", NO_INTERMEDIATE)
    upstream = manifest.best(f"intermediate/{intermediate}") \
        if intermediate != NO_INTERMEDIATE else None
    device_seconds = checkpoint["train_seconds"] * checkpoint["devices"]
    if upstream:
        device_seconds += upstream["train_seconds"] * upstream["devices"]
    return {
        "intermediate_task": intermediate,
        "intermediate_learning_rate": upstream["config"]["learning_rate"] if upstream else None,
        "train_device_seconds": device_seconds,
    }


def _checkpoint_facts(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Row fields that describe the trained checkpoint being evaluated."""
    return {
        "trial_id": checkpoint["trial_id"], "seed": checkpoint["config"]["seed"],
        "step": checkpoint["step"], "checkpoint_uri": checkpoint["checkpoint"],
        "train_examples_seen": checkpoint["examples_seen"],
        "train_wall_seconds": checkpoint["train_seconds"],
    }


def _run_evaluation_stage(
    plan: Plan, stage: Stage, manifest: Manifest, root: Location, resume: bool, quiet: bool
) -> dict[str, Any]:
    spec = plan.spec
    model_cfg, data_cfg = spec.model.model_dump(), spec.data.model_dump()
    task = get_task(stage.task)
    # SPREAD: the fan-out uses every node, not only the one the driver is on.
    bundle = evaluation_resources(spec.resources.model_dump())
    options: dict[str, Any] = {"num_cpus": bundle["CPU"], "num_gpus": bundle.get("GPU", 0),
                               "scheduling_strategy": "SPREAD"}
    jobs: list[tuple[dict[str, Any], Any]] = []

    if stage.kind == "eval":
        target = f"target/{stage.task}"
        checkpoints = list(manifest.stages[target]["by_intermediate"].values()) \
            if spec.evaluation.full_table else [manifest.best(target)]
        remote = ray.remote(evaluate_checkpoint).options(**options)
        for checkpoint in checkpoints:
            lineage = _lineage(manifest, checkpoint)
            for language in stage.config["languages"]:
                for split in stage.config["splits"]:
                    facts = {
                        **_checkpoint_facts(checkpoint), **lineage, "target_task": stage.task,
                        "learning_rate": checkpoint["config"]["learning_rate"],
                        "language": language, "split": split,
                    }
                    jobs.append((facts, remote.remote(
                        model_cfg, data_cfg, checkpoint["checkpoint"], stage.task, language,
                        split, spec.model.max_length)))
    else:
        retrieval = spec.evaluation.retrieval
        encoders: list[tuple[str, dict[str, Any] | None]] = [(NO_INTERMEDIATE, None)] + [
            (name, manifest.best(f"intermediate/{name}")) for name in spec.intermediate_names()
        ]
        remote = ray.remote(evaluate_retrieval).options(**options)
        for name, checkpoint in encoders:
            encoder_facts = {
                **_checkpoint_facts(checkpoint),
                "intermediate_learning_rate": checkpoint["config"]["learning_rate"],
                "train_device_seconds": checkpoint["train_seconds"] * checkpoint["devices"],
            } if checkpoint else {
                "trial_id": None, "seed": None, "step": 0, "intermediate_learning_rate": None,
                "checkpoint_uri": f"base:{spec.model.name}", "train_examples_seen": 0,
                "train_wall_seconds": 0.0, "train_device_seconds": 0.0,
            }
            for language in stage.config["languages"]:
                facts = {
                    **encoder_facts, "intermediate_task": name,
                    "retrieval_layer": retrieval.layer, "retrieval_pooling": retrieval.pooling,
                    "language": language, "split": "test",
                }
                jobs.append((facts, remote.remote(
                    model_cfg, data_cfg, checkpoint["checkpoint"] if checkpoint else None,
                    stage.task, language, retrieval.layer, retrieval.pooling,
                    retrieval.direction, retrieval.max_length)))

    progress = StageProgress(stage.name, len(jobs), metric=task.metric)
    progress.running = len(jobs)
    pending = {ref: facts for facts, ref in jobs}
    rows, failures = [], []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        facts = pending.pop(done[0])
        progress.running -= 1
        try:
            outcome = ray.get(done[0])
        except Exception as error:  # keep the others; report every failure at the end
            failures.append(f"{facts['language']}: {error}")
            progress.errored += 1
            continue
        progress.finished += 1
        if facts["language"] == "en" or stage.kind == "retrieval":
            progress.offer_best(outcome["metrics"].get(task.metric), f" ({facts['language']})")
        rows += _rows(spec, stage, facts, outcome)
        if not quiet:
            progress.show()
    if not quiet:
        progress.close()
    if failures:
        raise StageFailed(f"{stage.name}: {len(failures)} evaluation(s) failed:\n  "
                          + "\n  ".join(failures))
    return {"rows": write_rows(root, stage.slug, rows), "evaluations": len(jobs)}


def _rows(spec: Spec, stage: Stage, facts: dict[str, Any], outcome: dict[str, Any]) -> list:
    base = {
        "experiment": spec.name, "stage": stage.name, "base_model": spec.model.name,
        "task": stage.task, "synthetic": get_task(stage.task).synthetic,
        "wall_seconds": outcome["seconds"], "num_examples": outcome["num_examples"],
        "node_id": outcome["node_id"],
        **{key: value for key, value in facts.items() if key != "train_device_seconds"},
    }
    device_hours = (facts["train_device_seconds"] + outcome["seconds"]) / 3600
    return [{**base, "metric": metric, "value": value, "device_hours": device_hours}
            for metric, value in outcome["metrics"].items()]
