"""The trial schedulers: one entry per `scheduler.type`, as Ray's `ray.tune.schedulers`.

Spec validation and `sweep plan` read this module, so Ray is imported inside the build
functions only: it is not loaded until a stage runs.
Adding a scheduler (HyperBand, PBT, ...) is one entry in SCHEDULERS, plus its checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sweep.schema import Scheduler, Spec


def no_problems(spec: Spec) -> list[str]:
    """The check of a scheduler whose settings the schema's field checks cover."""
    return []


@dataclass(frozen=True)
class SchedulerOption:
    """One `scheduler.type`.

    build(settings, time_attr, max_t) -> the Tune TrialScheduler; `time_attr` is the
    reported count of evaluation intervals, `max_t` the stage's longest trial in them.
    check(spec) -> problems of the spec under this scheduler.
    """

    build: Callable[[Scheduler, str, int], Any]
    check: Callable[[Spec], list[str]] = no_problems


def _build_asha(settings: Scheduler, time_attr: str, max_t: int) -> Any:
    from ray.tune.schedulers import ASHAScheduler  # lazy: see the module docstring

    return ASHAScheduler(time_attr=time_attr, max_t=max_t,
                         grace_period=min(settings.grace_period, max_t),
                         reduction_factor=settings.reduction_factor)


def _build_fifo(settings: Scheduler, time_attr: str, max_t: int) -> Any:
    from ray.tune.schedulers import FIFOScheduler  # lazy: see the module docstring

    return FIFOScheduler()


# The order here is the order error messages list the types in.
SCHEDULERS: dict[str, SchedulerOption] = {
    "asha": SchedulerOption(build=_build_asha),
    "fifo": SchedulerOption(build=_build_fifo),
}
