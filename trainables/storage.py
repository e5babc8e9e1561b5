"""Storage locations: local directories and cloud URIs, read and written through pyarrow.

A location is a string: a local path, or a URI pyarrow understands (`s3://bucket/prefix`,
`gs://bucket/prefix`, ...), optionally with pyarrow's query options, for example
`s3://bucket/prefix?endpoint_override=http://127.0.0.1:9000` for an S3-compatible server.
Credentials never appear here: pyarrow reads them from the environment or the instance profile.
The driver keeps the manifest, rows and Tune's experiments at a location; workers write Train
checkpoints there and read them back through `local_directory`. A file is written whole or not
at all (`Location.write_bytes`), and one that does not parse is a `CorruptFile` naming it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import posixpath
import secrets
import shutil
import tempfile
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


def publish_directory(build: Callable[[Path], None], target: Path) -> Path:
    """Build into a temp dir beside `target` and rename it into place, once per node: the
    evaluation tasks that land on a node together wait for one download of a checkpoint, or
    one embedding of a retrieval pool, instead of each making their own."""
    if (target / "DONE").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (target / "DONE").exists():  # built while this process waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            build(staging)
            (staging / "DONE").write_text("")
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target


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
