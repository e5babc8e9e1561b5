"""Query-document relevance graded 0-4 (XGLUE's web page ranking): the classification head
over the grades, scored by nDCG over each query's documents.

A prediction is the expected grade under the head's distribution (a continuous score, so
fewer ties than the argmax grade Unicoder's baseline writes); nDCG of the argmax grade is
reported beside it for leaderboard parity. A query's documents are a run of consecutive
examples with the same query text, as XGLUE's scorer groups them, so example order matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trainables.families.base import ExampleRecord, Feature, example_record
from trainables.families.classification import ClassificationFamily
from trainables.metrics import accuracy, ndcg, query_groups, xglue_ndcg
from trainables.tasks import Task


def _groups(task: Task, examples: Sequence[dict]) -> list[int]:
    return query_groups([example[task.text_fields[0]] for example in examples])


class RelevanceFamily(ClassificationFamily):
    name = "relevance"

    def predictions(self, task: Task, examples: Sequence[dict], features: Sequence[Feature],
                    logits: Sequence[torch.Tensor]) -> list[dict]:
        """{query group, expected grade, argmax grade} per example."""
        grades = torch.arange(task.num_labels, dtype=torch.float32)
        predicted: list[dict] = [{} for _ in examples]
        for feature, row in zip(features, logits, strict=True):
            expected = float((row.float().softmax(-1) * grades).sum())
            predicted[feature["example_index"]] = {"relevance": expected,
                                                   "grade": int(row.argmax())}
        for prediction, group in zip(predicted, _groups(task, examples), strict=True):
            prediction["query"] = group
        return predicted

    def references(self, task: Task, examples: Sequence[dict]) -> list[dict]:
        gold = super().references(task, examples)
        return [{"query": group, "grade": grade}
                for group, grade in zip(_groups(task, examples), gold, strict=True)]

    def readable(self, task: Task, value: dict) -> dict:
        return {**value, "grade": task.labels[value["grade"]]}

    def score(self, task: Task, predictions: Sequence[dict], references: Sequence[dict],
              language: str) -> dict:
        groups = [reference["query"] for reference in references]
        gold = [reference["grade"] for reference in references]
        argmax = [prediction["grade"] for prediction in predictions]
        return {
            "ndcg": xglue_ndcg(groups, [p["relevance"] for p in predictions], gold),
            "ndcg_argmax": xglue_ndcg(groups, argmax, gold),
            "accuracy": accuracy(argmax, gold),
        }

    def example_records(self, task: Task, examples: Sequence[dict], predictions: Sequence[dict],
                        references: Sequence[dict], language: str) -> list[ExampleRecord]:
        """Each document carries 1/n of its query's nDCG (n documents), with weight 1/n, so
        that over whole queries the ratio is the mean nDCG over queries; a query with one
        document counts for nothing, as in XGLUE's scorer."""
        members: dict[int, list[int]] = {}
        for index, reference in enumerate(references):
            members.setdefault(reference["query"], []).append(index)
        records: list[Any] = [None] * len(examples)
        for indices in members.values():
            share = 1 / len(indices) if len(indices) > 1 else 0.0
            value = 100 * ndcg([references[i]["grade"] for i in indices],
                               [predictions[i]["relevance"] for i in indices]) if share else 0.0
            for i in indices:
                records[i] = example_record(examples[i], i, self.readable(task, predictions[i]),
                                            self.readable(task, references[i]), value * share,
                                            share)
        return records
