"""Extractive (span) QA: SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP.

Featurisation follows the SQuAD recipe XTREME uses: the question is cut to 64 sub-tokens, the
context is split into windows that start `doc_stride` (128) sub-tokens apart, and each window
is labelled with the answer's first and last sub-token, or with <s> (position 0) when the
answer is not inside it. Prediction takes, per example and over all its windows, the best
start + end logit pair with end >= start and at most 30 sub-tokens, mapped back to the context
text through the tokenizer's character offsets. For SQuAD v2.0 an empty answer wins when the
<s> score beats the best span. Examples are SQuAD-shaped: `id`, `context`, `question`,
`answers: {text: [...], answer_start: [...]}` (character offsets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from trainables.families.base import Family, Feature, collate
from trainables.metrics import mlqa_scores, squad_v1_scores, squad_v2_scores
from trainables.tasks import Scorer, Task

DOC_STRIDE = 128
MAX_QUERY_LENGTH = 64
MAX_ANSWER_LENGTH = 30
N_BEST = 20
PAIR_SPECIAL_TOKENS = 4  # XLM-R pairs: <s> question </s></s> context </s>


class SpanHead(nn.Module):
    """Start and end logits for every position: (batch, length, 2)."""

    def __init__(self, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.qa_outputs(self.dropout(hidden_states))


def context_windows(num_tokens: int, budget: int, stride: int) -> list[tuple[int, int]]:
    """[start, end) token ranges of width <= budget, starting `stride` apart, covering all."""
    windows, start = [], 0
    while True:
        end = min(start + budget, num_tokens)
        windows.append((start, end))
        if end >= num_tokens:
            return windows
        start += min(stride, budget)


def _answer_span(example: dict) -> tuple[int, int] | None:
    """Character [start, end) of the first gold answer, None for an unanswerable question."""
    answers = example["answers"]
    if not answers["text"]:
        return None
    start = int(answers["answer_start"][0])
    return start, start + len(answers["text"][0])


class SpanQAFamily(Family):
    name = "span_qa"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        features = []
        for index, example in enumerate(examples):
            question = tokenizer(example["question"], add_special_tokens=False)["input_ids"]
            question = question[:MAX_QUERY_LENGTH]
            context = tokenizer(example["context"], add_special_tokens=False,
                                return_offsets_mapping=True)
            offsets = context["offset_mapping"]
            budget = max(max_length - len(question) - PAIR_SPECIAL_TOKENS, 1)
            prefix = [tokenizer.cls_token_id, *question, tokenizer.sep_token_id,
                      tokenizer.sep_token_id]
            answer = _answer_span(example)
            for start, end in context_windows(len(offsets), budget, DOC_STRIDE):
                input_ids = prefix + context["input_ids"][start:end] + [tokenizer.sep_token_id]
                features.append({
                    "input_ids": input_ids,
                    "labels": self._label(offsets, start, end, len(prefix), answer),
                    "example_index": index,
                    "context_start": len(prefix),  # position of the window's first token
                    # Lists, not tuples: what the feature cache's Arrow file gives back.
                    "offsets": [list(pair) for pair in offsets[start:end]],
                })
        return features

    @staticmethod
    def _label(offsets: Sequence[Sequence[int]], start: int, end: int, shift: int,
               answer: tuple[int, int] | None) -> list[int]:
        """[start position, end position] of the answer in this window, else [0, 0]."""
        if answer is None:
            return [0, 0]
        first = next((i for i in range(start, end) if offsets[i][1] > answer[0]), None)
        last = next((i for i in reversed(range(start, end)) if offsets[i][0] < answer[1]), None)
        if first is None or last is None or first > last or \
                offsets[start][0] > answer[0] or offsets[end - 1][1] < answer[1]:
            return [0, 0]  # the answer is not wholly inside this window
        return [first - start + shift, last - start + shift]

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        batch = collate([{**f, "labels": 0} for f in features], pad_token_id)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        return SpanHead(hidden_size, dropout)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        start_loss = nn.functional.cross_entropy(logits[..., 0], labels[:, 0])
        end_loss = nn.functional.cross_entropy(logits[..., 1], labels[:, 1])
        return (start_loss + end_loss) / 2

    def predictions(
        self, task: Task, examples: Sequence[dict], features: Sequence[Feature],
        logits: Sequence[torch.Tensor],
    ) -> list[str]:
        """The answer text of each example (\"\" = no answer, for SQuAD v2.0-style tasks)."""
        best: list[tuple[float, str]] = [(-float("inf"), "")] * len(examples)
        null: list[float] = [float("inf")] * len(examples)
        for feature, row in zip(features, logits, strict=True):
            index = feature["example_index"]
            start_logits, end_logits = row[:, 0], row[:, 1]
            null[index] = min(null[index], float(start_logits[0] + end_logits[0]))
            first = feature["context_start"]
            last = first + len(feature["offsets"]) - 1
            top_starts = torch.topk(start_logits[first : last + 1],
                                    min(N_BEST, last - first + 1)).indices + first
            top_ends = torch.topk(end_logits[first : last + 1],
                                  min(N_BEST, last - first + 1)).indices + first
            context = examples[index]["context"]
            for start in top_starts.tolist():
                for end in top_ends.tolist():
                    if end < start or end - start + 1 > MAX_ANSWER_LENGTH:
                        continue
                    score = float(start_logits[start] + end_logits[end])
                    if score > best[index][0]:
                        char_start = feature["offsets"][start - first][0]
                        char_end = feature["offsets"][end - first][1]
                        best[index] = (score, context[char_start:char_end].strip())
        if task.scorer is not Scorer.SQUAD_V2:
            return [text for _, text in best]
        # SQuAD v2.0: the smallest <s> score over the windows stands for "no answer".
        return [text if score > null_score else ""
                for (score, text), null_score in zip(best, null, strict=True)]

    def references(self, task: Task, examples: Sequence[dict]) -> list[list[str]]:
        return [list(example["answers"]["text"]) for example in examples]

    def score(self, task: Task, predictions: Sequence[str], references: Sequence[list[str]],
              language: str) -> dict:
        ids = [str(index) for index in range(len(predictions))]
        predicted = dict(zip(ids, predictions, strict=True))
        gold = dict(zip(ids, references, strict=True))
        if task.scorer is Scorer.MLQA:
            return mlqa_scores(predicted, gold, language)
        if task.scorer is Scorer.SQUAD_V2:
            scores = squad_v2_scores(predicted, gold)
            return {"exact_match": scores["exact"], "f1": scores["f1"]}
        return squad_v1_scores(predicted, gold)
