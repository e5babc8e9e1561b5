"""Frozen image vectors for image-text tasks: one pass of a CLIP image encoder over a folder.

The image-text tasks train only the text side against a frozen image tower (LiT's locked
image tower), so an image's vector never changes: it is computed once, stored in a parquet
table keyed by image id (the file's stem), and read back by `trainables.images`. Datasets
that publish no embeddings (IGLUE's image sets, COCO, Flickr30k) get them here. The encoder
must be the one the task's `ImageEmbeddings.encoder` names: another CLIP's image space is a
different space, and the text side would be trained toward vectors it never sees again.

`cached_embeddings` keys the table by a sha256 over what decides its content (encoder and
its resolved revision, the processor's settings, the precision, and each image's relative
path and bytes) and builds it at most once per node (`publish_directory`); a rerun over
unchanged files reads the table without loading the model.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trainables.roots import data_root
from trainables.storage import Location, cache_dir, publish_directory

IMAGE_PATTERNS = ("*.jpg", "*.jpeg", "*.png")
PRECISIONS = ("fp32", "fp16", "bf16")
TABLE = "embeddings.parquet"  # the table's name inside a cache entry
KEY_VERSION = 1  # bump when the way vectors are made changes, so that old entries go unused


IMAGE_IDS = ("stem", "path")  # an image's id: its file's stem, or its path without suffix


def image_id(path: Path, folder: Path, ids: str = "stem") -> str:
    """The id of image `path` under `folder`: its stem (`1000092795`), or with `ids="path"`
    its relative path without the suffix (MaRVL's per-language `id/39-0`)."""
    return path.stem if ids == "stem" else path.relative_to(folder).with_suffix("").as_posix()


def image_files(folder: Path, pattern: str | Sequence[str] = IMAGE_PATTERNS,
                ids: str = "stem") -> list[Path]:
    """The image files under `folder`, recursively, in sorted order of their relative paths.
    `pattern` is globs on the file name (case-insensitive), a tuple or joined by '|'. Two
    files with one id (`image_id`) are a ValueError naming both."""
    folder = Path(folder)
    globs = [g.lower() for g in (pattern.split("|") if isinstance(pattern, str) else pattern)]
    files = sorted((path for path in folder.rglob("*") if path.is_file()
                    and any(fnmatch.fnmatch(path.name.lower(), g) for g in globs)),
                   key=lambda path: path.relative_to(folder).as_posix())
    if not files:
        raise FileNotFoundError(f"{folder}: no image files matching {'|'.join(globs)}")
    if ids not in IMAGE_IDS:
        raise ValueError(f"ids {ids!r}: expected one of {', '.join(IMAGE_IDS)}")
    seen: dict[str, Path] = {}
    for path in files:
        name = image_id(path, folder, ids)
        if name in seen:
            raise ValueError(f"image id {name!r} names two files, {seen[name]} and {path}; "
                             f"ids are file {'stems' if ids == 'stem' else 'paths'}, so each "
                             "must be unique")
        seen[name] = path
    return files


def resolve_revision(encoder: str, revision: str | None) -> str | None:
    """What pins the encoder's weights: for a local directory the sha256 of its files, for a
    hub id the commit `revision` points to (from the hub or the local hub cache; `revision`
    itself where neither answers)."""
    if Path(encoder).is_dir():
        digest = hashlib.sha256()
        for path in sorted(p for p in Path(encoder).rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(encoder).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return "sha256:" + digest.hexdigest()
    if revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    try:  # transformers >= 5: best effort, returns `revision` unchanged when it cannot say
        from transformers.utils.hub import resolve_revision as resolve
    except ImportError:
        return revision
    return getattr(resolve(encoder, revision), "resolved", None) or revision


def _hub_revision(pinned: str | None) -> str | None:
    """What `from_pretrained` takes as revision: a local directory's tree hash is not one."""
    return None if pinned is not None and pinned.startswith("sha256:") else pinned


def _processor(encoder: str, revision: str | None) -> tuple[Any, dict]:
    """The encoder's image processor and the settings that shape its pixels. Its class is
    among them: the PIL fallback (no torchvision) and the torchvision backend resize a little
    differently, so their vectors are not the same bytes."""
    from transformers import AutoImageProcessor

    processor = AutoImageProcessor.from_pretrained(encoder, revision=revision)
    settings = {"class": type(processor).__name__, **processor.to_dict()}
    return processor, json.loads(json.dumps(settings, sort_keys=True, default=str))


def _load_model(encoder: str, revision: str | None, device: str) -> Any:
    """The projected CLIP image tower, in eval mode on `device` (a seam the tests count)."""
    from transformers import CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection.from_pretrained(encoder, revision=revision)
    return model.eval().to(device)


def _key(pinned: str | None, encoder: str, settings: dict, precision: str,
         skip_unreadable: bool, digests: Sequence[tuple[str, str]], ids: str = "stem") -> str:
    header = {"version": KEY_VERSION, "encoder": encoder, "revision": pinned,
              "processor": settings, "precision": precision, "skip_unreadable": skip_unreadable}
    if ids != "stem":  # stems hash as before ids could be paths
        header["ids"] = ids
    key = hashlib.sha256(json.dumps(header, sort_keys=True).encode() + b"\n")
    for relative, digest in digests:
        key.update(f"{relative}\0{digest}\n".encode())
    return key.hexdigest()


def content_key(folder: Path, encoder: str, revision: str | None, *,
                pattern: str | Sequence[str] = IMAGE_PATTERNS, precision: str = "fp32",
                skip_unreadable: bool = False, ids: str = "stem") -> str:
    """The cache key of `folder`'s table (hex sha256); reads every image, loads no model."""
    folder = Path(folder)
    pinned = resolve_revision(encoder, revision)
    _, settings = _processor(encoder, _hub_revision(pinned))
    digests = [(path.relative_to(folder).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
               for path in image_files(folder, pattern, ids)]
    return _key(pinned, encoder, settings, precision, skip_unreadable, digests, ids)


def _read(path: Path, processor: Any) -> tuple[str, np.ndarray | None, str | None]:
    """An image's sha256, its pixel values (or None) and why it could not be read."""
    from PIL import Image

    data = path.read_bytes()  # hashed and decoded from the same bytes
    digest = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decodes it all: a truncated file fails here, not later
            rgb = image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return digest, None, f"{type(error).__name__}: {error}"
    return digest, processor(images=rgb, return_tensors="np")["pixel_values"][0], None


def embed_images(folder: Path, encoder: str, revision: str | None, output: Path, *,
                 batch_size: int = 64, device: str = "cpu", precision: str = "fp32",
                 pattern: str | Sequence[str] = IMAGE_PATTERNS, skip_unreadable: bool = False,
                 workers: int | None = None, ids: str = "stem") -> dict:
    """Embed every image under `folder` (`image_files`) with `encoder`'s projected CLIP image
    embedding, L2-normalised, into the parquet table `output` (image_id: the file's stem,
    embedding: list<float32>), with its record in `output` with suffix .json; returns it.

    An unreadable image is a ValueError naming it, unless `skip_unreadable`: then it is left
    out and listed in the record. `precision` fp16/bf16 runs the model under autocast.
    `workers` threads (default: 1 on a CPU, up to 8 otherwise) decode and preprocess the next
    batch while the model runs this one.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    start, folder, output = time.perf_counter(), Path(folder), Path(output)
    files = image_files(folder, pattern, ids)
    pinned = resolve_revision(encoder, revision)
    processor, settings = _processor(encoder, _hub_revision(pinned))
    model = _load_model(encoder, _hub_revision(pinned), device)  # the commit the key names
    autocast = {"device_type": torch.device(device).type, "enabled": precision != "fp32",
                "dtype": torch.bfloat16 if precision == "bf16" else torch.float16}
    batches = [files[i:i + batch_size] for i in range(0, len(files), batch_size)]
    digests: list[tuple[str, str]] = []
    names: list[str] = []
    blocks: list[np.ndarray] = []
    unreadable: list[str] = []
    if workers is None:  # on a CPU the model's own threads already use every core
        workers = 1 if torch.device(device).type == "cpu" else min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        pending = [pool.submit(_read, path, processor) for path in batches[0]]
        for index, batch in enumerate(batches):
            results = [future.result() for future in pending]
            following = batches[index + 1] if index + 1 < len(batches) else []
            pending = [pool.submit(_read, path, processor) for path in following]
            pixels = []
            for path, (digest, values, error) in zip(batch, results, strict=True):
                relative = path.relative_to(folder).as_posix()
                digests.append((relative, digest))
                if values is None:
                    if not skip_unreadable:
                        raise ValueError(f"{path}: not a readable image ({error}); replace or "
                                         "remove it, or pass skip_unreadable=True")
                    unreadable.append(relative)
                    continue
                names.append(image_id(path, folder, ids))
                pixels.append(values)
            if not pixels:
                continue
            with torch.no_grad(), torch.autocast(**autocast):
                embeds = model(pixel_values=torch.from_numpy(np.stack(pixels)).to(device))
            blocks.append(embeds.image_embeds.float().cpu().numpy())
    if not names:
        raise ValueError(f"{folder}: none of its {len(files)} image files could be read")
    vectors = np.concatenate(blocks).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    bad = np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))
    if bad.size:  # fp16 overflow shows up here, not as vectors that silently mean nothing
        raise ValueError(f"{bad.size} image embeddings have a zero or non-finite norm (first: "
                         f"{names[bad[0]]!r}, precision {precision})")
    vectors /= norms
    _write_table(output, names, vectors)
    record = {"encoder": encoder, "revision": pinned, "requested_revision": revision,
              "images": len(names), "dim": int(vectors.shape[1]),
              "key": _key(pinned, encoder, settings, precision, skip_unreadable, digests, ids),
              "seconds": round(time.perf_counter() - start, 3), "device": str(device),
              "precision": precision, "batch_size": batch_size, "processor": settings,
              "unreadable": unreadable, "table": output.name}
    Location.parse(output.with_suffix(".json")).write_text(json.dumps(record, indent=2) + "\n")
    return record


def _write_table(output: Path, ids: list[str], vectors: np.ndarray) -> None:
    offsets = pa.array(np.arange(0, vectors.size + 1, vectors.shape[1], dtype=np.int32))
    embedding = pa.ListArray.from_arrays(offsets, pa.array(vectors.reshape(-1)))
    table = pa.table({"image_id": pa.array(ids, pa.string()), "embedding": embedding})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    Location.parse(output).write_bytes(buffer.getvalue().to_pybytes())  # whole or not at all


def cached_embeddings(folder: Path, encoder: str, revision: str | None, *,
                      batch_size: int = 64, device: str = "cpu", precision: str = "fp32",
                      pattern: str | Sequence[str] = IMAGE_PATTERNS,
                      skip_unreadable: bool = False, workers: int | None = None,
                      ids: str = "stem") -> Path:
    """The table of `folder`'s vectors (`embed_images`), at
    `cache_dir()/image_embeddings/<content_key>/embeddings.parquet` with its record beside
    it; built only when absent, once per node however many processes ask at once."""
    key = content_key(folder, encoder, revision, pattern=pattern, precision=precision,
                      skip_unreadable=skip_unreadable, ids=ids)

    def build(staging: Path) -> None:
        record = embed_images(folder, encoder, revision, staging / TABLE, batch_size=batch_size,
                              device=device, precision=precision, pattern=pattern,
                              skip_unreadable=skip_unreadable, workers=workers, ids=ids)
        if record["key"] != key:  # the entry must hold what its name says
            raise RuntimeError(f"{folder}: its images or the encoder changed while being "
                               "embedded; run again")

    return publish_directory(build, cache_dir() / "image_embeddings" / key) / TABLE


def embedding_record(table: Path) -> dict:
    """The record `embed_images` wrote beside `table`."""
    return json.loads(Path(table).with_suffix(".json").read_text(encoding="utf-8"))


def precompute_table(data_cfg: dict[str, Any], image_folder: str, encoder: str,
                     revision: str | None, destination: str, *, device: str = "cpu",
                     precision: str = "fp32", batch_size: int = 64, ids: str = "stem") -> dict:
    """The precompute stage's Ray task: the vectors of `<data root>/<image_folder>` (cached
    on this node), copied to `destination` (a folder in the run's storage, local or an
    object store) as `embeddings.parquet` and its record; returns the record."""
    folder = data_root(data_cfg) / image_folder
    if not folder.is_dir():
        raise FileNotFoundError(f"images to embed: {folder} is not a directory "
                                f"(ImageEmbeddings.image_folder {image_folder!r} under the data "
                                "root)")
    table = cached_embeddings(folder, encoder, revision, batch_size=batch_size, device=device,
                              precision=precision, ids=ids)
    target = Location.parse(destination)
    target.join(TABLE).write_bytes(table.read_bytes())
    record = embedding_record(table)
    target.join(Path(TABLE).with_suffix(".json").name).write_text(json.dumps(record, indent=2))
    return record
