"""The task registry: one declarative entry per task, the one source of task facts.

- `schema`: what an entry is (Task, its sources, the typed family, scorer and formats) and
  the checks the registry passes when it is built;
- `languages`: every benchmark task's languages, in XTREME's own order;
- `real`: the real tasks (X-STILTs', XTREME's, XTREME-R's); `xglue`: XGLUE's; `vision`:
  image-text tasks (COCO, Flickr30k, IGLUE); `synthetic`: the offline benchmark's.

Adding a task is one entry in `real` (or `synthetic`); see CONTRIBUTING.md.
"""

from __future__ import annotations

from trainables.readers import READERS
from trainables.tasks.checks import check_registry
from trainables.tasks.real import NER_TAGS, REAL_TASKS, UD_POS_TAGS
from trainables.tasks.schema import (
    BENCHMARKS,
    PARQUET,
    XTREME_BENCHMARKS,
    DevSlice,
    EmbeddingFormat,
    Family,
    FileFormat,
    HubSource,
    ImageControl,
    ImageEmbeddings,
    LocalSource,
    PredictionFormat,
    Scorer,
    Task,
    XtremeFiles,
)
from trainables.tasks.synthetic import (
    NLI_LABELS,
    PARAPHRASE_LABELS,
    SYNTHETIC_LANGUAGES,
    SYNTHETIC_POS_TAGS,
    SYNTHETIC_TASKS,
)
from trainables.tasks.vision import VISION_TASKS
from trainables.tasks.xglue import SUBSCORES, UNSUPPORTED, XGLUE_TASKS

REGISTRY: dict[str, Task] = check_registry(
    (*SYNTHETIC_TASKS, *REAL_TASKS, *XGLUE_TASKS, *VISION_TASKS), READERS)


# A benchmark's named scores over some of its tasks, beside its score over all of them.
BENCHMARK_SUBSCORES: dict[str, dict[str, tuple[str, ...]]] = {"xglue": SUBSCORES}


def get_task(name: str) -> Task:
    """The registry entry called `name`; KeyError lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        if name in UNSUPPORTED:
            raise KeyError(f"task {name!r} is not supported: {UNSUPPORTED[name]}") from None
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown task {name!r}; known tasks: {known}") from None


def tasks_with_role(role: str) -> list[str]:
    """Names of the tasks that can play `role` (intermediate, target or retrieval)."""
    return sorted(name for name, task in REGISTRY.items() if role in task.roles)


def scorable_tasks() -> tuple[str, ...]:
    """The tasks whose xtreme-layout prediction files `sweep score` reads."""
    return tuple(name for name, task in REGISTRY.items() if task.xtreme_files)


__all__ = [
    "BENCHMARKS", "BENCHMARK_SUBSCORES", "NER_TAGS", "NLI_LABELS", "PARAPHRASE_LABELS",
    "PARQUET", "REGISTRY", "SYNTHETIC_LANGUAGES", "SYNTHETIC_POS_TAGS", "UD_POS_TAGS",
    "UNSUPPORTED", "XTREME_BENCHMARKS", "DevSlice", "EmbeddingFormat", "Family", "FileFormat",
    "HubSource", "ImageControl", "ImageEmbeddings", "LocalSource", "PredictionFormat", "Scorer",
    "Task", "XtremeFiles", "get_task", "scorable_tasks", "tasks_with_role",
]
