"""Readers for the vision-language datasets' text files (captions, visual entailment, image
pairs), in their original formats: the examples name their images by the ids the tasks'
image embeddings are keyed by (`trainables.images`). `trainables.readers` registers them."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from trainables.jsonl import read_jsonl

# -- image captions (the image_text_contrastive family) ---------------------------------------
# Every reader below returns one example per caption: {id, caption, image_id}, the image id
# being what the task's image embeddings are keyed by (`trainables.images`).


def read_karpathy_json(path: Path) -> list[dict]:
    """Karpathy's split file (`dataset_coco.json`, `dataset_flickr30k.json`: every split in
    one file) -> {id, caption, image_id, split} per sentence: the sentence's `sentid`, its
    `raw` text stripped, the image's `cocoid` (COCO) or its file name's stem (Flickr30k's
    `1000092795.jpg` -> `1000092795`), and the image's split (train, restval, val, test)."""
    try:
        images = json.loads(path.read_text(encoding="utf-8"))["images"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not Karpathy's split JSON ({error!r}); expected "
                         '{"images": [...], "dataset": ...}') from error
    examples = []
    for index, image in enumerate(images):
        try:
            image_id = (str(image["cocoid"]) if "cocoid" in image
                        else PurePosixPath(image["filename"]).stem)
            examples += [{"id": str(sentence["sentid"]), "caption": sentence["raw"].strip(),
                          "image_id": image_id, "split": image["split"]}
                         for sentence in image["sentences"]]
        except (KeyError, TypeError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}: image {index}: {problem}; expected Karpathy's "
                             "{filename, split, sentences: [{raw, sentid}]}") from error
    return examples


def read_iglue_captions(path: Path) -> list[dict]:
    """IGLUE's retrieval annotations (xFlickr&CO's `annotations/<lang>/test.jsonl` and
    `train_<n>.jsonl`, Flickr30k's `*_ann.jsonl`): one JSON object per image,
    {sentences: [caption, ...], id, img_path} -> {id: `<image id>#<i>`, caption, image_id}
    per sentence.

    The image id is `img_path`'s file stem: `1007129816` for Flickr's `1007129816.jpg`,
    `COCO_val2014_000000391895` for COCO's. IGLUE keys xFlickr&CO's image features by
    `img_path` too; `id` is not used: it is a string for Flickr images and COCO's bare
    number (an int) for COCO images, which can collide with a Flickr photo id.
    """
    records = read_jsonl(path)  # names a line that is not a JSON object
    # read_jsonl skips blank lines: each record's line number, for the messages below
    numbers = [number for number, line in enumerate(path.open(encoding="utf-8"), 1)
               if line.strip()]
    examples = []
    for number, record in zip(numbers, records, strict=True):
        try:
            image_id = PurePosixPath(record["img_path"]).stem
            sentences = record["sentences"]
            if not isinstance(sentences, list) or not image_id:
                raise TypeError("sentences must be a list of captions and img_path a file name")
            examples += [{"id": f"{image_id}#{index}", "caption": sentence.strip(),
                          "image_id": image_id} for index, sentence in enumerate(sentences)]
        except (KeyError, TypeError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise ValueError(f"{path}:{number}: {problem}; expected IGLUE's "
                             "{sentences: [...], id, img_path}") from error
    return examples


# -- visual entailment and visual reasoning (the vl_late_fusion family) -------------------------
# One example per line, with the ids of its images (`Task.image_fields`) as the task's image
# embeddings key them: each image's file stem, qualified by the language where images of
# several languages share stems (MaRVL's).


def _numbered(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) of each JSON object of a JSONL file (read_jsonl's checks)."""
    records = read_jsonl(path)
    numbers = [number for number, line in enumerate(path.open(encoding="utf-8"), 1)
               if line.strip()]
    return list(zip(numbers, records, strict=True))


def read_snli_ve(path: Path) -> list[dict]:
    """SNLI-VE's `snli_ve_<split>.jsonl` and IGLUE's XVNLI `annotations/<lang>/<split>.jsonl`:
    {gold_label, sentence1, sentence2, captionID, pairID, Flikr30kID} (the spelling
    `Flikr30kID` is the files' own) -> {id: pairID, hypothesis: sentence2, premise: sentence1
    (the Flickr30k caption the hypothesis was written for; the image is the premise), label,
    image_id, caption_id}.

    The image id is Flikr30kID's file stem: `759822302` for SNLI-VE's `759822302.jpg` and for
    XVNLI's `759822302`, as Flickr30k's file names and Karpathy's split say it. Pairs whose
    gold label is `-` (no majority; 14 of each XVNLI test set's 1,164) are dropped: they have
    no label to learn or score (IGLUE's volta counts them wrong for every model, so its
    accuracy is ours times 1,150 / 1,164 on XVNLI's test sets).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            label = record["gold_label"]
            image_id = PurePosixPath(str(record["Flikr30kID"])).stem
            example = {"id": str(record["pairID"]), "hypothesis": record["sentence2"].strip(),
                       "premise": record["sentence1"].strip(), "label": label,
                       "image_id": image_id, "caption_id": str(record["captionID"])}
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected SNLI-VE's {{gold_label, "
                             "sentence1, sentence2, captionID, pairID, Flikr30kID}") from error
        if not image_id:
            raise ValueError(f"{path}:{number}: an empty Flikr30kID")
        if label != "-":
            examples.append(example)
    return examples


_NLVR2_LABELS = {"True": "True", "False": "False", True: "True", False: "False"}


def _nlvr2_label(value, path: Path, number: int) -> str:
    try:
        return _NLVR2_LABELS[value]
    except (KeyError, TypeError):
        raise ValueError(f"{path}:{number}: label {value!r}; allowed: True, False") from None


def read_nlvr2(path: Path) -> list[dict]:
    """NLVR2's `{train,dev,test1}.json` (JSON lines; IGLUE ships them as
    `nlvr2/annotations/{train,dev,test}.jsonl`): {sentence, label "True"/"False", identifier,
    left_url, right_url, writer, synset, query, validation, extra_validations} -> {id:
    identifier, sentence, label ("True"/"False"), left_image, right_image}.

    The image ids are the stems of NLVR2's image files, which the identifier names: pair
    `dev-850-0-0` (sentence 0 of image pair `dev-850-0`) shows `dev-850-0-img0.png` on the
    left and `dev-850-0-img1.png` on the right (as volta's NLVR2 loader keys its features).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            identifier = str(record["identifier"])
            pair = identifier.rsplit("-", 1)[0]
            if pair == identifier:
                raise ValueError(f"{path}:{number}: identifier {identifier!r} is not "
                                 "<split>-<set>-<pair>-<sentence>")
            examples.append({"id": identifier, "sentence": record["sentence"].strip(),
                             "label": _nlvr2_label(record["label"], path, number),
                             "left_image": f"{pair}-img0", "right_image": f"{pair}-img1"})
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected NLVR2's {{sentence, label, "
                             "identifier, ...}") from error
    return examples


def read_marvl(path: Path) -> list[dict]:
    """MaRVL's `marvl-<lang>.jsonl` (IGLUE's `marvl/zero_shot/annotations/`): {concept,
    language, caption, left_img, right_img, annotator_info, chapter, id, label: bool} ->
    {id, sentence: caption, label ("True"/"False"), left_image, right_image, language,
    concept, chapter}.

    Image ids are `<language>/<file stem>` (`id/39-0` for Indonesian's `39-0.jpg`): MaRVL
    numbers each language's concepts on its own, so the same file names hold other pictures
    in another language (IGLUE extracts features per language, keyed by the stem).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            language = str(record["language"])
            images = [f"{language}/{PurePosixPath(str(record[side])).stem}"
                      for side in ("left_img", "right_img")]
            examples.append({"id": str(record["id"]), "sentence": record["caption"].strip(),
                             "label": _nlvr2_label(record["label"], path, number),
                             "left_image": images[0], "right_image": images[1],
                             "language": language, "concept": record.get("concept"),
                             "chapter": record.get("chapter")})
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected MaRVL's {{caption, "
                             "language, left_img, right_img, id, label, ...}") from error
    return examples


VISION_READERS = {"karpathy_json": read_karpathy_json, "iglue_captions": read_iglue_captions,
                  "snli_ve": read_snli_ve, "nlvr2": read_nlvr2, "marvl": read_marvl}
