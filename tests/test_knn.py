"""Exact kNN (`trainables.knn`): the torch path a GPU takes, run here on the CPU, finds what
faiss's IndexFlatIP finds, over several blocks of queries; without a device, faiss answers."""

from __future__ import annotations

import numpy as np

from trainables import knn
from trainables.knn import exact_knn


def _vectors(rows: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((rows, 16)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_torch_search_finds_what_faiss_finds(monkeypatch):
    queries, database = _vectors(300, 0), _vectors(500, 1)
    monkeypatch.setattr(knn, "BLOCK_SIMILARITIES", 500 * 7)  # 7 queries a block: 43 blocks
    faiss_sim, faiss_ind = knn._faiss_knn(queries, database, 4)
    torch_sim, torch_ind = exact_knn(queries, database, 4, device="cpu")
    np.testing.assert_array_equal(torch_ind, faiss_ind)
    np.testing.assert_allclose(torch_sim, faiss_sim, rtol=1e-5, atol=1e-6)
    assert torch_ind.shape == (300, 4) and torch_sim.dtype == np.float32


def test_no_queries_give_empty_answers_both_ways():
    empty, database = np.zeros((0, 16), np.float32), _vectors(5, 2)
    for device in ("cpu", None):
        sim, ind = exact_knn(empty, database, 3, device=device)
        assert sim.shape == ind.shape == (0, 3)
