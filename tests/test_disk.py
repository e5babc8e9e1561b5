"""Disk: a finished training stage keeps only the checkpoints the manifest names (on a local
disk and on S3, moto on loopback), `keep_checkpoints: all` keeps them all, the manifest
records the bytes kept and freed; the node's download and pool caches are bounded, least
recently used entries evicted first. No Ray: the stage's folders are laid out by hand as
Tune and Train leave them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from sweep.cleanup import free_checkpoints, stage_checkpoints
from sweep.manifest import Manifest
from trainables import storage as node_cache
from trainables.storage import (
    CACHE_LIMIT_ENV,
    DONE,
    IN_USE_SECONDS,
    Location,
    cache_limit_bytes,
    publish_directory,
)

STAGE = "target/synth_xnli"
EXPERIMENT = "tune/target-synth_xnli-0123abcd"


@pytest.fixture
def root(run_storage) -> Location:
    return run_storage


def _checkpoint(where: Location, size: int) -> str:
    """A checkpoint folder of `size` bytes (weights and meta.json), as its URI."""
    where.join("meta.json").write_text("{}")
    where.join("encoder", "model.safetensors").write_bytes(b"w" * (size - 2))
    return where.uri


def _best(uri: str, trial_id: str, intermediate: str) -> dict:
    return {"trial_id": trial_id, "checkpoint": uri, "score": 50.0, "step": 8,
            "examples_seen": 256, "train_seconds": 3.0, "devices": 1,
            "config": {"intermediate": intermediate}}


def _finished_stage(root: Location) -> tuple[Manifest, dict[str, str]]:
    """A target stage of four trials, finished and recorded: two one-worker trials in their
    Tune folders (one with a superseded checkpoint beside its best, one ASHA stopped), two
    DDP trials in Train runs (one restarted: two checkpoints); and another stage's Train run
    still writing beside them."""
    experiment = root.join(EXPERIMENT)
    one, stopped = (experiment.join(f"target-synth_xnli_{trial}_1_lr=0.001_2026")
                    for trial in ("aa_00000", "aa_00001"))
    one.join("params.json").write_text("{}")  # a trial's own files stay
    ddp, other = root.join("train", "aa_00002"), root.join("train", "aa_00003")
    made = {
        "best": _checkpoint(one.join("checkpoint_000001"), 1000),
        "superseded": _checkpoint(one.join("checkpoint_000002"), 1100),
        "stopped": _checkpoint(stopped.join("checkpoint_000000"), 1200),
        "ddp_best": _checkpoint(ddp.join("checkpoint_2026-12-01_18-43-13.787370"), 1300),
        "restarted": _checkpoint(ddp.join("checkpoint_2026-12-01_18-43-14.432840"), 1400),
        "unchosen_ddp": _checkpoint(other.join("checkpoint_2026-12-01_18-44-00.000000"), 1500),
        "writing": _checkpoint(root.join("train", "bb_00000", "checkpoint_2026-12-01"), 1600),
    }
    experiment.join("experiment_state-2026.json").write_text("{}")
    root.join("trials", "target-synth_xnli.parquet").write_parquet(pd.DataFrame(
        {"trial_id": ["aa_00000", "aa_00001", "aa_00002", "aa_00003"]}))
    manifest = Manifest.open(root, "exp", resume=False)
    best, ddp_best = _best(made["best"], "aa_00000", "none"), \
        _best(made["ddp_best"], "aa_00002", "synth_nli")
    manifest.record(STAGE, {
        "status": "finished", "config_hash": "abc", "kind": "target", "best": best,
        "seeds": [best], "by_intermediate": {"none": best, "synth_nli": ddp_best},
        "by_intermediate_seeds": {"none": [best], "synth_nli": [ddp_best]},
        "trials": 4, "trials_table": "trials/target-synth_xnli.parquet",
        "experiment": experiment.uri})
    return manifest, made


def _exists(uri: str) -> bool:
    return Location.parse(uri).exists()


def test_a_finished_stage_keeps_exactly_the_named_checkpoints(root):
    manifest, made = _finished_stage(root)
    listed = stage_checkpoints(root, manifest.stages[STAGE])
    assert len(listed) == 6 and sum(c.size for c in listed) == 7500  # not "writing"
    recorded_at = manifest.stages[STAGE]["recorded_at"]

    free_checkpoints(manifest, root, STAGE, "needed")
    kept = {name for name, uri in made.items() if _exists(uri)}
    assert kept == {"best", "ddp_best", "writing"}  # another stage's run is never touched
    assert root.join(EXPERIMENT, "experiment_state-2026.json").exists()
    assert root.join(EXPERIMENT, "target-synth_xnli_aa_00000_1_lr=0.001_2026",
                     "params.json").exists()
    entry = Manifest.read(root).stages[STAGE]  # as saved
    assert (entry["bytes_kept"], entry["bytes_freed"]) == (1000 + 1300,
                                                          1100 + 1200 + 1400 + 1500)
    assert entry["recorded_at"] == recorded_at and "cleanup_error" not in entry
    assert {c.location.uri for c in stage_checkpoints(root, entry)} == \
        {made["best"], made["ddp_best"]}

    # Called again (as a resumed run never does for a finished stage): nothing changes.
    free_checkpoints(manifest, root, STAGE, "needed")
    assert Manifest.read(root).stages[STAGE]["bytes_freed"] == entry["bytes_freed"]


def test_keep_checkpoints_all_deletes_nothing_and_counts_what_is_kept(root):
    manifest, made = _finished_stage(root)
    free_checkpoints(manifest, root, STAGE, "all")
    assert all(_exists(uri) for uri in made.values())
    entry = Manifest.read(root).stages[STAGE]
    assert (entry["bytes_kept"], entry["bytes_freed"]) == (7500, 0)


def test_a_checkpoint_another_stage_names_stays(tmp_path):
    root = Location.parse(str(tmp_path / "run"))
    manifest, made = _finished_stage(root)
    manifest.record("eval/synth_xnli", {"status": "running", "encoders": [
        {"checkpoint": made["stopped"]}]})
    free_checkpoints(manifest, root, STAGE, "needed")
    assert _exists(made["stopped"]) and not _exists(made["superseded"])
    assert manifest.stages[STAGE]["bytes_kept"] == 1000 + 1200 + 1300


def test_a_named_checkpoint_not_found_deletes_nothing(tmp_path, capsys):
    root = Location.parse(str(tmp_path / "run"))
    manifest, made = _finished_stage(root)
    entry = manifest.stages[STAGE]
    elsewhere = {**entry["best"], "checkpoint": str(tmp_path / "moved" / "checkpoint_000001")}
    manifest.record(STAGE, {**entry, "best": elsewhere})
    free_checkpoints(manifest, root, STAGE, "needed")
    assert all(_exists(uri) for uri in made.values())
    recorded = manifest.stages[STAGE]
    assert recorded["bytes_freed"] == 0 and "not among its trials" in recorded["cleanup_error"]
    assert "checkpoints left as they are" in capsys.readouterr().err


def test_a_stage_without_trials_is_left_alone(tmp_path):
    root = Location.parse(str(tmp_path / "run"))
    manifest, _ = _finished_stage(root)
    manifest.record("eval/synth_xnli", {"status": "finished", "rows": "rows/x.parquet"})
    free_checkpoints(manifest, root, "eval/synth_xnli", "needed")
    assert "bytes_kept" not in manifest.stages["eval/synth_xnli"]


# -- the node's bounded caches ----------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(CACHE_LIMIT_ENV, "0.000003")  # 3000 bytes
    return tmp_path / "cache"


def _publish(target: Path, size: int) -> Path:
    def build(staging: Path) -> None:
        (staging / "weights").write_bytes(b"w" * size)

    return publish_directory(build, target)


def _last_used(entry: Path, seconds_ago: float) -> None:
    stamp = time.time() - seconds_ago
    os.utime(entry / DONE, (stamp, stamp))


def test_downloads_evict_the_least_recently_used_first(cache):
    downloads = cache / "downloads"
    for index, name in enumerate(["a", "b", "c"]):
        _publish(downloads / name, 1000)
        _last_used(downloads / name, IN_USE_SECONDS * (10 - index))  # a oldest, then b, c
    assert _publish(downloads / "a", 1000) == downloads / "a"  # a use: now the most recent
    assert (downloads / "a" / DONE).stat().st_mtime > time.time() - 60
    _last_used(downloads / "a", IN_USE_SECONDS + 1)

    _publish(downloads / "d", 1000)  # 4000 bytes > 3000: the least recently used goes
    assert sorted(path.name for path in downloads.iterdir() if path.is_dir()) == ["a", "c", "d"]
    _publish(downloads / "e", 2500)  # c, then a; d (just used) and e stay, over the limit
    assert sorted(path.name for path in downloads.iterdir() if path.is_dir()) == ["d", "e"]


def test_the_bound_spares_recent_entries_and_the_one_just_published(cache):
    downloads = cache / "downloads"
    for name in ("a", "b", "c"):
        _publish(downloads / name, 1000)  # all used just now
    _publish(downloads / "d", 5000)
    # Over the bound, but every entry is in use or just published: none is evicted.
    assert sorted(path.name for path in downloads.iterdir() if path.is_dir()) == \
        ["a", "b", "c", "d"]
    for name in ("a", "b", "c"):
        _last_used(downloads / name, IN_USE_SECONDS + 1)
    _publish(downloads / "e", 10)
    assert sorted(path.name for path in downloads.iterdir() if path.is_dir()) == ["d", "e"]
    # An evicted entry is built again on its next use.
    assert (_publish(downloads / "a", 10) / "weights").stat().st_size == 10


def test_an_entry_held_by_another_process_is_not_evicted(cache):
    import fcntl

    downloads = cache / "downloads"
    for name in ("a", "b"):
        _publish(downloads / name, 1500)
    for name in ("a", "b"):
        _last_used(downloads / name, IN_USE_SECONDS * 10)
    with (downloads / "a.lock").open("a") as held:  # another process marking it used
        fcntl.flock(held, fcntl.LOCK_SH)
        _publish(downloads / "c", 100)
    assert sorted(path.name for path in downloads.iterdir() if path.is_dir()) == ["a", "c"]


def test_retrieval_pools_are_bounded_at_their_depth(cache):
    pools = cache / "evaluations"
    old, new = pools / "checkpoint1" / "pool1", pools / "checkpoint2" / "pool1"
    _publish(old, 2000)
    _last_used(old, IN_USE_SECONDS + 1)
    _publish(new, 2000)
    assert not old.exists() and (new / "weights").exists()


def test_other_cache_folders_are_not_bounded(cache):
    features = cache / "features"
    for name in ("a", "b"):
        _publish(features / name, 2000)
        _last_used(features / name, IN_USE_SECONDS * 10)
    _publish(features / "c", 2000)
    assert sorted(path.name for path in features.iterdir() if path.is_dir()) == ["a", "b", "c"]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "50GB"])
def test_a_bad_cache_limit_names_the_variable_the_value_and_what_is_allowed(
        value, cache, monkeypatch):
    monkeypatch.setenv(CACHE_LIMIT_ENV, value)
    message = f"{CACHE_LIMIT_ENV}: got {value!r}; allowed: a positive number of gigabytes"
    with pytest.raises(ValueError, match=message):
        cache_limit_bytes()
    with pytest.raises(ValueError, match=message):  # before any download or pool is built
        _publish(cache / "downloads" / "a", 10)
    assert not (cache / "downloads" / "a").exists()


def test_the_cache_limit_defaults_to_50_gb(monkeypatch):
    monkeypatch.delenv(CACHE_LIMIT_ENV, raising=False)
    assert cache_limit_bytes() == 50 * 10**9 == node_cache.DEFAULT_CACHE_LIMIT_GB * 1e9
    monkeypatch.setenv(CACHE_LIMIT_ENV, "0.5")
    assert cache_limit_bytes() == 500_000_000
