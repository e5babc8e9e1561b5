"""How much of a retrieval task's accuracy survives storing its pool smaller (issue 15,
part 2; arms.md 4d): one record per compression (`COMPRESSIONS`: `fp32`, the baseline and
always measured first, `int8`, `binary`, `pca`, `pq`) with bytes per vector, accuracy and
accuracy kept (accuracy / fp32 accuracy); `bytes_at_95` reads the records. The methods are
plain lists and dicts, as the spec writes them (`expand_compression`). Inputs are normalised
as `trainables.efficiency.search` does it; faiss is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainables.efficiency.search import (
    checked_inputs,
    exact_search,
    faiss_threads,
    grid_entries,
    grid_problem,
    grid_values,
    unit_rows,
)
from trainables.metrics import tatoeba_accuracy

# Bits per PQ sub-quantizer code: 256 centroids, one byte per sub-vector; a pool of fewer
# than 256 vectors (the offline benchmark's) trains floor(log2(n)) bits instead.
PQ_BITS = 8

@dataclass(frozen=True)
class Compression:
    """One way of storing the pool smaller.

    parameter: the name of its one parameter (None: it takes none).
    check(n, d, value): refuses (ValueError) a value that cannot hold for a pool of n
    vectors of d dimensions.
    fit(n, d, value) -> the parameters used (recorded), the value's and any the method
    adapts to the pool.
    nearest(queries, pool, params) -> (each query's top-1 pool id (m,), bytes per stored
    vector); queries and pool arrive normalised, the parameters checked and fitted.
    """

    summary: str
    parameter: str | None
    nearest: Callable[[np.ndarray, np.ndarray, Mapping[str, int]], tuple[np.ndarray, float]]
    check: Callable[[int, int, int | None], None] = lambda n, d, value: None
    fit: Callable[[int, int, int | None], dict[str, int]] | None = None

    def used(self, n: int, d: int, value: int | None) -> dict[str, int]:
        """The parameters used on a pool of n vectors of d dimensions."""
        if self.fit is not None:
            return self.fit(n, d, value)
        return {} if self.parameter is None else {self.parameter: value}


def _value(entry: Mapping[str, Any]) -> int | None:
    """The one parameter value of an expanded compression (None for a method without)."""
    return next(iter(entry["params"].values()), None)


Params = Mapping[str, int]


def _fp32(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    return exact_search(queries, pool, 1)[:, 0], 4.0 * pool.shape[1]


def _int8(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    import faiss

    index = faiss.IndexScalarQuantizer(pool.shape[1], faiss.ScalarQuantizer.QT_8bit,
                                       faiss.METRIC_INNER_PRODUCT)
    index.train(pool)  # each dimension's min and max over the pool
    index.add(pool)
    return index.search(queries, 1)[1][:, 0], float(index.sa_code_size())


def _check_binary(n: int, d: int, value: int | None) -> None:
    if d % 8:
        raise ValueError(grid_problem("compression.binary", f"d={d}",
                                  "vectors whose dimension is a multiple of 8 (one bit each)"))


def _binary(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    import faiss

    index = faiss.IndexBinaryFlat(pool.shape[1])
    index.add(np.packbits(pool > 0, axis=1))
    found = index.search(np.packbits(queries > 0, axis=1), 1)[1][:, 0]
    return found, float(index.code_size)


def _check_pca(n: int, d: int, dims: int | None) -> None:
    if dims is None or not 1 <= dims <= d:
        raise ValueError(grid_problem("compression.pca", dims, f"dimensions in [1, {d}]"))


def _pca(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    dims = params["dims"]
    # The pool's principal axes (eigenvectors of its covariance, fitted on the pool, float64),
    # the first `dims` of them; vectors are projected without their mean taken off, so at
    # dims = d the projection is a rotation and every inner product stays as it was.
    centred = pool.astype(np.float64) - pool.mean(0, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    axes = eigenvectors[:, np.argsort(eigenvalues)[::-1][:dims]]
    projected = [unit_rows(vectors.astype(np.float64) @ axes, "pca") for vectors in (queries, pool)]
    return exact_search(projected[0], projected[1], 1)[:, 0], 4.0 * dims


def _check_pq(n: int, d: int, m: int | None) -> None:
    divisors = [value for value in range(1, d + 1) if d % value == 0]
    if m is None or m not in divisors:
        raise ValueError(grid_problem("compression.pq", m,
                                  f"a divisor of d={d} (m sub-vectors of d/m dimensions): "
                                  f"{', '.join(map(str, divisors))}"))
    if n < 2:
        raise ValueError(f"compression.pq: a 1-bit code trains 2 centroids per sub-quantizer "
                         f"on the pool, which has {n} vector(s)")


def _fit_pq(n: int, d: int, m: int | None) -> dict[str, int]:
    """PQ_BITS bits per code, fewer where the pool has fewer than 2**PQ_BITS vectors to train
    the centroids on (faiss refuses to train more centroids than points)."""
    return {"m": m, "nbits": min(PQ_BITS, n.bit_length() - 1)}


def _pq(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    import faiss

    index = faiss.IndexPQ(pool.shape[1], params["m"], params["nbits"],
                          faiss.METRIC_INNER_PRODUCT)
    index.train(pool)
    index.add(pool)
    return index.search(queries, 1)[1][:, 0], float(index.sa_code_size())


COMPRESSIONS: dict[str, Compression] = {
    "fp32": Compression("float32 vectors, exact inner product: the baseline", None, _fp32),
    "int8": Compression("faiss IndexScalarQuantizer QT_8bit: per dimension, 256 levels between "
                        "the pool's min and max; queries stay float32", None, _int8),
    "binary": Compression("sign bits (x > 0) of queries and pool, Hamming distance "
                          "(IndexBinaryFlat); d a multiple of 8", None, _binary, _check_binary),
    "pca": Compression("the pool's first `dims` principal axes, fitted on the pool, "
                       "re-normalised, exact inner product", "dims", _pca, _check_pca),
    "pq": Compression(f"faiss IndexPQ, inner product: m sub-quantizers of {PQ_BITS} bits "
                      "(fewer for a pool under 256 vectors) trained on the pool; m must "
                      "divide d", "m", _pq, _check_pq, _fit_pq),
}


def expand_compression(methods: Any) -> list[dict[str, Any]]:
    """The compressions of a spec, `{"method": ..., "params": {...}}` each, in its order:
    a list of names and one-key mappings {name: value or list of values}, e.g.
    ["int8", "binary", {"pca": [32, 128]}, {"pq": [8]}], or a mapping name -> values (None
    for a method without a parameter). A method with a parameter needs its values; unknown
    methods or values are a ValueError naming the key."""
    expanded: list[dict[str, Any]] = []
    for name, values in grid_entries(methods, "compression"):
        if name not in COMPRESSIONS:
            raise ValueError(grid_problem("compression", name, ", ".join(COMPRESSIONS)))
        parameter = COMPRESSIONS[name].parameter
        if parameter is None:
            if values not in (None, [], {}):
                raise ValueError(grid_problem(f"compression.{name}", values,
                                          "no values (it takes no parameter)"))
            settings = [{}]
        else:
            if values is None:
                raise ValueError(grid_problem(f"compression.{name}", values,
                                          f"its {parameter}: an integer or a list of them"))
            settings = [{parameter: value}
                        for value in grid_values(f"compression.{name}", values, 1)]
        for params in settings:
            entry = {"method": name, "params": params}
            if entry not in expanded:
                expanded.append(entry)
    return expanded


def compression_grid(queries: Any, pool: Any, gold: Any, methods: Any = None,
                     threads: int = 1) -> list[dict[str, Any]]:
    """One record per compression of `methods` (see `expand_compression`), `fp32` first
    whether named or not: `method`, `params` (those used: PQ's with its `nbits`),
    `bytes_per_vector` (the stored code of one vector: 4d for fp32, d for int8, d/8 for
    binary, 4·dims for PCA, ceil(m·nbits/8) for PQ, so m at 8 bits; the trained tables
    beside it are not counted), `accuracy` (Tatoeba's top-1 accuracy against `gold`,
    in percent) and `accuracy_kept` (accuracy / fp32 accuracy; None where fp32's is 0).
    Every method is checked before any is run; faiss trains and searches with `threads`
    threads."""
    queries, pool, gold = checked_inputs(queries, pool, gold)
    expanded = [{"method": "fp32", "params": {}}]
    expanded += [entry for entry in expand_compression([] if methods is None else methods)
                 if entry not in expanded]
    n, d = pool.shape
    for entry in expanded:  # a PQ m or PCA dims that cannot hold is refused before any runs
        COMPRESSIONS[entry["method"]].check(n, d, _value(entry))
    records, baseline = [], None
    with faiss_threads(threads):
        for entry in expanded:
            method = COMPRESSIONS[entry["method"]]
            params = method.used(n, d, _value(entry))
            found, size = method.nearest(queries, pool, params)
            accuracy = tatoeba_accuracy(found, gold)
            baseline = accuracy if baseline is None else baseline
            records.append({"method": entry["method"], "params": params,
                            "bytes_per_vector": size, "accuracy": accuracy,
                            "accuracy_kept": accuracy / baseline if baseline else None})
    return records


def bytes_at_95(records: Sequence[Mapping[str, Any]], keep: float = 0.95) -> float | None:
    """The smallest bytes per vector among the compression records that keep at least `keep`
    of full accuracy (`accuracy_kept`), fp32 included; None if none does."""
    kept = [record["bytes_per_vector"] for record in records
            if record.get("accuracy_kept") is not None
            and record["accuracy_kept"] >= keep - 1e-12]
    return min(kept) if kept else None
