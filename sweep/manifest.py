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
from typing import Any

from trainables.storage import Location

MANIFEST = "manifest.json"


class RunExistsError(RuntimeError):
    """The storage path already holds a run and --resume was not given."""


class Manifest:
    def __init__(self, location: Location, data: dict[str, Any]) -> None:
        self.location = location
        self.data = data

    @classmethod
    def open(cls, storage: Location | str, experiment: str, resume: bool) -> Manifest:
        location = Location.of(storage).join(MANIFEST)
        if location.exists():
            if not resume:
                raise RunExistsError(
                    f"{storage} already holds a run ({location}); pass --resume to continue "
                    "it, or --storage PATH for a new one"
                )
            return cls(location, json.loads(location.read_text()))
        if resume:
            raise RunExistsError(f"--resume: no run to resume at {storage} (no {MANIFEST})")
        return cls(location, {"experiment": experiment, "created": time.time(), "stages": {}})

    @classmethod
    def read(cls, storage: Location | str | os.PathLike) -> Manifest:
        location = Location.of(storage).join(MANIFEST)
        if not location.exists():
            raise FileNotFoundError(f"no sweep results at {storage} (no {MANIFEST})")
        return cls(location, json.loads(location.read_text()))

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
        # Atomic: a crash never leaves half a manifest.
        self.location.write_text(json.dumps(self.data, indent=2, sort_keys=True, default=str))
