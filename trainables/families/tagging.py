"""Token tagging (POS, NER): label the first sub-token of each word, split long sentences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from trainables.families.base import ExampleRecord, Family, Feature, example_record, label_index
from trainables.metrics import accuracy, get_entities, seqeval_scores
from trainables.tasks import Scorer, Task


class TaggingHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(hidden_states))


def word_pieces(tokenizer: Any, words: Sequence[str]) -> list[list[int]]:
    """Sub-token ids of each word (at least one: an empty split becomes <unk>)."""
    pieces = tokenizer(list(words), add_special_tokens=False)["input_ids"]
    return [ids or [tokenizer.unk_token_id] for ids in pieces]


def split_into_windows(pieces: Sequence[Sequence[int]], budget: int) -> list[tuple[int, int]]:
    """[start, end) word ranges whose sub-tokens fit `budget`, covering every word once.

    Long sentences are split rather than truncated so that every word gets a prediction; a
    single word longer than the budget keeps its first `budget` sub-tokens.
    """
    windows, start, used = [], 0, 0
    for index, ids in enumerate(pieces):
        size = min(len(ids), budget)
        if used + size > budget and index > start:
            windows.append((start, index))
            start, used = index, 0
        used += size
    windows.append((start, len(pieces)))
    return windows


class TaggingFamily(Family):
    name = "tagging"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        budget = max_length - 2  # <s> and </s>
        features = []
        for index, example in enumerate(examples):
            words = example[task.text_fields[0]]
            tags = [label_index(task, tag) for tag in example[task.label_field]]
            pieces = word_pieces(tokenizer, words)
            for start, end in split_into_windows(pieces, budget):
                input_ids, labels = [tokenizer.cls_token_id], [-100]
                for ids, tag in zip(pieces[start:end], tags[start:end], strict=True):
                    ids = list(ids[:budget])
                    input_ids += ids
                    labels += [tag] + [-100] * (len(ids) - 1)
                input_ids.append(tokenizer.sep_token_id)
                labels.append(-100)
                features.append(
                    {"input_ids": input_ids, "labels": labels, "example_index": index,
                     "first_word": start}
                )
        return features

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        return TaggingHead(hidden_size, num_labels, dropout)

    def predictions(
        self, task: Task, examples: Sequence[dict], features: Sequence[Feature],
        logits: Sequence[torch.Tensor],
    ) -> list[list[int]]:
        predicted: list[dict[int, int]] = [{} for _ in examples]
        for feature, row in zip(features, logits, strict=True):
            first_pieces = [i for i, label in enumerate(feature["labels"]) if label != -100]
            best = row[: len(feature["labels"])].argmax(-1)
            for offset, position in enumerate(first_pieces):
                predicted[feature["example_index"]][feature["first_word"] + offset] = int(
                    best[position]
                )
        return [[words[i] for i in sorted(words)] for words in predicted]

    def references(self, task: Task, examples: Sequence[dict]) -> list[list[int]]:
        return [[label_index(task, tag) for tag in ex[task.label_field]] for ex in examples]

    def example_records(self, task: Task, examples: Sequence[dict],
                        predictions: Sequence[Sequence[int]],
                        references: Sequence[Sequence[int]], language: str) -> list[ExampleRecord]:
        """Per sentence: chunk F1's counts (score 2 x correct chunks, weight predicted + gold
        chunks, so that their ratio over sentences is seqeval's micro F1), chunk precision's
        (correct, predicted chunks: XGLUE's POS), or token accuracy's (correct tokens,
        tokens)."""
        records = []
        for index, (example, predicted, gold) in enumerate(
                zip(examples, predictions, references, strict=True)):
            names = [task.labels[tag] for tag in predicted]
            gold_names = [task.labels[tag] for tag in gold]
            if task.scorer is Scorer.SEQEVAL:
                predicted_chunks = set(get_entities(names))
                gold_chunks = set(get_entities(gold_names))
                correct = len(predicted_chunks & gold_chunks)
                if task.metric == "precision":
                    score, weight = 100.0 * correct, len(predicted_chunks)
                else:
                    score, weight = 200.0 * correct, len(predicted_chunks) + len(gold_chunks)
            else:
                score = 100.0 * sum(p == g for p, g in zip(predicted, gold, strict=True))
                weight = len(gold)
            records.append(example_record(example, index, names, gold_names, score, weight))
        return records

    def score(
        self, task: Task, predictions: Sequence[Sequence[int]],
        references: Sequence[Sequence[int]], language: str,
    ) -> dict:
        flat_predictions = [tag for sentence in predictions for tag in sentence]
        flat_references = [tag for sentence in references for tag in sentence]
        scores = {"accuracy": accuracy(flat_predictions, flat_references)}
        if task.scorer is Scorer.SEQEVAL:  # chunk F1 over tag names (XTREME's POS and NER)
            names = [[task.labels[i] for i in sentence] for sentence in predictions]
            gold = [[task.labels[i] for i in sentence] for sentence in references]
            scores.update(seqeval_scores(names, gold))
        return scores
