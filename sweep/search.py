"""One stage's Tune search: param_space, search algorithm and scheduler, from the registries."""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from sweep.schedulers import SCHEDULERS
from sweep.schema import Spec
from sweep.searchers import SEARCHERS
from trainables.arms import ZERO_SHOT
from trainables.training import EVALUATIONS, SCORE


def build_search(
    spec: Spec, kind: str, task: str, intermediates: list[str] | None = None,
    arm: str = ZERO_SHOT,
) -> tuple[dict[str, Any], Searcher | None, int]:
    """(param_space, search algorithm, num_samples) for the intermediate or target stage that
    trains `task` (for `arm`); `intermediates`, for a target stage, are its checkpoint
    choices."""
    dims = spec.stage_dimensions(kind, task, intermediates, arm)
    cover = intermediates if spec.evaluation.full_table else None
    space, algorithm, per_configuration = SEARCHERS[spec.searcher.type].build(
        dims, spec.searcher, SCORE, cover, spec.seeds(kind, task))
    return space, algorithm, spec.stage_search(kind, task).num_samples * per_configuration


def build_scheduler(spec: Spec, max_t: int) -> TrialScheduler:
    """The spec's scheduler over evaluation intervals, up to `max_t` of them."""
    return SCHEDULERS[spec.scheduler.type].build(spec.scheduler, EVALUATIONS, max_t)


def expected_iterations(
    spec: Spec, kind: str, task: str, config: dict[str, Any], max_t: int
) -> int:
    """Evaluation intervals a trial of the `kind` stage of `task` reports when nothing stops
    it."""
    return min(int(config.get("epochs", 1)) * spec.evals_per_epoch(kind, task), max_t)
