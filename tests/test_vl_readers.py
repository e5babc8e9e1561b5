"""The visual entailment and visual reasoning readers on files written in each real layout
(SNLI-VE's and IGLUE's XVNLI JSONL, NLVR2's JSON lines as IGLUE ships them, MaRVL's JSONL;
lines shaped as e-bug/iglue's datasets/ has them), alone and through `load_examples` with
the registry's xvnli, snli_ve, nlvr2 and marvl entries and their image embeddings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from small import TINY_MODEL, write_jsonl

from trainables.data import load_examples
from trainables.families import get_family
from trainables.readers import READERS
from trainables.tasks import FileFormat, get_task
from trainables.tasks.vision import IMAGE_DIM
from trainables.vision_readers import read_marvl, read_nlvr2, read_snli_ve

# e-bug/iglue datasets/XVNLI/annotations/en/test.jsonl: Flikr30kID without ".jpg"; one pair
# without a majority label ("-"), kept in the file.
XVNLI_EN = [
    {"gold_label": "contradiction", "sentence1": "A man in a blue collared t-shirt posing at "
     "someone while holding a hebrew newspaper.", "sentence2": "He is wearing the newspaper "
     "on his head.", "captionID": "759822302.jpg#2", "pairID": "759822302.jpg#2r1c",
     "Flikr30kID": "759822302"},
    {"gold_label": "-", "sentence1": "A boy in the woods.", "sentence2": "There is a boy headed "
     "to the woods.", "captionID": "2424111022.jpg#4", "pairID": "2424111022.jpg#4r1c",
     "Flikr30kID": "2424111022"},
    {"gold_label": "entailment", "sentence1": "A boy in the woods.", "sentence2": "There is a "
     "boy in the woods. ", "captionID": "2424111022.jpg#4", "pairID": "2424111022.jpg#4r1e",
     "Flikr30kID": "2424111022"},
]
# .../ar/test.jsonl: the same pairs, both sentences translated.
XVNLI_AR = [{**XVNLI_EN[0], "sentence1": "رجل في قميص بياقة زرقاء يقف عند شخصا بينما يحمل "
             "جريدة عبرية.", "sentence2": "يرتدي الجريدة على رأسه."}]
# SNLI-VE's own snli_ve_<split>.jsonl (and IGLUE's en/train.jsonl, from it): ".jpg" kept.
SNLI_VE = [{"gold_label": "neutral", "sentence1": "Two young guys with shaggy hair look at "
            "their hands while hanging out in the yard.", "sentence2": "Two friends enjoy "
            "time spent together.", "captionID": "1000092795.jpg#0",
            "pairID": "1000092795.jpg#0r1n", "Flikr30kID": "1000092795.jpg"}]
# datasets/nlvr2/annotations/dev.jsonl (NLVR2's dev.json, one JSON object per line).
NLVR2_DEV = [
    {"validation": {"61": "False"}, "sentence": "The right image shows a curving walkway of "
     "dark glass circles embedded in dirt and flanked by foliage.",
     "left_url": "https://i.kinja-img.com/gawker-media/image/upload/s--UyhVSznS--/"
     "18iy0hwo5wdrpjpg.jpg", "writer": "61", "label": "False",
     "right_url": "https://cdn.pixabay.com/photo/2015/09/21/12/57/beer-bottles-949793_960_720"
     ".jpg", "synset": "beer bottle", "query": "some beer bottles38",
     "identifier": "dev-850-0-0", "extra_validations": {"154": "False", "139": "False"}},
    {"validation": {"160": "True"}, "sentence": "The right image shows a curving walkway of "
     "dark glass circles embedded in dirt and flanked by foliage.",
     "left_url": "https://i.pinimg.com/originals/56/9d/99/569d99a9ae49f55cafc676b851d5b48e.jpg",
     "writer": "61", "label": "True",
     "right_url": "https://i.pinimg.com/originals/80/11/05/801105102b8e65810f3c276895f80bf7.jpg",
     "synset": "beer bottle", "query": "some beer bottles38", "identifier": "dev-850-2-0",
     "extra_validations": {"136": "True", "154": "True"}},
]
NLVR2_TEST = [{**NLVR2_DEV[0], "sentence": "There is an empty glass.",
               "identifier": "test1-0-1-0"}]
# datasets/marvl/zero_shot/annotations/marvl-id.jsonl.
MARVL_ID = [
    {"concept": "39-Panci", "language": "id", "caption": "Panci di salah satu foto berada di "
     "atas kompor yang tidak menyala, sedangkan di foto lainnya, api di bawah panci menyala.",
     "left_img": "39-0.jpg", "right_img": "39-11.jpg",
     "annotator_info": {"annotator_id": "id_01", "country_of_birth": "Indonesia",
                        "country_of_residence": "Indonesia", "gender": "male", "age": 31},
     "chapter": "Basic actions and technology", "id": "id-0", "label": True},
    {"concept": "39-Panci", "language": "id", "caption": "Panci di salah satu foto berada di "
     "atas kompor yang tidak menyala, sedangkan di foto lainnya, api di bawah panci menyala.",
     "left_img": "39-4.jpg", "right_img": "39-8.jpg",
     "annotator_info": {"annotator_id": "id_01", "country_of_birth": "Indonesia",
                        "country_of_residence": "Indonesia", "gender": "male", "age": 31},
     "chapter": "Basic actions and technology", "id": "id-1", "label": False},
]


def test_the_readers_are_registered_under_their_formats():
    assert READERS[FileFormat.SNLI_VE.value] is read_snli_ve
    assert READERS[FileFormat.NLVR2.value] is read_nlvr2
    assert READERS[FileFormat.MARVL.value] is read_marvl
    assert get_task("xvnli").local.format is FileFormat.SNLI_VE
    assert get_task("nlvr2").local.format is FileFormat.NLVR2
    assert get_task("marvl").local.format is FileFormat.MARVL


def test_snli_ve_keys_the_image_by_stem_and_drops_pairs_without_a_label(tmp_path):
    path = tmp_path / "test.jsonl"
    write_jsonl(path, XVNLI_EN)
    examples = read_snli_ve(path)
    assert examples == [
        {"id": "759822302.jpg#2r1c", "hypothesis": "He is wearing the newspaper on his head.",
         "premise": XVNLI_EN[0]["sentence1"], "label": "contradiction",
         "image_id": "759822302", "caption_id": "759822302.jpg#2"},
        {"id": "2424111022.jpg#4r1e", "hypothesis": "There is a boy in the woods.",
         "premise": "A boy in the woods.", "label": "entailment", "image_id": "2424111022",
         "caption_id": "2424111022.jpg#4"}]
    write_jsonl(path, SNLI_VE)  # SNLI-VE's own files keep the extension
    assert [e["image_id"] for e in read_snli_ve(path)] == ["1000092795"]
    assert read_snli_ve(path)[0]["label"] in get_task("xvnli").labels


def test_snli_ve_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "dev.jsonl"
    broken = {k: v for k, v in XVNLI_EN[0].items() if k != "Flikr30kID"}
    write_jsonl(path, [XVNLI_EN[0], broken], blank_after=1)
    with pytest.raises(ValueError, match=r"dev\.jsonl:3: no field 'Flikr30kID'; expected "
                                         "SNLI-VE's"):
        read_snli_ve(path)
    write_jsonl(path, [{**XVNLI_EN[0], "Flikr30kID": ""}])
    with pytest.raises(ValueError, match=r"dev\.jsonl:1: an empty Flikr30kID"):
        read_snli_ve(path)


def test_nlvr2_names_both_images_from_the_identifier(tmp_path):
    path = tmp_path / "dev.jsonl"
    write_jsonl(path, NLVR2_DEV)
    assert read_nlvr2(path) == [
        {"id": "dev-850-0-0", "sentence": NLVR2_DEV[0]["sentence"], "label": "False",
         "left_image": "dev-850-0-img0", "right_image": "dev-850-0-img1"},
        {"id": "dev-850-2-0", "sentence": NLVR2_DEV[1]["sentence"], "label": "True",
         "left_image": "dev-850-2-img0", "right_image": "dev-850-2-img1"}]
    write_jsonl(path, NLVR2_TEST)  # NLVR2's public test set is test1
    assert [(e["left_image"], e["right_image"]) for e in read_nlvr2(path)] == [
        ("test1-0-1-img0", "test1-0-1-img1")]
    write_jsonl(path, [{**NLVR2_DEV[0], "label": "maybe"}])
    with pytest.raises(ValueError, match=r"dev\.jsonl:1: label 'maybe'; allowed: True, False"):
        read_nlvr2(path)
    write_jsonl(path, [{**NLVR2_DEV[0], "identifier": "dev"}])
    with pytest.raises(ValueError, match=r"dev\.jsonl:1: identifier 'dev' is not"):
        read_nlvr2(path)
    write_jsonl(path, [{k: v for k, v in NLVR2_DEV[0].items() if k != "sentence"}])
    with pytest.raises(ValueError, match=r"dev\.jsonl:1: no field 'sentence'"):
        read_nlvr2(path)


def test_marvl_qualifies_image_stems_by_language(tmp_path):
    path = tmp_path / "marvl-id.jsonl"
    write_jsonl(path, MARVL_ID)
    examples = read_marvl(path)
    assert [(e["id"], e["label"], e["left_image"], e["right_image"], e["language"])
            for e in examples] == [("id-0", "True", "id/39-0", "id/39-11", "id"),
                                   ("id-1", "False", "id/39-4", "id/39-8", "id")]
    assert examples[0]["sentence"] == MARVL_ID[0]["caption"]
    assert (examples[0]["concept"], examples[0]["chapter"]) == (
        "39-Panci", "Basic actions and technology")
    write_jsonl(path, [{k: v for k, v in MARVL_ID[0].items() if k != "right_img"}])
    with pytest.raises(ValueError, match=r"marvl-id\.jsonl:1: no field 'right_img'"):
        read_marvl(path)


# -- through load_examples with the registry's entries -----------------------------------------


def write_embeddings(path, ids, seed: int = 0) -> dict[str, np.ndarray]:
    """A parquet table of IMAGE_DIM-wide vectors (the `_images` layout), normalised."""
    vectors = np.random.default_rng(seed).normal(size=(len(ids), IMAGE_DIM))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"image_id": list(ids), "embedding": vectors.tolist()}), path)
    return {i: v / np.linalg.norm(v) for i, v in zip(ids, vectors, strict=True)}


def embeddings_file(root, task: str):
    return root / get_task(task).images.files


@pytest.fixture
def iglue(tmp_path):
    """IGLUE's layout under a data root, with each task's image embeddings."""
    xvnli = tmp_path / "iglue" / "XVNLI" / "annotations"
    write_jsonl(xvnli / "ar" / "test.jsonl", XVNLI_AR)
    write_jsonl(xvnli / "en" / "train.jsonl", SNLI_VE)
    write_jsonl(xvnli / "en" / "dev.jsonl", XVNLI_EN)
    write_jsonl(tmp_path / "iglue" / "nlvr2" / "annotations" / "dev.jsonl", NLVR2_DEV)
    write_jsonl(tmp_path / "iglue" / "marvl" / "zero_shot" / "annotations" / "marvl-id.jsonl",
                MARVL_ID)
    flickr = write_embeddings(embeddings_file(tmp_path, "xvnli"),
                              ["759822302", "2424111022", "1000092795"])
    nlvr2 = write_embeddings(embeddings_file(tmp_path, "nlvr2"),
                             [f"dev-850-{n}-img{k}" for n in (0, 2) for k in (0, 1)], seed=1)
    marvl = write_embeddings(embeddings_file(tmp_path, "marvl"),
                             ["id/39-0", "id/39-11", "id/39-4", "id/39-8"], seed=2)
    return {"source": "local", "path": str(tmp_path)}, flickr, nlvr2, marvl


def test_xvnli_and_snli_ve_share_flickr30k_images(iglue):
    data, flickr, _, _ = iglue
    assert get_task("xvnli").images == get_task("snli_ve").images == get_task(
        "flickr30k_lit").images
    arabic = load_examples(data, "xvnli", "test", "ar")
    assert [(e["id"], e["label"], e["image_id"]) for e in arabic] == [
        ("759822302.jpg#2r1c", "contradiction", "759822302")]
    assert arabic[0]["hypothesis"] == "يرتدي الجريدة على رأسه."
    np.testing.assert_allclose(arabic[0]["image"], flickr["759822302"], atol=1e-6)
    assert [e["image_id"] for e in load_examples(data, "snli_ve", "train", "en")] == [
        "1000092795"]
    dev = load_examples(data, "snli_ve", "dev", "en")
    assert [e["label"] for e in dev] == ["contradiction", "entailment"]
    scrambled = load_examples(data, "snli_ve_scrambled", "dev", "en")
    assert [e["id"] for e in scrambled] == [e["id"] for e in dev]
    assert not np.allclose(scrambled[0]["image"], dev[0]["image"])


def test_nlvr2_and_marvl_get_both_vectors_and_featurise(iglue):
    from trainables.model import load_tokenizer

    data, _, nlvr2, marvl = iglue
    family = get_family("vl_late_fusion")
    tokenizer = load_tokenizer(TINY_MODEL)
    for task, language, table in (("nlvr2", "en", nlvr2), ("marvl", "id", marvl)):
        examples = load_examples(data, task, "dev" if task == "nlvr2" else "test", language)
        assert [e["label"] for e in examples] == (["False", "True"] if task == "nlvr2"
                                                  else ["True", "False"])
        for example in examples:
            assert "image" not in example and len(example["images"]) == 2
            for vector, field in zip(example["images"], ("left_image", "right_image"),
                                     strict=True):
                np.testing.assert_allclose(vector, table[example[field]], atol=1e-6)
        features = family.featurize(get_task(task), examples, tokenizer, 32)
        assert features[0]["images"].shape == (2, IMAGE_DIM)
        assert [f["labels"] for f in features] == [get_task(task).labels.index(e["label"])
                                                   for e in examples]
    assert get_task("marvl").train_task == get_task("marvl").dev_task == "nlvr2"


def test_a_missing_image_names_the_examples_and_the_table(iglue, tmp_path):
    data, _, _, _ = iglue
    write_embeddings(embeddings_file(tmp_path, "marvl"), ["id/39-0", "id/39-11"], seed=2)
    from trainables import images

    images._read_table.cache_clear()  # the table above replaced the fixture's
    with pytest.raises(ValueError, match=r"marvl test id: 1 of 2 examples \(2 of 4 images\) "
                                         r"have no vector .*first missing: id/39-4, id/39-8"):
        load_examples(data, "marvl", "test", "id")
    images._read_table.cache_clear()
