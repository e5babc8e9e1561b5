"""What lets several Tune fits run side by side in one driver, each in a stage's thread.

Two things in Ray Tune (2.60) assume one fit per process, at the main thread:
  1. a fit ends early (saving its state for a restore) only through the event its SIGINT
     handler sets, and it installs that handler in the main thread alone; a fit in a
     stage's thread gets the stage's stop event instead (`stopped_by`);
  2. the trainable registry writes its pending entries out while a second fit may be adding
     one (`dictionary changed size during iteration`); registering goes one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray.tune.registry as tune_registry
import ray.tune.tune as tune_run

_FIT_STOP = threading.local()
_tune_signal_catching = tune_run._setup_signal_catching


def _fit_stop_event() -> threading.Event:
    event = getattr(_FIT_STOP, "event", None)
    return event if event is not None else _tune_signal_catching()


@contextmanager
def stopped_by(event: threading.Event) -> Iterator[None]:
    """Fits inside end, their state saved, once `event` is set (outside the main thread,
    where Ctrl-C keeps its Tune handler)."""
    _FIT_STOP.event = None if threading.current_thread() is threading.main_thread() else event
    try:
        yield
    finally:
        _FIT_STOP.event = None


_REGISTERING = threading.Lock()
_register = tune_registry._Registry.register


def _register_one_at_a_time(self: Any, *args: Any, **kwargs: Any) -> Any:
    with _REGISTERING:
        return _register(self, *args, **kwargs)


tune_run._setup_signal_catching = _fit_stop_event
tune_registry._Registry.register = _register_one_at_a_time
