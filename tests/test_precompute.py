"""The precompute stage's image embedding: a tiny random CLIP image tower over a few images."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from trainables import precompute
from trainables.images import load_image_table
from trainables.precompute import (
    cached_embeddings,
    content_key,
    embed_images,
    embedding_record,
    image_files,
)
from trainables.tasks import EmbeddingFormat, ImageEmbeddings

DIM = 16
IDS = ["1000092795", "COCO_val2014_000000391895", "blue", "green", "noise", "wide"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> str:
    """A random CLIP image tower (32-pixel images, 16-value projections) and its processor."""
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    config = CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                              num_hidden_layers=2, num_attention_heads=2, projection_dim=DIM)
    folder = tmp_path_factory.mktemp("encoder")
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32},
                       crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


def write_images(folder) -> None:
    """Six images, PNG and JPEG, two of them in a subfolder."""
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 40), (0, 0, 255)).save(folder / "blue.png")
    Image.new("RGB", (48, 36), (0, 200, 0)).save(folder / "green.jpg")
    Image.fromarray(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(folder / "noise.png")
    Image.fromarray(rng.integers(0, 256, (30, 90, 3), dtype=np.uint8)).save(folder / "wide.jpeg")
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        folder / "sub" / "COCO_val2014_000000391895.jpg")
    Image.new("L", (33, 33), 128).save(folder / "sub" / "1000092795.jpg")  # grey: made RGB
    (folder / "notes.txt").write_text("not an image, and not matched")


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    write_images(folder)
    return folder


def read(table) -> tuple[list[str], np.ndarray]:
    frame = pq.read_table(table)
    assert str(frame.schema.field("embedding").type) == "list<element: float>"
    return frame.column("image_id").to_pylist(), np.array(frame.column("embedding").to_pylist())


def test_the_table_holds_unit_float32_vectors_by_stem(images, encoder, tmp_path):
    record = embed_images(images, encoder, None, tmp_path / "out" / "vectors.parquet",
                          batch_size=4)  # two batches, the second short
    ids, vectors = read(tmp_path / "out" / "vectors.parquet")
    # Sorted by relative path: the subfolder's files come after blue.png, before wide.jpeg.
    assert ids == ["blue", "green", "noise", "1000092795", "COCO_val2014_000000391895", "wide"]
    assert vectors.shape == (6, DIM)
    assert pq.read_table(tmp_path / "out" / "vectors.parquet").column("embedding").type \
        .value_type == "float"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-6)
    assert json.loads((tmp_path / "out" / "vectors.json").read_text()) == record
    assert record["images"] == 6 and record["dim"] == DIM and record["device"] == "cpu"
    assert record["encoder"] == encoder and record["revision"].startswith("sha256:")
    assert record["unreadable"] == [] and len(record["key"]) == 64
    assert record["key"] == content_key(images, encoder, None)


def test_the_vectors_are_the_models_normalised_image_embeds(images, encoder, tmp_path):
    from transformers import AutoImageProcessor, CLIPVisionModelWithProjection

    embed_images(images, encoder, None, tmp_path / "v.parquet", batch_size=64)
    ids, vectors = read(tmp_path / "v.parquet")
    model = CLIPVisionModelWithProjection.from_pretrained(encoder).eval()
    processor = AutoImageProcessor.from_pretrained(encoder)
    pictures = [Image.open(path).convert("RGB") for path in image_files(images)]
    with torch.no_grad():
        pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
        expected = torch.nn.functional.normalize(model(pixel_values=pixels).image_embeds, dim=-1)
    assert ids == [path.stem for path in image_files(images)]
    np.testing.assert_allclose(vectors, expected.numpy(), atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])  # the images are told apart


def test_a_rerun_writes_the_same_bytes(images, encoder, tmp_path):
    embed_images(images, encoder, None, tmp_path / "a.parquet", batch_size=4)
    embed_images(images, encoder, None, tmp_path / "b.parquet", batch_size=4, workers=3)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_load_image_table_reads_the_table_back(images, encoder, tmp_path):
    embed_images(images, encoder, None, tmp_path / "root" / "emb" / "clip.parquet")
    ids, vectors = read(tmp_path / "root" / "emb" / "clip.parquet")
    declared = ImageEmbeddings(encoder, EmbeddingFormat.PARQUET, files="emb/clip.parquet", dim=DIM)
    table = load_image_table({"source": "local", "path": str(tmp_path / "root")}, declared)
    assert list(table.ids) == ids and sorted(ids) == sorted(IDS)
    np.testing.assert_allclose(table.vectors, vectors, rtol=1e-6)


def test_the_cache_embeds_once_and_follows_the_bytes(images, encoder, monkeypatch, tmp_path):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))  # no entry from another test
    loads = []
    real = precompute._load_model
    monkeypatch.setattr(precompute, "_load_model", lambda *a: loads.append(a) or real(*a))
    first = cached_embeddings(images, encoder, None)
    assert len(loads) == 1 and first.name == "embeddings.parquet"
    assert first.parent.parent == tmp_path / "cache" / "image_embeddings"
    assert (first.parent / "DONE").exists()
    assert embedding_record(first)["key"] == first.parent.name
    assert cached_embeddings(images, encoder, None) == first and len(loads) == 1  # a hit
    before = first.read_bytes()

    Image.new("RGB", (40, 40), (255, 0, 0)).save(images / "blue.png")  # same name, new bytes
    second = cached_embeddings(images, encoder, None)
    assert second != first and len(loads) == 2
    assert first.read_bytes() == before  # the old entry is left as it was
    assert not np.allclose(read(first)[1][0], read(second)[1][0])


def test_the_key_covers_precision_and_paths(images, encoder):
    key = content_key(images, encoder, None)
    assert content_key(images, encoder, None, precision="bf16") != key
    (images / "green.jpg").rename(images / "sub" / "green.jpg")  # same bytes, moved
    assert content_key(images, encoder, None) != key


def test_two_files_with_one_stem_are_an_error_naming_both(images, encoder, tmp_path):
    Image.new("RGB", (8, 8)).save(images / "sub" / "blue.jpg")
    with pytest.raises(ValueError, match=r"'blue' names two files.*blue\.png.*sub/blue\.jpg"):
        embed_images(images, encoder, None, tmp_path / "v.parquet")


def test_an_unreadable_image_is_named_or_skipped_and_counted(images, encoder, tmp_path):
    (images / "sub" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    data = (images / "noise.png").read_bytes()
    (images / "cut.png").write_bytes(data[:len(data) // 2])  # truncated mid-stream
    with pytest.raises(ValueError, match=r"cut\.png: not a readable image"):
        embed_images(images, encoder, None, tmp_path / "v.parquet")
    record = embed_images(images, encoder, None, tmp_path / "v.parquet", skip_unreadable=True)
    assert record["unreadable"] == ["cut.png", "sub/broken.jpg"] and record["images"] == 6
    assert sorted(read(tmp_path / "v.parquet")[0]) == sorted(IDS)
    assert record["key"] != content_key(images, encoder, None)  # skipping is in the key


def test_a_pattern_picks_the_files(images, encoder, tmp_path):
    assert [path.name for path in image_files(images, "*.PNG")] == ["blue.png", "noise.png"]
    record = embed_images(images, encoder, None, tmp_path / "v.parquet", pattern=("*.jpeg",))
    assert record["images"] == 1 and read(tmp_path / "v.parquet")[0] == ["wide"]
    with pytest.raises(FileNotFoundError, match="no image files matching"):
        image_files(images, "*.gif")


def test_bf16_on_cpu_stays_close(images, encoder, tmp_path):
    embed_images(images, encoder, None, tmp_path / "a.parquet")
    record = embed_images(images, encoder, None, tmp_path / "b.parquet", precision="bf16")
    assert record["precision"] == "bf16"
    full, half = read(tmp_path / "a.parquet")[1], read(tmp_path / "b.parquet")[1]
    assert np.min(np.sum(full * half, axis=1)) > 0.98
    with pytest.raises(ValueError, match="precision 'int8'"):
        embed_images(images, encoder, None, tmp_path / "c.parquet", precision="int8")


def test_the_stage_task_copies_the_table_into_the_run_and_the_tasks_read_it_there(
        images, encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    data = {"source": "local", "path": str(tmp_path)}
    destination = tmp_path / "run" / "precompute" / "precompute-coco"
    record = precompute.precompute_table(data, "images", encoder, None, str(destination),
                                         ids="path")
    assert record["images"] == 6 and (destination / "embeddings.json").exists()
    ids, vectors = read(destination / "embeddings.parquet")
    assert "sub/COCO_val2014_000000391895" in ids and "blue" in ids  # paths without suffix
    # A task whose published vectors are missing reads the run's table instead, its own
    # id_pattern applied (COCO's captions name images by number).
    images_entry = ImageEmbeddings("tiny-clip", EmbeddingFormat.PARQUET, "coco/missing.parquet",
                                   dim=DIM, id_pattern=r"(?:.*/)?(?:COCO_[a-z]+2014_)?0*(\w+)")
    table = load_image_table({**data, "image_tables": {
        "coco/missing.parquet": str(destination / "embeddings.parquet")}}, images_entry)
    assert set(table.ids) == {"1000092795", "391895", "blue", "green", "noise", "wide"}
    np.testing.assert_allclose(table.vectors[table.row["391895"]],
                               vectors[ids.index("sub/COCO_val2014_000000391895")], rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="ImageEmbeddings.image_folder 'absent'"):
        precompute.precompute_table(data, "absent", encoder, None, str(destination))


def test_path_ids_tell_apart_files_with_one_stem(images):
    Image.new("RGB", (8, 8)).save(images / "sub" / "blue.jpg")
    files = image_files(images, ids="path")
    assert "sub/blue.jpg" in [path.relative_to(images).as_posix() for path in files]
    with pytest.raises(ValueError, match="ids"):
        image_files(images, ids="name")


@pytest.mark.slow
def test_the_precompute_stage_embeds_on_ray_and_later_stages_read_its_table(
        ray_session, images, encoder, tmp_path):
    """run_precompute in the session's Ray: the table lands in the run's storage, the
    manifest entry names it, and a later stage's data settings read COCO's vectors from it."""
    from sweep.manifest import Manifest
    from sweep.plan import make_plan
    from sweep.spec import parse_spec
    from sweep.stages import STAGES, StageContext
    from trainables.storage import Location
    from trainables.tasks import get_task

    for number, path in enumerate(image_files(images), 1):  # COCO's file names only
        if not path.stem.startswith("COCO_"):
            path.rename(path.with_name(f"COCO_train2014_{number:012d}{path.suffix}"))
    spec = parse_spec({
        "name": "p", "target_tasks": ["synth_xnli"], "intermediate_tasks": ["coco_lit"],
        "search": {"target": {"intermediate": ["none"]}},
        "data": {"source": "local", "path": str(tmp_path)},
        "precompute": {"encoder_revision": "none", "device": "cpu", "batch_size": 2}})
    plan = make_plan(spec)
    stage = plan.stage("precompute/coco_lit")
    # The registry's encoder is CLIP ViT-L/14; the tiny one stands in, the folder beside.
    stage.config.update(encoder=encoder, image_folder=str(images.relative_to(tmp_path)))
    root = Location.of(tmp_path / "run")
    manifest = Manifest.open(root, "p", resume=False)
    entry = STAGES["precompute"](StageContext(plan, stage, manifest, root, False, True))
    assert entry["image_count"] == 6 and entry["dim"] == DIM
    assert entry["images"] == get_task("coco_lit").images.files
    manifest.record(stage.name, {"status": "finished", **entry})
    later = StageContext(plan, plan.stage("intermediate/coco_lit"), manifest, root, False, True)
    data = later.data_config()
    assert data["image_tables"] == {entry["images"]: entry["table"]}
    table = load_image_table(data, dataclasses.replace(get_task("coco_lit").images, dim=DIM))
    assert "391895" in table.row and table.dim == DIM  # COCO's id_pattern on the file stem
