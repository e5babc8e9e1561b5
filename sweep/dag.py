"""Running a plan's stages as a DAG: each stage in a driver thread of its own, started as soon
as the stages it must wait for have finished (`waits_for`).

A target stage waits for its images only: it starts at once, and its gate
(`sweep.stages.gate`) starts each trial once that trial's own intermediate checkpoint
exists; a retrieval stage likewise starts each encoder's jobs once that encoder exists.
Every other stage waits for all it depends on. Stages running at the same time share
the sweep's trial slots (training) and the cluster (evaluation tasks).

When a stage fails (or is interrupted), no stage starts after it, the running stages that
wait for it (target trials from its checkpoint) are stopped, their state saved, and the
others run to their end; then the failure is raised. Ctrl-C (or `sweep stop`) stops every
running stage the same way and raises SweepInterrupted: `--resume` continues each stage
where it stopped.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from sweep.errors import SweepInterrupted
from sweep.plan import Plan, Stage

POLL_SECONDS = 0.5  # how often the driver looks up from its wait (Ctrl-C lands between)

# Runs one stage to its end (recording it in the manifest); it returns early, raising
# SweepInterrupted, once the event is set.
RunStage = Callable[[Stage, threading.Event], None]


# Kinds whose work waits for intermediate stages item by item: a target trial for the
# checkpoint it starts from (its gate), a retrieval or efficiency job for the encoder it
# reads (`sweep.stages.evaluation.encoder_jobs`).
ITEM_BY_ITEM = ("target", "retrieval", "efficiency")


def waits_for(plan: Plan, stage: Stage) -> tuple[str, ...]:
    """The stages that must finish before `stage` starts: all it depends on, but the
    intermediate stages of a stage whose work waits for them item by item."""
    if stage.kind not in ITEM_BY_ITEM:
        return stage.depends_on
    return tuple(name for name in stage.depends_on if plan.stage(name).kind != "intermediate")


def _upstream(plan: Plan, name: str) -> set[str]:
    """Every stage `name` depends on, directly or through others."""
    found: set[str] = set()
    todo = list(plan.stage(name).depends_on)
    while todo:
        other = todo.pop()
        if other not in found:
            found.add(other)
            todo += plan.stage(other).depends_on
    return found


def run_dag(plan: Plan, stages: Sequence[Stage], finished: set[str], run_stage: RunStage
            ) -> list[str]:
    """Run `stages` (of `plan`, in plan order; those in `finished` are done already) with
    `run_stage`, each once the stages it waits for are done. Returns the names of the stages
    run, in plan order."""
    done, ran = set(finished), []
    todo = [stage for stage in stages if stage.name not in done]
    running: dict[Future, tuple[Stage, threading.Event]] = {}
    events: dict[str, threading.Event] = {}
    failures: list[BaseException] = []
    interrupted: list[str] = []
    stopping = False  # Ctrl-C, or a failure: nothing new starts
    with ThreadPoolExecutor(max_workers=max(len(todo), 1),
                            thread_name_prefix="stage") as pool, _ctrl_c_interrupts():
        try:
            while todo or running:
                for stage in [] if stopping else list(todo):
                    if set(waits_for(plan, stage)) <= done:
                        todo.remove(stage)
                        # Kept before the stage starts, so that Ctrl-C landing in between
                        # still stops it.
                        event = events[stage.name] = threading.Event()
                        running[pool.submit(run_stage, stage, event)] = (stage, event)
                if not running:
                    break  # what is left waits for a stage that failed
                ended, _ = wait(list(running), timeout=POLL_SECONDS,
                                return_when=FIRST_COMPLETED)
                for future in ended:
                    stage, _ = running.pop(future)
                    error = future.exception()
                    if error is None:
                        done.add(stage.name)
                        ran.append(stage.name)
                        continue
                    if isinstance(error, SweepInterrupted):
                        interrupted.append(stage.name)
                    else:
                        failures.append(error)
                    stopping = True
                if stopping:
                    # Stages that will not finish now: the failed and interrupted ones, and
                    # those left to start. A running stage waiting for one of them would wait
                    # for ever.
                    lost = {*(stage.name for stage in todo),
                            *(name for name in events if name not in done)} - {
                        stage.name for stage, _ in running.values()}
                    for other, event in running.values():
                        if _upstream(plan, other.name) & lost:
                            event.set()
        except KeyboardInterrupt:
            for event in events.values():
                event.set()
            for future, (stage, _) in running.items():
                error = future.exception()  # each stage saves its state, then ends
                if error is None:
                    done.add(stage.name)
                    ran.append(stage.name)
                elif not isinstance(error, SweepInterrupted):
                    failures.append(error)
            if not failures:
                raise SweepInterrupted(_interrupted_message(
                    [name for name in events if name not in done])) from None
    if failures:
        raise failures[0]
    if interrupted:
        raise SweepInterrupted(_interrupted_message(interrupted))
    return [stage.name for stage in stages if stage.name in ran]


@contextmanager
def _ctrl_c_interrupts() -> Iterator[None]:
    """SIGINT (Ctrl-C, `sweep stop`) raises KeyboardInterrupt in the driver's main thread,
    even where the process began with SIGINT ignored (started in the background by a
    shell): Tune installed such a handler itself when it ran in the main thread. A second
    SIGINT gets the handler the process had before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, before)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _interrupted_message(stages: list[str]) -> str:
    return (f"interrupted while {', '.join(stages)} ran; their state is saved. "
            "Rerun with --resume to continue them.")
