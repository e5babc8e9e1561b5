"""Dual-encoder retrieval (XTREME-R's LAReQA and Mewsli-X): queries retrieve the candidates
relevant to them from a pool, scored by mAP@20.

As XTREME-R trains them: one shared encoder embeds both sides; the head is a pooler (dense +
tanh over the first token) whose output is L2-normalised; a batch of (query, relevant
candidate) pairs is scored as cosine similarities times a learnable scale that starts at 100,
and a softmax over the batch's candidates (in-batch negatives, query -> candidate) is the
loss. Evaluation embeds the whole pool once and ranks it exactly (faiss inner product).

Examples are queries {side: query, id, query, match} and candidates {side: candidate, key,
candidate, matches} (`trainables.readers`); a candidate is relevant to a query when the
query's `match` is among its `matches`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainables.families.base import (
    Encode,
    Family,
    Feature,
    SplitContext,
    collate,
    collate_choices,
)
from trainables.tasks import Task

TOP_K = 20  # XTREME-R ranks and scores the first 20 candidates


class PoolerHead(nn.Module):
    """BERT's pooler (dense + tanh over the first token), L2-normalised, and the learnable
    logit scale that turns cosine similarities into softmax logits."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.logit_scale = nn.Parameter(torch.tensor(100.0))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        pooled = torch.tanh(self.dense(hidden_states[:, 0]))
        return nn.functional.normalize(pooled, p=2, dim=-1)


def split_sides(examples: Sequence[dict]) -> tuple[list[dict], dict[str, dict]]:
    """The queries, and the candidates by key (the first of each key: Mewsli-X's pairs repeat
    an entity once per mention)."""
    queries = [example for example in examples if example["side"] == "query"]
    candidates: dict[str, dict] = {}
    for example in examples:
        if example["side"] == "candidate":
            candidates.setdefault(example["key"], example)
    return queries, candidates


def relevant_keys(candidates: dict[str, dict]) -> dict[str, list[str]]:
    """Match -> the keys of the candidates relevant to a query with that match, in pool order."""
    by_match: dict[str, list[str]] = {}
    for key, candidate in candidates.items():
        for match in candidate["matches"]:
            by_match.setdefault(match, []).append(key)
    return by_match


class DualEncoderFamily(Family):
    name = "dual_encoder"

    def featurize(
        self, task: Task, examples: Sequence[dict], tokenizer: Any, max_length: int
    ) -> list[Feature]:
        """One feature per query with a relevant candidate among `examples`: the query's ids
        and those of its first relevant candidate (its training pair)."""
        queries, candidates = split_sides(examples)
        relevant = relevant_keys(candidates)
        kept = [(index, query) for index, query in enumerate(examples)
                if query["side"] == "query" and relevant.get(query["match"])]
        query_ids = tokenizer([query["query"] for _, query in kept], truncation=True,
                              max_length=task.query_length or max_length)["input_ids"]
        candidate_ids = tokenizer(
            [candidates[relevant[query["match"]][0]]["candidate"] for _, query in kept],
            truncation=True, max_length=max_length)["input_ids"]
        return [{"input_ids": [query, candidate], "labels": 0, "example_index": index}
                for (index, _), query, candidate in zip(kept, query_ids, candidate_ids,
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
        queries = head(encode(input_ids[:, 0], attention_mask[:, 0]))
        candidates = head(encode(input_ids[:, 1], attention_mask[:, 1]))
        return queries @ candidates.T * head.logit_scale

    def score_split(self, model: nn.Module, task: Task, examples: Sequence[dict],
                    features: Sequence[Feature], context: SplitContext) -> dict:
        """mAP@20 of the split's queries over its whole candidate pool."""
        import faiss

        from trainables.metrics import lareqa_map_at_k, mewslix_map_at_20

        _, candidates = split_sides(examples)
        keys = sorted(candidates)  # one pool order, whichever language's queries come with it
        pool = _pool_vectors(model, task, [candidates[key]["candidate"] for key in keys],
                             context)
        queries = [examples[feature["example_index"]] for feature in features]
        vectors = _embed(model, task, [feature["input_ids"][0] for feature in features],
                         context)
        index = faiss.IndexFlatIP(pool.shape[1])
        index.add(pool)
        _, nearest = index.search(vectors, min(TOP_K, len(keys)))
        rankings = [[keys[position] for position in row if position >= 0] for row in nearest]
        if task.scorer == "mewsli_x":
            value = mewslix_map_at_20({query["id"]: [query["match"]] for query in queries},
                                      {query["id"]: ranked for query, ranked
                                       in zip(queries, rankings, strict=True)})
        else:
            relevant = relevant_keys(candidates)
            value = lareqa_map_at_k([relevant[query["match"]] for query in queries], rankings,
                                    TOP_K)
        return {"map@20": value}


@torch.no_grad()
def _embed(model: nn.Module, task: Task, token_ids: Sequence[list[int]],
           context: SplitContext) -> Any:
    """Unit vectors (float32 numpy) of tokenised texts, in order."""
    import numpy as np

    model.eval()
    vectors = []
    for start in range(0, len(token_ids), context.batch_size):
        batch = collate([{"input_ids": ids, "labels": 0}
                         for ids in token_ids[start : start + context.batch_size]],
                        context.tokenizer.pad_token_id)
        out = model(task.name, batch["input_ids"].to(context.device),
                    batch["attention_mask"].to(context.device))
        vectors.append(out.float().cpu().numpy())
    return np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)


def _pool_vectors(model: nn.Module, task: Task, texts: list[str], context: SplitContext) -> Any:
    """The pool's vectors; with a cache directory, computed once per node for every
    evaluation of the same checkpoint and pool (Mewsli-X's million entities)."""
    import hashlib

    import numpy as np

    def compute() -> Any:
        ids = context.tokenizer(texts, truncation=True,
                                max_length=context.max_length)["input_ids"]
        return _embed(model, task, ids, context)

    if context.cache is None:
        return compute()
    from trainables.storage import publish_directory

    def build(staging: Path) -> None:
        np.save(staging / "pool.npy", compute())

    digest = hashlib.sha256(json.dumps([context.max_length, texts]).encode()).hexdigest()[:24]
    return np.load(publish_directory(build, context.cache / digest) / "pool.npy")
