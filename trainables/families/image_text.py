"""Image-text contrastive alignment (LiT: a text tower learns to read out a frozen image
tower), and text-to-image retrieval scored as IGLUE scores it.

The text tower is the shared encoder, mean-pooled at the task's `pool_layer`, projected to
the image vectors' size and L2-normalised. The image side is the task's frozen precomputed
vectors (`trainables.images` joins them to the captions, or a control's stand-ins). The loss
is CLIP's symmetric InfoNCE with a learnable temperature over the batch; two captions of the
same image are not each other's negatives (their off-diagonal logits are masked), and with
several workers each rank scores the whole global batch (`Task.gather_negatives`). In the
text-only control the positive of a caption is another caption of its image, through the
same projection. Only the encoder goes downstream, as with every head.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from trainables.families.base import (
    Encode,
    ExampleRecord,
    Family,
    Feature,
    SplitContext,
    collate_choices,
    embed_token_ids,
    example_record,
    mean_pool,
    pad_sequences,
)
from trainables.metrics import (
    RECALL_KS,
    caption_ranks,
    image_ranks,
    recall_at,
    recall_from_rankings,
)
from trainables.tasks import ImageControl, Task

KEPT_RANKING = max(RECALL_KS)  # image ids kept per caption: enough for every recall
MAX_LOGIT_SCALE = 100.0  # CLIP clamps exp(logit_scale) at 100
SCORE_BLOCK = 1024  # captions (or images) scored at a time in evaluation


class ProjectionHead(nn.Module):
    """Mean pooling at `layer`, a linear map to the image space, L2 normalisation; and the
    learnable log inverse temperature (CLIP's initial 1 / 0.07)."""

    def __init__(self, hidden_size: int, dim: int, layer: int, gather: bool) -> None:
        super().__init__()
        self.projection = nn.Linear(hidden_size, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.layer = layer
        self.gather = gather

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(hidden_states, attention_mask)
        return nn.functional.normalize(self.projection(pooled), p=2, dim=-1)


def pair_keys(examples: Sequence[dict]) -> dict[str, int]:
    """Image id -> a key shared by every rank (the ids' sorted order), so that masks agree."""
    return {image: key for key, image in enumerate(sorted({e["image_id"] for e in examples}))}


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's rows, in rank order, with gradients flowing back to each rank's own
    (ranks may hold one row more than others: a global batch split by rank)."""
    import torch.distributed as dist
    from torch.distributed.nn.functional import all_gather

    sizes = [torch.zeros(1, dtype=torch.long, device=tensor.device)
             for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([len(tensor)], device=tensor.device))
    longest = int(max(size.item() for size in sizes))
    padding = tensor.new_zeros((longest - len(tensor), *tensor.shape[1:]))
    gathered = all_gather(torch.cat([tensor, padding]))
    return torch.cat([rows[: int(size.item())] for rows, size in zip(gathered, sizes,
                                                                       strict=True)])


def _distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class ImageTextFamily(Family):
    name = "image_text_contrastive"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        """One feature per caption: its ids and its image's vector, or (text-only) its ids
        and those of the next caption of its image; a caption alone with its image has no
        partner and no feature in the text-only control."""
        ids = tokenizer([example["caption"] for example in examples], truncation=True,
                        max_length=max_length)["input_ids"]
        keys = pair_keys(examples)
        if task.image_control is not ImageControl.TEXT_ONLY:
            dim = task.images.dim
            features = []
            for index, (example, caption) in enumerate(zip(examples, ids, strict=True)):
                if len(example["image"]) != dim:
                    raise ValueError(f"task {task.name!r}: image {example['image_id']!r} has "
                                     f"{len(example['image'])} dimensions; its images "
                                     f"declare {dim}")
                features.append({"input_ids": caption, "image": example["image"],
                                 "image_key": keys[example["image_id"]],
                                 "example_index": index})
            return features
        captions: dict[str, list[int]] = {}
        for index, example in enumerate(examples):
            captions.setdefault(example["image_id"], []).append(index)
        features = []
        for index, example in enumerate(examples):
            same = captions[example["image_id"]]
            if len(same) > 1:
                partner = same[(same.index(index) + 1) % len(same)]
                features.append({"input_ids": [ids[index], ids[partner]],
                                 "image_key": keys[example["image_id"]],
                                 "example_index": index})
        return features

    def head_for(self, task: Task, hidden_size: int, dropout: float) -> nn.Module:
        return ProjectionHead(hidden_size, task.images.dim, task.pool_layer,
                              task.gather_negatives)

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        """Captions (batch, length) with `images` (batch, dim), or caption pairs (batch, 2,
        length); `image_keys` mark captions of one image; caption i's positive is column i."""
        keys = torch.tensor([f["image_key"] for f in features], dtype=torch.long)
        labels = torch.arange(len(features), dtype=torch.long)
        if "image" not in features[0]:
            return {**collate_choices(features, pad_token_id), "image_keys": keys,
                    "labels": labels}
        input_ids, attention_mask = pad_sequences([f["input_ids"] for f in features],
                                                  pad_token_id)
        images = torch.from_numpy(np.stack([f["image"] for f in features]).astype(np.float32))
        return {"input_ids": input_ids, "attention_mask": attention_mask, "images": images,
                "image_keys": keys, "labels": labels}

    def forward(self, encode: Encode, head: nn.Module, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, images: torch.Tensor | None = None,
                image_keys: torch.Tensor | None = None) -> torch.Tensor:
        """Captions alone -> their unit vectors (batch, dim); a training batch -> the logits
        of every caption against every positive of the (global) batch, the other captions
        of its own image masked out."""
        def embed(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            longest = int(mask.sum(1).max())
            return head(encode(ids[:, :longest], mask[:, :longest], layer=head.layer),
                        mask[:, :longest])

        if input_ids.dim() == 2 and images is None:
            return embed(input_ids, attention_mask)
        if input_ids.dim() == 3:  # text only: the partner caption stands for the image
            texts = embed(input_ids[:, 0], attention_mask[:, 0])
            positives = embed(input_ids[:, 1], attention_mask[:, 1])
        else:
            texts, positives = embed(input_ids, attention_mask), images.to(torch.float32)
        if head.gather and _distributed():
            texts, positives, image_keys = (_gather(texts), _gather(positives),
                                            _gather(image_keys))
        scale = head.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)
        logits = texts @ positives.T * scale
        same_image = image_keys[:, None] == image_keys[None, :]
        same_image.fill_diagonal_(False)
        return logits.masked_fill(same_image, float("-inf"))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE: captions to positives and back; row i's target is column i
        (over the global batch where negatives are gathered)."""
        targets = torch.arange(len(logits), device=logits.device)
        return (nn.functional.cross_entropy(logits, targets)
                + nn.functional.cross_entropy(logits.T, targets)) / 2

    def references(self, task: Task, examples: Sequence[dict]) -> list[Any]:
        return [example["image_id"] for example in examples]

    def score(self, task: Task, predictions: Sequence[Any], references: Sequence[Any],
              language: str) -> dict:
        """Image-retrieval recall from kept rankings (each caption's first ten image ids);
        text retrieval needs the scores of every caption (`evaluate_split`)."""
        return recall_from_rankings(predictions, references)

    def score_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                    features: Sequence[Feature], context: SplitContext) -> dict:
        return self.evaluate_split(model, task, examples, features, context)[0]

    def evaluate_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                       features: Sequence[Feature], context: SplitContext,
                       ) -> tuple[dict, list[ExampleRecord]]:
        """IR and TR recall@1/5/10 of every caption of the split against the split's images
        (text-only: against the first caption of each image, the others as queries); each
        caption's record holds its first ten images and its IR hit at 1."""
        if not examples:
            raise ValueError(f"task {task.name!r}: no captions in {context.language!r}")
        queries, pool = _queries_and_pool(task, examples)
        if not queries:
            raise ValueError(f"task {task.name!r}: no image in {context.language!r} has a "
                             "second caption to query with (text-only control)")
        image_ids = sorted(pool)
        column = {image: position for position, image in enumerate(image_ids)}
        texts = _embed_captions(model, task, [examples[i]["caption"] for i in queries],
                                context)
        if task.image_control is ImageControl.TEXT_ONLY:
            candidates = _embed_captions(
                model, task, [examples[pool[image]]["caption"] for image in image_ids], context)
        else:
            candidates = np.stack([examples[pool[image]]["image"] for image in image_ids]
                                  ).astype(np.float32)
        gold = np.array([column[examples[i]["image_id"]] for i in queries])
        ir_ranks, rankings = [], []
        for start in range(0, len(queries), SCORE_BLOCK):
            scores = texts[start : start + SCORE_BLOCK] @ candidates.T
            ir_ranks.append(image_ranks(scores, gold[start : start + SCORE_BLOCK]))
            top = np.argsort(-scores, axis=1, kind="stable")[:, :KEPT_RANKING]
            rankings += [[image_ids[position] for position in row] for row in top]
        tr_ranks = [caption_ranks(texts @ candidates[start : start + SCORE_BLOCK].T, gold,
                                  range(start, min(start + SCORE_BLOCK, len(image_ids))))
                    for start in range(0, len(image_ids), SCORE_BLOCK)]
        ir_ranks = np.concatenate(ir_ranks)
        metrics = {**recall_at(ir_ranks, "ir"), **recall_at(np.concatenate(tr_ranks), "tr")}
        records = [example_record(examples[i], i, ranking, examples[i]["image_id"],
                                  100.0 * float(rank < 1))
                   for i, ranking, rank in zip(queries, rankings, ir_ranks, strict=True)]
        return metrics, records


def _queries_and_pool(task: Task, examples: Sequence[dict]) -> tuple[list[int], dict[str, int]]:
    """The query captions (indices) and each image's candidate: its vector's first caption;
    in the text-only control that caption is the candidate and only the others query."""
    first: dict[str, int] = {}
    for index, example in enumerate(examples):
        first.setdefault(example["image_id"], index)
    if task.image_control is not ImageControl.TEXT_ONLY:
        return list(range(len(examples))), first
    queries = [index for index, example in enumerate(examples)
               if first[example["image_id"]] != index]
    asked = {examples[index]["image_id"] for index in queries}
    return queries, {image: index for image, index in first.items() if image in asked}


def _embed_captions(model: nn.Module, task: Task, captions: Sequence[str],
                    context: SplitContext) -> np.ndarray:
    """Unit vectors (float32) of captions through the task's text tower, in order."""
    ids = context.tokenizer(list(captions), truncation=True,
                            max_length=context.max_length)["input_ids"]
    return embed_token_ids(model, task, ids, context)
