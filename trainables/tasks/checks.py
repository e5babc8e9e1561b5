"""The checks a registry of task entries must pass before any run reads it: every entry
agrees with its family, its formats and the tasks it names (`check_registry`, which builds
`trainables.tasks.REGISTRY`)."""

from __future__ import annotations

from collections.abc import Iterable

from trainables.tasks.schema import (
    BENCHMARKS,
    FAMILY_SCORERS,
    IMAGED_FAMILIES,
    ROLES,
    Family,
    Task,
)


def check_registry(tasks: Iterable[Task], formats: Iterable[str]) -> dict[str, Task]:
    """The tasks by name, once every entry agrees with the rest: a scorer its family has, a
    reader for its file format, roles and benchmarks that exist, languages its benchmark
    and score orders cover, and tasks it names that are registered. Raises ValueError
    listing every problem."""
    registry: dict[str, Task] = {}
    problems = []
    for task in tasks:
        if task.name in registry:
            problems.append(f"{task.name}: registered twice")
        registry[task.name] = task
    readable = set(formats)
    for task in registry.values():
        def bad(what: str, task: Task = task) -> None:
            problems.append(f"{task.name}: {what}")

        if task.scorer not in FAMILY_SCORERS[task.family]:
            allowed = ", ".join(sorted(s.value for s in FAMILY_SCORERS[task.family]))
            bad(f"scorer {task.scorer.value!r} is not one of the {task.family.value} "
                f"family's ({allowed})")
        if task.local and task.local.format.value not in readable:
            bad(f"local format {task.local.format.value!r} has no reader")
        for role in task.roles:
            if role not in ROLES:
                bad(f"role {role!r}; allowed: {', '.join(ROLES)}")
        for benchmark in (*task.benchmarks, *task.benchmark_languages):
            if benchmark not in BENCHMARKS:
                bad(f"benchmark {benchmark!r}; allowed: {', '.join(BENCHMARKS)}")
        for other in (task.train_task, task.dev_task, task.files_of, *task.train_also):
            if other is not None and other not in registry:
                bad(f"names task {other!r}, which is not registered")
        for other in (task.translations, task.test_translations, task.in_language):
            if other is None:
                continue
            source = registry.get(other)
            if source is None:
                bad(f"names task {other!r}, which is not registered")
            elif (source.family, source.labels) != (task.family, task.labels):
                bad(f"its target-language data {other!r} has another family or label set")
        if len(set(task.languages)) != len(task.languages) or not task.languages:
            bad("languages must be a non-empty list without repeats")
        for benchmark, languages in task.benchmark_languages.items():
            if not set(languages) <= set(task.languages):
                bad(f"{benchmark} languages outside the task's own")
        order = task.xtreme_files.languages if task.xtreme_files else None
        if order is not None and not set(task.languages) <= set(order):
            bad("xtreme_files.languages must cover every language of the task")
        if task.dev_task and task.dev_slice:
            bad("dev data comes from dev_task or dev_slice, not both")
        if (task.family in IMAGED_FAMILIES) != (task.images is not None):
            bad("an image-text or late-fusion task needs images, and only those tasks have "
                "them")
        if not task.image_fields or len(set(task.image_fields)) != len(task.image_fields):
            bad("image_fields must be a non-empty list without repeats")
        if task.family is Family.IMAGE_TEXT_CONTRASTIVE and task.image_fields != ("image_id",):
            bad("an image-text task's captions name their image in image_id alone")
        if task.images is not None and not task.images.dim:
            bad("its images need their dim")
        for other in (task.train_task, task.dev_task):
            source = registry.get(other) if other else None
            if task.images and source and source.images and (
                    (source.images.encoder, source.images.dim)
                    != (task.images.encoder, task.images.dim)):
                bad(f"its data {other!r} has images of {source.images.encoder} "
                    f"({source.images.dim}); its own are of {task.images.encoder} "
                    f"({task.images.dim}): one encoder and size")
        if task.family in (Family.CLASSIFICATION, Family.TAGGING, Family.RELEVANCE,
                           Family.VL_LATE_FUSION) and not (task.labels or task.labels_from_data):
            bad("a classification or tagging task needs labels (or labels_from_data)")
    if problems:
        raise ValueError("task registry: " + "; ".join(problems))
    return registry
