"""The caption readers on files written in each format's real layout (Karpathy's split JSON,
IGLUE's retrieval JSONL, as e-bug/iglue's datasets/ ships it), alone and through
`load_examples` with a task's image embeddings."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from small import write_jsonl

import trainables.data
from trainables.data import load_examples
from trainables.readers import READERS
from trainables.tasks import (
    EmbeddingFormat,
    Family,
    FileFormat,
    ImageEmbeddings,
    LocalSource,
    Scorer,
    Task,
)
from trainables.vision_readers import read_iglue_captions, read_karpathy_json


def _sentence(raw: str, sentid: int, imgid: int) -> dict:
    return {"tokens": raw.lower().strip(" .").split(), "raw": raw, "imgid": imgid,
            "sentid": sentid}


def _coco_image(imgid: int, cocoid: int, split: str, folder: str, captions: list[str],
                first_sentid: int) -> dict:
    sentences = [_sentence(raw, first_sentid + n, imgid) for n, raw in enumerate(captions)]
    return {"filepath": folder, "filename": f"COCO_{folder}_{cocoid:012d}.jpg", "imgid": imgid,
            "split": split, "sentids": [s["sentid"] for s in sentences], "cocoid": cocoid,
            "sentences": sentences}


# Karpathy's dataset_coco.json: COCO's val2014 images split into val, test and restval (the
# rest, trained on), train2014's into train.
COCO = {"images": [
    _coco_image(0, 391895, "test", "val2014", [
        "A man with a red helmet on a small moped on a dirt road. ",
        "Man riding a motor bike on a dirt road on the countryside."], 770337),
    _coco_image(1, 522418, "restval", "val2014", [
        "A woman wearing a net on her head cutting a cake. "], 681330),
    _coco_image(2, 318556, "train", "train2014", [
        "A very clean and well decorated empty bathroom", "A blue and white bathroom."], 48),
    _coco_image(3, 184613, "val", "val2014", ["A child holding a flowered umbrella."], 667626),
], "dataset": "coco"}

# Karpathy's dataset_flickr30k.json: no cocoid; the image id is the file name's stem.
FLICKR = {"images": [
    {"sentids": [0, 1], "imgid": 0, "split": "train", "filename": "1000092795.jpg",
     "sentences": [_sentence("Two young guys with shaggy hair look at their hands.", 0, 0),
                   _sentence("Two young, White males are outside near many bushes.", 1, 0)]},
    {"sentids": [2], "imgid": 1, "split": "test", "filename": "1007129816.jpg",
     "sentences": [_sentence("The man with pierced ears is wearing glasses.", 2, 1)]},
], "dataset": "flickr30k"}

# e-bug/iglue datasets/xFlickrCO/annotations/<lang>/test.jsonl: Flickr images first (`id` a
# string), then COCO's (`id` COCO's number, an int); captions as given, trailing space too.
IGLUE_LINES = [
    {"sentences": ["The man with pierced ears is wearing glasses and an orange hat."],
     "id": "1007129816", "img_path": "1007129816.jpg"},
    {"sentences": ["A man with a red helmet on a small moped on a dirt road. "],
     "id": 391895, "img_path": "COCO_val2014_000000391895.jpg"},
]
# datasets/flickr30k/annotations/valid_ann.jsonl: five captions per image.
FLICKR_ANN = {"sentences": ["A group of people stand in the back of a truck filled with cotton.",
                            "Men are standing on and about a truck carrying a white substance."],
              "id": "1018148011", "img_path": "1018148011.jpg"}


def write_json(path, document) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_the_readers_are_registered_under_their_formats():
    assert READERS[FileFormat.KARPATHY_JSON.value] is read_karpathy_json
    assert READERS[FileFormat.IGLUE_CAPTIONS.value] is read_iglue_captions


def test_karpathy_coco_gives_a_caption_per_sentence_keyed_by_cocoid(tmp_path):
    path = tmp_path / "dataset_coco.json"
    write_json(path, COCO)
    examples = read_karpathy_json(path)
    assert len(examples) == 6
    assert examples[0] == {"id": "770337", "caption":
                           "A man with a red helmet on a small moped on a dirt road.",
                           "image_id": "391895", "split": "test"}
    assert [e["split"] for e in examples] == ["test", "test", "restval", "train", "train", "val"]
    assert {e["image_id"] for e in examples} == {"391895", "522418", "318556", "184613"}
    assert all(e["caption"] == e["caption"].strip() for e in examples)


def test_karpathy_flickr30k_keys_images_by_file_stem(tmp_path):
    path = tmp_path / "dataset_flickr30k.json"
    write_json(path, FLICKR)
    examples = read_karpathy_json(path)
    assert [(e["id"], e["image_id"], e["split"]) for e in examples] == [
        ("0", "1000092795", "train"), ("1", "1000092795", "train"), ("2", "1007129816", "test")]


def test_karpathy_missing_field_names_file_and_image(tmp_path):
    broken = json.loads(json.dumps(FLICKR))
    del broken["images"][1]["split"]
    path = tmp_path / "dataset_flickr30k.json"
    write_json(path, broken)
    with pytest.raises(ValueError, match=r"dataset_flickr30k\.json: image 1: no field 'split'"):
        read_karpathy_json(path)
    write_json(path, {"dataset": "coco"})
    with pytest.raises(ValueError, match=r"dataset_flickr30k\.json: not Karpathy"):
        read_karpathy_json(path)


def test_iglue_keys_images_by_img_path_stem(tmp_path):
    path = tmp_path / "test.jsonl"
    write_jsonl(path, IGLUE_LINES)
    examples = read_iglue_captions(path)
    assert examples == [
        {"id": "1007129816#0", "image_id": "1007129816",
         "caption": "The man with pierced ears is wearing glasses and an orange hat."},
        {"id": "COCO_val2014_000000391895#0", "image_id": "COCO_val2014_000000391895",
         "caption": "A man with a red helmet on a small moped on a dirt road."}]
    flickr = tmp_path / "valid_ann.jsonl"
    write_jsonl(flickr, [FLICKR_ANN])
    assert [e["id"] for e in read_iglue_captions(flickr)] == ["1018148011#0", "1018148011#1"]


def test_iglue_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "test.jsonl"
    # Line 2 is blank (skipped), so the record without img_path is on line 3.
    write_jsonl(path, [IGLUE_LINES[0], {"sentences": ["x"], "id": "1"}], blank_after=1)
    with pytest.raises(ValueError, match=r"test\.jsonl:3: no field 'img_path'"):
        read_iglue_captions(path)
    write_jsonl(path, [{"sentences": "one caption, not a list", "img_path": "1.jpg"}])
    with pytest.raises(ValueError, match=r"test\.jsonl:1: sentences must be a list"):
        read_iglue_captions(path)
    path.write_text(json.dumps(IGLUE_LINES[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"test\.jsonl:2: not valid JSON"):
        read_iglue_captions(path)


def _caption_task(name: str, local: LocalSource, images: ImageEmbeddings,
                  languages=("en",)) -> Task:
    return Task(name=name, family=Family.IMAGE_TEXT_CONTRASTIVE, languages=languages,
                metric="ir_r@1", scorer=Scorer.IGLUE_RECALL, text_fields=("caption",),
                label_field=None, roles=("intermediate",), local=local, images=images)


@pytest.fixture
def tasks(monkeypatch):
    """Tasks made here, answered by `get_task` in trainables.data."""
    registry: dict[str, Task] = {}
    monkeypatch.setattr(trainables.data, "get_task", registry.__getitem__)
    return registry


def test_karpathy_splits_and_images_through_load_examples(tmp_path, tasks):
    write_json(tmp_path / "coco" / "dataset_coco.json", COCO)
    ids = ["184613", "318556", "391895", "522418"]
    vectors = np.arange(1, 4 * 8 + 1, dtype=np.float64).reshape(4, 8)
    np.save(tmp_path / "coco" / "clip_b32.npy", vectors)
    (tmp_path / "coco" / "clip_b32.txt").write_text("\n".join(ids) + "\n")
    every = "dataset_coco.json"
    tasks["coco_cap"] = _caption_task(
        "coco_cap", LocalSource(FileFormat.KARPATHY_JSON, "coco",
                                {"train": every, "dev": every, "test": every},
                                split_values={"train": ("train", "restval"), "dev": ("val",),
                                              "test": ("test",)}),
        ImageEmbeddings("openai/clip-vit-base-patch32", EmbeddingFormat.NPY, "coco/clip_b32"))
    data = {"source": "local", "path": str(tmp_path)}
    train = load_examples(data, "coco_cap", "train", "en")
    assert [(e["image_id"], e["split"]) for e in train] == [
        ("522418", "restval"), ("318556", "train"), ("318556", "train")]
    assert [e["id"] for e in load_examples(data, "coco_cap", "dev", "en")] == ["667626"]
    assert len(load_examples(data, "coco_cap", "test", "en")) == 2
    image = train[0]["image"]
    assert image.dtype == np.float32 and image.shape == (8,)
    expected = vectors[ids.index("522418")]
    np.testing.assert_allclose(image, expected / np.linalg.norm(expected), rtol=1e-6)


def test_iglue_languages_and_an_id_pattern_through_load_examples(tmp_path, tasks):
    for language in ("en", "de"):
        write_jsonl(tmp_path / "xFlickrCO" / "annotations" / language / "test.jsonl",
                    IGLUE_LINES)
    # Embeddings of IGLUE's image folder, keyed by the image's path; the pattern takes the stem.
    paths = ["images/1007129816.jpg", "images/COCO_val2014_000000391895.jpg"]
    pq.write_table(pa.table({"path": paths, "embedding": [[1.0, 0.0, 0.0], [0.0, 3.0, 4.0]]}),
                   tmp_path / "xFlickrCO" / "clip.parquet")
    tasks["xflickrco"] = _caption_task(
        "xflickrco", LocalSource(FileFormat.IGLUE_CAPTIONS, "xFlickrCO/annotations",
                                 {"test": "{code}/test.jsonl"}),
        ImageEmbeddings("openai/clip-vit-base-patch32", EmbeddingFormat.PARQUET,
                        "xFlickrCO/clip.parquet", id_column="path", id_pattern=r"images/(.*)\.jpg"),
        languages=("en", "de"))
    german = load_examples({"source": "local", "path": str(tmp_path)}, "xflickrco", "test", "de")
    assert [e["image_id"] for e in german] == ["1007129816", "COCO_val2014_000000391895"]
    np.testing.assert_allclose(german[1]["image"], [0.0, 0.6, 0.8], rtol=1e-6)
