"""The searchers: one entry per `searcher.type`, as Ray's own SEARCH_ALG_IMPORT.

An entry says how the spec is checked for it, how many trials it runs and how Tune gets it.
Spec validation and `sweep plan` read this module, so Ray and Optuna are imported inside
the build functions only: neither is loaded until a stage runs.
Adding a searcher (HyperOpt, BOHB, ...) is one entry in SEARCHERS, plus its checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sweep.schema import (
    HYPERPARAMETERS,
    Choice,
    Dimension,
    LogUniform,
    Searcher,
    Spec,
    Uniform,
    dimension_values,
    problem,
)

Dimensions = dict[str, Dimension]


def full_table_needs_a_trial_per_choice(spec: Spec, kind: str, task: str) -> list[str]:
    """A sampling searcher covers the full table only with a trial per intermediate choice."""
    if kind != "target" or not spec.evaluation.full_table:
        return []
    needed = len(spec.target_intermediates())
    num_samples = spec.stage_search(kind, task).num_samples
    if num_samples >= needed:
        return []
    return [problem(spec.stage_field(kind, task, "num_samples"), num_samples,
                    f">= {needed} (evaluation.full_table needs a trial per intermediate choice)")]


def sampled_trials(dims: Dimensions, num_samples: int) -> int:
    """A sampling searcher runs num_samples trials, whatever the dimensions."""
    return num_samples


@dataclass(frozen=True)
class SearcherOption:
    """One `searcher.type`.

    build(dims, settings, metric, cover, seeds) -> (param_space, Tune search algorithm or
    None, how many samples Tune is asked for per configuration); `cover` lists the
    intermediate choices the first trials must each take (full table), `seeds` the seeds
    each configuration is repeated with (None: once).
    check_stage(spec, kind, task) -> problems of that stage under this searcher.
    count_trials(dims, num_samples) -> the trials Tune runs for the stage.
    """

    build: Callable[[Dimensions, Searcher, str, list[str] | None, list[int] | None],
                    tuple[dict[str, Any], Any, int]]
    check_stage: Callable[[Spec, str, str], list[str]] = full_table_needs_a_trial_per_choice
    count_trials: Callable[[Dimensions, int], int] = sampled_trials


# -- grid: every combination of the finite values, num_samples times ----------------------


def _build_grid(dims: Dimensions, settings: Searcher, metric: str, cover: list[str] | None,
                seeds: list[int] | None) -> tuple[dict[str, Any], None, int]:
    from ray import tune  # lazy: see the module docstring

    space = {}
    for key, dim in dims.items():
        values = seeds if key == "seed" and seeds else dimension_values(dim)
        space[key] = tune.grid_search(values) if len(values) > 1 else values[0]
    return space, None, 1


def _grid_needs_finite_values(spec: Spec, kind: str, task: str) -> list[str]:
    # The grid covers every intermediate choice by construction: no num_samples check.
    stage = spec.stage_search(kind, task)
    return [problem(spec.stage_field(kind, task, key), getattr(stage, key).model_dump(),
                    "a value or {choice: [...]} with searcher grid")
            for key in HYPERPARAMETERS if dimension_values(getattr(stage, key)) is None]


def _grid_trials(dims: Dimensions, num_samples: int) -> int:
    return math.prod(len(dimension_values(dim)) for dim in dims.values()) * num_samples


# -- random and optuna: sampled trials, the first ones seeded to cover the full table ----


def _first_value(dimension: Dimension) -> Any:
    if isinstance(dimension, Choice):
        return dimension.choice[0]
    if isinstance(dimension, LogUniform):
        return math.sqrt(dimension.loguniform[0] * dimension.loguniform[1])
    if isinstance(dimension, Uniform):
        return sum(dimension.uniform) / 2
    return dimension


def _seed_points(dims: Dimensions, cover: list[str] | None,
                 seeds: list[int] | None = None) -> list[dict] | None:
    """One starting point per intermediate choice, so every pair gets a trial (full table);
    with seeds, the point leaves the seed to them."""
    if not cover:
        return None
    base = {key: _first_value(dim) for key, dim in dims.items()
            if key != "intermediate" and not (key == "seed" and seeds)}
    return [{**base, "intermediate": name} for name in cover]


def _tune_domain(dim: Dimension) -> Any:
    from ray import tune  # lazy: see the module docstring

    if isinstance(dim, Choice):
        return tune.choice(dim.choice)
    if isinstance(dim, LogUniform):
        return tune.loguniform(*dim.loguniform)
    if isinstance(dim, Uniform):
        return tune.uniform(*dim.uniform)
    return dim


def _build_random(dims: Dimensions, settings: Searcher, metric: str, cover: list[str] | None,
                  seeds: list[int] | None) -> tuple[dict[str, Any], Any, int]:
    from ray import tune  # lazy: see the module docstring
    from ray.tune.search import BasicVariantGenerator

    space = {key: _tune_domain(dim) for key, dim in dims.items()}
    if seeds:  # a grid over the seeds, with each sample's values kept across it
        space["seed"] = tune.grid_search(seeds)
    return space, BasicVariantGenerator(points_to_evaluate=_seed_points(dims, cover, seeds),
                                        random_state=settings.seed,
                                        constant_grid_search=bool(seeds)), 1


class DefineByRun:
    """Optuna define-by-run space (a class, so Tune can pickle the searcher's state).

    Define-by-run lets a dimension depend on values sampled before it.
    """

    def __init__(self, dims: Dimensions) -> None:
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


def _build_optuna(dims: Dimensions, settings: Searcher, metric: str, cover: list[str] | None,
                  seeds: list[int] | None) -> tuple[dict[str, Any], Any, int]:
    import optuna  # lazy: see the module docstring
    from ray.tune.search import Repeater
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = OptunaSearch(space=DefineByRun(dims), metric=metric, mode="max",
                          seed=settings.seed, points_to_evaluate=_seed_points(dims, cover))
    if not seeds:
        return {}, search, 1
    # Each suggestion is tried once per seed (the trial index picks it, see
    # trainables.trial.with_seed); Optuna is told the mean of the group's scores.
    return {}, Repeater(search, repeat=len(seeds), set_index=True), len(seeds)


# The order here is the order error messages list the types in.
SEARCHERS: dict[str, SearcherOption] = {
    "optuna": SearcherOption(build=_build_optuna),
    "random": SearcherOption(build=_build_random),
    "grid": SearcherOption(build=_build_grid, check_stage=_grid_needs_finite_values,
                           count_trials=_grid_trials),
}
