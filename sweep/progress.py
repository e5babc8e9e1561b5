"""A compact progress display: one line per running stage.

Stages that run at the same time share one `ProgressBoard`. On a terminal it keeps one line
per running stage in a block redrawn in place (a finished stage's last line stays above it);
elsewhere (CI logs, files) a stage's line is printed only when something in it changed, at
most every `interval` seconds per stage, so logs stay short.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from ray.tune import Callback

from trainables.training import EVALUATIONS


def _without_clock(line: str) -> str:
    """A progress line less its elapsed time: what counts as a change."""
    return line.rsplit(" | ", 1)[0]


class ProgressBoard:
    """The progress lines of the stages running at once, on one stream (thread-safe)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.2 if self.tty else interval
        self._lock = threading.Lock()
        self._live: dict[str, str] = {}  # stage -> its line, in the order stages began
        self._shown: dict[str, tuple[str, float]] = {}  # stage -> (line, when) last shown
        self._drawn = 0  # lines of the live block on the terminal

    def update(self, stage: str, line: str, force: bool = False) -> None:
        """Show `stage`'s line if it changed and its interval has passed (or `force`)."""
        with self._lock:
            now = time.time()
            before, when = self._shown.get(stage, ("", 0.0))
            if not force and (_without_clock(line) == _without_clock(before)
                              or now - when < self.interval):
                return
            self._shown[stage] = (line, now)
            if self.tty:
                self._live[stage] = line
                self._redraw()
            else:
                self._write(line + "\n")

    def finish(self, stage: str, line: str) -> None:
        """`stage`'s last line, which stays; the stage leaves the live block."""
        with self._lock:
            self._live.pop(stage, None)
            self._shown.pop(stage, None)
            if self.tty:
                self._redraw(kept=line)
            else:
                self._write(line + "\n")

    def say(self, text: str) -> None:
        """A line that stays, printed above the live block."""
        with self._lock:
            if self.tty:
                self._redraw(kept=text)
            else:
                self._write(text + "\n")

    def _redraw(self, kept: str | None = None) -> None:
        # Back to the block's first line, then every line rewritten, then anything the old,
        # longer block left below it cleared.
        parts = [f"\033[{self._drawn}A\r"] if self._drawn else []
        parts += [f"\033[K{line}\n" for line in ([kept] if kept else []) + list(
            self._live.values())]
        self._write("".join(parts) + "\033[J")
        self._drawn = len(self._live)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def say(board: ProgressBoard | None, text: str) -> None:
    """A line for the user among the progress lines (on stderr where there is no board)."""
    (board or ProgressBoard()).say(text)


class StageProgress:
    """One stage's counts and best score, shown as its line on a board."""

    def __init__(self, stage: str, total: int, metric: str = "score",
                 stream: TextIO | None = None, interval: float = 10.0,
                 board: ProgressBoard | None = None) -> None:
        self.stage, self.total, self.metric = stage, total, metric
        self.board = board or ProgressBoard(stream, interval)
        self.started = time.time()
        self.running = self.stopped = self.finished = self.errored = 0
        self.best: float | None = None
        self.best_label = ""

    def line(self) -> str:
        elapsed = int(time.time() - self.started)
        best = f"best {self.metric} {self.best:.4f}{self.best_label}" if self.best is not None \
            else "best -"
        parts = [f"[{self.stage}]", f"{self.running} running", f"{self.stopped} stopped early",
                 f"{self.finished}/{self.total} finished"]
        if self.errored:
            parts.append(f"{self.errored} failed")
        return " | ".join(parts + [best, f"{elapsed // 60}:{elapsed % 60:02d}"])

    def offer_best(self, value: float | None, label: str = "") -> None:
        if value is not None and (self.best is None or value > self.best):
            self.best, self.best_label = value, label

    def show(self, force: bool = False) -> None:
        self.board.update(self.stage, self.line(), force)

    def close(self) -> None:
        self.board.finish(self.stage, self.line())


def stopped_early(evaluations: float, expected: int, errored: bool = False) -> bool:
    """Whether a trial was stopped early (by ASHA): it ended, not by an error, before reporting
    every evaluation its config asks for (`expected`, see `sweep.search.expected_iterations`)."""
    return not errored and evaluations < expected


class TuneProgress(Callback):
    """Feeds Tune's trial events into a StageProgress."""

    def __init__(self, progress: StageProgress, expected_iterations: Any) -> None:
        self.progress = progress
        self.expected_iterations = expected_iterations
        _LIVE[progress.stage] = self

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Tune pickles its callbacks with the experiment, and --resume unpickles them: the
        # copy is the stage's live callback of this run, which shows on this run's board.
        return _live_progress, (self.progress.stage,)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.progress.running += 1
        self.progress.show()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.progress.offer_best(result.get("score"), _label(trial))
        self.progress.show()

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.progress.running -= 1
        if self._stopped_early(trial):
            self.progress.stopped += 1
        else:
            self.progress.finished += 1
        self.progress.show()

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.progress.running -= 1
        self.progress.errored += 1
        self.progress.show(force=True)

    def on_experiment_end(self, trials, **info) -> None:
        # Recounted from the trials themselves: a restored experiment's trials that finished
        # before the interruption never pass through the hooks above.
        ended = [trial for trial in trials if trial.status == "TERMINATED"]
        self.progress.stopped = sum(self._stopped_early(trial) for trial in ended)
        self.progress.finished = len(ended) - self.progress.stopped
        self.progress.errored = sum(trial.status == "ERROR" for trial in trials)
        self.progress.running = 0
        for trial in trials:
            self.progress.offer_best((trial.last_result or {}).get("best_score"), _label(trial))

    def _stopped_early(self, trial: Any) -> bool:
        """Asked of ended trials only; errored ones are counted apart."""
        done = (trial.last_result or {}).get(EVALUATIONS, 0)
        return stopped_early(done, self.expected_iterations(trial.config))


_LIVE: dict[str, TuneProgress] = {}  # stage -> its callback in this driver


def _live_progress(stage: str) -> TuneProgress:
    """The stage's live progress callback (a fresh one where this driver has none)."""
    return _LIVE.get(stage) or TuneProgress(StageProgress(stage, 0), lambda config: 0)


def _label(trial: Any) -> str:
    """What produced a score: the trial's learning rate and intermediate checkpoint."""
    intermediate = trial.config.get("intermediate")
    label = f" (lr {trial.config.get('learning_rate', 0):.2g}"
    return label + (f", from {intermediate})" if intermediate else ")")
