"""The spec rule for the efficiency stage (`evaluation.efficiency`): it measures the retrieval
tasks' encoders, on pools of parallel sentences (Tatoeba's kind), with index and compression
grids `trainables.efficiency.search` can build."""

from __future__ import annotations

from sweep.schema import Spec, problem
from trainables.efficiency import compression, search
from trainables.tasks import REGISTRY, Scorer

_FIELD = "evaluation.efficiency"


def measured_tasks(spec: Spec) -> list[str]:
    """The retrieval tasks an efficiency stage measures: the Tatoeba-like ones (BUCC's
    mining has no per-query pool to search)."""
    return [name for name in spec.retrieval_tasks
            if name in REGISTRY and REGISTRY[name].scorer is Scorer.TATOEBA]


def efficiency_settings(spec: Spec) -> list[str]:
    """With evaluation.efficiency: a Tatoeba-like retrieval task to measure, and index and
    compression grids that expand."""
    settings = spec.evaluation.efficiency
    if settings is None:
        return []
    problems = []
    if not measured_tasks(spec):
        problems.append(problem("retrieval_tasks", spec.retrieval_tasks, f"a Tatoeba-like task "
                                f"(parallel sentences, top-1 retrieval) for {_FIELD} to "
                                "measure the encoders on"))
    for key, check in (("index", search.expand_grid),
                       ("compression", compression.expand_compression)):
        try:
            check(getattr(settings, key))
        except ValueError as error:  # it names the entry: "index.hnsw.M: got 0; ..."
            problems.append(f"{_FIELD}.{error}")
    if "fp16" in settings.dtypes and not spec.resources.gpus_per_worker:
        problems.append(problem(f"{_FIELD}.dtypes", settings.dtypes,
                                "fp32 or bf16 without GPUs (resources.gpus_per_worker: 0); "
                                "fp16 is a GPU type"))
    return problems
