"""Storage locations: local directories and cloud URIs, read and written through pyarrow.

A location is a string: a local path, or a URI pyarrow understands (`s3://bucket/prefix`,
`gs://bucket/prefix`, ...), optionally with pyarrow's query options, for example
`s3://bucket/prefix?endpoint_override=http://127.0.0.1:9000` for an S3-compatible server.
Credentials never appear here: pyarrow reads them from the environment or the instance profile.
The driver keeps the manifest, rows and Tune's experiments at a location; workers write Train
checkpoints there and read them back through `local_directory`. A file is written whole or not
at all (`Location.write_bytes`), and one that does not parse is a `CorruptFile` naming it.
Each node caches what it builds or downloads under `cache_dir()`, published once per node
(`publish_directory`); the folders that grow with a sweep are bounded (`BOUNDED_CACHES`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import io
import math
import os
import posixpath
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs


@functools.lru_cache(maxsize=32)
def _filesystem(scheme: str, netloc: str, query: str) -> pafs.FileSystem:
    """One filesystem per (scheme, bucket, options); pyarrow clients are costly to build."""
    filesystem, _ = pafs.FileSystem.from_uri(urlunsplit((scheme, netloc, "", query, "")))
    return filesystem


@dataclass(frozen=True)
class Location:
    """A file or directory in local or cloud storage; `uri` is what users and rows see."""

    uri: str

    @classmethod
    def parse(cls, text: str | os.PathLike) -> Location:
        """A location from user input: URIs stay as given, local paths become absolute."""
        text = str(text)
        if "://" in text and not text.startswith("file://"):
            scheme, netloc, path, query, _ = urlsplit(text)
            return cls(urlunsplit((scheme, netloc, path.rstrip("/"), query, "")))
        local = text.removeprefix("file://")
        return cls(str(Path(local).expanduser().resolve()))

    @classmethod
    def of(cls, where: Location | str | os.PathLike) -> Location:
        """`where` itself if it is a Location, else parsed."""
        return where if isinstance(where, Location) else cls.parse(where)

    @property
    def is_local(self) -> bool:
        return "://" not in self.uri

    @property
    def filesystem(self) -> pafs.FileSystem:
        if self.is_local:
            return pafs.LocalFileSystem()
        scheme, netloc, _, query, _ = urlsplit(self.uri)
        return _filesystem(scheme, netloc, query)

    @property
    def storage_filesystem(self) -> pafs.FileSystem | None:
        """What Tune and Train take as `storage_filesystem`: None (their default) for a local
        path, else this location's filesystem."""
        return None if self.is_local else self.filesystem

    @property
    def path(self) -> str:
        """The path inside `filesystem` (bucket/key for object stores)."""
        if self.is_local:
            return self.uri
        _, netloc, path, _, _ = urlsplit(self.uri)
        return netloc + path

    def join(self, *parts: str) -> Location:
        if self.is_local:
            return Location(os.path.join(self.uri, *parts))
        scheme, netloc, path, query, _ = urlsplit(self.uri)
        return Location(urlunsplit((scheme, netloc, posixpath.join(path, *parts), query, "")))

    def with_path(self, path: str) -> Location:
        """The location of another path (as pyarrow reports it) on the same filesystem."""
        if self.is_local:
            return Location(path)
        scheme, _, _, query, _ = urlsplit(self.uri)
        netloc, _, key = path.partition("/")
        return Location(urlunsplit((scheme, netloc, "/" + key if key else "", query, "")))

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def __str__(self) -> str:
        return self.uri

    # -- reading and writing ----------------------------------------------------------------

    def exists(self) -> bool:
        return self.filesystem.get_file_info(self.path).type != pafs.FileType.NotFound

    def read_bytes(self) -> bytes:
        try:
            with self.filesystem.open_input_stream(self.path) as stream:
                return stream.read()
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{self.uri} does not exist") from error

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    def write_bytes(self, data: bytes) -> None:
        """Write the whole file or nothing: readers see the old content or the new, never
        part of it, and a write that fails leaves the old content in place."""
        if self.is_local:
            _replace_file(Path(self.uri), data)
            return
        self.filesystem.create_dir(posixpath.dirname(self.path), recursive=True)
        # An object store shows an object only once its upload completes, whole (S3: a
        # PutObject or a CompleteMultipartUpload). pyarrow's S3 stream starts a multipart
        # upload at open (a single PutObject at close instead where the URI sets
        # allow_delayed_open=true and the payload is under 10 MiB), uploads parts in the
        # background and completes only if every part succeeded; so the payload, already
        # whole in memory, goes in one write and the close publishes it.
        with self.filesystem.open_output_stream(self.path) as stream:
            stream.write(data)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def files(self, suffix: str = "") -> list[Location]:
        """The files directly under this directory whose name ends with `suffix`, sorted."""
        selector = pafs.FileSelector(self.path, allow_not_found=True)
        infos = self.filesystem.get_file_info(selector)
        return sorted((self.with_path(info.path) for info in infos
                       if info.type == pafs.FileType.File and info.path.endswith(suffix)),
                      key=lambda location: location.uri)

    def read_parquet(self):
        """The table in this parquet file; bytes that do not parse are a CorruptFile."""
        import pandas as pd  # lazy: workers that never read a table skip pandas

        data = self.read_bytes()  # an OSError here is the storage's, not the file's
        try:
            return pd.read_parquet(io.BytesIO(data))
        except (pa.ArrowException, OSError) as error:  # OSError: pyarrow's for a bad page
            raise CorruptFile(f"{self.uri}: not a readable parquet file, truncated or "
                              f"corrupt ({error})") from error

    def write_parquet(self, frame) -> None:
        """Write `frame` whole (`write_bytes`); it is serialised before storage is touched."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_bytes(buffer.getvalue())


class CorruptFile(ValueError):
    """A stored file whose bytes do not parse (truncated or corrupt); the message names it."""


def _replace_file(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, flush it to disk and rename it over `path`
    (atomic on POSIX); the temp file is removed if anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per writer, hidden, and ending in .tmp so that `files(suffix)` never lists it.
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    # The rename itself survives a power cut only once the directory is on disk too.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def cache_dir() -> Path:
    """This node's cache of generated assets and downloads: $XSTILTS_CACHE, else
    ~/.cache/xstilts-sweep."""
    root = os.environ.get("XSTILTS_CACHE") or Path.home() / ".cache" / "xstilts-sweep"
    return Path(root)


# The cache folders that grow with the sweep (a download per checkpoint, a retrieval pool's
# vectors per checkpoint and pool): each is held to XSTILTS_CACHE_LIMIT_GB, least recently
# used entries evicted first. An entry used in the last IN_USE_SECONDS is never evicted, nor
# the one just published, so a folder whose entries are all that recent stays over its limit.
BOUNDED_CACHES = ("downloads", "evaluations")
CACHE_LIMIT_ENV = "XSTILTS_CACHE_LIMIT_GB"
DEFAULT_CACHE_LIMIT_GB = 50.0
IN_USE_SECONDS = 600.0
DONE = "DONE"  # a published entry's marker; its mtime is when the entry was last used


def cache_limit_bytes() -> int:
    """The size each bounded cache folder is held to, from $XSTILTS_CACHE_LIMIT_GB."""
    text = os.environ.get(CACHE_LIMIT_ENV, "").strip()
    if not text:
        return round(DEFAULT_CACHE_LIMIT_GB * 1e9)
    try:
        limit = float(text)
    except ValueError:
        limit = math.nan
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"{CACHE_LIMIT_ENV}: got {text!r}; allowed: a positive number of "
                         f"gigabytes per cache folder, as in 50 or 0.5 (unset: "
                         f"{DEFAULT_CACHE_LIMIT_GB:g})")
    return round(limit * 1e9)


def publish_directory(build: Callable[[Path], None], target: Path) -> Path:
    """Build into a temp dir beside `target` and rename it into place, once per node: the
    evaluation tasks that land on a node together wait for one download of a checkpoint, or
    one embedding of a retrieval pool, instead of each making their own. In a bounded cache
    folder, a use marks the entry used and a new entry may evict old ones."""
    bounded = _bounded_cache(target)
    limit = cache_limit_bytes() if bounded else 0  # a bad value fails before any work
    if _published(target, mark_used=bool(bounded)):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (target / DONE).exists():  # built while this process waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            build(staging)
            (staging / DONE).write_text("")
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    if bounded:
        evict(bounded, limit, keep=target)
    return target


def _bounded_cache(target: Path) -> Path | None:
    """The bounded cache folder `target` is an entry of, if any."""
    for name in BOUNDED_CACHES:
        folder = cache_dir() / name
        if target != folder and target.is_relative_to(folder):
            return folder
    return None


def _published(target: Path, mark_used: bool) -> bool:
    """Whether `target` is published; with `mark_used`, its DONE's mtime is set to now under
    a shared hold of its lock, so that an eviction (`_evict_entry`) either sees the fresh
    mark or has already taken the entry away (then it is built again)."""
    if not mark_used:
        return (target / DONE).exists()
    if not (target / DONE).exists():
        return False
    try:
        with (target.parent / f"{target.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
            os.utime(target / DONE)
    except FileNotFoundError:  # evicted in between
        return False
    return True


def evict(folder: Path, limit: int, keep: Path | None = None) -> int:
    """Remove `folder`'s least recently used entries (DONE's mtime) until their total is at
    most `limit` bytes, sparing `keep` and entries used in the last IN_USE_SECONDS; returns
    the bytes removed. One eviction per folder at a time (its `.evict.lock`)."""
    removed = 0
    with (folder / ".evict.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = _entries(folder)
        total = sum(size for _, size, _ in entries)
        for last_used, size, entry in sorted(entries, key=lambda item: item[0]):
            if total <= limit:
                break
            if entry == keep or time.time() - last_used < IN_USE_SECONDS:
                continue
            if _evict_entry(entry):
                total -= size
                removed += size
    return removed


def _entries(folder: Path) -> list[tuple[float, int, Path]]:
    """(last used, bytes, path) of every published entry under `folder`, at any depth; what
    an interrupted eviction left is removed on the way."""
    found = []
    for directory, subdirectories, files in os.walk(folder):
        here = Path(directory)
        if ".evicted." in here.name:
            shutil.rmtree(here, ignore_errors=True)
            subdirectories.clear()
        elif DONE in files:
            subdirectories.clear()  # an entry's own folders are part of it
            with contextlib.suppress(FileNotFoundError):
                size = sum(path.stat().st_size for path in here.rglob("*") if path.is_file())
                found.append(((here / DONE).stat().st_mtime, size, here))
    return found


def _evict_entry(entry: Path) -> bool:
    """Take `entry` away unless it is being built or read: under its lock (not waited for),
    still unused for IN_USE_SECONDS, it is renamed aside, then deleted."""
    with (entry.parent / f"{entry.name}.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        try:
            if time.time() - (entry / DONE).stat().st_mtime < IN_USE_SECONDS:
                return False
        except FileNotFoundError:
            return False
        aside = entry.with_name(f".{entry.name}.evicted.{secrets.token_hex(4)}")
        os.replace(entry, aside)
    shutil.rmtree(aside, ignore_errors=True)
    return True


def local_directory(location: str | os.PathLike) -> Path:
    """A local directory with the content of `location`: itself if local, else a copy
    downloaded once per node into the cache (checkpoints never change once written)."""
    where = Location.parse(location)
    if where.is_local:
        return Path(where.uri)
    digest = hashlib.sha256(where.uri.encode()).hexdigest()[:24]

    def download(staging: Path) -> None:
        pafs.copy_files(where.path, str(staging), source_filesystem=where.filesystem,
                        destination_filesystem=pafs.LocalFileSystem())

    return publish_directory(download, cache_dir() / "downloads" / digest)


def local_file(location: str | os.PathLike) -> Path:
    """A local file with the content of `location`: itself if local, else a copy
    downloaded once per node into the cache (what the run's stages write never changes)."""
    where = Location.parse(location)
    if where.is_local:
        return Path(where.uri)
    digest = hashlib.sha256(where.uri.encode()).hexdigest()[:24]

    def download(staging: Path) -> None:
        (staging / where.name).write_bytes(where.read_bytes())

    return publish_directory(download, cache_dir() / "downloads" / digest) / where.name


def probe_storage(probes: str, token: str) -> str:
    """Pre-flight, on one node: read the driver's probe under `probes`, write this node's
    answer beside it and return its file name."""
    import ray  # lazy: `sweep results` reads storage without Ray

    where = Location.parse(probes)
    if where.join("driver").read_text() != token:
        raise OSError(f"{where.join('driver')} does not hold what the driver wrote")
    name = ray.get_runtime_context().get_node_id()
    where.join(name).write_text(token)
    return name
