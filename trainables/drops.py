"""The rows a loader drops, counted: a row is not an example when it has no gold label (SNLI's
-1 on the hub) or an empty text field. Every training and dev split is counted by reason; a
split that loses more than `data.max_dropped_share` of its rows fails with the count, and the
counts of a trial's loads go into its metrics (`dropped_rows`, `dropped/<task>/<split>/<language>`).

Test splits are read whole: the reference scorers count every example.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger(__name__)

NO_GOLD_LABEL = "no gold label"
EMPTY_TEXT = "empty text"
DEFAULT_MAX_SHARE = 0.05  # data.max_dropped_share where a spec sets none
COUNTED_SPLITS = ("train", "dev")

# The counts of the loads made inside `counted_drops()`: "<task>/<split>/<language>" -> rows
# dropped. A context variable, so concurrent trials in one process keep theirs apart.
_COUNTS: ContextVar[dict[str, int] | None] = ContextVar("dropped_rows", default=None)


class DataLossError(ValueError):
    """A split lost more of its rows than `data.max_dropped_share` allows."""


def empty_text(example: Mapping[str, Any], text_fields: Sequence[str]) -> bool:
    """Whether any of the example's text fields is missing, blank or an empty token list."""
    for name in text_fields:
        value = example.get(name)
        if value is None or (isinstance(value, str) and not value.strip()) or (
                isinstance(value, list) and not value):
            return True
    return False


def record(where: str, rows: int, dropped: Counter, max_share: float) -> None:
    """Count one split's load: `rows` read, `dropped` of them by reason. Logs what was dropped,
    adds it to the caller's `counted_drops()`, and raises DataLossError above `max_share`."""
    total = sum(dropped.values())
    counts = _COUNTS.get()
    if counts is not None:
        counts[where] = total
    if not total:
        return
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(dropped.items()))
    share = total / rows if rows else 1.0
    if share > max_share:
        raise DataLossError(f"{where}: {total} of {rows} rows dropped ({reasons}), {share:.1%}; "
                            f"data.max_dropped_share allows {max_share:.1%}")
    logger.warning("%s: %d of %d rows dropped (%s)", where, total, rows, reasons)


@contextmanager
def counted_drops() -> Iterator[dict[str, int]]:
    """The rows dropped by each load made inside the block, keyed "<task>/<split>/<language>"."""
    counts: dict[str, int] = {}
    token = _COUNTS.set(counts)
    try:
        yield counts
    finally:
        _COUNTS.reset(token)


def drop_metrics(counts: Mapping[str, int]) -> dict[str, int]:
    """What a trial reports of its loads: the total dropped, and the count of each split that
    lost rows (`dropped/<task>/<split>/<language>`, flat: Tune's tables take it as it is)."""
    return {"dropped_rows": sum(counts.values()),
            **{f"dropped/{where}": count for where, count in sorted(counts.items()) if count}}
