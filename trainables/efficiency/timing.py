"""How fast an encoder turns sentences into retrieval vectors, measured fairly (issue 15):
length buckets of real sentences, warm-up batches, synchronised timing on a GPU, repeats,
tokenisation, encoding and whole queries timed apart, peak memory, and the hardware
fingerprint without which two numbers are never compared.

Timings use `time.perf_counter`; on a GPU every timed region ends with
`torch.cuda.synchronize()`, so a kernel still queued is not counted as done.
"""

from __future__ import annotations

import hashlib
import json
import platform
import resource
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
NATURAL = 0  # the length bucket of every sentence, at its natural length


def fingerprint(device: torch.device) -> dict[str, Any]:
    """What the numbers depend on besides the checkpoint: the device and its driver, the
    libraries' versions and the threads; `hardware` is a short hash of all of it."""
    import faiss
    import transformers

    facts: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "faiss": faiss.__version__, "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }
    facts["hardware"] = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]
    return facts


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def length_buckets(tokenizer: Any, sentences: Sequence[str], bounds: Sequence[int],
                   per_bucket: int, max_length: int) -> dict[int, list[str]]:
    """Sentences by token count (special tokens included, at most `max_length`): bucket b
    holds those longer than the previous bound and at most b tokens, `NATURAL` every one;
    at most `per_bucket` each, in the order given. An empty bucket is left out."""
    counts = [len(ids) for ids in tokenizer(list(sentences), truncation=True,
                                             max_length=max_length)["input_ids"]]
    buckets: dict[int, list[str]] = {NATURAL: list(sentences[:per_bucket])}
    lower = 0
    for bound in sorted(bounds):
        chosen = [sentence for sentence, count in zip(sentences, counts, strict=True)
                  if lower < count <= bound][:per_bucket]
        if chosen:
            buckets[bound] = chosen
        lower = bound
    return buckets


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def percentiles(latencies_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 of per-batch latencies (numpy's linear interpolation)."""
    values = np.asarray(latencies_ms, dtype=float)
    return {f"p{q}_ms": float(np.percentile(values, q)) for q in (50, 95, 99)}


def time_encoding(encode: Callable[[dict], torch.Tensor], tokenizer: Any, sentences: list[str],
                  batch_size: int, max_length: int, device: torch.device, warmup: int,
                  repeats: int) -> dict[str, float]:
    """Tokenise `sentences` in batches (timed), then encode every batch `repeats` times
    after `warmup` untimed batches, each batch timed alone: latency percentiles per batch,
    sentences and tokens per second over all timed batches, and the tokenisation's share."""
    started = time.perf_counter()
    batches = [tokenizer(sentences[start:start + batch_size], truncation=True,
                         max_length=max_length, padding=True, return_tensors="pt")
               for start in range(0, len(sentences), batch_size)]
    tokenize_seconds = time.perf_counter() - started
    batches = [batch.to(device) for batch in batches]
    tokens = sum(int(batch["attention_mask"].sum()) for batch in batches)
    for index in range(warmup):
        encode(batches[index % len(batches)])
    _synchronize(device)
    latencies = []
    for _ in range(repeats):
        for batch in batches:
            started = time.perf_counter()
            encode(batch)
            _synchronize(device)
            latencies.append((time.perf_counter() - started) * 1000)
    encode_seconds = sum(latencies) / 1000
    return {**percentiles(latencies), "sentences_per_second": repeats * len(sentences)
            / encode_seconds, "tokens_per_second": repeats * tokens / encode_seconds,
            "tokenize_ms_per_sentence": 1000 * tokenize_seconds / len(sentences),
            "batches_timed": len(latencies)}


def time_queries(encode_text: Callable[[list[str]], np.ndarray], search: Callable[[np.ndarray],
                 Any], queries: list[str], device: torch.device, warmup: int
                 ) -> dict[str, float]:
    """One query at a time, the whole way (tokenise, encode, search the pool): latency
    percentiles of `query_` and queries per second."""
    for query in queries[:warmup]:
        search(encode_text([query]))
    latencies = []
    for query in queries:
        started = time.perf_counter()
        search(encode_text([query]))
        _synchronize(device)
        latencies.append((time.perf_counter() - started) * 1000)
    return {**{f"query_{name}": value for name, value in percentiles(latencies).items()},
            "queries_per_second": 1000 * len(latencies) / sum(latencies)}


def peak_memory_mb(device: torch.device) -> float:
    """The peak memory so far: allocated on the GPU, else the process's resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def timing_grid(encoders: Mapping[str, Callable[[dict], torch.Tensor]], tokenizer: Any,
                buckets: Mapping[int, list[str]], batch_sizes: Sequence[int], max_length: int,
                device: torch.device, warmup: int, repeats: int) -> list[dict[str, Any]]:
    """`time_encoding` for every dtype (one encode function each) x batch size x bucket."""
    records = []
    for dtype, encode in encoders.items():
        for batch_size in batch_sizes:
            for bound, sentences in buckets.items():
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                measured = time_encoding(encode, tokenizer, sentences, batch_size, max_length,
                                         device, warmup, repeats)
                records.append({"dtype": dtype, "batch_size": batch_size,
                                "length_bucket": bound, "sentences": len(sentences), **measured,
                                "peak_memory_mb": peak_memory_mb(device)})
    return records
