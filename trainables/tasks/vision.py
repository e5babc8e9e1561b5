"""Image-text tasks: English caption sets for vision-language intermediate training (with
their controls, `with_controls`) and IGLUE's multilingual retrieval as a target task; and
late-fusion classification (`vl_late_fusion`): SNLI-VE and NLVR2 as English intermediate
tasks and the training data of IGLUE's XVNLI and MaRVL, tested zero-shot in each language.

The image side is frozen precomputed vectors of one image encoder (`ImageEmbeddings`), in
`<data.path>/<folder>/image_embeddings/<encoder>.parquet` (columns `image_id`, `embedding`):
COCO and Flickr30k publish no vectors that were checked against their image ids, so they are
computed once with that encoder (the precompute stage) or supplied by the user. Every task
of one comparison must use the same encoder: `check_registry` checks a task's training and
dev sources do.
"""

from __future__ import annotations

from trainables.tasks import languages as lang
from trainables.tasks.schema import (
    EmbeddingFormat,
    Family,
    FileFormat,
    HubSource,
    ImageEmbeddings,
    LocalSource,
    Scorer,
    Task,
    with_controls,
)
from trainables.tasks.synthetic import NLI_LABELS, REASONING_LABELS

IMAGE_ENCODER = "openai/clip-vit-large-patch14"  # LiT's frozen tower; its vectors are 768-d
IMAGE_DIM = 768
_KARPATHY_SPLITS = {"train": ("train", "restval"), "dev": ("val",), "test": ("test",)}


def _images(folder: str, **kwargs) -> ImageEmbeddings:
    """The vectors of `folder`'s images, `<folder>/image_embeddings/<encoder>.parquet`, or
    made by a precompute stage from the images in `<folder>/images/`."""
    return ImageEmbeddings(IMAGE_ENCODER, EmbeddingFormat.PARQUET,
                           f"{folder}/image_embeddings/{IMAGE_ENCODER.split('/')[-1]}.parquet",
                           dim=IMAGE_DIM, image_folder=f"{folder}/images", **kwargs)


def _karpathy(folder: str, file: str) -> LocalSource:
    """Karpathy's split file: every split in one JSON (train = train + restval)."""
    return LocalSource(FileFormat.KARPATHY_JSON, folder, dict.fromkeys(_KARPATHY_SPLITS, file),
                       split_values=_KARPATHY_SPLITS)


def _image_text(**kwargs) -> Task:
    return Task(family=Family.IMAGE_TEXT_CONTRASTIVE, text_fields=("caption",),
                label_field=None, metric="ir_r@1", scorer=Scorer.IGLUE_RECALL,
                max_length=128, **kwargs)  # Krasner et al.'s caption length


def _late_fusion(**kwargs) -> Task:
    return Task(family=Family.VL_LATE_FUSION, metric="accuracy", scorer=Scorer.ACCURACY,
                max_length=128, **kwargs)  # IGLUE's volta: 80 tokens of text


def _visual_entailment(**kwargs) -> Task:
    """SNLI-VE style: a Flickr30k image premise, a text hypothesis, NLI's three labels. The
    images are Flickr30k's, keyed like flickr30k_lit's (file stems): one precompute serves
    both."""
    return _late_fusion(text_fields=("hypothesis",), labels=NLI_LABELS,
                        images=_images("flickr30k"), **kwargs)


_TWO_IMAGES = ("left_image", "right_image")


VISION_TASKS: tuple[Task, ...] = (
    # COCO captions, Karpathy's splits (113k training images, five captions each): LiT
    # against CLIP ViT-L/14's image vectors, and the controls on the same captions.
    *with_controls(_image_text(
        name="coco_lit", languages=("en",), roles=("intermediate",),
        train_examples=113_287 * 5,  # a few images have more than five [approximate]
        local=_karpathy("coco", "dataset_coco.json"),
        # Captions name images by COCO id; files by COCO_<split>2014_<12-digit id>.jpg.
        images=_images("coco", id_pattern=r"(?:COCO_[a-z]+2014_)?0*(\d+)"),
        # The hub's parquet copy of the Karpathy file (one row per image).
        hub=HubSource("yerevann/coco-karpathy",
                      splits={"train": ("train", "restval"), "dev": "validation",
                              "test": "test"},
                      columns={"id": "sentids", "caption": "sentences", "image_id": "cocoid"},
                      explode=("sentences", "sentids")),
    )),
    # Flickr30k, Karpathy's splits (29k training images): xFlickr&CO's English training and
    # dev data, and an intermediate task of its own.
    _image_text(
        name="flickr30k_lit", languages=("en",), roles=("intermediate",),
        train_examples=29_000 * 5,
        local=_karpathy("flickr30k", "dataset_flickr30k.json"), images=_images("flickr30k"),
    ),
    # IGLUE's xFlickr&CO: 2,000 test images (1,000 Flickr30k, 1,000 COCO) captioned in
    # eight languages; trained on English Flickr30k, selected on its dev split, tested
    # zero-shot in each language by text-to-image retrieval.
    _image_text(
        name="xflickrco", languages=lang.XFLICKRCO, roles=("target",),
        train_task="flickr30k_lit", dev_task="flickr30k_lit",
        eval_examples=2_000,  # a caption an image [approximate, unverified]
        local=LocalSource(FileFormat.IGLUE_CAPTIONS, "iglue/xFlickrCO",
                          {"test": "annotations/{code}/test.jsonl"}),
        images=_images("iglue/xFlickrCO"),
    ),
    # SNLI-VE (Xie et al. 2019) as IGLUE re-splits it for XVNLI: `annotations/en/train.jsonl`
    # (shipped as train.jsonl.zip: unzip it) and dev.jsonl, with the XVNLI test images left
    # out of both. An intermediate task, with its controls.
    *with_controls(_visual_entailment(
        name="snli_ve", languages=("en",), roles=("intermediate",),
        # SNLI-VE's train; IGLUE's re-split, without XVNLI's images, is a little smaller.
        train_examples=529_527,
        local=LocalSource(FileFormat.SNLI_VE, "iglue/XVNLI", {
            "train": "annotations/en/train.jsonl", "dev": "annotations/en/dev.jsonl"}),
    )),
    # IGLUE's XVNLI: 1,164 pairs (357 images) per language, 1,150 with a gold label;
    # trained and selected on SNLI-VE's English, tested zero-shot.
    _visual_entailment(
        name="xvnli", languages=lang.XVNLI, roles=("target",),
        train_task="snli_ve", dev_task="snli_ve", eval_examples=1_164,
        local=LocalSource(FileFormat.SNLI_VE, "iglue/XVNLI",
                          {"test": "annotations/{code}/test.jsonl"}),
    ),
    # NLVR2 (Suhr et al. 2019): two photographs and an English sentence, true or false; IGLUE
    # ships the annotations as `nlvr2/annotations/{train,dev,test}.jsonl` (test: NLVR2's
    # test1). Image ids are NLVR2's file stems (`dev-850-0-img0`); an intermediate task.
    _late_fusion(
        name="nlvr2", languages=("en",), roles=("intermediate",), text_fields=("sentence",),
        labels=REASONING_LABELS, image_fields=_TWO_IMAGES, images=_images("iglue/nlvr2"),
        train_examples=86_373,
        local=LocalSource(FileFormat.NLVR2, "iglue/nlvr2", {
            "train": "annotations/train.jsonl", "dev": "annotations/dev.jsonl",
            "test": "annotations/test.jsonl"}),
    ),
    # IGLUE's MaRVL: NLVR2-style statements written in five languages about pictures of
    # their own cultures; trained and selected on NLVR2's English (IGLUE's "en" column is
    # NLVR2's test, nlvr2's own test split). Image ids `<language>/<file stem>`.
    _late_fusion(
        name="marvl", languages=lang.MARVL, roles=("target",), text_fields=("sentence",),
        labels=REASONING_LABELS, image_fields=_TWO_IMAGES,
        images=_images("iglue/marvl", image_ids="path"),
        train_task="nlvr2", dev_task="nlvr2",
        eval_examples=1_100,  # 5,670 statements over five languages [approximate, unverified]
        local=LocalSource(FileFormat.MARVL, "iglue/marvl",
                          {"test": "zero_shot/annotations/marvl-{code}.jsonl"}),
    ),
)
