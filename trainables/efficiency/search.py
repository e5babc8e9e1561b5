"""What a retrieval pool costs to search, exactly and approximately, and how much of the task's
accuracy survives compressing it (issue 15, part 2; arms.md sections 4a, 4d).

Pure functions over numpy arrays: `queries` (m, d) and `pool` (n, d) are finite floats,
`gold[i]` is the pool index query i should retrieve. They are cast to float32 and
L2-normalised here, on copies (a no-op up to float error for `embed`'s vectors, which are
normalised already), so that every inner product below is a cosine, as in the engine's
exact retrieval (`trainables.evaluation.nearest_candidates`).

- `search_grid`: one record per index configuration (`INDEXES`: `flat`, the exact baseline
  and always measured first, `hnsw`, `ivf`): build seconds, serialised index bytes, queries
  per second at a fixed thread count, recall@1 and recall@k against exact search, and the
  task's accuracy (Tatoeba's: top-1 == gold, in percent) under that index.
- `compression_grid`: one record per compression (`COMPRESSIONS`: `fp32`, the baseline and
  always measured first, `int8`, `binary`, `pca`, `pq`): bytes per vector, accuracy and
  accuracy kept (accuracy / fp32 accuracy); `bytes_at_95` reads the records.
- The grids are plain dicts and lists, as the spec writes them (`expand_grid`,
  `expand_compression`); an unknown kind or parameter is a ValueError naming the key and
  what is allowed.

Recall@k follows ANN-Benchmarks: the share of the exact top-k ids that the index returns in
its own top-k, averaged over queries. Timings use `time.perf_counter`; a search is timed over
the whole query set in one call, `repeats` times, and the fastest is kept (as ANN-Benchmarks
keeps its best run). faiss runs with `threads` OpenMP threads (`faiss.omp_set_num_threads`,
restored afterwards), recorded in every search record. faiss is imported inside the
functions, so importing this module does not load it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from trainables.metrics import tatoeba_accuracy

# faiss's k-means asks for at least this many training points per centroid (its
# ClusteringParameters.min_points_per_centroid) and warns below it.
MIN_POINTS_PER_CENTROID = 39
# Bits per PQ sub-quantizer code: 256 centroids, one byte per sub-vector; a pool of fewer
# than 256 vectors (the offline benchmark's) trains floor(log2(n)) bits instead.
PQ_BITS = 8


def _problem(path: str, value: Any, allowed: str) -> str:
    """The form every refusal takes (as `sweep.schema.problem`): field, bad value, allowed."""
    return f"{path}: got {value!r}; allowed: {allowed}"


# -- the index kinds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One parameter of an index kind: its default, its smallest value, and whether it is
    fixed when the index is built (`at_build`) or set before each search (then the grid
    searches one built index with each value)."""

    default: int
    minimum: int = 1
    at_build: bool = True


@dataclass(frozen=True)
class IndexKind:
    """One faiss index kind.

    parameters: name -> Parameter, in the order the grid expands them.
    build(pool, params) -> the index, trained where it needs it, with the pool added.
    configure(index, params): sets the search-time parameters.
    fit(n, params) -> the parameters used on a pool of n vectors (where a value cannot
    hold for that pool, the nearest that can; the record says both).
    """

    summary: str
    parameters: Mapping[str, Parameter]
    build: Callable[[np.ndarray, Mapping[str, int]], Any]
    configure: Callable[[Any, Mapping[str, int]], None] = lambda index, params: None
    fit: Callable[[int, Mapping[str, int]], dict[str, int]] = lambda n, params: dict(params)


def _build_flat(pool: np.ndarray, params: Mapping[str, int]) -> Any:
    import faiss  # lazy: see the module docstring

    index = faiss.IndexFlatIP(pool.shape[1])
    index.add(pool)
    return index


def _build_hnsw(pool: np.ndarray, params: Mapping[str, int]) -> Any:
    import faiss

    index = faiss.IndexHNSWFlat(pool.shape[1], params["M"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = params["efConstruction"]
    index.add(pool)
    return index


def _configure_hnsw(index: Any, params: Mapping[str, int]) -> None:
    index.hnsw.efSearch = params["efSearch"]


def _build_ivf(pool: np.ndarray, params: Mapping[str, int]) -> Any:
    import faiss

    d = pool.shape[1]
    # The inverted lists' coarse quantizer; faiss's Python layer keeps it alive with the index,
    # and an inner-product IVF trains it by spherical k-means (fixed seed).
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, params["nlist"], faiss.METRIC_INNER_PRODUCT)
    index.train(pool)
    index.add(pool)
    return index


def _configure_ivf(index: Any, params: Mapping[str, int]) -> None:
    index.nprobe = params["nprobe"]


def _fit_ivf(n: int, params: Mapping[str, int]) -> dict[str, int]:
    """nlist clipped to what the pool can train (MIN_POINTS_PER_CENTROID points per list, at
    least one list), nprobe to nlist (probing more lists than there are is probing all)."""
    nlist = max(1, min(params["nlist"], n // MIN_POINTS_PER_CENTROID))
    return {"nlist": nlist, "nprobe": min(params["nprobe"], nlist)}


INDEXES: dict[str, IndexKind] = {
    "flat": IndexKind("IndexFlatIP: exact inner-product search, the baseline", {}, _build_flat),
    "hnsw": IndexKind(
        "IndexHNSWFlat, inner product: a navigable small-world graph of M links per vector; "
        "efSearch (the candidate list searched) trades speed for recall",
        {"M": Parameter(32, minimum=2), "efConstruction": Parameter(40),
         "efSearch": Parameter(64, at_build=False)},
        _build_hnsw, _configure_hnsw),
    "ivf": IndexKind(
        "IndexIVFFlat, inner product: nlist k-means lists trained on the pool, nprobe of them "
        "searched per query; nlist is clipped to n // 39 for a pool of n vectors",
        {"nlist": Parameter(16), "nprobe": Parameter(1, at_build=False)},
        _build_ivf, _configure_ivf, _fit_ivf),
}


def _values(path: str, values: Any, minimum: int) -> list[int]:
    """A parameter's values: one integer or a non-empty list of them, each >= minimum."""
    listed = list(values) if isinstance(values, list | tuple) else [values]
    allowed = f"an integer >= {minimum} or a non-empty list of them"
    if not listed:
        raise ValueError(_problem(path, values, allowed))
    for value in listed:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ValueError(_problem(path, value, allowed))
    return [int(value) for value in listed]


def _entries(grid: Any, what: str) -> Iterator[tuple[str, Any]]:
    """(name, settings) from a mapping name -> settings, or from a list of names and
    one-key mappings {name: settings} (the spec's two spellings)."""
    if isinstance(grid, Mapping):
        yield from grid.items()
        return
    if isinstance(grid, str) or not isinstance(grid, Sequence):
        raise ValueError(_problem(what, grid, "a mapping name -> settings, or a list of names "
                                              "and one-key mappings {name: settings}"))
    for position, item in enumerate(grid):
        if isinstance(item, str):
            yield item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            yield next(iter(item.items()))
        else:
            raise ValueError(_problem(f"{what}[{position}]", item,
                                      "a name or a one-key mapping {name: settings}"))


def expand_grid(grid: Any) -> list[dict[str, Any]]:
    """The index configurations of a grid spec, `{"kind": ..., "params": {...}}` each, in the
    grid's order and, within a kind, every combination of its parameters' values (the first
    parameter varying slowest); a parameter left out takes its default.

    The spec: a mapping kind -> {parameter: value or list of values} (None or {} for none),
    e.g. {"hnsw": {"M": [16, 32], "efSearch": [16, 64]}, "ivf": {"nlist": [16],
    "nprobe": [1, 4]}}, or a list of kinds and one-key mappings, e.g.
    ["flat", {"hnsw": {"M": [16]}}]. Unknown kinds or parameters, and values that are not
    integers at least the parameter's minimum, are a ValueError naming the key."""
    configurations: list[dict[str, Any]] = []
    for kind, settings in _entries(grid, "index"):
        if kind not in INDEXES:
            raise ValueError(_problem("index", kind, ", ".join(INDEXES)))
        parameters = INDEXES[kind].parameters
        settings = {} if settings is None else settings
        if not isinstance(settings, Mapping):
            raise ValueError(_problem(f"index.{kind}", settings,
                                      "a mapping parameter -> value or list of values"))
        for name in settings:
            if name not in parameters:
                raise ValueError(_problem(f"index.{kind}.{name}", name,
                                          ", ".join(parameters) or "no parameters"))
        values = [_values(f"index.{kind}.{name}", settings[name], parameter.minimum)
                  if name in settings else [parameter.default]
                  for name, parameter in parameters.items()]
        for combination in product(*values):
            configuration = {"kind": kind, "params": dict(zip(parameters, combination,
                                                              strict=True))}
            if configuration not in configurations:
                configurations.append(configuration)
    return configurations


# -- inputs, exact search, recall -------------------------------------------------------------


def _unit(vectors: Any, name: str) -> np.ndarray:
    """A float32, C-contiguous, L2-normalised copy of an (rows, d) array of finite values."""
    array = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty (rows, d) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: non-finite values in row "
                         f"{np.flatnonzero(~np.isfinite(array).all(1))[0]}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"{name}: a zero vector has no cosine (row "
                         f"{np.flatnonzero(norms[:, 0] == 0)[0]})")
    array /= norms
    return array


def _inputs(queries: Any, pool: Any, gold: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised queries and pool, and gold as an (m,) array of pool indices."""
    queries, pool = _unit(queries, "queries"), _unit(pool, "pool")
    if queries.shape[1] != pool.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dimensions, the pool "
                         f"{pool.shape[1]}")
    gold = np.arange(len(queries)) if gold is None else np.asarray(gold).reshape(-1)
    if len(gold) != len(queries) or not np.issubdtype(gold.dtype, np.integer):
        raise ValueError(f"gold: expected {len(queries)} integer pool indices (one per query), "
                         f"got {len(gold)} of {gold.dtype}")
    if gold.min() < 0 or gold.max() >= len(pool):
        raise ValueError(f"gold: indices must lie in [0, {len(pool)}), got "
                         f"[{gold.min()}, {gold.max()}]")
    return queries, pool, gold


@contextmanager
def faiss_threads(threads: int) -> Iterator[None]:
    """faiss (OpenMP) runs with `threads` threads inside the block, as before after it."""
    import faiss

    if threads < 1:
        raise ValueError(_problem("threads", threads, "an integer >= 1"))
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def exact_search(queries: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """The (m, k) ids of each query's k largest inner products in the pool (IndexFlatIP: the
    only exact index, the one the engine's retrieval uses); the vectors as given."""
    return _build_flat(np.ascontiguousarray(pool, dtype=np.float32), {}).search(
        np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def recall_at(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    """ANN-Benchmarks' recall@k: the share of each query's exact top-k ids found among the
    index's top-k, averaged over queries (a fraction in [0, 1]); faiss's -1 (no result) never
    counts."""
    found, exact = np.asarray(found)[:, :k], np.asarray(exact)[:, :k]
    if found.shape != exact.shape or found.shape[1] != k:
        raise ValueError(f"recall@{k} needs {k} ids per query on both sides, got "
                         f"{found.shape} and {exact.shape}")
    hits = [len(set(row[row >= 0].tolist()) & set(truth.tolist()))
            for row, truth in zip(found, exact, strict=True)]
    return float(np.mean(hits)) / k


def _fastest(search: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of `repeats` timed calls (seconds, never 0) and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = search()
        best = min(best, time.perf_counter() - started)
    return max(best, 1e-9), result


# -- the search grid ----------------------------------------------------------------------


def search_grid(
    queries: Any, pool: Any, gold: Any, grid: Any = None, k: int = 10, threads: int = 1,
    repeats: int = 3,
) -> list[dict[str, Any]]:
    """One record per index configuration of `grid` (see `expand_grid`), `flat` (exact
    search) first whether the grid names it or not.

    A record: `index` (the kind), `params` (those used) and `requested` (those asked; they
    differ only where `IndexKind.fit` clipped one for this pool), `threads`,
    `build_seconds` (construction, training and adding the pool), `index_bytes`
    (len of faiss.serialize_index), `bytes_per_vector` (index_bytes / n: graph links,
    centroids and headers included), `queries_per_second` (m / the fastest of `repeats`
    searches of all m queries), `recall_at_1` and `recall_at_{k}` against exact search (see
    `recall_at`), and `accuracy`: Tatoeba's top-1 accuracy against `gold` under that index
    (`tatoeba_accuracy`, in percent). An index is built once per build-time parameters and
    searched with each search-time value (efSearch, nprobe, the last parameters, so adjacent
    in the grid's order), which share its build record; one index is held at a time."""
    import faiss

    queries, pool, gold = _inputs(queries, pool, gold)
    if isinstance(k, bool) or not 1 <= k <= len(pool):
        raise ValueError(_problem("k", k, f"an integer in [1, {len(pool)}] (the pool's size)"))
    if repeats < 1:
        raise ValueError(_problem("repeats", repeats, "an integer >= 1"))
    configurations = [{"kind": "flat", "params": {}}]
    configurations += [configuration for configuration in expand_grid({} if grid is None
                                                                      else grid)
                       if configuration not in configurations]
    records, built = [], None
    with faiss_threads(threads):
        exact = exact_search(queries, pool, k)
        for configuration in configurations:
            kind = INDEXES[configuration["kind"]]
            params = kind.fit(len(pool), configuration["params"])
            at_build = tuple((name, params[name]) for name, parameter in kind.parameters.items()
                             if parameter.at_build)
            key = (configuration["kind"], at_build)
            if built is None or built[0] != key:  # configurations sharing a build are adjacent
                built = None  # the last index is let go before the next is built
                started = time.perf_counter()
                index = kind.build(pool, params)
                seconds = max(time.perf_counter() - started, 1e-9)
                built = (key, index, seconds, int(faiss.serialize_index(index).size))
            _, index, build_seconds, index_bytes = built
            kind.configure(index, params)
            search_seconds, (_, ids) = _fastest(lambda index=index: index.search(queries, k),
                                                repeats)
            records.append({
                "index": configuration["kind"], "params": params,
                "requested": configuration["params"], "threads": threads,
                "build_seconds": build_seconds, "index_bytes": index_bytes,
                "bytes_per_vector": index_bytes / len(pool),
                "queries_per_second": len(queries) / search_seconds,
                "recall_at_1": recall_at(ids, exact, 1), f"recall_at_{k}": recall_at(ids, exact, k),
                "accuracy": tatoeba_accuracy(ids[:, :1], gold),
            })
    return records


# -- compression --------------------------------------------------------------------------


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
        raise ValueError(_problem("compression.binary", f"d={d}",
                                  "vectors whose dimension is a multiple of 8 (one bit each)"))


def _binary(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    import faiss

    index = faiss.IndexBinaryFlat(pool.shape[1])
    index.add(np.packbits(pool > 0, axis=1))
    found = index.search(np.packbits(queries > 0, axis=1), 1)[1][:, 0]
    return found, float(index.code_size)


def _check_pca(n: int, d: int, dims: int | None) -> None:
    if dims is None or not 1 <= dims <= d:
        raise ValueError(_problem("compression.pca", dims, f"dimensions in [1, {d}]"))


def _pca(queries: np.ndarray, pool: np.ndarray, params: Params) -> tuple[np.ndarray, float]:
    dims = params["dims"]
    # The pool's principal axes (eigenvectors of its covariance, fitted on the pool, float64),
    # the first `dims` of them; vectors are projected without their mean taken off, so at
    # dims = d the projection is a rotation and every inner product stays as it was.
    centred = pool.astype(np.float64) - pool.mean(0, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred)
    axes = eigenvectors[:, np.argsort(eigenvalues)[::-1][:dims]]
    projected = [_unit(vectors.astype(np.float64) @ axes, "pca") for vectors in (queries, pool)]
    return exact_search(projected[0], projected[1], 1)[:, 0], 4.0 * dims


def _check_pq(n: int, d: int, m: int | None) -> None:
    divisors = [value for value in range(1, d + 1) if d % value == 0]
    if m is None or m not in divisors:
        raise ValueError(_problem("compression.pq", m,
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
    for name, values in _entries(methods, "compression"):
        if name not in COMPRESSIONS:
            raise ValueError(_problem("compression", name, ", ".join(COMPRESSIONS)))
        parameter = COMPRESSIONS[name].parameter
        if parameter is None:
            if values not in (None, [], {}):
                raise ValueError(_problem(f"compression.{name}", values,
                                          "no values (it takes no parameter)"))
            settings = [{}]
        else:
            if values is None:
                raise ValueError(_problem(f"compression.{name}", values,
                                          f"its {parameter}: an integer or a list of them"))
            settings = [{parameter: value}
                        for value in _values(f"compression.{name}", values, 1)]
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
    queries, pool, gold = _inputs(queries, pool, gold)
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
