"""Every error a `sweep` command reports to its user, and the exit status each one means.

Exit status: 0 success; 1 a stage failed (finished stages are kept; rerun with --resume);
2 bad input (spec, storage, sources, arguments, cluster address or token), found before any
cluster time is spent; 130 interrupted (Ctrl-C or `sweep stop`; --resume continues).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class SweepError(Exception):
    """An error `sweep` prints as one message and turns into `exit_code`."""

    exit_code = EXIT_FAILED
    prefix = "error"


class SpecError(SweepError, ValueError):
    """A search-space file is invalid; `problems` holds one line per bad field."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: invalid search space\n{listing}")


class PreflightError(SweepError, ValueError):
    """The spec asks for something this cluster, storage or data cannot give; nothing was
    started."""

    exit_code = EXIT_BAD_INPUT


class RunExistsError(SweepError, RuntimeError):
    """The storage path already holds a run and --resume was not given."""

    exit_code = EXIT_BAD_INPUT


class RunLockedError(SweepError, RuntimeError):
    """Another driver is running on this storage path now (`sweep.lock`)."""

    exit_code = EXIT_BAD_INPUT


class JobsError(SweepError):
    """A one-line reason why a jobs command cannot go on (address, token, unknown job)."""

    exit_code = EXIT_BAD_INPUT


class ResultsError(SweepError, ValueError):
    """Stored results cannot answer what was asked (a task the registry does not know, a
    baseline the rows do not have)."""

    exit_code = EXIT_BAD_INPUT


class CorruptStateError(SweepError, ValueError):
    """A run's manifest or table in storage does not parse (truncated or corrupt); the
    message names the file, which is left as it is."""

    exit_code = EXIT_BAD_INPUT


class StageFailed(SweepError, RuntimeError):
    """A stage ended with failed trials or tasks; finished stages stay recorded."""


class StorageUnavailable(SweepError, RuntimeError):
    """The run's storage stopped answering mid-run; what it finished is kept there, and
    --resume continues once it is back."""


class SweepInterrupted(SweepError, RuntimeError):
    """Stopped by the user (Ctrl-C) mid-stage; --resume continues from the saved state."""

    exit_code = EXIT_INTERRUPTED
    prefix = "interrupted"
