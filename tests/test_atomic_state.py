"""Run state is written whole or not at all, and a truncated or corrupt manifest or table
stops the command that reads it, naming the file and leaving it as it is (no Ray)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweep.cli import main
from sweep.errors import EXIT_BAD_INPUT, CorruptStateError
from sweep.manifest import MANIFEST, Manifest, RunExistsError
from sweep.predictions import PREDICTIONS_DIR, load_predictions
from sweep.results import CURVES_DIR, ROWS_DIR, TRIALS_DIR, load, load_curves, load_trials
from sweep.rows import write_rows
from trainables.storage import Location

ROWS = [{"stage": "eval/synth_xnli", "task": "synth_xnli", "target_task": "synth_xnli",
         "intermediate_task": "none", "language": language, "split": "test",
         "metric": "accuracy", "value": value} for language, value in [("de", 0.5), ("fr", 0.7)]]
OLD = pd.DataFrame({"value": [1.0, 2.0]})
NEW = pd.DataFrame({"value": [3.0, 4.0, 5.0]})


def _fail(*args, **kwargs):
    raise OSError("the disk went away")


# -- writing: whole or not at all ------------------------------------------------------------


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_write_that_fails_after_the_temp_file_leaves_the_old_file_and_no_temp(
        tmp_path, monkeypatch, step):
    target = Location.parse(tmp_path).join("rows", "a.parquet")
    target.write_parquet(OLD)
    monkeypatch.setattr(f"trainables.storage.os.{step}", _fail)
    with pytest.raises(OSError, match="the disk went away"):
        target.write_parquet(NEW)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(target.read_parquet(), OLD)
    assert os.listdir(tmp_path / "rows") == ["a.parquet"]  # the temp file was removed


def test_a_serialiser_that_fails_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    target = Location.parse(tmp_path).join("rows", "a.parquet")
    target.write_parquet(OLD)
    before = target.read_bytes()

    def half_then_fail(frame, buffer, **kwargs):
        buffer.write(before[: len(before) // 2])
        raise MemoryError

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_fail)
    with pytest.raises(MemoryError):
        target.write_parquet(NEW)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path / "rows") == ["a.parquet"]


def test_the_target_holds_the_old_content_until_the_rename(tmp_path, monkeypatch):
    target = Location.parse(tmp_path).join(MANIFEST)
    seen = []
    rename = os.replace

    def spy(source, destination):
        seen.append((Path(destination).read_bytes() if Path(destination).exists() else None,
                     Path(source).name, Path(source).read_bytes()))
        rename(source, destination)

    monkeypatch.setattr("trainables.storage.os.replace", spy)
    target.write_text('{"first": 1}')
    target.write_text('{"second": 2}')
    (absent, staging, first), (old, _, second) = seen
    assert absent is None and first == b'{"first": 1}'  # no file at all until the first rename
    assert old == b'{"first": 1}' and second == b'{"second": 2}'
    assert staging.startswith(f".{MANIFEST}.{os.getpid()}.") and staging.endswith(".tmp")
    assert target.read_text() == '{"second": 2}' and os.listdir(tmp_path) == [MANIFEST]


def test_a_manifest_save_that_fails_keeps_the_previous_manifest(tmp_path, monkeypatch):
    manifest = Manifest.open(tmp_path, "exp", resume=False)
    manifest.record("intermediate/synth_nli", {"status": "finished", "config_hash": "abc"})
    monkeypatch.setattr("trainables.storage.os.replace", _fail)
    with pytest.raises(OSError):
        manifest.record("target/synth_xnli", {"status": "running", "config_hash": "def"})
    monkeypatch.undo()
    stored = Manifest.read(tmp_path)
    assert set(stored.stages) == {"intermediate/synth_nli"}
    assert os.listdir(tmp_path) == [MANIFEST]


# -- reading: a corrupt manifest ------------------------------------------------------------


def _run_with(tmp_path: Path, manifest: bytes) -> Path:
    """A run with rows whose manifest.json holds `manifest`; returns the manifest's path."""
    storage = tmp_path / "run"
    Manifest.open(storage, "exp", resume=False).record(
        "intermediate/synth_nli", {"status": "finished", "config_hash": "abc"})
    write_rows(Location.parse(storage), "eval-synth_xnli", ROWS)
    (storage / MANIFEST).write_bytes(manifest)
    return storage / MANIFEST


def _truncated(tmp_path: Path) -> bytes:
    storage = tmp_path / "whole"
    Manifest.open(storage, "exp", resume=False).record(
        "intermediate/synth_nli", {"status": "finished", "config_hash": "abc"})
    whole = (storage / MANIFEST).read_bytes()
    return whole[: len(whole) // 2]


BROKEN = {"truncated": None, "empty": b"", "not a mapping": b"[1, 2]",
          "no stages": b'{"experiment": "exp"}', "stages not a mapping": b'{"stages": []}'}


@pytest.mark.parametrize("case", BROKEN)
def test_resume_refuses_a_corrupt_manifest_before_ray_and_leaves_it(
        tmp_path, monkeypatch, capsys, case):
    path = _run_with(tmp_path, BROKEN[case] if BROKEN[case] is not None else _truncated(tmp_path))
    before = path.read_bytes()
    monkeypatch.setattr("sweep.runner.init_ray", lambda spec: pytest.fail("Ray was started"))
    assert main(["run", "--storage", str(path.parent), "--resume"]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert str(path) in error and ("not valid JSON" in error or "no `stages` mapping" in error)
    assert path.read_bytes() == before
    with pytest.raises(RunExistsError):  # without --resume it is refused as before, unwritten
        Manifest.open(path.parent, "exp", resume=False)
    assert path.read_bytes() == before


def test_reading_a_truncated_manifest_names_it(tmp_path, capsys):
    path = _run_with(tmp_path, _truncated(tmp_path))
    with pytest.raises(CorruptStateError, match=re.escape(f"{path}: not valid JSON")):
        Manifest.read(path.parent)
    assert main(["report", str(path.parent)]) == EXIT_BAD_INPUT
    assert str(path) in capsys.readouterr().err
    assert not (path.parent / "report.html").exists()


# -- reading: a corrupt table ---------------------------------------------------------------


def _damage(path: Path, how: str) -> bytes:
    whole = path.read_bytes()
    if how == "truncated":
        damaged = whole[: len(whole) // 2]
    elif how == "empty":
        damaged = b""
    else:  # the footer intact, the pages overwritten: pyarrow's error is an OSError
        damaged = whole[:4] + b"\xff" * (len(whole) // 2) + whole[4 + len(whole) // 2:]
    path.write_bytes(damaged)
    return damaged


@pytest.mark.parametrize("how", ["truncated", "empty", "overwritten"])
def test_a_corrupt_rows_file_stops_sweep_results_naming_it(tmp_path, capsys, how):
    storage = tmp_path / "run"
    write_rows(Location.parse(storage), "eval-synth_xnli", ROWS)
    write_rows(Location.parse(storage), "eval-synth_pawsx", ROWS)
    path = storage / ROWS_DIR / "eval-synth_xnli.parquet"
    damaged = _damage(path, how)
    assert main(["results", str(storage)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err
    assert f"{path}: not a readable parquet file" in error and "Traceback" not in error
    assert path.read_bytes() == damaged
    with pytest.raises(CorruptStateError, match="eval-synth_xnli.parquet"):
        load(storage)


@pytest.mark.parametrize(("folder", "reader"), [(TRIALS_DIR, load_trials),
                                                (CURVES_DIR, load_curves),
                                                (PREDICTIONS_DIR, load_predictions)])
def test_every_table_reader_names_a_truncated_file(tmp_path, folder, reader):
    target = Location.parse(tmp_path).join(folder, "target-synth_xnli.parquet")
    target.write_parquet(OLD)
    _damage(Path(target.uri), "truncated")
    with pytest.raises(CorruptStateError, match=re.escape(f"{target.uri}: not a readable")):
        reader(tmp_path)


# -- object stores ---------------------------------------------------------------------------


@pytest.fixture
def bucket(s3_endpoint, request) -> Location:
    return Location.parse(f"s3://sweeps/{request.node.name}?endpoint_override={s3_endpoint}")


def test_an_object_larger_than_an_upload_part_is_written_whole(bucket):
    # Over pyarrow's 10 MiB part size, so the upload is several parts completed at close.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"blob": [rng.bytes(1 << 20) for _ in range(12)]})
    target = bucket.join(PREDICTIONS_DIR, "eval-synth_xnli.parquet")
    target.write_parquet(frame)
    assert target.read_parquet()["blob"].tolist() == frame["blob"].tolist()
    assert [file.name for file in bucket.join(PREDICTIONS_DIR).files()] == [target.name]


def test_an_object_keeps_its_old_content_until_the_upload_completes(bucket, monkeypatch):
    target = bucket.join(ROWS_DIR, "a.parquet")
    target.write_parquet(OLD)
    before = target.read_bytes()
    real = target.filesystem
    seen = []

    class Spy:
        """The bucket's filesystem, reading the target back just before the upload closes."""

        def __getattr__(self, name):
            return getattr(real, name)

        def open_output_stream(self, path):
            stream = real.open_output_stream(path)
            close = stream.close

            class Stream:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    with real.open_input_stream(path) as reader:
                        seen.append(reader.read())
                    close()

                def write(self, data):
                    stream.write(data)

            return Stream()

    monkeypatch.setattr(Location, "filesystem", property(lambda location: Spy()))
    target.write_parquet(NEW)
    monkeypatch.undo()
    assert seen == [before]  # everything written, not yet closed: the old object still
    pd.testing.assert_frame_equal(target.read_parquet(), NEW)


def test_a_failed_serialiser_leaves_the_old_object(bucket, monkeypatch):
    target = bucket.join(CURVES_DIR, "a.parquet")
    target.write_parquet(OLD)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _fail)
    with pytest.raises(OSError):
        target.write_parquet(NEW)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(target.read_parquet(), OLD)


def test_corrupt_state_in_a_bucket_is_named(bucket, capsys):
    write_rows(bucket, "eval-synth_xnli", ROWS)
    rows = bucket.join(ROWS_DIR, "eval-synth_xnli.parquet")
    rows.write_bytes(rows.read_bytes()[:100])
    assert main(["results", bucket.uri]) == EXIT_BAD_INPUT
    assert f"{rows.uri}: not a readable parquet file" in capsys.readouterr().err

    Manifest.open(bucket, "exp", resume=False).save()
    manifest = bucket.join(MANIFEST)
    manifest.write_text(manifest.read_text()[:10])
    with pytest.raises(CorruptStateError, match=re.escape(f"{manifest.uri}: not valid JSON")):
        Manifest.open(bucket, "exp", resume=True)
    assert len(manifest.read_bytes()) == 10
