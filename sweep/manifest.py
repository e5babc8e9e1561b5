"""The checkpoint registry: what each finished stage produced, under the storage path.

`manifest.json` maps each stage to its status (running or finished), the hash of the config
that produced it, its best checkpoint (and the best per intermediate choice for target stages)
and where its result rows are. Downstream stages read checkpoints only from here; `--resume`
skips stages finished with the same hash and restores the Tune experiment of a stage left
running with the same hash.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


class RunExistsError(RuntimeError):
    """The storage path already holds a run and --resume was not given."""


class Manifest:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def open(cls, storage: Path, experiment: str, resume: bool) -> Manifest:
        path = storage / MANIFEST
        if path.exists():
            if not resume:
                raise RunExistsError(
                    f"{storage} already holds a run ({path}); pass --resume to continue it, "
                    "or --storage PATH for a new one"
                )
            return cls(path, json.loads(path.read_text()))
        if resume:
            raise RunExistsError(f"--resume: no run to resume at {storage} (no {MANIFEST})")
        return cls(path, {"experiment": experiment, "created": time.time(), "stages": {}})

    @classmethod
    def read(cls, storage: Path) -> Manifest:
        path = storage / MANIFEST
        if not path.exists():
            raise FileNotFoundError(f"no sweep results at {storage} (no {MANIFEST})")
        return cls(path, json.loads(path.read_text()))

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        return self.data["stages"]

    def is_finished(self, name: str, config_hash: str) -> bool:
        entry = self.stages.get(name, {})
        return entry.get("status") == "finished" and entry.get("config_hash") == config_hash

    def best(self, name: str, intermediate: str | None = None) -> dict[str, Any]:
        """The best checkpoint of a finished stage (or of one intermediate choice in it)."""
        entry = self.stages[name]
        return entry["by_intermediate"][intermediate] if intermediate else entry["best"]

    def record(self, name: str, entry: dict[str, Any]) -> None:
        self.stages[name] = {**entry, "recorded_at": time.time()}
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".json.tmp")
        staging.write_text(json.dumps(self.data, indent=2, sort_keys=True, default=str))
        os.replace(staging, self.path)  # atomic: a crash never leaves half a manifest
