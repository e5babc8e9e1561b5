"""Multiple choice (HellaSwag, CosmosQA, CommonsenseQA, SocialIQA, COPA/XCOPA).

Each choice is encoded as a pair (context, question + choice); one shared scorer (RoBERTa's
classification head with one output) gives each pair a logit, and a softmax over an example's
choices picks the answer. Examples carry `context`, `question`, `choices` and `label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from trainables.families.base import Encode, Feature, collate_choices
from trainables.families.classification import ClassificationFamily, ClassificationHead
from trainables.tasks import Task


def choice_pairs(example: dict) -> list[tuple[str, str]]:
    """(first, second) text of each choice: the context, then the question and the choice."""
    question = example.get("question") or ""
    return [(example["context"], f"{question} {choice}".strip())
            for choice in example["choices"]]


class MultipleChoiceFamily(ClassificationFamily):
    """Classification over an example's choices: predictions (argmax; the model masks an
    example's missing choices) and accuracy come from ClassificationFamily."""

    name = "multiple_choice"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        features = []
        for index, example in enumerate(examples):
            first, second = zip(*choice_pairs(example), strict=True)
            encoded = tokenizer(list(first), list(second), truncation=True,
                                max_length=max_length)
            features.append({"input_ids": encoded["input_ids"], "labels": int(example["label"]),
                             "example_index": index})
        return features

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        labels = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return {**collate_choices(features, pad_token_id), "labels": labels}

    def forward(self, encode: Encode, head: nn.Module, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, choices, length) -> (batch, choices): one score per choice."""
        batch, choices, length = input_ids.shape
        scores = head(encode(input_ids.reshape(-1, length), attention_mask.reshape(-1, length)))
        # A padding choice (an example with fewer choices than its batch's widest) never wins.
        return scores.view(batch, choices).masked_fill(attention_mask[:, :, 0] == 0, -1e4)

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        return ClassificationHead(hidden_size, 1, dropout)

    def references(self, task: Task, examples: Sequence[dict]) -> list[int]:
        return [int(example["label"]) for example in examples]
