"""A compact, one-line-per-stage progress display.

On a terminal the line is redrawn in place; elsewhere (CI logs, files) a line is printed only
when something changed and at most every `interval` seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ray.tune import Callback

from trainables.training import EVALUATIONS


class StageProgress:
    def __init__(self, stage: str, total: int, metric: str = "score",
                 stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stage, self.total, self.metric = stage, total, metric
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.2 if self.tty else interval
        self.started = time.time()
        self.running = self.stopped = self.finished = self.errored = 0
        self.best: float | None = None
        self.best_label = ""
        self._last_line = ""
        self._last_time = 0.0

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
        line = self.line()
        now = time.time()
        changed = line.split(" | ")[:-1] != self._last_line.split(" | ")[:-1]
        if not force and (not changed or now - self._last_time < self.interval):
            return
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_line, self._last_time = line, now

    def close(self) -> None:
        self.show(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def stopped_early(evaluations: float, expected: int, errored: bool = False) -> bool:
    """Whether a trial was stopped early (by ASHA): it ended, not by an error, before reporting
    every evaluation its config asks for (`expected`, see `sweep.search.expected_iterations`)."""
    return not errored and evaluations < expected


class TuneProgress(Callback):
    """Feeds Tune's trial events into a StageProgress."""

    def __init__(self, progress: StageProgress, expected_iterations: Any) -> None:
        self.progress = progress
        self.expected_iterations = expected_iterations

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


def _label(trial: Any) -> str:
    """What produced a score: the trial's learning rate and intermediate checkpoint."""
    intermediate = trial.config.get("intermediate")
    label = f" (lr {trial.config.get('learning_rate', 0):.2g}"
    return label + (f", from {intermediate})" if intermediate else ")")
