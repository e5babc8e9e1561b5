"""Image embedding tables in each layout, their join with captions, and the controls."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import huggingface_hub
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO

from trainables import images as image_module
from trainables.images import (
    SCRAMBLE_SEED,
    attach_images,
    image_coverage,
    load_image_table,
    random_vector,
    scramble,
)
from trainables.tasks import (
    EmbeddingFormat,
    Family,
    ImageControl,
    ImageEmbeddings,
    Scorer,
    Task,
)

ENCODER = "openai/clip-vit-base-patch32"
NPY, PARQUET, CLIP = EmbeddingFormat.NPY, EmbeddingFormat.PARQUET, EmbeddingFormat.CLIP_RETRIEVAL


def local(tmp_path) -> dict:
    return {"source": "local", "path": str(tmp_path)}


def write_npy(stem, ids, vectors) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    np.save(stem.with_name(stem.name + ".npy"), np.asarray(vectors))
    stem.with_name(stem.name + ".txt").write_text("".join(f"{i}\n" for i in ids))


def gaussian(rows: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, dim))


def caption_task(images: ImageEmbeddings, control=ImageControl.REAL) -> Task:
    return Task(name=f"captions_{control}", family=Family.IMAGE_TEXT_CONTRASTIVE,
                languages=("en",), metric="ir_r@1", scorer=Scorer.IGLUE_RECALL,
                text_fields=("caption",), label_field=None, roles=("intermediate",),
                images=images, image_control=control)


def captions(image_ids) -> list[dict]:
    """Two captions per image."""
    return [{"id": f"{image_id}#{n}", "caption": f"caption {n} of {image_id}",
             "image_id": image_id} for image_id in image_ids for n in range(2)]


# -- tables ----------------------------------------------------------------------------------


def test_an_npy_table_is_normalised_float32_and_read_only(tmp_path):
    ids = ["b", "a", "c"]
    vectors = gaussian(3, 8) * 5
    write_npy(tmp_path / "emb" / "clip.b32", ids, vectors)  # a dot in the stem
    table = load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "emb/clip.b32"))
    assert table.ids == ("b", "a", "c") and table.dim == 8 and table.encoder == ENCODER
    assert table.row == {"b": 0, "a": 1, "c": 2}
    assert table.vectors.dtype == np.float32 and table.vectors.flags.c_contiguous
    assert not table.vectors.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(table.vectors, axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(table.vectors[1], vectors[1] / np.linalg.norm(vectors[1]),
                               rtol=1e-5)
    # Every split of a task reads the same table: read once per process.
    again = load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "emb/clip.b32"))
    assert again is table


def test_npy_counts_must_match(tmp_path):
    write_npy(tmp_path / "emb", ["a", "b"], gaussian(3, 4))
    with pytest.raises(ValueError, match=r"emb\.npy has 3 vectors but .*emb\.txt has 2 ids"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "emb"))


def test_duplicate_ids_zero_vectors_and_bad_ids_are_refused(tmp_path):
    write_npy(tmp_path / "dup", ["a", "b", "a"], gaussian(3, 4))
    with pytest.raises(ValueError, match=r"image id 'a' appears twice \(rows 0 and 2\)"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "dup"))
    vectors = gaussian(3, 4)
    vectors[1] = 0
    write_npy(tmp_path / "zero", ["a", "b", "c"], vectors)
    with pytest.raises(ValueError, match=r"zero or non-finite norm \(first: row 1, image 'b'\)"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "zero"))
    write_npy(tmp_path / "named", ["x_1.jpg", "x_2.png"], gaussian(2, 4))
    with pytest.raises(ValueError, match=r"named\.txt: row 1: 'x_2\.png' does not match"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "named",
                                                          id_pattern=r"x_(\d+)\.jpg"))


def test_a_missing_file_names_the_path_and_the_task_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'coco/clip'.*coco/clip\.npy does not exist"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, NPY, "coco/clip"))
    with pytest.raises(FileNotFoundError, match=r"'emb\.parquet'.*emb\.parquet does not"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "emb.parquet"))


def write_parquet(path, ids, vectors, **columns) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"image_id": ids, "embedding": [list(map(float, v)) for v in vectors],
                             **columns}), path)


def test_a_parquet_file_or_folder_read_in_sorted_order(tmp_path):
    vectors = gaussian(5, 6)
    write_parquet(tmp_path / "one.parquet", [391895, 522418], vectors[:2])  # int ids
    table = load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "one.parquet"))
    assert table.ids == ("391895", "522418")
    write_parquet(tmp_path / "folder" / "part-1.parquet", ["c", "d", "e"], vectors[2:])
    write_parquet(tmp_path / "folder" / "part-0.parquet", ["a", "b"], vectors[:2])
    table = load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "folder"))
    assert table.ids == ("a", "b", "c", "d", "e")
    np.testing.assert_allclose(table.vectors[3], vectors[3] / np.linalg.norm(vectors[3]),
                               rtol=1e-5)


def test_parquet_columns_and_vector_sizes_are_checked(tmp_path):
    pq.write_table(pa.table({"image_id": ["a", "b"], "embedding": [[1.0, 2.0], [1.0]]}),
                   tmp_path / "uneven.parquet")
    with pytest.raises(ValueError, match=r"uneven\.parquet: row 1 has 1 values .* row 0 has 2"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "uneven.parquet"))
    with pytest.raises(ValueError, match=r"no column vec; it has image_id, embedding"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "uneven.parquet",
                                                          vector_column="vec"))
    write_parquet(tmp_path / "dims" / "a.parquet", ["a"], gaussian(1, 4))
    write_parquet(tmp_path / "dims" / "b.parquet", ["b"], gaussian(1, 3))
    with pytest.raises(ValueError, match=r"b\.parquet: vectors of 3 values, but .*a\.parquet"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, PARQUET, "dims"))


def write_clip_shard(folder, index, paths, vectors) -> None:
    (folder / "img_emb").mkdir(parents=True, exist_ok=True)
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    np.save(folder / "img_emb" / f"img_emb_{index}.npy", np.asarray(vectors, dtype=np.float16))
    pq.write_table(pa.table({"image_path": paths}),
                   folder / "metadata" / f"metadata_{index}.parquet")


COCO_PATTERN = r".*?0*(\d+)\.jpg"  # COCO's file names -> cocoid (ImageEmbeddings' docstring)


def test_clip_retrieval_shards_in_numeric_order_with_an_id_pattern(tmp_path):
    folder = tmp_path / "clip_out"
    vectors = gaussian(5, 4)
    # Shard 10 sorts before shard 2 as text: the order must be numeric.
    write_clip_shard(folder, 0, ["/coco/val2014/COCO_val2014_000000391895.jpg",
                                 "/coco/val2014/COCO_val2014_000000000042.jpg"], vectors[:2])
    write_clip_shard(folder, 2, ["/coco/val2014/COCO_val2014_000000522418.jpg"], vectors[2:3])
    write_clip_shard(folder, 10, ["/coco/train2014/COCO_train2014_000000318556.jpg",
                                  "/coco/train2014/COCO_train2014_000000000009.jpg"], vectors[3:])
    images = ImageEmbeddings(ENCODER, CLIP, "clip_out", id_column="image_path",
                             id_pattern=COCO_PATTERN)
    table = load_image_table(local(tmp_path), images)
    assert table.ids == ("391895", "42", "522418", "318556", "9")
    assert table.vectors.dtype == np.float32  # clip-retrieval writes float16
    expected = vectors[2].astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(table.vectors[2], expected / np.linalg.norm(expected), rtol=1e-3)


def test_clip_retrieval_rows_must_match_their_metadata(tmp_path):
    folder = tmp_path / "clip_out"
    write_clip_shard(folder, 0, ["a.jpg", "b.jpg"], gaussian(2, 4))
    write_clip_shard(folder, 1, ["c.jpg"], gaussian(2, 4))
    with pytest.raises(ValueError, match=r"img_emb_1\.npy has 2 vectors but .*metadata_1\.parquet"
                                         r" has 1 rows"):
        load_image_table(local(tmp_path), ImageEmbeddings(ENCODER, CLIP, "clip_out",
                                                          id_column="image_path"))


# -- the join and the controls ---------------------------------------------------------------


@pytest.fixture
def table_files(tmp_path):
    """A 64-dim table of six images, and the data config that finds it."""
    ids = [f"img{n}" for n in range(6)]
    write_npy(tmp_path / "caps" / "images", ids, gaussian(6, 64, seed=7))
    return local(tmp_path), ImageEmbeddings(ENCODER, NPY, "caps/images"), ids


def test_real_gives_each_caption_its_own_image_without_touching_the_input(table_files):
    data, images, ids = table_files
    examples = captions(ids[:3])
    joined = attach_images(data, caption_task(images), examples, "caps train en")
    table = load_image_table(data, images)
    assert all("image" not in example for example in examples)
    for example in joined:
        assert example["image"].dtype == np.float32 and example["image"].ndim == 1
        own = table.vectors[table.row[example["image_id"]]]
        np.testing.assert_array_equal(example["image"], own)
    assert [e["id"] for e in joined] == [e["id"] for e in examples]


def test_scrambled_is_a_fixed_permutation_of_the_images(table_files):
    data, images, ids = table_files
    task = caption_task(images, ImageControl.SCRAMBLED)
    table = load_image_table(data, images)
    joined = attach_images(data, task, captions(ids), "caps train en")
    shown = {e["image_id"]: table.ids[_row_of(table, e["image"])] for e in joined}
    assert sorted(shown.values()) == sorted(ids)  # a bijection on the ids
    assert all(shown[image_id] != image_id for image_id in ids)  # no image keeps its own
    assert shown == scramble(ids) == scramble(list(reversed(ids)))  # whatever the id order
    # Another split (and another call) sees the same permutation.
    dev = attach_images(data, task, captions(ids[4:]), "caps dev en")
    assert all(shown[e["image_id"]] == table.ids[_row_of(table, e["image"])] for e in dev)


def _row_of(table, vector) -> int:
    return int(np.flatnonzero((table.vectors == vector).all(axis=1))[0])


def test_random_is_seeded_by_the_image_id_unit_norm_and_unrelated(table_files):
    data, images, ids = table_files
    task = caption_task(images, ImageControl.RANDOM)
    table = load_image_table(data, images)
    joined = attach_images(data, task, captions(ids), "caps train en")
    again = attach_images(data, task, captions(ids), "caps test en")
    for first, second in zip(joined, again, strict=True):
        np.testing.assert_array_equal(first["image"], second["image"])
    by_image = {e["image_id"]: e["image"] for e in joined}
    np.testing.assert_array_equal(joined[0]["image"], joined[1]["image"])  # one image, 2 captions
    assert len({v.tobytes() for v in by_image.values()}) == len(ids)
    for image_id, vector in by_image.items():
        assert vector.dtype == np.float32 and vector.shape == (table.dim,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-5
        assert abs(float(vector @ table.vectors[table.row[image_id]])) < 0.6


def test_the_controls_are_the_same_in_another_process():
    ids = [f"{n:06d}" for n in range(50)]
    code = ("import json, sys; from trainables.images import scramble, random_vector; "
            "ids = json.loads(sys.argv[1]); "
            "print(json.dumps([scramble(ids), random_vector(ids[0], 8).tolist()]))")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(ids)], check=True,
                            capture_output=True, text=True, cwd=REPO)
    permutation, vector = json.loads(result.stdout)
    assert permutation == scramble(ids) and SCRAMBLE_SEED == 0
    np.testing.assert_array_equal(np.float32(vector), random_vector(ids[0], 8))


def test_text_only_has_no_image_but_needs_the_same_images(table_files):
    data, images, ids = table_files
    task = caption_task(images, ImageControl.TEXT_ONLY)
    joined = attach_images(data, task, captions(ids[:2]), "caps train en")
    assert [e["id"] for e in joined] == [e["id"] for e in captions(ids[:2])]
    assert all("image" not in e for e in joined)
    with pytest.raises(ValueError, match=r"1 of 2 images"):
        attach_images(data, task, captions(["img0", "nope"]), "caps train en")


def test_missing_images_name_where_how_many_and_the_first_ids(tmp_path):
    ids = [f"{n}" for n in range(1000)]
    write_npy(tmp_path / "big", ids[27:], gaussian(973, 4))  # the first 27 images lack vectors
    data, images = local(tmp_path), ImageEmbeddings(ENCODER, NPY, "big")
    examples = captions(ids)
    coverage = image_coverage(examples, load_image_table(data, images))
    assert coverage == {"captions": 2000, "images": 1000, "missing_captions": 54,
                        "missing_images": 27, "coverage": 0.973,
                        "first_missing": ["0", "1", "2", "3", "4"]}
    with pytest.raises(ValueError) as error:
        attach_images(data, caption_task(images), examples, "synth_caption train en")
    message = str(error.value)
    assert message.startswith("synth_caption train en: 54 of 2,000 captions (27 of 1,000 images)")
    assert "coverage 97.3% of 1,000 images" in message
    assert "first missing: 0, 1, 2, 3, 4" in message and "'big'" in message
    # Rounded down: one image missing of 5,000 is not 100.0%.
    write_npy(tmp_path / "almost", [str(n) for n in range(1, 5000)], gaussian(4999, 4))
    with pytest.raises(ValueError, match=r"coverage 99\.9% of 5,000 images"):
        attach_images(data, caption_task(ImageEmbeddings(ENCODER, NPY, "almost")),
                      captions([str(n) for n in range(5000)]), "x test en")


@pytest.mark.skipif("dim" not in {f.name for f in dataclasses.fields(ImageEmbeddings)},
                    reason="ImageEmbeddings has no dim")
def test_a_declared_dim_must_match_the_vectors(table_files):
    data, images, _ = table_files
    with pytest.raises(ValueError, match=r"vectors of 64 values; the task declares dim 32"):
        load_image_table(data, dataclasses.replace(images, dim=32))


# -- the hub ---------------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """hf_hub_download and snapshot_download answered from a local copy of the repo."""
    copy, asked = tmp_path / "hub_copy", []

    def hf_hub_download(repo_id, filename, repo_type=None, revision=None):
        asked.append(("file", repo_id, filename, repo_type, revision))
        return str(copy / filename)

    def snapshot_download(repo_id, allow_patterns=None, repo_type=None, revision=None):
        asked.append(("snapshot", repo_id, tuple(allow_patterns), repo_type, revision))
        return str(copy)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    image_module._from_hub.cache_clear()
    return copy, asked


def test_hub_embeddings_are_downloaded_at_their_revision(hub):
    copy, asked = hub
    write_npy(copy / "coco" / "clip", ["1", "2"], gaussian(2, 4))
    write_parquet(copy / "parts" / "p0.parquet", ["3"], gaussian(1, 4))
    write_clip_shard(copy / "clip_out", 0, ["4.jpg"], gaussian(1, 4))
    data = {"source": "hub"}  # no data.path: everything comes from the hub
    layouts = {NPY: "coco/clip", PARQUET: "parts", CLIP: "clip_out"}
    tables = {layout: load_image_table(data, ImageEmbeddings(
        ENCODER, layout, files, id_column="image_path" if layout is CLIP else "image_id",
        id_pattern=r"(\d+)\.jpg" if layout is CLIP else None, hub="org/coco-clip",
        revision="0123abcd")) for layout, files in layouts.items()}
    assert [t.ids for t in tables.values()] == [("1", "2"), ("3",), ("4",)]
    assert asked == [
        ("file", "org/coco-clip", "coco/clip.npy", "dataset", "0123abcd"),
        ("file", "org/coco-clip", "coco/clip.txt", "dataset", "0123abcd"),
        ("snapshot", "org/coco-clip", ("parts/*.parquet",), "dataset", "0123abcd"),
        ("snapshot", "org/coco-clip", ("clip_out/img_emb/*.npy", "clip_out/metadata/*.parquet"),
         "dataset", "0123abcd")]


def test_a_local_run_reads_hub_embeddings_from_data_path(hub, tmp_path):
    _, asked = hub
    write_npy(tmp_path / "coco" / "clip", ["1"], gaussian(1, 4))
    images = ImageEmbeddings(ENCODER, NPY, "coco/clip", hub="org/coco-clip", revision="0123abcd")
    assert load_image_table(local(tmp_path), images).ids == ("1",)
    assert asked == []
    with pytest.raises(FileNotFoundError, match=r"data\.path, which is not set"):
        load_image_table({"source": "hub"}, dataclasses.replace(images, hub=None))
