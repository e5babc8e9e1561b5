"""Storage through pyarrow, against a real S3-compatible server on loopback (moto)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from sweep.cli import main
from sweep.manifest import Manifest, RunExistsError
from sweep.results import load
from sweep.rows import COLUMNS, write_rows
from trainables.storage import Location, local_directory


@pytest.fixture
def bucket(s3_endpoint, request) -> Location:
    return Location.parse(f"s3://sweeps/{request.node.name}?endpoint_override={s3_endpoint}")


def test_locations_keep_their_scheme_and_options(s3_endpoint):
    root = Location.parse(f"s3://sweeps/run/?endpoint_override={s3_endpoint}")
    child = root.join("rows", "a.parquet")
    assert child.uri == f"s3://sweeps/run/rows/a.parquet?endpoint_override={s3_endpoint}"
    assert child.path == "sweeps/run/rows/a.parquet"
    assert root.with_path("sweeps/run/train/x").uri == root.join("train", "x").uri
    assert Location.parse("relative/dir").uri.startswith("/")


def test_files_round_trip_and_list(bucket):
    bucket.join("b.txt").write_text("second")
    bucket.join("a.txt").write_text("first")
    bucket.join("sub", "c.txt").write_text("deeper")
    assert [f.name for f in bucket.files(".txt")] == ["a.txt", "b.txt"]
    assert bucket.join("a.txt").read_text() == "first"
    assert not bucket.join("missing.txt").exists()
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        bucket.join("missing.txt").read_text()


def test_manifest_lives_in_the_bucket(bucket):
    manifest = Manifest.open(bucket, "exp", resume=False)
    manifest.record("intermediate/synth_nli", {"status": "finished", "config_hash": "abc"})
    stored = json.loads(bucket.join("manifest.json").read_text())
    assert stored["stages"]["intermediate/synth_nli"]["status"] == "finished"
    with pytest.raises(RunExistsError, match="already holds a run"):
        Manifest.open(bucket, "exp", resume=False)
    assert Manifest.open(bucket, "exp", resume=True).is_finished("intermediate/synth_nli", "abc")


def test_checkpoint_directories_download_once(bucket, tmp_path):
    checkpoint = bucket.join("train", "trial", "checkpoint_000001")
    checkpoint.join("meta.json").write_text('{"tasks": ["synth_pos"]}')
    checkpoint.join("encoder", "config.json").write_text("{}")
    local = local_directory(checkpoint.uri)
    assert json.loads((local / "meta.json").read_text()) == {"tasks": ["synth_pos"]}
    assert (local / "encoder" / "config.json").exists()
    assert local_directory(checkpoint.uri) == local
    assert local_directory(str(tmp_path)) == tmp_path


def test_processes_arriving_together_build_a_directory_once(tmp_path):
    import multiprocessing

    target = tmp_path / "downloads" / "checkpoint"
    builds = tmp_path / "builds"
    builds.mkdir()
    context = multiprocessing.get_context("spawn")  # separate processes, as Ray's workers are
    with context.Pool(4) as pool:
        published = pool.starmap(_publish_slowly, [(str(target), str(builds))] * 4)
    assert set(published) == {str(target)}
    assert len(list(builds.iterdir())) == 1  # one build; the other three waited and reused it
    assert (target / "DONE").exists() and (target / "weights").read_text() == "w"


def _publish_slowly(target: str, builds: str) -> str:
    import os
    import time

    from trainables.storage import publish_directory

    def build(staging: Path) -> None:
        (Path(builds) / str(os.getpid())).write_text("")
        time.sleep(0.5)
        (staging / "weights").write_text("w")

    return str(publish_directory(build, Path(target)))


def test_results_are_read_from_the_bucket_with_no_cluster(bucket, capsys):
    rows = [{"stage": "eval/synth_xnli", "task": "synth_xnli", "target_task": "synth_xnli",
             "intermediate_task": intermediate, "language": language, "split": "test",
             "metric": "accuracy", "value": value}
            for intermediate, language, value in [("none", "de", 0.5), ("none", "fr", 0.7),
                                                  ("synth_nli", "de", 0.8)]]
    assert write_rows(bucket, "eval-synth_xnli", rows) == "rows/eval-synth_xnli.parquet"
    frame = load(bucket.uri)
    assert list(frame.columns) == COLUMNS and len(frame) == 3
    assert main(["results", bucket.uri, "--format", "csv"]) == 0
    printed = capsys.readouterr().out
    assert "synth_nli,0.8,0.8" in printed.replace(" ", "")
    assert pd.isna(frame["node_id"]).all()


def test_an_unreachable_bucket_is_bad_input(capsys):
    closed = "s3://sweeps/x?endpoint_override=http://127.0.0.1:9"
    assert main(["results", closed]) == 2
    assert "127.0.0.1:9" in capsys.readouterr().err


def test_bad_storage_options_are_bad_input(capsys):
    assert main(["results", "s3://sweeps/x?no_such_option=1"]) == 2
    assert "no_such_option" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_keeps_everything_in_the_bucket_through_an_outage(ray_session, s3_endpoint,
                                                                    capsys):
    """The storage goes away while the intermediate stage trains: the run stops naming it
    and saying how to go on; once it is back, --resume finishes the sweep."""
    import threading

    import pyarrow.fs as pafs
    from outage import Relay
    from small import SMALL_DATA, SMALL_MODEL

    from sweep.errors import StorageUnavailable
    from sweep.runner import run_sweep
    from sweep.spec import parse_spec

    relay = Relay(s3_endpoint)
    relay.up()
    spec = parse_spec({
        "name": "on-s3", "model": SMALL_MODEL, "data": SMALL_DATA,
        "intermediate_tasks": ["synth_nli"], "target_tasks": ["synth_xnli"],
        "retrieval_tasks": ["synth_tatoeba"],
        "search": {"intermediate": {"epochs": 4, "batch_size": 32, "learning_rate": 1e-3,
                                    "evals_per_epoch": 1},
                   "target": {"intermediate": ["synth_nli"], "epochs": 1, "batch_size": 32,
                              "learning_rate": 3e-3, "evals_per_epoch": 1}},
        "scheduler": {"type": "fifo"}, "searcher": {"type": "grid"},
        "resources": {"max_concurrent_trials": 1},
        "evaluation": {"languages": ["en", "de", "zh"]},
        "storage": f"s3://sweeps/on-s3?endpoint_override={relay.endpoint}",
    })
    behind = Location.parse(f"s3://sweeps/on-s3/tune?endpoint_override={s3_endpoint}")

    def down_after_the_first_checkpoint() -> None:
        deadline = time.time() + 300
        everything = pafs.FileSelector(behind.path, recursive=True, allow_not_found=True)
        while time.time() < deadline and not any(
                "/checkpoint_" in info.path for info in
                behind.filesystem.get_file_info(everything)):
            time.sleep(0.2)
        relay.down()

    threading.Thread(target=down_after_the_first_checkpoint, daemon=True).start()
    with pytest.raises(StorageUnavailable) as caught:
        run_sweep(spec, quiet=True)
    assert f"storage: s3://sweeps/on-s3?endpoint_override={relay.endpoint} stopped answering" \
        in str(caught.value) and "rerun with --resume" in str(caught.value)
    relay.up()
    outcome = run_sweep(spec, resume=True, quiet=True)
    root = outcome.storage
    assert not root.is_local

    manifest = Manifest.read(root)
    best = manifest.best("target/synth_xnli").checkpoint
    experiment = Location.parse(manifest.stages["target/synth_xnli"]["experiment"])
    assert experiment.uri.startswith("s3://sweeps/on-s3/tune/target-synth_xnli-")
    # A one-worker trial's checkpoints are in its folder of the stage's experiment, which
    # the trainable's name, the stage's, begins.
    assert best.startswith(experiment.uri.split("?")[0] + "/target-synth_xnli_")
    assert Location.parse(best).exists()
    assert "tuner.pkl" in {file.name for file in experiment.files()}
    rows = load(root.uri)
    assert set(rows["stage"]) == {"eval/synth_xnli", "retrieval/synth_tatoeba"}
    assert rows["checkpoint_uri"].str.startswith("s3://").any()

    assert main(["results", root.uri]) == 0  # read back with nothing but the URI
    printed = capsys.readouterr().out
    assert "synth_xnli" in printed and "synth_tatoeba" in printed

    again = run_sweep(spec, resume=True, quiet=True)
    assert again.ran == [] and len(again.skipped) == 4
