"""Exact inner-product k nearest neighbours, on the GPU when the caller names one.

Retrieval's search is exact in XTREME (faiss `IndexFlatIP`): mining BUCC-sized pools (400k x
400k at 1024 dimensions, about 330 TFLOP each way) is minutes on a GPU and hours on a CPU.
Evaluation tasks that hold a GPU pass it: the similarities are fp32 matmuls (TF32 off) over
blocks of queries with `torch.topk` (on tied similarities its order may differ from faiss's).
Without a device it is faiss as the reference scorers use it, bit for bit (`sweep score`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

BLOCK_SIMILARITIES = 2**28  # similarities in one block of queries (1 GiB of fp32)


def exact_knn(queries: np.ndarray, database: np.ndarray, k: int,
              device: str | torch.device | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, indices), each (queries, k), best first: on `device` through torch,
    else faiss on the CPU. `k` at most the database's size."""
    if device is None:
        return _faiss_knn(queries, database, k)
    import torch  # lazy: `sweep score` loads the metrics without torch

    return _torch_knn(queries, database, k, torch.device(device))


def _faiss_knn(queries: np.ndarray, database: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss  # lazy, as torch above

    index = faiss.IndexFlatIP(database.shape[1])
    index.add(database)
    return index.search(queries, k)


def _torch_knn(queries: np.ndarray, database: np.ndarray, k: int,
               device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import torch

    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # exact: fp32 products, as faiss
    try:
        keys = torch.from_numpy(np.ascontiguousarray(database, dtype=np.float32)).to(device)
        rows = max(1, BLOCK_SIMILARITIES // max(len(database), 1))
        similarities, indices = [], []
        for start in range(0, len(queries), rows):
            block = torch.from_numpy(np.ascontiguousarray(
                queries[start:start + rows], dtype=np.float32)).to(device)
            best = torch.topk(block @ keys.T, k, dim=1)
            similarities.append(best.values.cpu())
            indices.append(best.indices.cpu())
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    if not similarities:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return torch.cat(similarities).numpy(), torch.cat(indices).numpy()
