"""Training stages (intermediate and target): one Tune experiment of `train_trial` each.

  1. the trainable: `train_trial` with the stage's fixed settings;
  2. the tuner: the saved experiment on --resume, else a new one;
  3. fit, and stop the sweep if Ctrl-C cut the fit short;
  4. Tune's trial table goes under trials/, every trial's reported results under curves/;
     failed trials fail the stage;
  5. the manifest entry: the chosen configuration's checkpoints, one per seed, and its best
     (for targets, also per intermediate choice).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
from ray import tune
from ray.tune.search import BasicVariantGenerator

from sweep.cleanup import TRAIN_RUNS
from sweep.errors import StageFailed, SweepInterrupted
from sweep.plan import Stage, max_iterations
from sweep.preflight import TRIAL_DRIVER
from sweep.progress import StageProgress, TuneProgress, stopped_early
from sweep.results import CURVES_DIR, TRIALS_DIR
from sweep.search import build_scheduler, build_search, expected_iterations
from sweep.stages.base import StageContext
from sweep.stages.checkpoints import (
    best_of_trial,
    best_seed,
    chosen_configuration,
    chosen_per_intermediate,
)
from sweep.stages.gate import GateState, StageGate, StartOf, TrialSlots, entered
from sweep.stages.tune_threads import stopped_by
from sweep.tracking import tracking_callbacks
from trainables.arms import ARMS, ZERO_SHOT
from trainables.storage import Location
from trainables.tasks import get_task
from trainables.training import EVALUATIONS, SCORE
from trainables.trial import (
    NO_INTERMEDIATE,
    TRIAL_INDEX,
    in_trial_process,
    train_trial,
    trial_resources,
)


def run_training(ctx: StageContext) -> dict[str, Any]:
    """Run an intermediate or target stage as a Tune experiment; returns its manifest entry."""
    spec, stage, root = ctx.spec, ctx.stage, ctx.root
    max_t = max_iterations(spec, stage.kind, stage.task)

    def expected(config: dict[str, Any]) -> int:
        return expected_iterations(spec, stage.kind, stage.task, config, max_t)

    # 1. The trainable: a one-worker trial holds its worker's resources and trains in its own
    #    process; a DDP trial holds a driver slot and its Train workers ask for the rest.
    resources = spec.resources.model_dump()
    trainable = tune.with_resources(
        tune.with_parameters(_stage_trainable(stage), run=_trial_settings(ctx)),
        trial_resources(resources, TRIAL_DRIVER))

    # 2. The tuner. Experiments are named by config hash: a changed config starts a new one
    #    beside the old, and --resume restores only the experiment its own config started.
    metric = get_task(stage.task).metric if stage.kind == "target" else "score"
    arm = stage.config.get("arm", {})
    selected_on = f"{arm['dev'][0][1]} dev" if arm else "en dev"
    progress = StageProgress(stage.name, stage.trials, metric=f"{selected_on} {metric}",
                             board=ctx.board)
    callbacks = [] if ctx.quiet else [TuneProgress(progress, expected)]
    callbacks += tracking_callbacks(spec, stage.name)  # MLflow, TensorBoard, W&B
    tune_root = root.join("tune")
    experiment_name = f"{stage.slug}-{stage.config_hash[:8]}"
    experiment = tune_root.join(experiment_name)
    filesystem = root.storage_filesystem
    if ctx.resume and tune.Tuner.can_restore(experiment.path, storage_filesystem=filesystem):
        try:
            tuner = tune.Tuner.restore(experiment.path, trainable, resume_unfinished=True,
                                       resume_errored=True, storage_filesystem=filesystem)
        except ValueError as error:  # Tune: the saved experiment's trainable is another
            raise StageFailed(
                f"{stage.name}: its experiment {experiment} was started by an earlier version "
                "of the engine (before stages ran side by side) and cannot be continued; "
                f"delete that folder and rerun with --resume to train the stage again "
                f"({error})") from None
    else:
        ctx.manifest.record(stage.name, {"status": "running", "config_hash": stage.config_hash,
                                         "kind": stage.kind, "experiment": experiment.uri})
        param_space, search_alg, num_samples = build_search(
            spec, stage.kind, stage.task, stage.config.get("intermediate"),
            arm.get("name", ZERO_SHOT))
        live = _live_trials(ctx)
        search_alg = _unique_trial_ids(search_alg, live)
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(
                metric=SCORE, mode="max",
                scheduler=StageGate(build_scheduler(spec, max_t), stage.name),
                search_alg=search_alg, num_samples=num_samples,
                # A BasicVariantGenerator has its own (above); Tune would only warn.
                max_concurrent_trials=None if isinstance(search_alg, BasicVariantGenerator)
                else live,
                # A one-worker trial's process goes on to the next trial: no new process
                # importing torch and transformers per trial (seconds each).
                reuse_actors=in_trial_process(resources),
            ),
            run_config=tune.RunConfig(
                name=experiment_name, storage_path=tune_root.path,
                storage_filesystem=filesystem, verbose=0, callbacks=callbacks,
                # Where a trial trains in its own process, Tune keeps its checkpoints (the
                # best and the latest) and restarts it from the latest; a DDP trial's Train
                # run does both itself.
                checkpoint_config=tune.CheckpointConfig(
                    num_to_keep=1, checkpoint_score_attribute=SCORE,
                    checkpoint_score_order="max"),
                failure_config=tune.FailureConfig(
                    max_failures=spec.resources.max_failures
                    if in_trial_process(resources) else 0),
            ),
        )

    # 3. Fit, the stage's trials started by its gate; Ctrl-C, `sweep stop` or a failed
    #    upstream stage sets `ctx.stop`, which ends the fit as Ctrl-C ends Tune's.
    gate_state = GateState(ctx.slots or TrialSlots(spec.resources.max_concurrent_trials),
                           _start_of(ctx))
    try:
        with entered(stage.name, ctx.plan.stages.index(stage), gate_state), \
                stopped_by(ctx.stop):
            grid = tuner.fit()
    except RuntimeError:
        # Tune saves a stopped fit's state, then builds its results, which fails on a trial
        # that never started (one waiting in the gate has no folder yet).
        if not ctx.stop.is_set() or not _was_interrupted(experiment, stage):
            raise
        grid = None
    finally:
        if not ctx.quiet:
            progress.close()
    if grid is None or _was_interrupted(experiment, stage):
        raise SweepInterrupted(
            f"{stage.name} was interrupted; its state is saved in {experiment}. "
            "Rerun with --resume to continue it."
        )

    # 4. The trial table, written before any failure is raised so that it shows the cause.
    trials = trial_table(grid, stage, expected, spec.seeds(stage.kind, stage.task))
    trials_table = f"{TRIALS_DIR}/{stage.slug}.parquet"
    root.join(trials_table).write_parquet(trials)
    root.join(f"{CURVES_DIR}/{stage.slug}.parquet").write_parquet(learning_curves(grid, trials))
    if grid.errors:
        failed = [result.path.rstrip("/").rsplit("/", 1)[-1] for result in grid if result.error]
        raise StageFailed(
            f"{stage.name}: {len(grid.errors)} trial(s) failed ({', '.join(failed)}); see the "
            f"error files under {experiment}. Finished stages are kept: fix the cause (a lost "
            "worker: raise resources.max_failures) and rerun with --resume."
            f"\nfirst error: {grid.errors[0]}"
        )

    # 5. The best checkpoints, which downstream stages read from the manifest.
    seeds = spec.seeds(stage.kind, stage.task)
    candidates = [best for best in (best_of_trial(result, spec, root, seeds) for result in grid)
                  if best]
    if not candidates:
        raise StageFailed(f"{stage.name}: no trial produced a checkpoint")
    chosen = chosen_configuration(candidates, seeds)
    entry: dict[str, Any] = {
        "best": best_seed(chosen).to_dict(),
        "seeds": [checkpoint.to_dict() for checkpoint in chosen],
        "trials": len(trials),
        "stopped_early": int(trials["stopped_early"].sum()),
        "trials_table": trials_table,
        "experiment": experiment.uri,
    }
    if stage.kind == "target":
        per_choice = chosen_per_intermediate(candidates, seeds)
        entry["by_intermediate"] = {name: best_seed(group).to_dict()
                                    for name, group in per_choice.items()}
        entry["by_intermediate_seeds"] = {name: [checkpoint.to_dict() for checkpoint in group]
                                          for name, group in per_choice.items()}
    return entry


def _live_trials(ctx: StageContext) -> int:
    """How many trials the stage's searcher may have made and not finished: the sweep's
    trial slots (the gate holds the stage to them), or for a target whose trials wait for
    intermediate checkpoints that many for each choice, so that trials waiting for one
    checkpoint leave room for trials of the choices that can start (`none`)."""
    budget, stage = ctx.spec.resources.max_concurrent_trials, ctx.stage
    choices = stage.config.get("intermediate") or []
    if stage.kind != "target" or _from_zero_shot(stage) or len(choices) < 2:
        return budget
    return max(budget, min(stage.trials, budget * len(choices)))


def _unique_trial_ids(search_alg: Any, live: int) -> Any:
    """The stage's search algorithm (at most `live` trials made and unfinished), its trial
    ids unique in the sweep. Grid and random
    trials (Tune's BasicVariantGenerator, made here for the grid as Tune would) are named
    from a time-based prefix that two stages starting at the same moment share; rows,
    curves and DDP trials' `train/<trial id>` runs are keyed by trial id."""
    if search_alg is None:
        search_alg = BasicVariantGenerator()
    if isinstance(search_alg, BasicVariantGenerator):
        search_alg._uuid_prefix = uuid.uuid4().hex[:8] + "_"
        # Tune applies max_concurrent_trials to a Searcher only.
        search_alg.max_concurrent = live
    return search_alg


def _stage_trainable(stage: Stage) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """`train_trial` named after the stage (its trial folders are `<stage>_<trial id>_...`).
    Tune keys its trainable registry by that name and the last one registered wins: with the
    one `train_trial` for every stage, trials of stages fitting side by side would run
    another stage's trainable, its settings included."""
    def trainable(config: dict[str, Any], run: dict[str, Any]) -> None:
        train_trial(config, run)
    trainable.__name__ = trainable.__qualname__ = stage.slug
    return trainable


def _from_zero_shot(stage: Stage) -> bool:
    arm = stage.config.get("arm")
    return bool(arm) and ARMS[arm["name"]].from_zero_shot


def _start_of(ctx: StageContext) -> StartOf:
    """Where a trial of the stage starts, by its intermediate choice, once it may: from the
    intermediate stage's best checkpoint once that stage has finished (the base model for
    `none`, at once). A few-shot stage starts each choice from the zero-shot stage's model
    of that choice (its best seed), head included; that stage finished before this began."""
    spec, stage, manifest = ctx.spec, ctx.stage, ctx.manifest
    if _from_zero_shot(stage):
        chosen = manifest.chosen_by_intermediate(stage.depends_on[0])
        starts = {name: best_seed(group).checkpoint for name, group in chosen.items()}

        def from_zero_shot(name: str | None) -> tuple[bool, str | None]:
            if name not in starts:
                raise StageFailed(f"{stage.name}: {stage.depends_on[0]} kept no model from "
                                  f"intermediate {name!r} to start from")
            return True, starts[name]
        return from_zero_shot

    def start_of(name: str | None) -> tuple[bool, str | None]:
        if name in (None, NO_INTERMEDIATE):
            return True, None
        upstream = spec.stage_path("intermediate", name)
        if not manifest.is_finished(upstream, ctx.plan.stage(upstream).config_hash):
            return False, None
        return True, manifest.best(upstream).checkpoint
    return start_of


def _trial_settings(ctx: StageContext) -> dict[str, Any]:
    """`train_trial`'s `run`: what every trial of the stage shares (where each starts from
    is the gate's, see `_start_of`)."""
    spec, stage = ctx.spec, ctx.stage
    arm = stage.config.get("arm")
    from_zero_shot = _from_zero_shot(stage)
    return {
        "loop": {
            "model": spec.model.model_dump(), "data": ctx.data_config(),
            "tasks": stage.config["tasks"], "group": stage.task,
            "mixture_cap": stage.config.get("cap"), "max_length": spec.model.max_length,
            "evals_per_epoch": spec.evals_per_epoch(stage.kind, stage.task),
            "arm": arm, "init_heads": from_zero_shot,
            "pool_layers": stage.config.get("pool_layers", {}),
            "precision": spec.resources.precision,
            "length_grouped": spec.resources.length_grouped,
        },
        "resources": spec.resources.model_dump(),
        "train_storage": ctx.root.join(TRAIN_RUNS).uri,
        "max_failures": spec.resources.max_failures,
        "seeds": spec.seeds(stage.kind, stage.task),
    }


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


def trial_table(
    grid: tune.ResultGrid, stage: Stage, expected: Callable[[dict[str, Any]], int],
    seeds: list[int] | None = None,
) -> pd.DataFrame:
    """Tune's per-trial dataframe plus the stage and whether ASHA stopped each trial
    (`expected`: the evaluations a trial's config asks for), with the seed each trial
    trained with where a repeat index names it."""
    frame = grid.get_dataframe()
    if frame.empty:
        return frame
    frame.insert(0, "stage", stage.name)
    index = f"config/{TRIAL_INDEX}"
    if seeds and index in frame:
        frame["config/seed"] = [seeds[int(i)] for i in frame.pop(index)]
    errored = {result.metrics.get("trial_id") for result in grid if result.error}
    config_columns = {c[len("config/"):]: c for c in frame.columns if c.startswith("config/")}
    frame["stopped_early"] = frame.apply(lambda row: stopped_early(
        row[EVALUATIONS], expected({key: row[col] for key, col in config_columns.items()}),
        errored=row["trial_id"] in errored), axis=1)
    return frame


CURVE_COLUMNS = ["training_iteration", SCORE, EVALUATIONS, "time_total_s", "train_seconds",
                 "examples_seen"]


def learning_curves(grid: tune.ResultGrid, trials: pd.DataFrame) -> pd.DataFrame:
    """Every result each trial reported (one per dev evaluation), with the trial's stage,
    intermediate task, learning rate, seed and whether ASHA stopped it, from `trials`."""
    facts = [column for column in ("stage", "trial_id", "config/intermediate",
                                   "config/learning_rate", "config/seed", "stopped_early")
             if column in trials]
    curves = []
    for result in grid:
        history = result.metrics_dataframe
        if history is None or history.empty or "trial_id" not in history:
            continue
        curves.append(history[["trial_id", *[c for c in CURVE_COLUMNS if c in history]]])
    if not curves:
        return pd.DataFrame(columns=[*facts, *CURVE_COLUMNS])
    return pd.concat(curves, ignore_index=True).merge(trials[facts], on="trial_id")
