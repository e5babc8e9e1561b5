"""Vision-language classification by late fusion: a label from a sentence and one or two
frozen image vectors (SNLI-VE's and XVNLI's visual entailment: an image premise and a text
hypothesis, three labels; NLVR2's and MaRVL's visual reasoning: a sentence about two images,
true or false).

The text side is the shared encoder, mean-pooled at the task's `pool_layer` (as the
image-text family pools) and projected to the image vectors' size (`task.images.dim`). The
image side is the task's precomputed vectors (`trainables.images` joins them to the examples
by `Task.image_fields`, or a control's stand-ins; the text-only control gets zero vectors,
so its head is the same but sees no image). Text vector t and each image vector v are
L2-normalised and scaled by sqrt(dim), so that their components are about unit size whatever
the encoder; each image gives [t; v; t * v; |t - v|] (InferSent's matching features), the
images' features are concatenated in field order (left, then right), and an MLP (dropout,
Linear to the encoder's hidden size, GELU, dropout, Linear to the labels) gives the logits.

Batches carry the vectors as `images` (batch, images, dim), a model input the training loop
and evaluation (`Family.predict_logits`) pass to `forward` by name. Predictions, references
and scores are classification's: the label of the highest logit, accuracy. Only the encoder
goes downstream, as with every head.
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
    Feature,
    label_index,
    mean_pool,
    pad_sequences,
)
from trainables.families.classification import ClassificationFamily
from trainables.tasks import ImageControl, Task

FUSED_PER_IMAGE = 4  # t, v, t * v, |t - v|


class LateFusionHead(nn.Module):
    """Mean pooling at `layer`, a projection to the image size, the matching features of the
    text against each of `images` image vectors, and a two-layer MLP to the labels."""

    def __init__(self, hidden_size: int, dim: int, images: int, num_labels: int,
                 dropout: float, layer: int = -1) -> None:
        super().__init__()
        self.projection = nn.Linear(hidden_size, dim)
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(FUSED_PER_IMAGE * dim * images, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)
        self.dim, self.images, self.layer = dim, images, layer

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor,
                images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 3 or images.shape[1:] != (self.images, self.dim):
            raise ValueError(f"late fusion: images of shape {tuple(images.shape)}; expected "
                             f"(batch, {self.images}, {self.dim})")
        pooled = mean_pool(hidden_states, attention_mask)
        scale = math.sqrt(self.dim)
        text = nn.functional.normalize(self.projection(pooled), dim=-1) * scale
        # Zero vectors (the text-only control) stay zero.
        vision = nn.functional.normalize(images.to(text.dtype), dim=-1) * scale
        text = text.unsqueeze(1).expand_as(vision)
        fused = torch.cat([text, vision, text * vision, (text - vision).abs()], dim=-1)
        hidden = nn.functional.gelu(self.dense(self.dropout(fused.flatten(1))))
        return self.out_proj(self.dropout(hidden))


def example_vectors(task: Task, example: dict) -> np.ndarray:
    """(images, dim) float32: the example's image vectors in `task.image_fields` order, as
    `trainables.images.attach_images` joined them; zeros in the text-only control."""
    dim, count = task.images.dim, len(task.image_fields)
    if task.image_control is ImageControl.TEXT_ONLY:
        return np.zeros((count, dim), dtype=np.float32)
    vectors = example["images"] if count > 1 else [example["image"]]
    array = np.asarray(vectors, dtype=np.float32)
    if array.shape != (count, dim):
        raise ValueError(f"task {task.name!r}: example {example.get('id', '?')!r} has image "
                         f"vectors of shape {array.shape}; its task declares {count} of {dim}")
    return array


class LateFusionFamily(ClassificationFamily):
    name = "vl_late_fusion"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        """One feature per example: its text (one field, or a pair) tokenised, its image
        vectors, its label index."""
        columns = [[example[name] for example in examples] for name in task.text_fields]
        encoded = tokenizer(*columns, truncation=True, max_length=max_length)
        return [{"input_ids": ids, "images": example_vectors(task, example),
                 "labels": label_index(task, example[task.label_field]), "example_index": index}
                for index, (ids, example) in enumerate(zip(encoded["input_ids"], examples,
                                                           strict=True))]

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        raise TypeError("a late-fusion head needs its task's image size: use head_for")

    def head_for(self, task: Task, hidden_size: int, dropout: float) -> nn.Module:
        return LateFusionHead(hidden_size, task.images.dim, len(task.image_fields),
                              task.num_labels, dropout, task.pool_layer)

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        """Padded `input_ids` and `attention_mask`, `images` (batch, images, dim) float32 and
        `labels`."""
        input_ids, attention_mask = pad_sequences([f["input_ids"] for f in features],
                                                  pad_token_id)
        images = torch.from_numpy(np.stack([f["images"] for f in features]))
        labels = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "images": images,
                "labels": labels}

    def forward(self, encode: Encode, head: nn.Module, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, images: torch.Tensor | None = None,
                ) -> torch.Tensor:
        if images is None:
            raise ValueError("late fusion: the batch has no images (collate gives them)")
        return head(encode(input_ids, attention_mask, layer=head.layer), attention_mask, images)
