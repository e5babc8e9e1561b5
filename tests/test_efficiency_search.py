"""Search cost and compression of retrieval pools (issue 15, part 2), on a small random pool
with planted near-duplicates as the queries' gold. Timings are measured, never compared."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from trainables.efficiency.compression import bytes_at_95, compression_grid, expand_compression
from trainables.efficiency.search import expand_grid, faiss_threads, recall_at, search_grid
from trainables.metrics import tatoeba_accuracy

N, D, M = 2000, 64, 200


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    """(queries, pool, gold): each query a noisy copy of its gold pool vector."""
    rng = np.random.default_rng(0)
    pool = _unit(rng.standard_normal((N, D)))
    gold = rng.choice(N, M, replace=False)
    queries = _unit(pool[gold] + 0.8 / np.sqrt(D) * rng.standard_normal((M, D)))
    return queries, pool, gold


def _timed(record: dict) -> None:
    for key in ("build_seconds", "queries_per_second"):
        assert isinstance(record[key], float) and record[key] > 0, key


def test_flat_is_exact_and_scores_as_tatoeba(data):
    queries, pool, gold = data
    (flat,) = search_grid(queries, pool, gold, {})
    assert flat["index"] == "flat" and flat["params"] == {} and flat["threads"] == 1
    assert flat["recall_at_1"] == flat["recall_at_10"] == 1.0
    assert flat["accuracy"] == tatoeba_accuracy(np.argmax(queries @ pool.T, axis=1), gold)
    assert flat["index_bytes"] >= 4 * N * D
    assert flat["bytes_per_vector"] == flat["index_bytes"] / N
    _timed(flat)


def test_hnsw_recall_grows_with_ef_search_and_bytes_with_m(data):
    queries, pool, gold = data
    records = search_grid(queries, pool, gold, {"hnsw": {"M": [8, 32], "efSearch": [1, 256]}},
                          repeats=1)
    assert [r["index"] for r in records] == ["flat"] + ["hnsw"] * 4
    hnsw = {(r["params"]["M"], r["params"]["efSearch"]): r for r in records[1:]}
    for m in (8, 32):
        assert hnsw[m, 256]["recall_at_10"] >= 0.95
        assert hnsw[m, 1]["recall_at_10"] < hnsw[m, 256]["recall_at_10"]
        # One index per M, searched with each efSearch.
        assert hnsw[m, 1]["build_seconds"] == hnsw[m, 256]["build_seconds"]
        assert hnsw[m, 1]["index_bytes"] == hnsw[m, 256]["index_bytes"]
    assert hnsw[32, 256]["index_bytes"] > hnsw[8, 256]["index_bytes"] > records[0]["index_bytes"]
    assert hnsw[8, 256]["params"]["efConstruction"] == 40  # the default
    for record in records:
        _timed(record)
        assert 0 <= record["recall_at_1"] <= 1 and 0 <= record["accuracy"] <= 100


def test_ivf_probing_every_list_is_exact(data):
    queries, pool, gold = data
    flat, few, every = search_grid(queries, pool, gold, {"ivf": {"nlist": 16,
                                                                 "nprobe": [1, 16]}},
                                   repeats=1)
    assert every["params"] == every["requested"] == {"nlist": 16, "nprobe": 16}
    assert every["recall_at_1"] == every["recall_at_10"] == 1.0
    assert every["accuracy"] == flat["accuracy"]
    assert few["recall_at_10"] < 1.0


def test_ivf_nlist_is_clipped_to_what_the_pool_trains(data):
    queries, pool, gold = data
    _, ivf = search_grid(queries[:10], pool[:100], np.arange(10), {"ivf": {"nlist": 16,
                                                                          "nprobe": 16}})
    assert ivf["requested"] == {"nlist": 16, "nprobe": 16}
    assert ivf["params"] == {"nlist": 2, "nprobe": 2}  # 100 // 39 lists, all probed
    assert ivf["recall_at_10"] == 1.0


def test_the_thread_count_is_set_inside_and_restored_after():
    import faiss

    before = faiss.omp_get_max_threads()
    with faiss_threads(1):
        assert faiss.omp_get_max_threads() == 1
    assert faiss.omp_get_max_threads() == before
    with pytest.raises(ValueError, match="threads: got 0"), faiss_threads(0):
        pass


def test_recall_counts_the_exact_ids_found():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    assert recall_at(np.array([[3, 2, 9], [-1, -1, -1]]), exact, 3) == pytest.approx(1 / 3)
    assert recall_at(np.array([[1, 0, 0], [5, 4, 6]]), exact, 1) == 0.5


def test_the_grid_expands_in_both_spellings_with_defaults():
    assert expand_grid({"hnsw": {"M": [16, 32], "efSearch": 64}}) == [
        {"kind": "hnsw", "params": {"M": 16, "efConstruction": 40, "efSearch": 64}},
        {"kind": "hnsw", "params": {"M": 32, "efConstruction": 40, "efSearch": 64}}]
    assert expand_grid(["flat", {"ivf": {"nprobe": [1, 4]}}, "flat"]) == [
        {"kind": "flat", "params": {}},
        {"kind": "ivf", "params": {"nlist": 16, "nprobe": 1}},
        {"kind": "ivf", "params": {"nlist": 16, "nprobe": 4}}]


@pytest.mark.parametrize(("grid", "message"), [
    ({"annoy": {}}, "index: got 'annoy'; allowed: flat, hnsw, ivf"),
    ({"hnsw": {"nprobe": [1]}}, "index.hnsw.nprobe: got 'nprobe'; allowed: M, efConstruction"),
    ({"flat": {"M": 4}}, "index.flat.M: got 'M'; allowed: no parameters"),
    ({"hnsw": {"M": [1]}}, "index.hnsw.M: got 1; allowed: an integer >= 2"),
    ({"ivf": {"nlist": []}}, "index.ivf.nlist: got []"),
    ({"ivf": {"nprobe": [True]}}, "index.ivf.nprobe: got True"),
    ({"ivf": "nlist"}, "index.ivf: got 'nlist'"),
    ([{"hnsw": {}, "ivf": {}}], "index[0]"),
])
def test_bad_grids_are_refused_naming_the_key(grid, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        expand_grid(grid)


def test_compression_records_bytes_and_accuracy_kept(data):
    queries, pool, gold = data
    records = compression_grid(queries, pool, gold,
                               ["int8", "binary", {"pca": [8, D]}, {"pq": [4, 8]}])
    by_name = {(r["method"], *r["params"].values()): r for r in records}
    assert [r["method"] for r in records] == ["fp32", "int8", "binary", "pca", "pca", "pq", "pq"]
    fp32 = records[0]
    assert fp32["accuracy_kept"] == 1.0 and fp32["bytes_per_vector"] == 4 * D
    assert fp32["accuracy"] == tatoeba_accuracy(np.argmax(queries @ pool.T, axis=1), gold)
    assert by_name["int8",]["bytes_per_vector"] == D
    assert by_name["binary",]["bytes_per_vector"] == D / 8
    assert by_name["pca", D]["accuracy"] == pytest.approx(fp32["accuracy"])
    assert by_name["pca", 8]["bytes_per_vector"] == 4 * 8
    assert by_name["pq", 4, 8]["bytes_per_vector"] == 4
    assert by_name["pq", 8, 8]["bytes_per_vector"] == 8
    for record in records:
        assert record["accuracy_kept"] == pytest.approx(record["accuracy"] / fp32["accuracy"])
    qualifying = [r["bytes_per_vector"] for r in records if r["accuracy_kept"] >= 0.95]
    assert bytes_at_95(records) == min(qualifying)


def test_bytes_at_95_picks_the_smallest_method_that_keeps_enough():
    records = [{"method": "fp32", "bytes_per_vector": 256.0, "accuracy_kept": 1.0},
               {"method": "int8", "bytes_per_vector": 64.0, "accuracy_kept": 0.99},
               {"method": "pq", "bytes_per_vector": 16.0, "accuracy_kept": 0.95},
               {"method": "binary", "bytes_per_vector": 8.0, "accuracy_kept": 0.949},
               {"method": "pq", "bytes_per_vector": 4.0, "accuracy_kept": None}]
    assert bytes_at_95(records) == 16.0
    assert bytes_at_95(records, keep=0.999) == 256.0
    assert bytes_at_95(records[3:]) is None


def test_compression_specs_expand_and_bad_ones_are_refused(data):
    queries, pool, gold = data
    assert expand_compression({"fp32": None, "pca": 32, "pq": [8, 8]}) == [
        {"method": "fp32", "params": {}}, {"method": "pca", "params": {"dims": 32}},
        {"method": "pq", "params": {"m": 8}}]
    for methods, message in [(["zstd"], "compression: got 'zstd'; allowed: fp32, int8"),
                             (["pca"], "compression.pca: got None"),
                             ({"binary": [8]}, "compression.binary: got [8]"),
                             ([{"pca": [0]}], "compression.pca: got 0")]:
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            expand_compression(methods)
    # Checked against the pool before anything runs.
    with pytest.raises(ValueError, match=r"compression\.pq: got 5; allowed: a divisor of d=64"):
        compression_grid(queries, pool, gold, ["int8", {"pq": [8, 5]}])
    with pytest.raises(ValueError, match=r"compression\.pca: got 65; allowed: dimensions in"):
        compression_grid(queries, pool, gold, [{"pca": 65}])
    with pytest.raises(ValueError, match=r"compression\.binary: got 'd=12'"):
        compression_grid(queries[:, :12], pool[:, :12], gold, ["binary"])


def test_pq_on_a_pool_too_small_for_8_bit_codes_trains_fewer_bits(data):
    queries, pool, gold = data
    _, pq = compression_grid(queries[:20], pool[:100], np.arange(20), [{"pq": 8}])
    assert pq["params"] == {"m": 8, "nbits": 6}  # 64 centroids for 100 vectors
    assert pq["bytes_per_vector"] == 6


def test_bad_inputs_are_refused(data):
    queries, pool, gold = data
    with pytest.raises(ValueError, match="queries have 32 dimensions, the pool 64"):
        search_grid(queries[:, :32], pool, gold, {})
    with pytest.raises(ValueError, match=r"gold: indices must lie in \[0, 2000\)"):
        search_grid(queries, pool, gold + N, {})
    with pytest.raises(ValueError, match="k: got 2001"):
        search_grid(queries, pool, gold, {}, k=N + 1)
    with pytest.raises(ValueError, match="a zero vector"):
        compression_grid(np.zeros_like(queries), pool, gold, [])


def test_importing_the_module_does_not_load_faiss():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, trainables.efficiency.search; "
                               "print('faiss' in sys.modules)"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
