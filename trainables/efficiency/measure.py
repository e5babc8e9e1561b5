"""One encoder's efficiency record on one retrieval task (issue 15), run as a Ray task in a
process of its own (so that repeats measure separate processes): the timing grid over real
sentences of every language, the best retrieval layer (every layer in one forward pass) and
the encoder's speed when it stops there, the whole query, the search cost and compression
of each language's pool, and the pool's geometry, with the hardware fingerprint.

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
from trainables.efficiency import compression, geometry, search
from trainables.efficiency.timing import (
    DTYPES,
    NATURAL,
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


DEV_EVERY = 5  # a fixed fifth of each language's pairs picks the best layer


@torch.no_grad()
def layer_vectors(encoder: torch.nn.Module, tokenizer: Any, sentences: list[str], pooling: str,
                  max_length: int, batch_size: int = 64) -> np.ndarray:
    """Every hidden layer's L2-normalised sentence vectors, from one forward pass per batch:
    shape (layers + 1, sentences, hidden), layer 0 the embeddings."""
    device = next(encoder.parameters()).device
    chunks = []
    for start in range(0, len(sentences), batch_size):
        batch = tokenizer(sentences[start:start + batch_size], truncation=True,
                          max_length=max_length, padding=True, return_tensors="pt").to(device)
        states = torch.stack(encoder(**batch, output_hidden_states=True).hidden_states)
        if pooling == "cls":
            pooled = states[:, :, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(0).unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(2) / mask.sum(2).clamp(min=1)
        chunks.append(pooled.float().cpu().numpy())
    vectors = np.concatenate(chunks, axis=1)
    return vectors / np.linalg.norm(vectors, axis=2, keepdims=True).clip(min=1e-12)


def best_layer(encoder: torch.nn.Module, tokenizer: Any, pairs: Mapping[str, list[dict]],
               pooling: str, max_length: int, direction: str) -> dict[str, Any]:
    """The hidden layer whose vectors retrieve best (top-1, mean over languages) on a fixed
    fifth of each language's pairs, and every layer's accuracy there."""
    accuracy: list[list[float]] = []
    for found in pairs.values():
        dev = found[::DEV_EVERY]
        english = layer_vectors(encoder, tokenizer, [p["english"] for p in dev], pooling,
                                max_length)
        other = layer_vectors(encoder, tokenizer, [p["other"] for p in dev], pooling,
                              max_length)
        queries, pool = (english, other) if direction == "en_to_xx" else (other, english)
        accuracy.append([float((np.argmax(q @ c.T, axis=1) == np.arange(len(c))).mean() * 100)
                         for q, c in zip(queries, pool, strict=True)])
    per_layer = np.mean(accuracy, axis=0)
    return {"best_layer": int(np.argmax(per_layer)), "layers": len(per_layer) - 1,
            "dev_accuracy_by_layer": [float(value) for value in per_layer]}


def truncated(encoder: torch.nn.Module, layers: int) -> torch.nn.Module | None:
    """A copy of an XLM-R-style encoder that runs only its first `layers` layers (the
    retrieval layer and below); None where the encoder has no layer list to cut."""
    stack = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(stack, torch.nn.ModuleList):
        return None
    cut = copy.deepcopy(encoder)
    cut.encoder.layer = torch.nn.ModuleList(list(cut.encoder.layer)[:layers])
    cut.config.num_hidden_layers = layers
    return cut


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
    depth = best_layer(encoder, tokenizer, pairs, pooling, max_length, retrieval["direction"])
    for record in timing:
        record["layers_run"] = depth["layers"]
    # The encoder stopped at its best layer (the vectors are that layer's): fp32, every
    # sentence at its natural length, each batch size.
    cut = truncated(encoder, max(depth["best_layer"], 1))
    if cut is not None:
        timing += [{**record, "layers_run": max(depth["best_layer"], 1)} for record in
                   timing_grid({"fp32": _pooler(cut, -1, pooling)}, tokenizer,
                               {NATURAL: buckets[NATURAL]}, settings["batch_sizes"],
                               max_length, device, settings["warmup_batches"],
                               settings["repeats"])]

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
                             compression.compression_grid(queries, pool, gold,
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
            "compression": compression_rows, "geometry": geometry_rows, "depth": [depth],
            "query": [{"language": first, **query}], "seconds": time.time() - started}


LID_NEIGHBOURS, HUBNESS_NEIGHBOURS = 20, 10


def pool_geometry(pool: np.ndarray) -> dict[str, float]:
    """Anisotropy, hubness (k = 10), local intrinsic dimension (MLE, k = 20) and effective
    rank of one pool; NaN for a measure the pool is too small for (it needs more points than
    neighbours)."""
    def unless_small(measure, neighbours: int) -> float:
        return measure(pool) if len(pool) > neighbours else float("nan")

    return {"anisotropy": geometry.anisotropy(pool),
            "hubness": unless_small(lambda p: geometry.hubness(p, HUBNESS_NEIGHBOURS),
                                    HUBNESS_NEIGHBOURS),
            "lid": unless_small(lambda p: geometry.local_intrinsic_dimension(p, LID_NEIGHBOURS),
                                LID_NEIGHBOURS),
            "effective_rank": geometry.effective_rank(pool)}
