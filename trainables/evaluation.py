"""Zero-shot evaluation of one checkpoint on one language, and sentence retrieval.

Both run inside Ray tasks that the driver fans out over checkpoints x languages; each call
loads what it needs from the checkpoint directory, so calls are independent.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import ray
import torch

from trainables.data import load_examples
from trainables.families import get_family
from trainables.families.base import ExampleRecord, SplitContext, example_record, mean_pool
from trainables.knn import exact_knn
from trainables.metrics import (
    bucc_best_threshold,
    bucc_extract,
    bucc_scores,
    margin_mine,
    tatoeba_accuracy,
)
from trainables.model import load_checkpoint, load_encoder, load_tokenizer, read_meta
from trainables.storage import cache_dir
from trainables.tasks import Scorer, get_task
from trainables.training import featurize_split


def _device() -> torch.device:
    """The GPU Ray gave this task, else the CPU (one thread: tasks run side by side)."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    torch.set_num_threads(1)
    return torch.device("cpu")


def _where() -> dict[str, Any]:
    """The Ray node this call runs on (None outside Ray), for the result rows."""
    return {"node_id": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None}


def evaluate_checkpoint(
    model_cfg: Mapping[str, Any], data_cfg: Mapping[str, Any], checkpoint: str, task_name: str,
    language: str, split: str, max_length: int | None = None, batch_size: int = 64,
    sources: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Metrics of a fine-tuned checkpoint on `task_name` in `language`; `sources` ((task,
    language) pairs) are read in place of the task's own split where an arm says so
    (translate-test: the split translated into English)."""
    started = time.time()
    device = _device()
    tokenizer = load_tokenizer(model_cfg)
    model = load_checkpoint(model_cfg, checkpoint).to(device)
    config = {"data": data_cfg, "max_length": max_length}
    task = model.tasks[task_name]  # with the label order its head was trained on
    examples, features = featurize_split(config, task, split, language, tokenizer, sources)
    # Work every language of this checkpoint shares (a retrieval pool) is kept on the node;
    # its meta.json (metrics, step) tells a rewritten checkpoint apart.
    shared = cache_dir() / "evaluations" / hashlib.sha256(json.dumps(
        [checkpoint, read_meta(checkpoint), task_name, split], default=str,
        sort_keys=True).encode()).hexdigest()[:24]
    context = SplitContext(tokenizer, max_length or task.max_length, batch_size, device,
                           language, shared)
    metrics, records = get_family(task.family).evaluate_split(model, task, examples, features,
                                                              context)
    # Examples that were scored: not the candidates a retrieval pool adds.
    scored = len({feature["example_index"] for feature in features})
    return {"metrics": metrics, "num_examples": scored, "examples": records,
            "seconds": time.time() - started, **_where()}


@torch.no_grad()
def embed(
    encoder: torch.nn.Module, tokenizer: Any, sentences: list[str], layer: int, pooling: str,
    max_length: int, batch_size: int = 64,
) -> np.ndarray:
    """L2-normalised sentence vectors from hidden layer `layer` (0 = embeddings)."""
    encoder.eval()
    device = next(encoder.parameters()).device
    vectors = []
    for start in range(0, len(sentences), batch_size):
        batch = tokenizer(sentences[start : start + batch_size], truncation=True,
                          max_length=max_length, padding=True, return_tensors="pt").to(device)
        states = encoder(**batch, output_hidden_states=True).hidden_states[layer]
        pooled = states[:, 0] if pooling == "cls" else mean_pool(states, batch["attention_mask"])
        vectors.append(pooled.float().cpu().numpy())
    matrix = np.concatenate(vectors).astype("float32")
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)


def _search_device() -> str | None:
    """Where retrieval's exact search runs: the GPU Ray gave this task, else faiss."""
    return "cuda" if torch.cuda.is_available() else None


def nearest_candidates(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The index of each query's cosine nearest candidate (exact; on this task's GPU where
    it has one), shape (queries, 1)."""
    return exact_knn(queries, candidates, 1, _search_device())[1]


def evaluate_retrieval(
    model_cfg: Mapping[str, Any], data_cfg: Mapping[str, Any], checkpoint: str | None,
    task_name: str, language: str, layer: int, pooling: str, direction: str,
    max_length: int = 128,
) -> dict[str, Any]:
    """Retrieval with an encoder (a checkpoint's, or the base model's): Tatoeba top-1
    accuracy, or BUCC mining F1, with every query's record."""
    started = time.time()
    device = _device()
    tokenizer = load_tokenizer(model_cfg)
    encoder = load_encoder(model_cfg, checkpoint).to(device)

    def encode(sentences: list[str]) -> np.ndarray:
        return embed(encoder, tokenizer, sentences, layer, pooling, max_length)

    score = RETRIEVAL_SCORERS[get_task(task_name).scorer]
    metrics, records = score(encode, data_cfg, task_name, language, direction)
    return {"metrics": metrics, "num_examples": len(records), "examples": records,
            "seconds": time.time() - started, **_where()}


def tatoeba_retrieval(
    encode: Callable[[list[str]], np.ndarray], data_cfg: Mapping[str, Any], task_name: str,
    language: str, direction: str,
) -> tuple[dict[str, float], list[ExampleRecord]]:
    """Top-1 accuracy of parallel sentences retrieving each other in `direction`, as XTREME
    scores Tatoeba; a pair's record is the index its query retrieved."""
    pairs = load_examples(data_cfg, task_name, "test", language)
    english = encode([pair["english"] for pair in pairs])
    other = encode([pair["other"] for pair in pairs])
    queries, candidates = (english, other) if direction == "en_to_xx" else (other, english)
    nearest = nearest_candidates(queries, candidates)
    records = [example_record(pair, index, int(found), index, 100.0 * (found == index))
               for index, (pair, found) in enumerate(zip(pairs, nearest[:, 0], strict=True))]
    return {"accuracy": tatoeba_accuracy(nearest)}, records


def _mining_candidates(
    encode: Callable[[list[str]], np.ndarray], records: list[dict]
) -> tuple[dict[tuple[str, str], float], set[tuple[str, str]]]:
    """Ratio-margin candidates (other id, English id) -> score, and the gold pairs.

    Like XTREME, each distinct sentence is embedded once and a mined text pair stands for
    every pair of ids that carry those texts.
    """
    ids: dict[str, dict[str, list[str]]] = {"other": {}, "english": {}}
    for record in records:
        if record["side"] in ids:
            ids[record["side"]].setdefault(record["sentence"], []).append(record["id"])
    texts = {side: list(by_text) for side, by_text in ids.items()}
    scores = {}
    for score, source, target in margin_mine(encode(texts["other"]), encode(texts["english"]),
                                             k=4, device=_search_device()):
        for other_id in ids["other"][texts["other"][source]]:
            for english_id in ids["english"][texts["english"][target]]:
                scores[(other_id, english_id)] = score
    gold = {(r["other_id"], r["english_id"]) for r in records if r["side"] == "gold"}
    return scores, gold


def bucc_mining(
    encode: Callable[[list[str]], np.ndarray], data_cfg: Mapping[str, Any], task_name: str,
    language: str, direction: str = "xx_to_en",
) -> tuple[dict[str, float], list[ExampleRecord]]:
    """BUCC F1 on test with the margin threshold that maximises F1 on dev (BUCC's sample).
    Margin scoring looks both ways, so `direction` changes nothing."""
    dev_scores, dev_gold = _mining_candidates(
        encode, load_examples(data_cfg, task_name, "dev", language))
    threshold = bucc_best_threshold(dev_scores, dev_gold)
    test_records = load_examples(data_cfg, task_name, "test", language)
    test_scores, test_gold = _mining_candidates(encode, test_records)
    mined = bucc_extract(test_scores, threshold)
    metrics = bucc_scores(mined, test_gold)
    return {**metrics, "threshold": threshold}, _mining_records(test_records, mined, test_gold)


def _mining_records(records: list[dict], mined: list[tuple[str, str]],
                    gold: set[tuple[str, str]]) -> list[ExampleRecord]:
    """Per non-English sentence: the English ids mined for it and its gold ones; score
    2 x correct pairs and weight mined + gold pairs, so that their ratio over sentences is
    BUCC's F1."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    expected: defaultdict[str, set[str]] = defaultdict(set)
    for other_id, english_id in mined:
        found[other_id].add(english_id)
    for other_id, english_id in gold:
        expected[other_id].add(english_id)
    ids = dict.fromkeys([r["id"] for r in records if r["side"] == "other"] + sorted(expected))
    return [example_record({"id": other_id}, index, sorted(found[other_id]),
                           sorted(expected[other_id]),
                           200.0 * len(found[other_id] & expected[other_id]),
                           len(found[other_id]) + len(expected[other_id]))
            for index, other_id in enumerate(ids)]


# How each retrieval scorer evaluates an encoder: (metrics, every query's record).
RETRIEVAL_SCORERS: dict[Scorer, Callable[..., tuple[dict[str, float], list[ExampleRecord]]]] = {
    Scorer.TATOEBA: tatoeba_retrieval,
    Scorer.BUCC: bucc_mining,
}
