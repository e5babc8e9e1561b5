"""Dual-encoder retrieval (XTREME-R's LAReQA and Mewsli-X), trained as XTREME-R trains it.

One shared encoder embeds queries and candidates; a pooler head gives unit vectors; cosine
similarity times a learnable scale scores each query against its batch's candidates, and a
softmax over them (in-batch negatives) is the loss. Evaluation ranks the whole candidate pool
exactly (faiss inner product) and reports mAP@20. Examples are the readers' queries and
candidates (`trainables.readers`): a candidate is relevant to a query whose `match` is among
its `matches`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
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
)
from trainables.metrics import average_precision_at_k, lareqa_map_at_k, mewslix_map_at_20
from trainables.storage import publish_directory
from trainables.tasks import Scorer, Task

TOP_K = 20  # XTREME-R ranks and scores the first 20 candidates


class PoolerHead(nn.Module):
    """BERT's pooler (dense + tanh over the first token), L2-normalised, and the learnable
    logit scale (from 100, unclamped, as XTREME-R's) that turns cosine similarities into
    logits. Fresh like every head here; XTREME-R starts from the checkpoint's pooler."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.logit_scale = nn.Parameter(torch.tensor(100.0))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        pooled = torch.tanh(self.dense(hidden_states[:, 0]))
        return nn.functional.normalize(pooled, p=2, dim=-1)


def candidate_pool(examples: Sequence[dict]) -> dict[str, dict]:
    """The candidates by key, sorted by key so that every language's evaluation ranks the
    same pool in the same order; the first of a repeated key (Mewsli-X's pairs repeat an
    entity once per mention)."""
    pool: dict[str, dict] = {}
    for example in examples:
        if example["side"] == "candidate":
            pool.setdefault(example["key"], example)
    return dict(sorted(pool.items()))


def relevant_keys(pool: dict[str, dict]) -> dict[str, list[str]]:
    """Match -> the keys of the candidates relevant to a query with that match."""
    by_match: dict[str, list[str]] = {}
    for key, candidate in pool.items():
        for match in candidate["matches"]:
            by_match.setdefault(match, []).append(key)
    return by_match


class DualEncoderFamily(Family):
    name = "dual_encoder"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        """One feature per query with a relevant candidate among `examples`: the ids of the
        query and of its first relevant candidate, its training pair."""
        pool = candidate_pool(examples)
        relevant = relevant_keys(pool)
        paired = [(index, example) for index, example in enumerate(examples)
                  if example["side"] == "query" and example["match"] in relevant]
        query_ids = tokenizer([query["query"] for _, query in paired], truncation=True,
                              max_length=task.query_length or max_length)["input_ids"]
        candidate_ids = tokenizer(
            [pool[relevant[query["match"]][0]]["candidate"] for _, query in paired],
            truncation=True, max_length=max_length)["input_ids"]
        return [{"input_ids": [query, candidate], "example_index": index}
                for (index, _), query, candidate in zip(paired, query_ids, candidate_ids,
                                                        strict=True)]

    def make_head(self, hidden_size: int, num_labels: int, dropout: float) -> nn.Module:
        return PoolerHead(hidden_size)

    def collate(self, features: Sequence[Feature], pad_token_id: int) -> dict[str, torch.Tensor]:
        """(batch, 2, length) ids, query then candidate; the label of query i is candidate i."""
        return {**collate_choices(features, pad_token_id),
                "labels": torch.arange(len(features), dtype=torch.long)}

    def forward(self, encode: Encode, head: nn.Module, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> torch.Tensor:
        """Pairs (batch, 2, length) -> in-batch logits (batch, batch); single texts
        (batch, length) -> their unit vectors (batch, hidden)."""
        if input_ids.dim() == 2:
            return head(encode(input_ids, attention_mask))
        sides = []
        for side in (0, 1):  # each side cut to its own longest: queries are short
            longest = int(attention_mask[:, side].sum(1).max())
            sides.append(head(encode(input_ids[:, side, :longest],
                                     attention_mask[:, side, :longest])))
        queries, candidates = sides
        return queries @ candidates.T * head.logit_scale

    def score_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                    features: Sequence[Feature], context: SplitContext) -> dict:
        return self.evaluate_split(model, task, examples, features, context)[0]

    def evaluate_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                       features: Sequence[Feature], context: SplitContext,
                       ) -> tuple[dict, list[ExampleRecord]]:
        """mAP@20 of every query of the split over its whole candidate pool; each query's
        record holds its first 20 candidates and its AP@20."""
        queries = [example for example in examples if example["side"] == "query"]
        if not queries:
            raise ValueError(f"task {task.name!r}: no queries in {context.language!r}")
        pool = candidate_pool(examples)
        keys = list(pool)
        index = faiss.IndexFlatIP(int(model.encoder.config.hidden_size))
        index.add(_pool_vectors(model, task, [pool[key]["candidate"] for key in keys], context))
        ranked = [examples[feature["example_index"]] for feature in features]
        rankings = []
        if features:
            query_ids = [feature["input_ids"][0] for feature in features]
            _, nearest = index.search(
                embed_token_ids(model, task, query_ids, context),
                min(TOP_K, len(keys)))
            rankings = [[keys[position] for position in row if position >= 0]
                        for row in nearest]
        ranking_of = {query["id"]: ranking for query, ranking in zip(ranked, rankings,
                                                                      strict=True)}
        if task.scorer is Scorer.MEWSLI_X:
            # A mention whose entity is not in the pool has no feature and scores 0.
            gold = {query["id"]: [query["match"]] for query in queries}
            metrics = {"map@20": mewslix_map_at_20(gold, ranking_of)}
        else:
            if len(ranked) < len(queries):
                raise ValueError(f"task {task.name!r}: {len(queries) - len(ranked)} queries "
                                 f"in {context.language!r} have no relevant candidate in the "
                                 "pool")
            relevant = relevant_keys(pool)
            gold = {query["id"]: relevant[query["match"]] for query in queries}
            metrics = {"map@20": lareqa_map_at_k([gold[query["id"]] for query in ranked],
                                                 rankings, TOP_K)}
        records = [example_record(
            query, position, ranking_of.get(query["id"], []), gold[query["id"]],
            100 * average_precision_at_k(gold[query["id"]], ranking_of.get(query["id"], []),
                                         TOP_K)) for position, query in enumerate(queries)]
        return metrics, records


def _pool_vectors(model: nn.Module, task: Task, texts: list[str],
                  context: SplitContext) -> np.ndarray:
    """The pool's vectors; with a cache directory, computed once per node for every
    evaluation of the same checkpoint and pool (Mewsli-X's million entities)."""
    def compute() -> np.ndarray:
        ids = context.tokenizer(texts, truncation=True,
                                max_length=context.max_length)["input_ids"]
        return embed_token_ids(model, task, ids, context)

    if context.cache is None:
        return compute()
    digest = hashlib.sha256(str(context.max_length).encode())
    for text in texts:
        digest.update(text.encode() + b"\0")

    def build(staging: Path) -> None:
        np.save(staging / "pool.npy", compute())

    cached = publish_directory(build, context.cache / digest.hexdigest()[:24])
    return np.load(cached / "pool.npy", mmap_mode="r")
