"""Tokenised features computed once per node and memory-mapped by every process that needs them.

Every trial, DDP rank and evaluation task used to tokenise its splits itself. `featurize_cached`
instead looks the features up under `cache_dir() / "features"` by a content hash of all that
decides them (`feature_key`): the family's code, the task's registry entry, the maximum length,
the tokenizer and the examples themselves (so shots, sources and translations are covered). A
miss tokenises once, under the lock of `publish_directory`, into an Arrow IPC file that every
process then opens with `pa.memory_map`; concurrent askers wait for that one build, and a file
is read only once its directory is renamed into place with its DONE marker.

Features that Arrow cannot hold as they are (a value type it changes, rows with different keys)
are computed afresh on every call instead; a marker in the cache says so, so that later calls
skip the attempt. Changing what a family's featurisation depends on outside its own modules
means a new FEATURES_VERSION.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import inspect
import json
import logging
import shutil
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import pyarrow as pa

from trainables.families import get_family
from trainables.families.base import Family, Feature
from trainables.storage import cache_dir, publish_directory
from trainables.tasks import Task

FEATURES_VERSION = 1  # bump when featurisation changes in a way no hashed input shows
FEATURES_FILE = "features.arrow"
UNCACHEABLE_FILE = "UNCACHEABLE"  # what a published key holds when Arrow cannot hold its rows
ROWS_PER_BATCH = 4096  # rows per Arrow record batch: one batch is decoded at a time
ARRAY_COLUMNS = b"xstilts.array_columns"  # schema metadata: numpy columns' dtype and shape

logger = logging.getLogger(__name__)


class Uncacheable(ValueError):
    """Features whose values Arrow cannot give back exactly as the family built them."""


def featurize_cached(
    task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
) -> Sequence[Feature]:
    """The family's features of `examples`, from this node's cache (built there on a miss);
    computed without the cache where their key or their values cannot be cached."""
    family = get_family(task.family)
    try:
        key = feature_key(task, examples, tokenizer, max_length)
    except Uncacheable as error:
        logger.info("features of %s not cached: %s", task.name, error)
        return family.featurize(task, examples, tokenizer, max_length)
    target = cache_dir() / "features" / f"{task.name}.{family.name}.L{max_length}.{key[:32]}"
    built: list[list[Feature]] = []  # the features this process computed, if it built them

    def build(staging: Path) -> None:
        _remove_stale_builds(target, staging)
        features = family.featurize(task, examples, tokenizer, max_length)
        built.append(features)
        try:
            write_features(features, staging / FEATURES_FILE)
        except Uncacheable as error:
            (staging / FEATURES_FILE).unlink(missing_ok=True)
            (staging / UNCACHEABLE_FILE).write_text(f"{error}\n")

    publish_directory(build, target)
    if (target / UNCACHEABLE_FILE).exists():
        logger.warning("features of %s are not cacheable (%s): computed afresh", task.name,
                       (target / UNCACHEABLE_FILE).read_text().strip())
        return built[0] if built else family.featurize(task, examples, tokenizer, max_length)
    try:
        return FeatureTable(target / FEATURES_FILE)
    except (OSError, pa.ArrowException) as error:  # damaged on disk since it was published
        logger.warning("features of %s at %s unreadable (%s): computed afresh", task.name,
                       target, error)
        return built[0] if built else family.featurize(task, examples, tokenizer, max_length)


def _remove_stale_builds(target: Path, staging: Path) -> None:
    """Remove what a killed writer of `target` left: its staging directories, and a target
    without its DONE marker (which would block the rename). Runs under the target's lock, so
    no other writer of this key is at work."""
    for path in target.parent.glob(f"{target.name}.*"):
        if path.is_dir() and path != staging:
            shutil.rmtree(path, ignore_errors=True)
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)


# -- the key ----------------------------------------------------------------------------------

def feature_key(task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int) -> str:
    """sha256 (hex) of everything that decides the features: FEATURES_VERSION, the family
    and the source of its modules, the task's registry entry (`repr`, as a trial sees it:
    labels from the data, its pooling layer), `max_length`, the tokenizer's fingerprint and
    the examples' digest. Uncacheable where the tokenizer or an example cannot be hashed."""
    family = get_family(task.family)
    parts = {"version": FEATURES_VERSION, "family": family.name,
             "family_source": _family_source_digest(type(family)), "task": repr(task),
             "max_length": int(max_length), "tokenizer": tokenizer_fingerprint(tokenizer),
             "examples": examples_digest(examples)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


_SOURCE_DIGESTS: dict[type, str] = {}


def _family_source_digest(family_class: type[Family]) -> str:
    """sha256 of the source files of the family's classes (itself and the classes it
    inherits from, base.py included): editing a family's featurisation makes a new key."""
    if family_class not in _SOURCE_DIGESTS:
        digest = hashlib.sha256()
        for cls in family_class.__mro__:
            if cls.__module__.startswith("trainables."):
                digest.update(Path(inspect.getfile(cls)).read_bytes())
        _SOURCE_DIGESTS[family_class] = digest.hexdigest()
    return _SOURCE_DIGESTS[family_class]


# Tokenizer -> (its length when fingerprinted, fingerprint): XLM-R's serialised tokenizer is
# ~17 MB of JSON, too much to hash on every call. The length catches tokens added since.
_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
SPECIAL_TOKENS = ("bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id",
                  "pad_token_id", "unk_token_id", "mask_token_id")


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """sha256 of a fast tokenizer's serialised pipeline (vocabulary, normaliser,
    pre-tokeniser, post-processor), its special-token ids, its class, and the tokenizers and
    transformers versions; memoised per tokenizer object. Uncacheable for a tokenizer
    without a serialisable backend (a slow or stand-in tokenizer)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "to_str"):
        raise Uncacheable(f"tokenizer {type(tokenizer).__name__} has no serialisable backend")
    length = len(tokenizer)
    try:
        memo = _FINGERPRINTS.get(tokenizer)
    except TypeError:  # not weakly referenceable: fingerprinted on each call
        memo = None
    if memo is not None and memo[0] == length:
        return memo[1]
    import tokenizers
    import transformers

    # Without the truncation and padding state, which earlier calls of the tokenizer set:
    # the key depends on what tokenises, not on what tokenised before.
    serialised = json.loads(backend.to_str())
    for state in ("truncation", "padding"):
        serialised.pop(state, None)
    digest = hashlib.sha256(json.dumps(serialised, sort_keys=True).encode())
    extra = {"class": type(tokenizer).__qualname__, "tokenizers": tokenizers.__version__,
             "truncation_side": getattr(tokenizer, "truncation_side", None),
             "padding_side": getattr(tokenizer, "padding_side", None),
             "transformers": transformers.__version__,
             **{name: getattr(tokenizer, name, None) for name in SPECIAL_TOKENS}}
    digest.update(json.dumps(extra, sort_keys=True).encode())
    fingerprint = digest.hexdigest()
    with contextlib.suppress(TypeError):  # not weakly referenceable: not memoised
        _FINGERPRINTS[tokenizer] = (length, fingerprint)
    return fingerprint


def examples_digest(examples: Sequence[dict]) -> str:
    """sha256 of the examples in order, each as JSON with sorted keys; a numpy array (an
    image vector) by its dtype, shape and bytes."""
    digest = hashlib.sha256()
    for start in range(0, len(examples), 1024):  # one dumps per block: less overhead
        try:
            text = json.dumps(list(examples[start : start + 1024]), sort_keys=True,
                              ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError) as error:
            raise Uncacheable(f"an example is not hashable as JSON ({error})") from error
        digest.update(text.encode())
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).tobytes()
        return {"ndarray": value.dtype.str, "shape": list(value.shape),
                "sha256": hashlib.sha256(data).hexdigest()}
    if isinstance(value, np.generic):
        return {"numpy": value.dtype.str, "value": value.item()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# -- the file ---------------------------------------------------------------------------------

def write_features(features: Sequence[Feature], path: Path) -> None:
    """Write `features` as an Arrow IPC file: one column per key, numpy arrays as raw bytes
    (one dtype and shape per column, in the schema's metadata). Uncacheable, before anything
    is written, where reading the file back would not give exactly `features`."""
    table = features_table(features)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=ROWS_PER_BATCH)


def features_table(features: Sequence[Feature]) -> pa.Table:
    """The Arrow table of `features`, checked to decode back to them (`same_features`)."""
    if not features:
        return pa.table({})
    keys = list(features[0])
    if any(feature.keys() != features[0].keys() for feature in features):
        raise Uncacheable("features have different keys")
    arrays, array_columns = {}, {}
    for key in keys:
        values = [feature[key] for feature in features]
        try:
            if isinstance(values[0], np.ndarray):
                array_columns[key] = _array_column(key, values)
                arrays[key] = pa.array([value.tobytes() for value in values], pa.binary())
            else:
                arrays[key] = pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
            raise Uncacheable(f"column {key!r}: {error}") from error
    metadata = {ARRAY_COLUMNS: json.dumps(array_columns).encode()}
    table = pa.table(arrays).replace_schema_metadata(metadata)
    for start in range(0, len(features), ROWS_PER_BATCH):
        chunk = table.slice(start, ROWS_PER_BATCH).combine_chunks().to_batches()
        decoded = _decode_rows(chunk[0], array_columns) if chunk else []
        if not same_features(decoded, features[start : start + ROWS_PER_BATCH]):
            raise Uncacheable("Arrow does not give the features back unchanged (a tuple, or "
                              "a column of mixed types)")
    return table


def _array_column(key: str, values: Sequence[Any]) -> dict:
    """The dtype and shape every array of a column shares; Uncacheable if they differ."""
    first = values[0]
    for value in values:
        if not isinstance(value, np.ndarray) or value.dtype != first.dtype \
                or value.shape != first.shape or value.dtype.hasobject:
            raise Uncacheable(f"column {key!r} mixes arrays of different types or shapes")
    return {"dtype": first.dtype.str, "shape": list(first.shape)}


def _decode_rows(batch: pa.RecordBatch, array_columns: dict) -> list[Feature]:
    rows = batch.to_pylist()
    for key, spec in array_columns.items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        for row in rows:  # read-only arrays over the decoded bytes
            row[key] = np.frombuffer(row[key], dtype=dtype).reshape(shape)
    return rows


def same_features(left: Sequence[Feature], right: Sequence[Feature]) -> bool:
    """Whether two feature lists are equal, key by key: numpy arrays by dtype, shape and
    values, everything else by type and `==` (so a tuple is not a list)."""
    if len(left) != len(right):
        return False
    for one, other in zip(left, right, strict=True):
        if one.keys() != other.keys():
            return False
        for key, value in one.items():
            theirs = other[key]
            if type(value) is not type(theirs):
                return False
            if isinstance(value, np.ndarray):
                if value.dtype != theirs.dtype or not np.array_equal(value, theirs):
                    return False
                continue
            try:
                if value != theirs:
                    return False
            except ValueError:  # an array nested in a list: not comparable with ==
                return False
    return True


class FeatureTable(Sequence):
    """Read-only features memory-mapped from an Arrow IPC file: indexing (an int or a slice)
    and iteration give Feature dicts equal to the family's own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        metadata = reader.schema.metadata or {}
        self._array_columns = json.loads(metadata.get(ARRAY_COLUMNS, b"{}"))
        self._batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        self._starts = [0]
        for batch in self._batches:
            self._starts.append(self._starts[-1] + batch.num_rows)

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> Feature: ...

    @overload
    def __getitem__(self, index: slice) -> list[Feature]: ...

    def __getitem__(self, index: int | slice) -> Feature | list[Feature]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._rows(start, stop)
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"feature {index} of {len(self)}")
        return self._rows(position, position + 1)[0]

    def _rows(self, start: int, stop: int) -> list[Feature]:
        """Rows [start, stop), decoded one record batch at a time."""
        rows: list[Feature] = []
        while start < stop:
            number = bisect.bisect_right(self._starts, start) - 1
            batch_start = self._starts[number]
            count = min(stop, self._starts[number + 1]) - start
            rows += _decode_rows(self._batches[number].slice(start - batch_start, count),
                                 self._array_columns)
            start += count
        return rows

    def __iter__(self) -> Iterator[Feature]:
        for batch in self._batches:
            yield from _decode_rows(batch, self._array_columns)

    def __reduce__(self):
        # The file is this node's: another process gets the features themselves.
        return list, (list(self),)

    def __repr__(self) -> str:
        return f"FeatureTable({str(self.path)!r}, {len(self)} features)"
