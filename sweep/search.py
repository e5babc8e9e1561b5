"""Spec search dimensions -> Tune's param_space, searcher and scheduler for one stage."""

from __future__ import annotations

import math
from typing import Any

from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search import BasicVariantGenerator, Searcher

from sweep.spec import HYPERPARAMETERS, Choice, LogUniform, Spec, Uniform, dimension_values
from trainables.training import EVALUATIONS, SCORE


def _dimensions(
    spec: Spec, kind: str, task: str, intermediates: list[str] | None
) -> dict[str, Any]:
    search = spec.stage_search(kind, task)
    dims: dict[str, Any] = {key: getattr(search, key) for key in HYPERPARAMETERS}
    if intermediates is not None:
        dims["intermediate"] = Choice(choice=intermediates)
    return dims


def _first_value(dimension: Any) -> Any:
    if isinstance(dimension, Choice):
        return dimension.choice[0]
    if isinstance(dimension, LogUniform):
        return math.sqrt(dimension.loguniform[0] * dimension.loguniform[1])
    if isinstance(dimension, Uniform):
        return sum(dimension.uniform) / 2
    return dimension


def _seed_points(dims: dict[str, Any], intermediates: list[str] | None) -> list[dict] | None:
    """One starting point per intermediate choice, so every pair gets a trial (full table)."""
    if not intermediates:
        return None
    base = {key: _first_value(dim) for key, dim in dims.items() if key != "intermediate"}
    return [{**base, "intermediate": name} for name in intermediates]


def build_search(
    spec: Spec, kind: str, task: str, intermediates: list[str] | None = None
) -> tuple[dict[str, Any], Searcher | None, int]:
    """(param_space, search algorithm, num_samples) for the intermediate or target stage that
    trains `task`."""
    dims = _dimensions(spec, kind, task, intermediates)
    num_samples = spec.stage_search(kind, task).num_samples
    searcher = spec.searcher
    cover_pairs = intermediates if spec.evaluation.full_table else None
    if searcher.type == "grid":
        space = {}
        for key, dim in dims.items():
            values = dimension_values(dim)
            space[key] = tune.grid_search(values) if len(values) > 1 else values[0]
        return space, None, num_samples
    if searcher.type == "random":
        space = {key: _tune_domain(dim) for key, dim in dims.items()}
        return space, BasicVariantGenerator(
            points_to_evaluate=_seed_points(dims, cover_pairs), random_state=searcher.seed
        ), num_samples

    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {}, OptunaSearch(
        space=DefineByRun(dims), metric=SCORE, mode="max", seed=searcher.seed,
        points_to_evaluate=_seed_points(dims, cover_pairs),
    ), num_samples


class DefineByRun:
    """Optuna define-by-run space (a class, so Tune can pickle the searcher's state).

    Define-by-run lets a dimension depend on values sampled before it.
    """

    def __init__(self, dims: dict[str, Any]) -> None:
        self.dims = dims

    def __call__(self, trial: Any) -> dict[str, Any]:
        constants = {}
        for key, dim in self.dims.items():
            if isinstance(dim, Choice):
                trial.suggest_categorical(key, dim.choice)
            elif isinstance(dim, LogUniform):
                trial.suggest_float(key, *dim.loguniform, log=True)
            elif isinstance(dim, Uniform):
                trial.suggest_float(key, *dim.uniform)
            else:
                constants[key] = dim
        return constants


def _tune_domain(dim: Any) -> Any:
    if isinstance(dim, Choice):
        return tune.choice(dim.choice)
    if isinstance(dim, LogUniform):
        return tune.loguniform(*dim.loguniform)
    if isinstance(dim, Uniform):
        return tune.uniform(*dim.uniform)
    return dim


def build_scheduler(spec: Spec, max_t: int) -> TrialScheduler:
    """ASHA over evaluation intervals, or FIFO."""
    if spec.scheduler.type == "fifo":
        return FIFOScheduler()
    return ASHAScheduler(
        time_attr=EVALUATIONS, max_t=max_t,
        grace_period=min(spec.scheduler.grace_period, max_t),
        reduction_factor=spec.scheduler.reduction_factor,
    )


def expected_iterations(
    spec: Spec, kind: str, task: str, config: dict[str, Any], max_t: int
) -> int:
    """Evaluation intervals a trial of the `kind` stage of `task` reports when nothing stops
    it."""
    return min(int(config.get("epochs", 1)) * spec.evals_per_epoch(kind, task), max_t)
