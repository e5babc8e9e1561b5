"""Sentence and sentence-pair classification (NLI, paraphrase): CLS head, accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from trainables.families.base import Family, Feature, label_index
from trainables.metrics import accuracy
from trainables.tasks import Task


class ClassificationHead(nn.Module):
    """RoBERTa's head: dense + tanh over the first token, then a projection."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        first = self.dropout(hidden_states[:, 0])
        return self.out_proj(self.dropout(torch.tanh(self.dense(first))))


class ClassificationFamily(Family):
    name = "classification"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        columns = [[example[name] for example in examples] for name in task.text_fields]
        if len(columns) > 2:  # a query and a document of several fields (XGLUE's QADSM, WPR)
            columns = [columns[0], [" ".join(parts) for parts in zip(*columns[1:], strict=True)]]
        encoded = tokenizer(*columns, truncation=True, max_length=max_length)
        return [
            {
                "input_ids": ids,
                "labels": label_index(task, example[task.label_field]),
                "example_index": index,
            }
            for index, (ids, example) in enumerate(zip(encoded["input_ids"], examples, strict=True))
        ]

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        return ClassificationHead(hidden_size, num_labels, dropout)

    def predictions(
        self, task: Task, examples: Sequence[dict], features: Sequence[Feature],
        logits: Sequence[torch.Tensor],
    ) -> list[int]:
        predicted = [0] * len(examples)
        for feature, row in zip(features, logits, strict=True):
            predicted[feature["example_index"]] = int(row.argmax())
        return predicted

    def references(self, task: Task, examples: Sequence[dict]) -> list[int]:
        return [label_index(task, example[task.label_field]) for example in examples]

    def readable(self, task: Task, value: int) -> str:
        return task.labels[value] if task.labels else str(value)  # choices have no names

    def score(self, task: Task, predictions: Sequence[int], references: Sequence[int],
              language: str) -> dict:
        return {"accuracy": accuracy(predictions, references)}
