"""What a retrieval pool costs to search, exactly and approximately (issue 15, part 2;
arms.md sections 4a, 4d).

Pure functions over numpy arrays: `queries` (m, d) and `pool` (n, d) are finite floats,
`gold[i]` is the pool index query i should retrieve. They are cast to float32 and
L2-normalised here, on copies (a no-op up to float error for `embed`'s vectors, which are
normalised already), so that every inner product below is a cosine, as in the engine's
exact retrieval (`trainables.evaluation.nearest_candidates`).

- `search_grid`: one record per index configuration (`INDEXES`: `flat`, the exact baseline
  and always measured first, `hnsw`, `ivf`): build seconds, serialised index bytes, queries
  per second at a fixed thread count, recall@1 and recall@k against exact search, and the
  task's accuracy (Tatoeba's: top-1 == gold, in percent) under that index.
- The grid is plain dicts and lists, as the spec writes it (`expand_grid`); an unknown kind
  or parameter is a ValueError naming the key and what is allowed. Compression, the other
  half of a pool's cost, is `trainables.efficiency.compression`.

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


def grid_problem(path: str, value: Any, allowed: str) -> str:
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


def grid_values(path: str, values: Any, minimum: int) -> list[int]:
    """A parameter's values: one integer or a non-empty list of them, each >= minimum."""
    listed = list(values) if isinstance(values, list | tuple) else [values]
    allowed = f"an integer >= {minimum} or a non-empty list of them"
    if not listed:
        raise ValueError(grid_problem(path, values, allowed))
    for value in listed:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise ValueError(grid_problem(path, value, allowed))
    return [int(value) for value in listed]


def grid_entries(grid: Any, what: str) -> Iterator[tuple[str, Any]]:
    """(name, settings) from a mapping name -> settings, or from a list of names and
    one-key mappings {name: settings} (the spec's two spellings)."""
    if isinstance(grid, Mapping):
        yield from grid.items()
        return
    if isinstance(grid, str) or not isinstance(grid, Sequence):
        raise ValueError(grid_problem(what, grid, "a mapping name -> settings, or a list of names "
                                              "and one-key mappings {name: settings}"))
    for position, item in enumerate(grid):
        if isinstance(item, str):
            yield item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            yield next(iter(item.items()))
        else:
            raise ValueError(grid_problem(f"{what}[{position}]", item,
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
    for kind, settings in grid_entries(grid, "index"):
        if kind not in INDEXES:
            raise ValueError(grid_problem("index", kind, ", ".join(INDEXES)))
        parameters = INDEXES[kind].parameters
        settings = {} if settings is None else settings
        if not isinstance(settings, Mapping):
            raise ValueError(grid_problem(f"index.{kind}", settings,
                                      "a mapping parameter -> value or list of values"))
        for name in settings:
            if name not in parameters:
                raise ValueError(grid_problem(f"index.{kind}.{name}", name,
                                          ", ".join(parameters) or "no parameters"))
        values = [grid_values(f"index.{kind}.{name}", settings[name], parameter.minimum)
                  if name in settings else [parameter.default]
                  for name, parameter in parameters.items()]
        for combination in product(*values):
            configuration = {"kind": kind, "params": dict(zip(parameters, combination,
                                                              strict=True))}
            if configuration not in configurations:
                configurations.append(configuration)
    return configurations


# -- inputs, exact search, recall -------------------------------------------------------------


def unit_rows(vectors: Any, name: str) -> np.ndarray:
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


def checked_inputs(queries: Any, pool: Any, gold: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised queries and pool, and gold as an (m,) array of pool indices."""
    queries, pool = unit_rows(queries, "queries"), unit_rows(pool, "pool")
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
        raise ValueError(grid_problem("threads", threads, "an integer >= 1"))
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

    queries, pool, gold = checked_inputs(queries, pool, gold)
    if isinstance(k, bool) or not 1 <= k <= len(pool):
        raise ValueError(grid_problem("k", k, f"an integer in [1, {len(pool)}] (the pool's size)"))
    if repeats < 1:
        raise ValueError(grid_problem("repeats", repeats, "an integer >= 1"))
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
