"""One encoder's efficiency record on one retrieval task (issue 15), run as a Ray task in a
process of its own (so that repeats measure separate processes): the timing grid over real
sentences of every language, the whole query, the search cost and compression of each
language's pool, and the pool's geometry, with the hardware fingerprint.

Tatoeba-like tasks only (parallel `english` / `other` sentences, top-1 retrieval): their
pools are the ones search cost and compression are scored on.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np
import torch

from trainables.data import load_examples
from trainables.efficiency import geometry, search
from trainables.efficiency.timing import (
    DTYPES,
    fingerprint,
    length_buckets,
    time_queries,
    timing_grid,
)
from trainables.evaluation import _device, embed
from trainables.model import load_encoder, load_tokenizer


def _pooler(encoder: torch.nn.Module, layer: int, pooling: str):
    """encode(batch) -> the batch's pooled vectors at `layer`, as `embed` pools them."""
    @torch.no_grad()
    def encode(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        states = encoder(**batch, output_hidden_states=True).hidden_states[layer]
        if pooling == "cls":
            return states[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1)
    return encode


def _interleaved(pairs_by_language: Mapping[str, list[dict]]) -> list[str]:
    """Every language's sentences, both sides, taken in turn, so that each length bucket
    draws on every language (their tokens per word differ)."""
    columns = [[pair[side] for pair in pairs for side in ("other", "english")]
               for pairs in pairs_by_language.values()]
    longest = max(len(column) for column in columns)
    return [column[i] for i in range(longest) for column in columns if i < len(column)]


def measure_efficiency(
    model_cfg: Mapping[str, Any], data_cfg: Mapping[str, Any], checkpoint: str | None,
    task_name: str, languages: list[str], retrieval: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The efficiency record of the encoder of `checkpoint` (None: the base model)."""
    started = time.time()
    device = _device()
    tokenizer = load_tokenizer(model_cfg)
    encoder = load_encoder(model_cfg, checkpoint).to(device).eval()
    layer, pooling, max_length = retrieval["layer"], retrieval["pooling"], retrieval["max_length"]
    pairs = {language: load_examples(data_cfg, task_name, "test", language)
             for language in languages}

    # 1. Encoding, over real sentences of every language, per dtype x batch x length.
    buckets = length_buckets(tokenizer, _interleaved(pairs), settings["length_buckets"],
                             settings["max_sentences"], max_length)
    encoders = {dtype: _pooler(encoder if dtype == "fp32" else
                               copy.deepcopy(encoder).to(DTYPES[dtype]), layer, pooling)
                for dtype in settings["dtypes"]}
    timing = timing_grid(encoders, tokenizer, buckets, settings["batch_sizes"], max_length,
                         device, settings["warmup_batches"], settings["repeats"])

    # 2. Each language's pool: search cost, compression and geometry, on fp32 vectors.
    search_rows, compression_rows, geometry_rows = [], [], []
    pools = {}
    for language, found in pairs.items():
        english = embed(encoder, tokenizer, [pair["english"] for pair in found], layer,
                        pooling, max_length)
        other = embed(encoder, tokenizer, [pair["other"] for pair in found], layer, pooling,
                      max_length)
        queries, pool = (english, other) if retrieval["direction"] == "en_to_xx" \
            else (other, english)
        pools[language] = pool
        gold = np.arange(len(pool))
        search_rows += [{"language": language, **row} for row in search.search_grid(
            queries, pool, gold, settings["index"])]
        compression_rows += [{"language": language, **row} for row in
                             search.compression_grid(queries, pool, gold,
                                                     settings["compression"])]
        geometry_rows.append({"language": language, **pool_geometry(pool)})

    # 3. The whole query, one at a time: tokenise, encode, search the first language's pool.
    first = languages[0]
    exact = faiss.IndexFlatIP(pools[first].shape[1])  # the exact search XTREME's retrieval uses
    exact.add(pools[first])

    def encode_text(sentences: list[str]) -> np.ndarray:
        return embed(encoder, tokenizer, sentences, layer, pooling, max_length)

    query_side = "english" if retrieval["direction"] == "en_to_xx" else "other"
    queries = [pair[query_side] for pair in pairs[first]][:settings["max_sentences"]]
    query = time_queries(encode_text, lambda vectors: exact.search(vectors, 1), queries,
                         device, settings["warmup_batches"])
    return {"fingerprint": {**fingerprint(device), "worker_pid": os.getpid()},
            "timing": timing, "search": search_rows,
            "compression": compression_rows, "geometry": geometry_rows,
            "query": [{"language": first, **query}], "seconds": time.time() - started}


def pool_geometry(pool: np.ndarray) -> dict[str, float]:
    """Anisotropy, hubness, local intrinsic dimension and effective rank of one pool."""
    return {"anisotropy": geometry.anisotropy(pool), "hubness": geometry.hubness(pool),
            "lid": geometry.local_intrinsic_dimension(pool),
            "effective_rank": geometry.effective_rank(pool)}
