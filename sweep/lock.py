"""One run per storage: `run.lock` beside the manifest names the driver that runs it.

The lock is a small JSON file: its owner (host, process), when the run began, a random token
and a heartbeat, which the owning driver rewrites every `heartbeat_seconds`. Another
`sweep run` (or `sweep submit --resume`) on the same storage is refused while the heartbeat
is younger than `expires_seconds`, with the owner's host and start time; a lock whose
heartbeat has stopped (its driver was killed), or whose driver ran on this host and is gone,
is taken over, with a message saying whose.

Taking the lock: on a local disk the file is created exclusively (two drivers cannot both
create it); an object store has no create-if-absent, so the driver writes its lock, waits
`settle_seconds` and reads it back: of two drivers writing at once, the last one keeps it and
the other is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sweep.errors import RunLockedError
from trainables.storage import Location

LOCK = "run.lock"

def _describe(owner: dict[str, Any]) -> str:
    began = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("started", 0)))
    return f"{owner.get('host', '?')} (pid {owner.get('pid', '?')}, running since {began})"


def _read(location: Location) -> dict[str, Any] | None:
    """The lock's contents; None if there is none. A lock that does not parse (cut short by
    a crash while it was written) is stale."""
    if not location.exists():
        return None
    try:
        owner = json.loads(location.read_bytes())
    except ValueError:
        return {"heartbeat": 0.0}
    return owner if isinstance(owner, dict) else {"heartbeat": 0.0}


# The tokens of locks this process released but could not remove (its storage was out):
# their runs have ended, whatever the lock files still say.
_ENDED_HERE: set[str] = set()


def _live(owner: dict[str, Any], expires_seconds: float) -> bool:
    """Whether the lock's driver may still run: its heartbeat is recent, and where it ran on
    this host, its process is still there (a driver killed here is known dead at once) and,
    where it is this process, its run has not ended."""
    if time.time() - float(owner.get("heartbeat", 0)) >= expires_seconds:
        return False
    if owner.get("token") in _ENDED_HERE:
        return False
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        try:
            os.kill(owner["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process
    return True


def check_free(storage: Location, expires_seconds: float = 120.0) -> dict[str, Any] | None:
    """Refuse (RunLockedError) if a driver that may still run holds `storage`; else the
    stale lock there, if any."""
    owner = _read(storage.join(LOCK))
    if owner is not None and _live(owner, expires_seconds):
        raise RunLockedError(
            f"{storage} is in use by the sweep driver on {_describe(owner)}; one run per "
            f"storage path: wait for it to end, stop it, or give --storage PATH. A lock "
            f"whose driver was killed on another host is taken over {expires_seconds:.0f} s "
            f"after its last heartbeat ({storage.join(LOCK)})")
    return owner


@dataclass
class RunLock:
    """The lock of one storage path, held by this driver between `acquire` and `release`."""

    storage: Location
    heartbeat_seconds: float = 30.0
    expires_seconds: float = 120.0
    settle_seconds: float = 1.0
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _owner: dict[str, Any] = field(default_factory=dict, repr=False)
    _made_folder: bool = field(default=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _beating: threading.Thread | None = field(default=None, repr=False)

    @property
    def location(self) -> Location:
        return self.storage.join(LOCK)

    def acquire(self) -> None:
        """Take the lock, or raise RunLockedError naming its live owner."""
        stale = check_free(self.storage, self.expires_seconds)
        if stale is not None:
            silent = time.strftime("%Y-%m-%d %H:%M:%S",
                                   time.localtime(float(stale.get("heartbeat", 0))))
            why = ("its run ended here while the storage was out"
                   if stale.get("token") in _ENDED_HERE else f"no heartbeat since {silent}")
            print(f"[lock] taking over {self.location} from the driver on {_describe(stale)}: "
                  f"{why}", file=sys.stderr)
        mine = self._owner = {"host": socket.gethostname(), "pid": os.getpid(),
                              "started": time.time(), "heartbeat": time.time(),
                              "token": self.token}
        if self.storage.is_local:
            self._create_locally(mine, stale is not None)
        else:
            self.location.write_text(json.dumps(mine))
            try:
                time.sleep(self.settle_seconds)
            except BaseException:  # Ctrl-C here: no lock is left behind
                self.release()
                raise
            if (_read(self.location) or {}).get("token") != self.token:
                check_free(self.storage, self.expires_seconds)  # names the other driver
                raise RunLockedError(f"{self.storage}: another driver took the lock at the "
                                     "same moment; one run per storage path")
        self._beating = threading.Thread(target=self._beat, name="run-lock", daemon=True)
        self._beating.start()

    def _create_locally(self, mine: dict[str, Any], stale: bool) -> None:
        path = self.location.path
        folder = os.path.dirname(path)
        self._made_folder = not os.path.exists(folder)
        os.makedirs(folder, exist_ok=True)
        if stale:
            # Another driver taking it over at once may have removed it first: the exclusive
            # create below decides between them.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            check_free(self.storage, self.expires_seconds)
            raise RunLockedError(f"{self.storage}: another driver took the lock at the same "
                                 "moment; one run per storage path") from None
        with os.fdopen(descriptor, "w") as file:
            json.dump(mine, file)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                owner = _read(self.location) or {}
                if owner.get("token") != self.token:
                    print(f"[lock] {self.location} was taken over by {_describe(owner)}; this "
                          "driver no longer holds it", file=sys.stderr)
                    return
                self.location.write_text(json.dumps({**self._owner, "heartbeat": time.time()}))
            except OSError as error:  # a storage outage: the next beat tries again
                print(f"[lock] heartbeat not written: {error}", file=sys.stderr)

    def release(self) -> None:
        """Stop the heartbeat and remove the lock, if it is still this driver's."""
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
        try:
            if (_read(self.location) or {}).get("token") == self.token:
                self.location.filesystem.delete_file(self.location.path)
        except OSError as error:  # the storage is out: the run's own error matters more
            _ENDED_HERE.add(self.token)
            print(f"[lock] {self.location} not removed ({error}); the next run takes it over "
                  f"{self.expires_seconds:.0f} s after its last heartbeat", file=sys.stderr)
        if self._made_folder:  # a run refused before it wrote anything leaves no folder
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.location.path))

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
