"""Zero-shot evaluation of one checkpoint on one language, and sentence retrieval.

Both run inside Ray tasks that the driver fans out over checkpoints x languages; each call
loads what it needs from the checkpoint directory, so calls are independent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from trainables.data import load_examples
from trainables.model import load_checkpoint, load_encoder, load_tokenizer
from trainables.training import featurize_split, score_task


def _device() -> torch.device:
    """The GPU Ray gave this task, else the CPU (one thread: tasks run side by side)."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    torch.set_num_threads(1)
    return torch.device("cpu")


def _where() -> dict[str, Any]:
    """The Ray node this call runs on (None outside Ray), for the result rows."""
    import ray

    return {"node_id": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None}


def evaluate_checkpoint(
    model_cfg: Mapping[str, Any], data_cfg: Mapping[str, Any], checkpoint: str, task_name: str,
    language: str, split: str, max_length: int | None = None, batch_size: int = 64,
) -> dict[str, Any]:
    """Metrics of a fine-tuned checkpoint on `task_name` in `language`."""
    started = time.time()
    device = _device()
    tokenizer = load_tokenizer(model_cfg)
    model = load_checkpoint(model_cfg, checkpoint).to(device)
    config = {"data": data_cfg, "max_length": max_length}
    examples, features = featurize_split(config, task_name, split, language, tokenizer)
    metrics = score_task(model, task_name, examples, features, batch_size,
                         tokenizer.pad_token_id, device, language)
    return {"metrics": metrics, "num_examples": len(examples), "seconds": time.time() - started,
            **_where()}


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
        if pooling == "cls":
            pooled = states[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
        vectors.append(pooled.float().cpu().numpy())
    matrix = np.concatenate(vectors).astype("float32")
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)


def top1_accuracy(queries: np.ndarray, candidates: np.ndarray) -> float:
    """Percentage of queries whose cosine nearest candidate (faiss, exact) has the same
    index, as XTREME scores Tatoeba."""
    import faiss

    from trainables.metrics import tatoeba_accuracy

    index = faiss.IndexFlatIP(candidates.shape[1])
    index.add(candidates)
    _, nearest = index.search(queries, 1)
    return tatoeba_accuracy(nearest)


def retrieval_accuracy(
    model_cfg: Mapping[str, Any], data_cfg: Mapping[str, Any], checkpoint: str | None,
    task_name: str, language: str, layer: int, pooling: str, direction: str,
    max_length: int = 128,
) -> dict[str, Any]:
    """Tatoeba-style top-1 accuracy of an encoder (a checkpoint's, or the base model's)."""
    started = time.time()
    device = _device()
    tokenizer = load_tokenizer(model_cfg)
    encoder = load_encoder(model_cfg, checkpoint).to(device)
    pairs = load_examples(data_cfg, task_name, "test", language)
    english = embed(encoder, tokenizer, [p["english"] for p in pairs], layer, pooling, max_length)
    other = embed(encoder, tokenizer, [p["other"] for p in pairs], layer, pooling, max_length)
    queries, candidates = (english, other) if direction == "en_to_xx" else (other, english)
    return {"metrics": {"accuracy": top1_accuracy(queries, candidates)},
            "num_examples": len(pairs), "seconds": time.time() - started, **_where()}
