"""JSON Lines, read once for every reader of it (the offline benchmark's files, IGLUE's and
SNLI-VE's annotations): bad lines are named by file and number."""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    """One JSON object per line (blank lines skipped); a bad line is named by number."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg} at column "
                                 f"{error.colno})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: got a JSON {type(record).__name__}; "
                                 "allowed: one JSON object per line")
            records.append(record)
    return records
