"""Image-text tasks: English caption sets for vision-language intermediate training (with
their controls, `with_controls`) and IGLUE's multilingual retrieval as a target task.

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

IMAGE_ENCODER = "openai/clip-vit-large-patch14"  # LiT's frozen tower; its vectors are 768-d
IMAGE_DIM = 768
_KARPATHY_SPLITS = {"train": ("train", "restval"), "dev": ("val",), "test": ("test",)}


def _images(folder: str) -> ImageEmbeddings:
    return ImageEmbeddings(IMAGE_ENCODER, EmbeddingFormat.PARQUET,
                           f"{folder}/image_embeddings/{IMAGE_ENCODER.split('/')[-1]}.parquet",
                           dim=IMAGE_DIM)


def _karpathy(folder: str, file: str) -> LocalSource:
    """Karpathy's split file: every split in one JSON (train = train + restval)."""
    return LocalSource(FileFormat.KARPATHY_JSON, folder, dict.fromkeys(_KARPATHY_SPLITS, file),
                       split_values=_KARPATHY_SPLITS)


def _image_text(**kwargs) -> Task:
    return Task(family=Family.IMAGE_TEXT_CONTRASTIVE, text_fields=("caption",),
                label_field=None, metric="ir_r@1", scorer=Scorer.IGLUE_RECALL,
                max_length=128, **kwargs)  # Krasner et al.'s caption length


VISION_TASKS: tuple[Task, ...] = (
    # COCO captions, Karpathy's splits (113k training images, five captions each): LiT
    # against CLIP ViT-L/14's image vectors, and the controls on the same captions.
    *with_controls(_image_text(
        name="coco_lit", languages=("en",), roles=("intermediate",),
        local=_karpathy("coco", "dataset_coco.json"), images=_images("coco"),
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
        local=_karpathy("flickr30k", "dataset_flickr30k.json"), images=_images("flickr30k"),
    ),
    # IGLUE's xFlickr&CO: 2,000 test images (1,000 Flickr30k, 1,000 COCO) captioned in
    # eight languages; trained on English Flickr30k, selected on its dev split, tested
    # zero-shot in each language by text-to-image retrieval.
    _image_text(
        name="xflickrco", languages=lang.XFLICKRCO, roles=("target",),
        train_task="flickr30k_lit", dev_task="flickr30k_lit",
        local=LocalSource(FileFormat.IGLUE_CAPTIONS, "iglue/xFlickrCO",
                          {"test": "annotations/{code}/test.jsonl"}),
        images=_images("iglue/xFlickrCO"),
    ),
)
