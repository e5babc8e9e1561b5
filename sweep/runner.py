"""Running a plan on Ray: each stage in order, skipping those already finished.

  1. open the run's manifest (new, or the one to --resume);
  2. take the storage's lock: one run per storage path (`sweep.lock`);
  3. join or start Ray, check the cluster and inputs, pin the hub commits the run reads;
  4. record the spec and commits, once nothing refused the run;
  5. build the offline assets every trial shares;
  6. run each stage with its kind's function (`sweep.stages.STAGES`), in a thread of its
     own once the stages it waits for have finished (`sweep.dag`), and record its entry.

Training stages are Tune experiments (`sweep.stages.training`); eval and retrieval stages fan
Ray tasks out over checkpoints x languages (`sweep.stages.evaluation`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import pyarrow
import ray

from sweep.cleanup import free_checkpoints
from sweep.dag import run_dag
from sweep.errors import PreflightError, StageFailed, StorageUnavailable, SweepInterrupted
from sweep.lock import RunLock
from sweep.manifest import MANIFEST, Manifest
from sweep.plan import Stage, make_plan
from sweep.preflight import TRIAL_DRIVER, pin_revisions, run_preflight
from sweep.progress import ProgressBoard
from sweep.schema import ModelSpec
from sweep.spec import Spec
from sweep.stages import STAGES, StageContext
from sweep.stages.gate import TrialSlots
from trainables.data import data_root
from trainables.model import base_model_reference
from trainables.storage import Location, cache_limit_bytes

# The errors a stage raises are importable from here too, as before they had one module.
__all__ = ["SweepOutcome", "StageFailed", "SweepInterrupted", "init_ray",
           "prepare_offline_assets", "resolve_storage", "run_commits", "run_sweep"]


@dataclass
class SweepOutcome:
    """Where the run lives, the stages it ran and skipped, and how long it took."""

    storage: Location
    ran: list[str]
    skipped: list[str]
    seconds: float


def resolve_storage(spec: Spec, storage: str | None) -> Location:
    """Where the run lives: --storage, else the file's `storage`, else results/<name>."""
    return Location.parse(storage or spec.storage or os.path.join("results", spec.name))


WORKER_START_TIMEOUT = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"
WORKER_START_SECONDS = "600"


def init_ray(spec: Spec) -> None:
    """Connect to RAY_ADDRESS, or start a local Ray sized for this spec."""
    # Our one-line progress replaces Tune's tables; worker logs stay in Ray's session logs.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Ray Train gives a trial's workers 60 s to start; on a busy small machine that fails a
    # trial that would have run. Local Ray's processes inherit this environment.
    os.environ.setdefault(WORKER_START_TIMEOUT, WORKER_START_SECONDS)
    # A one-worker trial checkpoints through Tune at every evaluation, and with num_to_keep=1
    # Tune snapshots the experiment each time (what keeps --resume exact): wanted, so its
    # warning about frequent snapshots is not shown.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # A stage's trials wait in its gate for slots and checkpoints, which Tune would take for
    # a cluster too small for them after a minute; the pre-flight refuses any trial no node
    # can hold.
    for cluster in ("", "_AUTOSCALER"):  # (Ray's spelling)
        os.environ.setdefault(f"TUNE_WARN_INSUFFICENT_RESOURCE_THRESHOLD_S{cluster}",
                              str(7 * 24 * 3600))
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
    offline = [model for model in spec.models() if model.source == "offline"]
    if not offline and spec.data.source != "offline":
        return
    if not quiet:
        print("[prepare] offline benchmark and tiny model (cached after the first run)",
              file=sys.stderr)
    if spec.data.source == "offline":
        data_root(spec.data.model_dump())
    for model in offline:
        base_model_reference(model.model_dump())


def run_sweep(
    spec: Spec, storage: str | None = None, resume: bool = False, quiet: bool = False
) -> SweepOutcome:
    """Run every stage of the spec's plan; with `resume`, skip what is already finished."""
    started = time.time()

    # 1. The manifest, once this node's settings are known good.
    try:
        cache_limit_bytes()
    except ValueError as error:
        raise PreflightError(str(error)) from None
    root = resolve_storage(spec, storage)
    try:
        manifest = Manifest.open(root, spec.name, resume)
    except (OSError, pyarrow.ArrowException) as error:  # unreachable bucket, bad URI options
        raise PreflightError(f"storage: cannot open {root}: {error}") from None

    # 2. One run per storage path (`sweep.lock`): taken before anything else is written.
    lock = RunLock(root)
    try:
        lock.acquire()
    except (OSError, pyarrow.ArrowException) as error:
        raise PreflightError(f"storage: cannot write to {root} (its run lock): {error}") from None
    try:
        ran, skipped = _run_stages(spec, root, manifest, resume, quiet)
    finally:
        lock.release()
    return SweepOutcome(root, ran, skipped, time.time() - started)


def _run_stages(spec: Spec, root: Location, manifest: Manifest, resume: bool, quiet: bool
                ) -> tuple[list[str], list[str]]:
    """Steps 3 to 6 of `run_sweep`: the stages run and those skipped, by name."""
    # 3. Ray, the pre-flight, and the plan over pinned commits.
    init_ray(spec)
    commits = run_commits(manifest, spec, resume, run_preflight(spec, root))
    plan = make_plan(pin_revisions(spec, commits))

    # 4. Written only once the run can start, so a refused run leaves nothing behind.
    manifest.data["spec"] = spec.model_dump(mode="json")
    manifest.data["revisions"] = commits
    manifest.save()

    # 5. Shared offline assets.
    prepare_offline_assets(spec, quiet)

    # 6. The stages, each once those it waits for have finished, side by side.
    board = ProgressBoard()
    skipped = [stage.name for stage in plan.stages
               if manifest.is_finished(stage.name, stage.config_hash)]
    if not quiet:
        for name in skipped:
            board.say(f"[{name}] finished earlier, skipped")
    slots = TrialSlots(spec.resources.max_concurrent_trials)

    def run_stage(stage: Stage, stop: threading.Event) -> None:
        stage_started = time.time()
        if stage.kind == "intermediate":
            # Its trials may all start at once: they come first for the slots, even before
            # its Tune loop (seconds away) has made them.
            slots.expect(stage.name, plan.stages.index(stage),
                         min(stage.trials, slots.budget))
        try:
            entry = STAGES[stage.kind](StageContext(plan, stage, manifest, root, resume,
                                                    quiet, slots, stop, board))
        finally:
            slots.forget(stage.name)
        manifest.record(stage.name, {"status": "finished", "config_hash": stage.config_hash,
                                     "kind": stage.kind, "started_at": stage_started, **entry})
        free_checkpoints(manifest, root, stage.name, spec.keep_checkpoints)  # sweep.cleanup

    try:
        ran = run_dag(plan, plan.stages, set(skipped), run_stage)
    except (StageFailed, OSError, pyarrow.ArrowException) as error:
        outage = storage_outage(root)
        if outage is None:
            raise
        raise StorageUnavailable(
            f"storage: {root} stopped answering during the run ({outage}); what it finished "
            "is kept there. Once the storage is back, rerun with --resume.") from error
    return ran, skipped


def storage_outage(root: Location) -> str | None:
    """Why the run's storage cannot be read now, or None where it answers."""
    try:
        root.join(MANIFEST).read_bytes()
    except (OSError, pyarrow.ArrowException) as error:
        return f"{type(error).__name__}: {error}"
    return None


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
    commits = {**resolved, "datasets": dict(resolved.get("datasets", {})),
               "base_models": dict(resolved.get("base_models") or {})}
    asked_then = {key: began.get("model", {}).get(key) for key in ("name", "revision")}
    if resolved.get("model") and recorded.get("model") and \
            asked_then == {"name": spec.model.name, "revision": spec.model.revision}:
        commits["model"] = recorded["model"]
    # Each listed base model likewise, by its label, where it asks for what it asked then.
    listed_then = {ModelSpec(**model).label: model for model in began.get("base_models", [])}
    for label, commit in (resolved.get("base_models") or {}).items():
        model = spec.for_model(label).model
        then = listed_then.get(label, {})
        if commit and recorded.get("base_models", {}).get(label) and \
                (then.get("name"), then.get("revision")) == (model.name, model.revision):
            commits["base_models"][label] = recorded["base_models"][label]
    if spec.base_models and commits["base_models"].get(spec.model.label):
        commits["model"] = commits["base_models"][spec.model.label]
    if not commits["base_models"]:
        del commits["base_models"]
    pinned_then = began.get("data", {}).get("revisions", {})
    for task in commits["datasets"]:
        if recorded.get("datasets", {}).get(task) and \
                pinned_then.get(task) == spec.data.revisions.get(task):
            commits["datasets"][task] = recorded["datasets"][task]
    return commits
