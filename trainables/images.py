"""Frozen image vectors keyed by image id, and their join with caption examples.

An image-text task's `ImageEmbeddings` name a table of precomputed vectors (`<stem>.npy`
with its ids in `<stem>.txt`, parquet, or clip-retrieval's output), under the run's data
root or in a hub dataset. `attach_images` gives each caption the vector its task's control says:
its own image's, a fixed other image's, a random one seeded by the image id, or none. Every
caption's image must be in the table whatever the control, so that the controls see
exactly the real task's captions.

An example names its images in its task's `image_fields`: one (`image_id`: a caption's
image, a visual-entailment premise) gets `image`; two or more (NLVR2's `left_image` and
`right_image`) get `images`, a list in field order. A control treats every image id alike,
whichever field names it: the scrambled image of an id is the same on the left and on the
right, and the table's permutation covers every image it holds.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from trainables.roots import data_root
from trainables.storage import local_file
from trainables.tasks.schema import EmbeddingFormat, ImageControl, ImageEmbeddings, Task

SCRAMBLE_SEED = 0  # the scrambled control's permutation: the same in every split and process
SHOWN_MISSING = 5  # missing image ids an error message lists


@dataclass(frozen=True, eq=False)  # eq=False: compared and hashed by identity, not by array
class ImageTable:
    """One vector per image id: float32, rows L2-normalised, C-contiguous, read-only."""

    ids: tuple[str, ...]
    vectors: np.ndarray
    encoder: str

    @cached_property
    def row(self) -> dict[str, int]:
        return {image_id: index for index, image_id in enumerate(self.ids)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def scrambled(self) -> dict[str, str]:
        """The scrambled control's image for each image id (`scramble`)."""
        return scramble(self.ids)


def scramble(ids: Sequence[str]) -> dict[str, str]:
    """A fixed permutation of `ids`: sorted, shuffled with SCRAMBLE_SEED, each id sent to the
    next in that order. One cycle through all of them, so no image (of two or more) keeps
    its own vector, and the order the ids come in does not matter."""
    order = sorted(ids)
    random.Random(SCRAMBLE_SEED).shuffle(order)
    return {image_id: order[(position + 1) % len(order)]
            for position, image_id in enumerate(order)}


def random_vector(image_id: str, dim: int) -> np.ndarray:
    """The random control's vector for an image: standard normal, seeded by the id's sha256
    (the same in every process), L2-normalised."""
    seed = int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:8], "big")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    vector /= np.linalg.norm(vector)
    vector.flags.writeable = False
    return vector


def image_coverage(examples: Sequence[Mapping[str, Any]], table: ImageTable,
                   fields: Sequence[str] = ("image_id",)) -> dict:
    """How many examples (`captions`) and distinct images (over every field of `fields`) the
    examples have, how many of each have no vector in `table` (an example misses when any
    of its images does), the share of images that do (`coverage`, 0 to 1) and the first few
    missing image ids, in the order the examples name them."""
    rows = [[str(example[name]) for name in fields] for example in examples]
    images = dict.fromkeys(image_id for row in rows for image_id in row)
    missing = [image_id for image_id in images if image_id not in table.row]
    absent = set(missing)
    return {"captions": len(rows), "images": len(images),
            "missing_captions": sum(any(image_id in absent for image_id in row)
                                    for row in rows),
            "missing_images": len(missing),
            "coverage": 1 - len(missing) / len(images) if images else 1.0,
            "first_missing": missing[:SHOWN_MISSING]}


def attach_images(data_cfg: Mapping[str, Any], task: Task, examples: list[dict],
                  where: str) -> list[dict]:
    """Each example, copied, with the vector of its image (`image`; `images`, a list in
    `task.image_fields` order, where it names several) as the task's control says (none for
    text_only), its image ids as strings; ValueError if any of its images has no vector."""
    images = task.images
    if images is None:
        raise ValueError(f"{where}: task {task.name!r} has no image embeddings")
    fields = task.image_fields
    unit = "caption" if fields == ("image_id",) else "example"
    for index, example in enumerate(examples):
        for name in fields:
            if name not in example:
                raise ValueError(f"{where}: {unit} {index} has no {name} (its reader must "
                                 f"give every {unit} the id of its image)")
    table = load_image_table(data_cfg, images)
    coverage = image_coverage(examples, table, fields)
    if coverage["missing_images"]:
        raise ValueError(_missing_message(where, coverage, images, unit))
    rows = [[str(example[name]) for name in fields] for example in examples]
    control = task.image_control
    as_strings = [{**example, **dict(zip(fields, row, strict=True))}
                  for example, row in zip(examples, rows, strict=True)]
    if control is ImageControl.TEXT_ONLY:
        return as_strings
    distinct = dict.fromkeys(image_id for row in rows for image_id in row)
    if control is ImageControl.RANDOM:
        # One vector per image, shared by every example naming it, as the real image is.
        vectors = {image_id: random_vector(image_id, table.dim) for image_id in distinct}
    else:
        shown = table.scrambled if control is ImageControl.SCRAMBLED else None
        vectors = {image_id: table.vectors[table.row[shown[image_id] if shown else image_id]]
                   for image_id in distinct}
    if len(fields) == 1:
        return [{**example, "image": vectors[row[0]]}
                for example, row in zip(as_strings, rows, strict=True)]
    return [{**example, "images": [vectors[image_id] for image_id in row]}
            for example, row in zip(as_strings, rows, strict=True)]


def _missing_message(where: str, coverage: dict, images: ImageEmbeddings,
                     unit: str = "caption") -> str:
    # Rounded down: 4,999 of 5,000 images must not read as 100.0%.
    percent = math.floor(coverage["coverage"] * 1000) / 10
    hub = f" in hub dataset {images.hub}@{images.revision}" if images.hub else ""
    return (f"{where}: {coverage['missing_captions']:,} of {coverage['captions']:,} {unit}s "
            f"({coverage['missing_images']:,} of {coverage['images']:,} images) have no vector "
            f"in the image embeddings {images.files!r}{hub} ({images.format}, encoder "
            f"{images.encoder}): coverage {percent:.1f}% of {coverage['images']:,} images; "
            f"first missing: {', '.join(coverage['first_missing'])}")


def load_image_table(data_cfg: Mapping[str, Any], images: ImageEmbeddings) -> ImageTable:
    """The task's image vectors: the run's precomputed table where a precompute stage made
    one (`data_cfg["image_tables"]`: the vectors' `files` -> the table in the run's
    storage), else from the hub dataset `images.hub` when the run reads the hub and they
    have one, else under the local data root. Read once per process."""
    precomputed = data_cfg.get("image_tables", {}).get(images.files)
    if precomputed is not None:  # `trainables.precompute`'s parquet, keyed by image_id
        path = local_file(precomputed)
        table = _read_table(str(path), EmbeddingFormat.PARQUET, "image_id", "embedding",
                            images.id_pattern, images.encoder)
    else:
        if data_cfg["source"] == "hub" and images.hub:
            path = _from_hub(images.hub, images.revision, images.files, images.format)
        else:
            path = local_image_files(data_cfg, images)
        table = _read_table(str(path.resolve()), images.format, images.id_column,
                            images.vector_column, images.id_pattern, images.encoder)
    expected = images.dim
    if expected and table.dim != expected:
        raise ValueError(f"image embeddings {images.files!r}: vectors of {table.dim} values; "
                         f"the task declares dim {expected} (encoder {images.encoder})")
    return table


def local_image_files(data_cfg: Mapping[str, Any], images: ImageEmbeddings) -> Path:
    """Where a task's image vectors are under the local data root; FileNotFoundError names
    the file that is missing."""
    path = data_root(data_cfg) / images.files
    needed = {EmbeddingFormat.NPY: [_suffixed(path, ".npy"), _suffixed(path, ".txt")],
              EmbeddingFormat.CLIP_RETRIEVAL: [path / "img_emb", path / "metadata"]}
    for file in needed.get(images.format, [path]):
        if not file.exists():
            raise FileNotFoundError(f"image embeddings {images.files!r} ({images.format}): "
                                    f"{file} does not exist")
    return path


def _suffixed(stem: Path, suffix: str) -> Path:
    return stem.with_name(stem.name + suffix)  # not with_suffix: a stem may hold dots


@lru_cache(maxsize=16)
def _from_hub(repo: str, revision: str | None, files: str, format: EmbeddingFormat) -> Path:
    # Imported here: only hub runs download embeddings.
    from huggingface_hub import hf_hub_download, snapshot_download

    where = {"repo_id": repo, "repo_type": "dataset", "revision": revision}
    if format is EmbeddingFormat.NPY:
        vectors = hf_hub_download(filename=files + ".npy", **where)
        hf_hub_download(filename=files + ".txt", **where)  # lands beside the .npy
        return Path(vectors[:-len(".npy")])
    if format is EmbeddingFormat.PARQUET and files.endswith(".parquet"):
        return Path(hf_hub_download(filename=files, **where))
    patterns = ([f"{files}/*.parquet"] if format is EmbeddingFormat.PARQUET
                else [f"{files}/img_emb/*.npy", f"{files}/metadata/*.parquet"])
    return Path(snapshot_download(allow_patterns=patterns, **where)) / files


@lru_cache(maxsize=4)
def _read_table(path: str, format: EmbeddingFormat, id_column: str, vector_column: str,
                id_pattern: str | None, encoder: str) -> ImageTable:
    source = Path(path)
    if format is EmbeddingFormat.NPY:
        ids_file = _suffixed(source, ".txt")
        vectors = _load_npy(_suffixed(source, ".npy"))
        lines = ids_file.read_text(encoding="utf-8").splitlines()
        if len(lines) != len(vectors):
            raise ValueError(f"{_suffixed(source, '.npy')} has {len(vectors):,} vectors but "
                             f"{ids_file} has {len(lines):,} ids; they must match row for line")
        blocks = [(ids_file, _ids(lines, id_pattern, ids_file), vectors)]
    elif format is EmbeddingFormat.PARQUET:
        files = sorted(source.glob("*.parquet")) if source.is_dir() else [source]
        if not files:
            raise FileNotFoundError(f"{source}: no .parquet files")
        blocks = [_read_parquet(file, id_column, vector_column, id_pattern) for file in files]
    else:
        blocks = _read_clip_retrieval(source, id_column, id_pattern)
    first, dim = blocks[0][0], blocks[0][2].shape[1]
    for file, _, vectors in blocks:
        if vectors.shape[1] != dim:
            raise ValueError(f"{file}: vectors of {vectors.shape[1]} values, but {first}'s "
                             f"have {dim}; every vector needs the same size")
    return _table([i for _, ids, _ in blocks for i in ids],
                  np.concatenate([vectors for _, _, vectors in blocks]), encoder, path)


def _table(ids: list[str], vectors: np.ndarray, encoder: str, source: str) -> ImageTable:
    if not ids:
        raise ValueError(f"{source}: no image vectors")
    rows: dict[str, int] = {}
    for index, image_id in enumerate(ids):
        if image_id in rows:
            raise ValueError(f"{source}: image id {image_id!r} appears twice (rows "
                             f"{rows[image_id]} and {index}); ids must be unique")
        rows[image_id] = index
    vectors = np.array(vectors, dtype=np.float32, order="C")  # a copy: clip-retrieval's fp16
    norms = np.linalg.norm(vectors, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
    if bad.size:
        raise ValueError(f"{source}: {bad.size:,} vectors have a zero or non-finite norm "
                         f"(first: row {bad[0]}, image {ids[bad[0]]!r}); they cannot be "
                         "normalised")
    vectors /= norms[:, None]
    vectors.flags.writeable = False
    return ImageTable(tuple(ids), vectors, encoder)


def _load_npy(path: Path) -> np.ndarray:
    vectors = np.load(path)
    if vectors.ndim != 2:
        raise ValueError(f"{path}: an array of shape {vectors.shape}; expected (images, dim)")
    return vectors


def _ids(values: Sequence[Any], pattern: str | None, source: Path) -> list[str]:
    """Each row's image id, as a string, taken by `pattern`'s first group where it has one."""
    compiled = re.compile(pattern) if pattern else None
    if compiled is not None and compiled.groups < 1:
        raise ValueError(f"id_pattern {pattern!r} has no group; its first group is the id")
    ids = []
    for row, value in enumerate(values):
        text = "" if value is None else str(value)
        if compiled is not None:
            match = compiled.fullmatch(text)
            if match is None:
                raise ValueError(f"{source}: row {row}: {text!r} does not match id_pattern "
                                 f"{pattern!r}")
            text = match.group(1)
        if not text:
            raise ValueError(f"{source}: row {row}: an empty image id")
        ids.append(text)
    return ids


def _read_parquet(file: Path, id_column: str, vector_column: str,
                  pattern: str | None) -> tuple[Path, list[str], np.ndarray]:
    import pyarrow.compute as pc  # imported here: only parquet tables need it

    table = _parquet_columns(file, (id_column, vector_column))
    column = table.column(vector_column).combine_chunks()
    kind = column.type
    if column.null_count or not (pa.types.is_list(kind) or pa.types.is_large_list(kind)
                                 or pa.types.is_fixed_size_list(kind)):
        raise ValueError(f"{file}: column {vector_column!r} must be a list of floats in every "
                         f"row (got {column.type}, {column.null_count} nulls)")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    uneven = np.flatnonzero(lengths != lengths[0]) if len(lengths) else []
    if len(uneven):
        raise ValueError(f"{file}: row {uneven[0]} has {lengths[uneven[0]]} values in "
                         f"{vector_column!r}, row 0 has {lengths[0]}; vectors need one size")
    values = column.flatten().to_numpy(zero_copy_only=False)
    vectors = values.reshape(len(column), int(lengths[0]) if len(lengths) else 0)
    return file, _ids(table.column(id_column).to_pylist(), pattern, file), vectors


def _parquet_columns(file: Path, columns: tuple[str, ...]) -> Any:
    import pyarrow.parquet as pq  # imported here: only parquet tables need it

    names = pq.read_schema(file).names
    if not set(columns) <= set(names):
        raise ValueError(f"{file}: no column {', '.join(c for c in columns if c not in names)}"
                         f"; it has {', '.join(names)}")
    return pq.read_table(file, columns=list(columns))


def _read_clip_retrieval(folder: Path, id_column: str,
                         pattern: str | None) -> list[tuple[Path, list[str], np.ndarray]]:
    """clip-retrieval's shards in numeric order: `img_emb/img_emb_<i>.npy`, whose rows are
    `metadata/metadata_<i>.parquet`'s rows in order."""
    shards = {int(match.group(1)): path for path in (folder / "img_emb").glob("img_emb_*.npy")
              if (match := re.fullmatch(r"img_emb_(\d+)\.npy", path.name))}
    if not shards:
        raise FileNotFoundError(f"{folder / 'img_emb'}: no img_emb_<i>.npy files")
    blocks = []
    for index, vectors_file in sorted(shards.items()):
        metadata_file = folder / "metadata" / f"metadata_{index}.parquet"
        if not metadata_file.exists():
            raise FileNotFoundError(f"{metadata_file} does not exist; {vectors_file} needs it")
        vectors = _load_npy(vectors_file)
        values = _parquet_columns(metadata_file, (id_column,)).column(id_column).to_pylist()
        if len(values) != len(vectors):
            raise ValueError(f"{vectors_file} has {len(vectors):,} vectors but {metadata_file} "
                             f"has {len(values):,} rows; they must match row for row")
        blocks.append((vectors_file, _ids(values, pattern, metadata_file), vectors))
    return blocks
