"""One run per storage path: a second driver is refused with the owner's host and start
time, a lock whose heartbeat stopped is taken over with a message, and the lock goes with its
run, on a local disk and on S3 (moto on loopback). No Ray: the lock is taken first."""

from __future__ import annotations

import json
import socket
import time

import pyarrow.fs as pafs
import pytest
import yaml
from small import SMALL_DATA, SMALL_MODEL

from sweep.cli import main
from sweep.errors import RunLockedError
from sweep.lock import LOCK, RunLock, check_free
from trainables.storage import Location


@pytest.fixture
def storage(run_storage) -> Location:
    return run_storage


def _lock(storage: Location, **timing) -> RunLock:
    return RunLock(storage, settle_seconds=0.05, **timing)


def test_a_second_driver_is_refused_with_the_owner_and_its_start(storage):
    first = _lock(storage)
    first.acquire()
    try:
        owner = json.loads(storage.join(LOCK).read_text())
        assert owner["host"] == socket.gethostname() and owner["token"] == first.token
        with pytest.raises(RunLockedError) as refused:
            _lock(storage).acquire()
        message = str(refused.value)
        assert socket.gethostname() in message and "running since" in message
        assert time.strftime("%Y-%m-%d", time.localtime(owner["started"])) in message
        with pytest.raises(RunLockedError):
            check_free(storage)
    finally:
        first.release()
    assert not storage.join(LOCK).exists()
    check_free(storage)  # free again
    _lock(storage).acquire()  # and taken again


def test_a_lock_whose_heartbeat_stopped_is_taken_over(storage, capsys):
    killed = {"host": "node-7", "pid": 4242, "started": time.time() - 3600,
              "heartbeat": time.time() - 600, "token": "theirs"}
    storage.join(LOCK).write_text(json.dumps(killed))
    lock = _lock(storage)
    lock.acquire()
    try:
        message = capsys.readouterr().err
        assert "taking over" in message and "node-7 (pid 4242" in message
        assert json.loads(storage.join(LOCK).read_text())["token"] == lock.token
    finally:
        lock.release()


def test_the_heartbeat_goes_on_while_the_run_does(storage):
    lock = _lock(storage, heartbeat_seconds=0.1)
    lock.acquire()
    try:
        first = json.loads(storage.join(LOCK).read_text())["heartbeat"]
        deadline = time.time() + 10
        while json.loads(storage.join(LOCK).read_text())["heartbeat"] == first:
            assert time.time() < deadline, "no heartbeat written"
            time.sleep(0.05)
    finally:
        lock.release()


def test_a_lock_of_a_dead_driver_on_this_host_is_taken_over_at_once(storage, capsys):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    killed = {"host": socket.gethostname(), "pid": int(gone.stdout), "started": time.time(),
              "heartbeat": time.time(), "token": "theirs"}
    storage.join(LOCK).write_text(json.dumps(killed))
    lock = _lock(storage)
    lock.acquire()  # its heartbeat is fresh, but its process is gone
    lock.release()
    assert "taking over" in capsys.readouterr().err


def test_a_lock_cut_short_by_a_crash_is_stale(storage):
    storage.join(LOCK).write_text('{"host": "node-7", "heart')
    lock = _lock(storage)
    lock.acquire()
    lock.release()


def test_sweep_run_on_a_storage_in_use_exits_2_before_ray(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "locked", "model": SMALL_MODEL,
                                    "data": SMALL_DATA, "intermediate_tasks": ["synth_nli"],
                                    "target_tasks": ["synth_pos"]}))
    storage = Location.parse(str(tmp_path / "run"))
    holder = _lock(storage)
    holder.acquire()
    try:
        assert main(["run", str(spec), "--storage", storage.path]) == 2
    finally:
        holder.release()
    err = capsys.readouterr().err
    assert "in use by the sweep driver on" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # the refused run wrote nothing


def test_a_run_that_only_took_the_lock_leaves_no_folder(tmp_path):
    lock = _lock(Location.parse(str(tmp_path / "new")))
    lock.acquire()
    lock.release()
    assert not (tmp_path / "new").exists()


def test_a_lock_left_by_an_outage_is_free_to_this_process_again(tmp_path, monkeypatch, capsys):
    """A run whose storage went out could not remove its lock; the run is over, so the next
    run in the same process (`--resume` once the storage is back) takes the lock over."""
    storage = Location.parse(str(tmp_path / "run"))
    first = _lock(storage)
    first.acquire()

    class Out:  # reads still answer; the delete is where the outage shows
        def __getattr__(self, name):
            return getattr(pafs.LocalFileSystem(), name)

        def delete_file(self, path):
            raise OSError("storage out")

    monkeypatch.setattr(Location, "filesystem", property(lambda self: Out()))
    first.release()
    monkeypatch.undo()
    assert "not removed (storage out)" in capsys.readouterr().err
    assert json.loads(storage.join(LOCK).read_text())["token"] == first.token
    second = _lock(storage)
    second.acquire()
    try:
        assert "its run ended here while the storage was out" in capsys.readouterr().err
    finally:
        second.release()
    assert not storage.join(LOCK).exists()
