"""Disk cleanup: once a training stage has finished, the checkpoints of its trials that no
stage can read any more are deleted, on local disk or object storage (through pyarrow).

A stage's trials keep their checkpoints in two places: a one-worker trial in its Tune trial
folder (`tune/<experiment>/<trial folder>/checkpoint_*`), a DDP trial in its Train run
(`train/<trial id>/checkpoint_*`). Downstream stages read checkpoints only from the manifest,
so every checkpoint it names stays (any stage's best, each seed's, each intermediate
choice's), and the stage's others go: those of trials ASHA stopped or not chosen, and those a
trial's later checkpoint superseded. Only the finished stage's own trial folders are listed
(trial ids are unique in the sweep), so a checkpoint another stage is writing is never
touched; the trial folders themselves and Tune's experiment state stay, for `--resume` and
the trial tables. `storage.keep_checkpoints: all` deletes nothing. Either way the stage's
entry records `bytes_kept` and `bytes_freed`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from sweep.manifest import Manifest, checkpoints_named
from trainables.storage import Location

# How Tune and Train name a trial's checkpoint folders, and where DDP trials' Train runs
# live under the storage (the training stage's `train_storage`).
CHECKPOINT_PREFIX = "checkpoint_"
TRAIN_RUNS = "train"


@dataclass(frozen=True)
class StoredCheckpoint:
    """One checkpoint folder of a trial and the bytes of its files."""

    location: Location
    size: int

    @property
    def key(self) -> str:
        return _key(self.location.path)


def _key(path: str) -> str:
    """`<trial folder>/<checkpoint folder>`: unique in the sweep, and the same wherever the
    storage is mounted or however its URI is spelled."""
    return "/".join(path.rstrip("/").split("/")[-2:])


def _folders(where: Location) -> list[Location]:
    selector = pafs.FileSelector(where.path, allow_not_found=True)
    return [where.with_path(info.path) for info in where.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.Directory]


def _checkpoints_in(trial: Location) -> list[StoredCheckpoint]:
    """The checkpoint folders of one trial folder, each with its size (one listing)."""
    selector = pafs.FileSelector(trial.path, recursive=True, allow_not_found=True)
    sizes: dict[str, int] = {}
    for info in trial.filesystem.get_file_info(selector):
        inside = info.path[len(trial.path.rstrip("/")) + 1:]
        folder, _, rest = inside.partition("/")
        if info.type == pafs.FileType.File and rest and folder.startswith(CHECKPOINT_PREFIX):
            sizes[folder] = sizes.get(folder, 0) + info.size
    return [StoredCheckpoint(trial.join(folder), size) for folder, size in sorted(sizes.items())]


def stage_checkpoints(root: Location, entry: dict[str, Any]) -> list[StoredCheckpoint]:
    """Every checkpoint folder of a finished training stage's trials: in its Tune
    experiment's trial folders, and in the Train runs of its trial ids."""
    trial_ids = set(root.join(entry["trials_table"]).read_parquet()["trial_id"].astype(str))
    trials = _folders(Location.parse(entry["experiment"]))
    trials += [run for run in _folders(root.join(TRAIN_RUNS)) if run.name in trial_ids]
    return [checkpoint for trial in trials for checkpoint in _checkpoints_in(trial)]


def free_checkpoints(manifest: Manifest, root: Location, name: str, keep: str) -> None:
    """After stage `name` is recorded finished: delete its trials' checkpoints that the
    manifest does not name (none where `keep` is `all`) and add `bytes_kept` and
    `bytes_freed` to its entry. A stage without trials, or one already counted, is left
    alone; a storage error is recorded as `cleanup_error` and never fails the stage."""
    entry = manifest.entries()[name]
    if "trials_table" not in entry or "bytes_freed" in entry:
        return
    try:
        fields = _clean(manifest, root, entry, keep)
    except (OSError, pa.ArrowException, ValueError, KeyError) as error:
        fields = {"cleanup_error": f"{type(error).__name__}: {error}"}
    if "cleanup_error" in fields:
        print(f"warning: {name}: checkpoints left as they are ({fields['cleanup_error']})",
              file=sys.stderr)
    manifest.add(name, fields)


def _clean(manifest: Manifest, root: Location, entry: dict[str, Any], keep: str
           ) -> dict[str, Any]:
    checkpoints = stage_checkpoints(root, entry)
    total = sum(checkpoint.size for checkpoint in checkpoints)
    found = {checkpoint.key for checkpoint in checkpoints}
    missing = sorted(uri for uri in checkpoints_named(entry)
                     if _key(Location.parse(uri).path) not in found)
    if missing:  # a layout this module does not know: deleting by it could lose a best
        return {"bytes_kept": total, "bytes_freed": 0,
                "cleanup_error": f"{missing[0]} is not among its trials' checkpoints"}
    if keep == "all":
        return {"bytes_kept": total, "bytes_freed": 0}
    # Every stage's entry, this one's included: a checkpoint any of them names stays.
    named = {_key(Location.parse(uri).path) for uri in manifest.named_checkpoints()}
    freed = 0
    for checkpoint in checkpoints:
        if checkpoint.key in named:
            continue
        try:
            checkpoint.location.filesystem.delete_dir(checkpoint.location.path)
        except (OSError, pa.ArrowException) as error:  # what was freed so far stays counted
            return {"bytes_kept": total - freed, "bytes_freed": freed,
                    "cleanup_error": f"{checkpoint.location}: {error}"}
        freed += checkpoint.size
    return {"bytes_kept": total - freed, "bytes_freed": freed}
