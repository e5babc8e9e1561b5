"""What every trainable family provides, and the batching they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainables.tasks import Task

Feature = dict[str, Any]
# One example's outcome in an evaluation: its id, the prediction and the gold answer in the
# task's own terms (label names, tag names, answer texts, candidate ids), and its share of
# the task's headline: over any set of examples, the headline is sum(score) / sum(weight).
ExampleRecord = dict[str, Any]
# The shared encoder: (input_ids, attention_mask[, layer]) -> hidden states (batch, seq,
# hidden) after `layer` layers, by default the last.
Encode = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class SplitContext:
    """What scoring one task split needs besides the model and the features. `cache` is a
    directory where a checkpoint's work shared by several evaluations may be kept (the
    candidate pool of a retrieval task); None during training, where the model changes."""

    tokenizer: Any
    max_length: int
    batch_size: int
    device: torch.device
    language: str
    cache: Path | None = None


class Family:
    """Featurise examples, build a head over encoder states, score predictions."""

    name: str = ""

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        """Turn examples into features with `input_ids`, `labels` and `example_index`."""
        raise NotImplementedError

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        """A fresh head that maps encoder states (batch, seq, hidden) to logits."""
        raise NotImplementedError

    def head_for(self, task: Task, hidden_size: int, dropout: float) -> nn.Module:
        """The head of `task` (by default sized by its label count)."""
        return self.make_head(hidden_size, task.num_labels, dropout)

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        """A padded batch: `input_ids`, `attention_mask` and `labels` tensors, and any other
        model inputs the family's `forward` takes by name."""
        return collate(features, pad_token_id)

    def forward(self, encode: Encode, head: nn.Module, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, **inputs: torch.Tensor) -> torch.Tensor:
        """The logits of a batch: the head over the encoder's states."""
        return head(encode(input_ids, attention_mask))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
        )

    def predictions(
        self, task: Task, examples: Sequence[dict], features: Sequence[Feature],
        logits: Sequence[torch.Tensor],
    ) -> list[Any]:
        """One prediction per example, from the logits of its features."""
        raise NotImplementedError

    def references(self, task: Task, examples: Sequence[dict]) -> list[Any]:
        """The gold answer of each example, in the form `predictions` returns."""
        raise NotImplementedError

    def score(self, task: Task, predictions: Sequence[Any], references: Sequence[Any],
              language: str) -> dict:
        """Metric name -> value; the task's `metric` key is the one model selection uses.
        `language` picks language-specific scoring (MLQA's answer normalisation)."""
        raise NotImplementedError

    def readable(self, task: Task, value: Any) -> Any:
        """A prediction or reference as the task's files write it (a label's name)."""
        return value

    def example_records(self, task: Task, examples: Sequence[dict], predictions: Sequence[Any],
                        references: Sequence[Any], language: str) -> list[ExampleRecord]:
        """Each example's record; its score is its headline scored alone (every metric of
        these families is a mean over examples), its weight 1."""
        return [example_record(example, index, self.readable(task, predicted),
                               self.readable(task, gold),
                               task.headline(self.score(task, [predicted], [gold], language)))
                for index, (example, predicted, gold)
                in enumerate(zip(examples, predictions, references, strict=True))]

    def predict_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                      features: Sequence[Feature], context: SplitContext) -> list[Any]:
        """One prediction per example, from the logits of every feature."""
        logits = self.predict_logits(model, task, features, context)
        return self.predictions(task, examples, features, logits)

    def score_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                    features: Sequence[Feature], context: SplitContext) -> dict:
        """The metrics of `model` on one split (training's dev evaluations)."""
        predictions = self.predict_split(model, task, examples, features, context)
        return self.score(task, predictions, self.references(task, examples), context.language)

    def evaluate_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                       features: Sequence[Feature], context: SplitContext,
                       ) -> tuple[dict, list[ExampleRecord]]:
        """The metrics of `model` on one split and every example's record (evaluations)."""
        predictions = self.predict_split(model, task, examples, features, context)
        references = self.references(task, examples)
        return (self.score(task, predictions, references, context.language),
                self.example_records(task, examples, predictions, references, context.language))

    @torch.no_grad()
    def predict_logits(self, model: nn.Module, task: Task, features: Sequence[Feature],
                       context: SplitContext) -> list[torch.Tensor]:
        """Logits of every feature, in order, one tensor per feature; the batches' other
        model inputs (image vectors) passed along, as in training."""
        model.eval()
        logits = []
        for start in range(0, len(features), context.batch_size):
            batch = self.collate(features[start : start + context.batch_size],
                                 context.tokenizer.pad_token_id)
            inputs = {key: value.to(context.device) for key, value in batch.items()
                      if key != "labels"}
            out = model(task.name, inputs.pop("input_ids"), inputs.pop("attention_mask"),
                        **inputs)
            logits += list(out.float().cpu())
        return logits


def example_record(example: dict, index: int, prediction: Any, gold: Any, score: float,
                   weight: float = 1.0) -> ExampleRecord:
    """An example's record, identified by its `id`, else its position in the split (the
    same in every evaluation of that split, so systems pair up)."""
    return {"example_id": str(example.get("id", index)), "prediction": prediction,
            "gold": gold, "score": float(score), "weight": float(weight)}


def label_index(task: Task, value: Any) -> int:
    """A label given as an index or a name -> its index in `task.labels`."""
    if not isinstance(value, str):
        return int(value)
    try:
        return task.label_ids[value]
    except KeyError:
        raise ValueError(f"task {task.name!r}: label {value!r} is not one of its "
                         f"{task.num_labels} labels") from None


def collate(features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch of features to its longest member."""
    input_ids, attention_mask = pad_sequences([f["input_ids"] for f in features], pad_token_id)
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    labels = [f["labels"] for f in features]
    if isinstance(labels[0], list):  # a label per token: padding positions are ignored
        batch["labels"] = pad_sequences(labels, -100, input_ids.shape[1])[0]
    else:
        batch["labels"] = torch.tensor(labels, dtype=torch.long)
    return batch


def collate_choices(features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
    """(batch, choices, length) ids from features whose `input_ids` are one sequence per
    choice: every sequence padded to the batch's longest, missing choices all padding."""
    choices = max(len(f["input_ids"]) for f in features)
    rows = [sequence for f in features
            for sequence in [*f["input_ids"], *[[]] * (choices - len(f["input_ids"]))]]
    input_ids, attention_mask = pad_sequences(rows, pad_token_id)
    shape = (len(features), choices, input_ids.shape[1])
    return {"input_ids": input_ids.view(shape), "attention_mask": attention_mask.view(shape)}


def pad_sequences(sequences: Sequence[Sequence[int]], value: int,
                  length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, length) tensor of the sequences padded with `value` to `length` (else the
    longest), and the mask of their real positions."""
    length = length or max(len(sequence) for sequence in sequences)
    padded = torch.full((len(sequences), length), value, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[row, : len(sequence)] = 1
    return padded, mask


def mean_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of each sequence's states over its real (unpadded) positions."""
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * mask).sum(1) / mask.sum(1).clamp(min=1)


@torch.no_grad()
def embed_token_ids(model: nn.Module, task: Task, token_ids: Sequence[list[int]],
                    context: SplitContext) -> np.ndarray:
    """The task's vectors (float32) of tokenised texts, in order, `context.batch_size` at a
    time: what a dual encoder's or an image-text task's forward gives texts alone."""
    model.eval()
    vectors = []
    for start in range(0, len(token_ids), context.batch_size):
        input_ids, attention_mask = pad_sequences(
            token_ids[start : start + context.batch_size], context.tokenizer.pad_token_id)
        out = model(task.name, input_ids.to(context.device), attention_mask.to(context.device))
        vectors.append(out.float().cpu().numpy())
    return np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)
