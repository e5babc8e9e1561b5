"""Experiment trackers: the spec's `tracking` section, the callbacks the registry builds, and
one reduced sweep logged to MLflow, TensorBoard and (where it installs) W&B, read back."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml
from small import SMALL_DATA, SMALL_MODEL

from sweep import rules, tracking
from sweep.cli import main
from sweep.spec import SpecError, default_spec_path, parse_spec
from sweep.tracking import TRACKERS, experiment_name, tracking_callbacks

STAGE = "target/synth_xnli"


def spec_with(section):
    document = yaml.safe_load(default_spec_path().read_text())
    document["tracking"] = section
    return parse_spec(document)


def test_the_registered_trackers():
    assert list(TRACKERS) == ["mlflow", "tensorboard", "wandb"]


def test_the_section_is_optional_and_tensorboard_is_on_by_default():
    assert parse_spec(yaml.safe_load(default_spec_path().read_text())).tracking is None
    spec = spec_with({"mlflow": {"tracking_uri": "sqlite:///runs/mlflow.db"}})
    assert spec.tracking.tensorboard is True and spec.tracking.wandb is None
    assert tracking_callbacks(spec_with(None), STAGE) == []


@pytest.mark.parametrize("section,expected", [
    ({"comet": {"project": "x"}}, "tracking.comet: got {'project': 'x'}; allowed: unknown field"),
    ({"mlflow": {"uri": "sqlite:///m.db"}},
     "tracking.mlflow.uri: got 'sqlite:///m.db'; allowed: unknown field"),
    ({"wandb": {"mode": "offline"}}, "tracking.wandb.project: allowed: required field is missing"),
    ({"wandb": {"project": "p", "mode": "later"}},
     "tracking.wandb.mode: got 'later'; allowed: Input should be 'online', 'offline' or "
     "'disabled'"),
])
def test_sweep_validate_exits_2_naming_the_field(tmp_path, capsys, section, expected):
    document = yaml.safe_load(default_spec_path().read_text())
    document["tracking"] = section
    path = tmp_path / "tracked.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["validate", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_a_tracker_that_is_not_installed_is_a_spec_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(rules, "find_spec",
                        lambda name: None if name == "wandb" else find_spec(name))
    document = yaml.safe_load(default_spec_path().read_text())
    document["tracking"] = {"wandb": {"project": "p", "mode": "offline"}}
    path = tmp_path / "tracked.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["validate", str(path)]) == 2
    assert ("tracking.wandb: got {'project': 'p', 'mode': 'offline'}; allowed: a tracker whose "
            "package is installed; wandb is not: pip install wandb, or pip install "
            "'xstilts-sweep[tracking]'") in capsys.readouterr().err
    # Turned off, TensorBoard needs no package.
    monkeypatch.setattr(rules, "find_spec", lambda name: None)
    assert spec_with({"tensorboard": False}).tracking.tensorboard is False


def test_an_mlflow_file_store_needs_an_mlflow_that_writes_one(monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.setattr(tracking, "_mlflow_version", lambda: (3, 17))
    for uri in ("file:///runs/mlruns", "runs/mlruns"):
        with pytest.raises(SpecError, match=r"tracking.mlflow.tracking_uri: got '"
                           + uri + "'; allowed: a database or server URI"):
            spec_with({"mlflow": {"tracking_uri": uri}})
    for uri in ("sqlite:///runs/mlflow.db", "http://127.0.0.1:5000", None):
        spec_with({"mlflow": {"tracking_uri": uri}})
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    spec_with({"mlflow": {"tracking_uri": "file:///runs/mlruns"}})
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    monkeypatch.setattr(tracking, "_mlflow_version", lambda: (2, 20))
    spec_with({"mlflow": {"tracking_uri": "file:///runs/mlruns"}})


def test_validating_a_tracked_spec_imports_no_tracker():
    script = ("import sys; from sweep.spec import parse_spec, default_spec_path; import yaml; "
              "d = yaml.safe_load(default_spec_path().read_text()); "
              "d['tracking'] = {'mlflow': {'tracking_uri': 'sqlite:///m.db'}, "
              "'wandb': {'project': 'p', 'mode': 'offline'}}; parse_spec(d); "
              "print(sorted({'ray', 'mlflow', 'wandb', 'tensorboardX'} & set(sys.modules)))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "[]"


def test_the_registry_builds_each_trackers_callback(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    from ray.air.integrations.mlflow import MLflowLoggerCallback
    from ray.air.integrations.wandb import WandbLoggerCallback
    from ray.tune.logger import TBXLoggerCallback

    monkeypatch.delenv("WANDB_MODE", raising=False)  # restored after the test
    spec = spec_with({
        "mlflow": {"tracking_uri": "sqlite:///runs/mlflow.db", "tags": {"owner": "me"},
                   "save_artifact": True},
        "tensorboard": True,
        "wandb": {"project": "xstilts", "entity": "lab", "mode": "offline",
                  "dir": str(tmp_path / "wandb-files")},
    })
    mlflow, tensorboard, wandb = tracking_callbacks(spec, STAGE)
    assert type(mlflow) is MLflowLoggerCallback
    assert mlflow.tracking_uri == "sqlite:///runs/mlflow.db"
    assert mlflow.experiment_name == experiment_name(spec.name, STAGE) == \
        "offline-default/target/synth_xnli"
    assert mlflow.tags == {"sweep": "offline-default", "stage": STAGE, "owner": "me"}
    assert mlflow.should_save_artifact is True
    assert type(tensorboard) is TBXLoggerCallback
    assert type(wandb) is WandbLoggerCallback
    assert (wandb.project, wandb.group) == ("xstilts", "offline-default/target/synth_xnli")
    assert wandb.kwargs == {"entity": "lab", "mode": "offline",
                            "dir": str(tmp_path / "wandb-files")}
    assert (tmp_path / "wandb-files").is_dir()
    # Ray's setup skips the API-key lookup only when the driver's WANDB_MODE says offline.
    assert os.environ["WANDB_MODE"] == "offline"
    # Left out, W&B's files go where W&B would put them: WANDB_DIR, else the working directory.
    def default_dir() -> str:
        spec = spec_with({"tensorboard": False, "wandb": {"project": "p"}})
        return tracking_callbacks(spec, STAGE)[1].kwargs["dir"]

    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_dir() == str(tmp_path)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    assert default_dir() == str(tmp_path / "elsewhere")


def test_tensorboard_false_keeps_tunes_default_event_writer_out(tmp_path):
    from ray import cloudpickle
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback
    from ray.tune.utils.callback import _create_default_callbacks

    (no_events,) = tracking_callbacks(spec_with({"tensorboard": False}), STAGE)
    callbacks = _create_default_callbacks([no_events])
    # Tune adds its CSV and JSON loggers, which the sweep reads, and no event writer of its own.
    assert [c for c in callbacks if isinstance(c, TBXLoggerCallback)] == [no_events]
    assert {CSVLoggerCallback, JsonLoggerCallback} <= {type(c) for c in callbacks}
    # The tuner saves its callbacks for --resume; the stand-in survives the round trip.
    assert isinstance(cloudpickle.loads(cloudpickle.dumps(no_events)), TBXLoggerCallback)

    class Trial:  # what the logger would be handed
        local_path = str(tmp_path)

    no_events.log_trial_start(Trial())
    no_events.log_trial_result(1, Trial(), {"score": 1.0, "training_iteration": 1})
    no_events.log_trial_end(Trial())
    assert list(tmp_path.iterdir()) == []


# -- one reduced sweep, logged and read back ----------------------------------------------


def event_scalars(path: Path, tag: str) -> list[tuple[int, float]]:
    """(step, value) of `tag` in a TensorBoard event file: TFRecords (length, its CRC, an
    Event proto, its CRC), parsed with tensorboardX's own protos."""
    from tensorboardX.proto.event_pb2 import Event

    data, offset, found = path.read_bytes(), 0, []
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        event = Event.FromString(data[offset + 12:offset + 12 + length])
        offset += 12 + length + 4
        found += [(event.step, value.simple_value) for value in event.summary.value
                  if value.tag == tag]
    return found


def wandb_records(path: Path) -> list:
    """The records of a W&B run's transaction log (`run-<id>.wandb`): a 7-byte header, then
    LevelDB-log chunks (CRC, length, type: 1 full, 2 first, 3 middle, 4 last) in 32 KiB
    blocks, each record a `wandb_internal_pb2.Record`."""
    from wandb.proto.wandb_internal_pb2 import Record

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B"
    offset, chunk, records = 7, b"", []
    while offset + 7 <= len(data):
        if block - offset % block < 7:  # a block's tail too short for a chunk header
            offset += block - offset % block
            continue
        _, length, kind = struct.unpack_from("<IHB", data, offset)
        chunk += data[offset + 7:offset + 7 + length]
        offset += 7 + length
        if kind in (1, 4):
            records.append(Record.FromString(chunk))
            chunk = b""
    return records


@pytest.mark.slow
def test_a_sweep_logs_each_trial_to_the_trackers(ray_session, tmp_path, monkeypatch):
    """Two target trials (a learning-rate grid, two evaluations each) logged to an MLflow
    file store, TensorBoard event files and W&B offline; each tracker holds what Tune's own
    learning curves hold."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from sweep.results import load_curves
    from sweep.runner import run_sweep

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # read on the driver
    monkeypatch.delenv("WANDB_MODE", raising=False)  # restored after the test
    with_wandb = find_spec("wandb") is not None
    uri = f"file://{tmp_path}/mlruns"
    spec = parse_spec({
        "name": "tracked", "model": SMALL_MODEL, "data": SMALL_DATA, "target_tasks": ["synth_pos"],
        "search": {"target": {"learning_rate": {"choice": [1e-3, 3e-3]}, "epochs": 1,
                              "batch_size": 32, "evals_per_epoch": 2}},
        "searcher": {"type": "grid"}, "scheduler": {"type": "fifo"},
        "evaluation": {"languages": ["en"]},
        "tracking": {"mlflow": {"tracking_uri": uri}, "tensorboard": True,
                     **({"wandb": {"project": "xstilts", "mode": "offline",
                                   "dir": str(tmp_path / "wandb-files")}} if with_wandb else {})},
    })
    run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    curves = load_curves(tmp_path / "run")
    scores = {trial: list(group.sort_values("training_iteration")["score"])
              for trial, group in curves.groupby("trial_id")}
    rates = dict(zip(curves["trial_id"], curves["config/learning_rate"], strict=False))
    assert len(scores) == 2 and all(len(curve) == 2 for curve in scores.values())

    # MLflow: the stage's experiment, a run per trial with its config and every score.
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tracked/target/synth_pos")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    for run in runs:
        trial = next(t for t in scores if run.data.tags["trial_name"].endswith(t))
        assert float(run.data.params["learning_rate"]) == rates[trial]
        assert run.data.params["intermediate"] == "none" and run.data.params["seed"] == "0"
        assert run.data.tags["sweep"] == "tracked" and run.data.tags["stage"] == \
            "target/synth_pos"
        history = sorted(client.get_metric_history(run.info.run_id, "score"),
                         key=lambda metric: metric.step)
        assert [metric.step for metric in history] == [1, 2]
        assert [metric.value for metric in history] == pytest.approx(scores[trial])
        assert {"evaluations", "train_seconds"} <= set(run.data.metrics)
        assert run.info.status == "FINISHED"

    # TensorBoard: each trial directory in storage holds an event file with its scores.
    event_files = sorted((tmp_path / "run" / "tune").glob("*/*/events.out.tfevents.*"))
    assert len(event_files) == 2
    for path in event_files:
        trial = next(t for t in scores if t in path.parent.name)
        logged = event_scalars(path, "ray/tune/score")
        assert [step for step, _ in logged] == [1, 2]
        assert [value for _, value in logged] == pytest.approx(scores[trial])

    # W&B offline: a run per trial, in the stage's group, with its config and every score.
    if with_wandb:
        logs = sorted((tmp_path / "wandb-files" / "wandb").glob("offline-run-*/run-*.wandb"))
        assert len(logs) == 2
        closed = 0
        for log in logs:
            records = wandb_records(log)
            run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
            trial = run.run_id  # Ray names a trial's W&B run by its trial id
            assert (run.project, run.run_group) == ("xstilts", "tracked/target/synth_pos")
            config = {item.key: json.loads(item.value_json) for item in run.config.update}
            assert config["learning_rate"] == rates[trial] and config["intermediate"] == "none"
            # Ray's logging actor can be restarted under load (it warns so: its constructor
            # arguments live in the object store), and a run it never closed (no exit record)
            # has lost what it had not written; every run W&B closed holds every score.
            if not any(r.WhichOneof("record_type") == "exit" for r in records):
                continue
            closed += 1
            history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json)
                        for item in r.history.item}
                       for r in records if r.WhichOneof("record_type") == "history"]
            assert [step["score"] for step in history] == pytest.approx(scores[trial])
        assert closed >= 1
