"""The checkpoint registry: what each finished stage produced, under the storage path.

`manifest.json` maps each stage to its status (running or finished), the hash of the config
that produced it, its best checkpoint (and the best per intermediate choice for target stages),
where its result rows are, and for a training stage the bytes its checkpoints keep and those
disk cleanup freed (`bytes_kept`, `bytes_freed`; `sweep.cleanup`). Downstream stages read
checkpoints only from here; `--resume` skips stages finished with the same hash and restores
the Tune experiment of a stage left running with the same hash. A manifest that does not
parse stops the command that reads it (`CorruptStateError`) and is never written over.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from typing import Any

from sweep.errors import CorruptStateError, RunExistsError
from trainables.storage import Location
from trainables.trial import NO_INTERMEDIATE

MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class BestCheckpoint:
    """A training stage's best checkpoint and what produced it; downstream stages train from
    it, evaluate it and charge its training time to their rows."""

    trial_id: str | None
    checkpoint: str  # a URI users can open
    score: float  # SCORE, the English dev metric it was chosen by
    step: int
    examples_seen: int
    train_seconds: float
    devices: int  # GPUs, or Train workers on a CPU-only run
    config: dict[str, Any]  # the trial's sampled point, `intermediate` included in targets
    target_train_examples: int = 0  # a direct arm's target-language training examples

    @property
    def intermediate(self) -> str:
        """The intermediate checkpoint a target trial started from (`none`: the base model)."""
        return self.config.get("intermediate", NO_INTERMEDIATE)

    @property
    def device_seconds(self) -> float:
        return self.train_seconds * self.devices

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON form (its keys are the field names)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BestCheckpoint:
        # A field with a default may be missing from a manifest written before it existed.
        return cls(**{field.name: data[field.name] for field in dataclasses.fields(cls)
                      if field.name in data or field.default is dataclasses.MISSING})


class Manifest:
    def __init__(self, location: Location, data: dict[str, Any]) -> None:
        self.location = location
        self.data = data
        # Stages running side by side record their entries from their own threads.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, storage: Location | str, experiment: str, resume: bool) -> Manifest:
        """A new run's manifest, or (with `resume`) the existing one; refuses the other case."""
        location = Location.of(storage).join(MANIFEST)
        if location.exists():
            if not resume:
                raise RunExistsError(
                    f"{storage} already holds a run ({location}); pass --resume to continue "
                    "it, or --storage PATH for a new one"
                )
            return cls(location, _parse(location))  # a corrupt one stops the run unwritten
        if resume:
            raise RunExistsError(f"--resume: no run to resume at {storage} (no {MANIFEST})")
        return cls(location, {"experiment": experiment, "created": time.time(), "stages": {}})

    @classmethod
    def read(cls, storage: Location | str | os.PathLike) -> Manifest:
        """A run's manifest, for reading it back."""
        location = Location.of(storage).join(MANIFEST)
        if not location.exists():
            raise FileNotFoundError(f"no sweep results at {storage} (no {MANIFEST})")
        return cls(location, _parse(location))

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        return self.data["stages"]

    def entries(self) -> dict[str, dict[str, Any]]:
        """A copy of the stages' entries, safe to iterate while other stages record."""
        with self._lock:
            return dict(self.stages)

    def is_finished(self, name: str, config_hash: str) -> bool:
        entry = self.stages.get(name, {})
        return entry.get("status") == "finished" and entry.get("config_hash") == config_hash

    def best(self, name: str, intermediate: str | None = None) -> BestCheckpoint:
        """The best checkpoint of a finished stage (or of one intermediate choice in it)."""
        if intermediate:
            return self.by_intermediate(name)[intermediate]
        return BestCheckpoint.from_dict(self.stages[name]["best"])

    def by_intermediate(self, name: str) -> dict[str, BestCheckpoint]:
        """A finished target stage's best checkpoint per intermediate choice."""
        return {choice: BestCheckpoint.from_dict(best)
                for choice, best in self.stages[name]["by_intermediate"].items()}

    def chosen(self, name: str) -> list[BestCheckpoint]:
        """Every seed's checkpoint of a finished stage's chosen configuration (a manifest
        written before seeds were recorded: its best checkpoint)."""
        entry = self.stages[name]
        return [BestCheckpoint.from_dict(c) for c in entry.get("seeds", [entry["best"]])]

    def chosen_by_intermediate(self, name: str) -> dict[str, list[BestCheckpoint]]:
        """A finished target stage's chosen checkpoints, one per seed, per intermediate
        choice."""
        entry = self.stages[name]
        seeds = entry.get("by_intermediate_seeds") or {
            choice: [best] for choice, best in entry["by_intermediate"].items()}
        return {choice: [BestCheckpoint.from_dict(c) for c in group]
                for choice, group in seeds.items()}

    def named_checkpoints(self) -> set[str]:
        """Every checkpoint URI any stage's entry names: what downstream stages may read."""
        return checkpoints_named(self.entries())

    def record(self, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.stages[name] = {**entry, "recorded_at": time.time()}
            self.save()

    def add(self, name: str, fields: dict[str, Any]) -> None:
        """Add `fields` to a recorded stage's entry; its `recorded_at` stays."""
        with self._lock:
            self.stages[name] = {**self.stages[name], **fields}
            self.save()

    def save(self) -> None:
        # Serialised first, then written whole (`Location.write_bytes`): a crash or a failed
        # write leaves the previous manifest, never half of one. One writer at a time, so
        # that no update is written over by an older copy.
        with self._lock:
            self.location.write_text(json.dumps(self.data, indent=2, sort_keys=True,
                                                default=str))


def checkpoints_named(value: Any) -> set[str]:
    """The checkpoint URIs in `value` (an entry, or all of them): each `BestCheckpoint`'s,
    wherever it sits (a best, a seed's, an intermediate choice's)."""
    if isinstance(value, list):
        return set().union(*(checkpoints_named(inner) for inner in value))
    if not isinstance(value, dict):
        return set()
    found = {value["checkpoint"]} if isinstance(value.get("checkpoint"), str) else set()
    return found.union(*(checkpoints_named(inner) for inner in value.values()))


def _parse(location: Location) -> dict[str, Any]:
    """The manifest at `location`; one that is not JSON (truncated) or has no `stages`
    mapping is a CorruptStateError naming it."""
    raw = location.read_bytes()  # an OSError here is the storage's, not the file's
    try:
        data = json.loads(raw)
    except ValueError as error:  # JSONDecodeError, or UnicodeDecodeError mid-character
        problem = f"not valid JSON, truncated or corrupt ({error})"
    else:
        if isinstance(data, dict) and isinstance(data.get("stages"), dict):
            return data
        problem = "not a manifest (no `stages` mapping)"
    raise CorruptStateError(f"{location}: {problem}; it was left as it is (restore it from a "
                            "copy, or give --storage PATH for a new run)")
