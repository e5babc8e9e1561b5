"""The spec's cross-field rules: one function per rule, `(spec) -> problems`, run in order.

Each problem reads `<field path>: got <value>; allowed: <what>`. A rule sees a spec that
passed the schema's field checks, so every field has its type; the rules that need an
entry of a registry skip an unknown type, which `searcher_type` or `scheduler_type` reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

from sweep.arm_rules import target_arms
from sweep.efficiency_rules import efficiency_settings
from sweep.model_rules import MODEL_RULES
from sweep.schedulers import SCHEDULERS
from sweep.schema import HYPERPARAMETERS, Dimension, LogUniform, Spec, dimension_values, problem
from sweep.searchers import SEARCHERS
from sweep.tracking import INSTALL_EXTRA, TRACKERS
from trainables.tasks import REGISTRY, UNSUPPORTED, get_task, tasks_with_role
from trainables.trial import NO_INTERMEDIATE

# Object stores whose pyarrow paths are bucket/key (trainables.storage.Location relies on it).
STORAGE_SCHEMES = ("s3", "gs", "gcs", "file")
# Ray's own resource names, which custom_per_worker must not shadow.
RESERVED_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory", "trial_driver")

Rule = Callable[[Spec], list[str]]


def _has_role(name: str, role: str) -> bool:
    return name in REGISTRY and role in REGISTRY[name].roles


def target_and_retrieval_tasks(spec: Spec) -> list[str]:
    """Target and retrieval tasks are registry tasks with that role (a task the engine
    cannot train, XGLUE's generation tasks, is told why)."""
    return [problem(f"{field_name}[{index}]", name,
                    (f"not this task ({UNSUPPORTED[name]}); " if name in UNSUPPORTED else "")
                    + ", ".join(tasks_with_role(role)))
            for role, field_name, names in (("target", "target_tasks", spec.target_tasks),
                                            ("retrieval", "retrieval_tasks", spec.retrieval_tasks))
            for index, name in enumerate(names) if not _has_role(name, role)]


def intermediate_entries(spec: Spec) -> list[str]:
    """Intermediate entries are intermediate tasks or mixtures of them, each named once; a
    mixture's name is new."""
    problems, seen = [], set()
    intermediate = ", ".join(tasks_with_role("intermediate"))
    for index, entry in enumerate(spec.intermediate_tasks):
        if isinstance(entry, str):
            name, path = entry, f"intermediate_tasks[{index}]"
            if not _has_role(name, "intermediate"):
                problems.append(problem(path, name, intermediate + " or a mixture"))
        else:
            problems += [problem(f"intermediate_tasks[{index}].mixture[{member_index}]", member,
                                 intermediate)
                         for member_index, member in enumerate(entry.mixture)
                         if not _has_role(member, "intermediate")]
            name, path = entry.name, f"intermediate_tasks[{index}].name"
            if name in REGISTRY or name == NO_INTERMEDIATE:
                problems.append(problem(path, name,
                                        "a new name that is not a registry task or 'none'"))
        if name in seen:
            problems.append(problem(path, name, "each intermediate task once"))
        seen.add(name)
    return problems


def target_intermediate_choices(spec: Spec) -> list[str]:
    """search.target.intermediate names `none` or intermediate tasks of this spec."""
    allowed = [NO_INTERMEDIATE, *spec.intermediate_names()]
    return [problem(f"search.target.intermediate[{index}]", name, ", ".join(allowed))
            for index, name in enumerate(spec.search.target.intermediate or [])
            if name not in allowed]


def per_task_keys(spec: Spec) -> list[str]:
    """search.per_task overrides only tasks this spec trains."""
    trained = spec.training_tasks("intermediate") + spec.training_tasks("target")
    return [problem(f"search.per_task.{name}", name,
                    "an intermediate or target task of this spec: " + ", ".join(trained))
            for name in spec.search.per_task if name not in trained]


def searcher_type(spec: Spec) -> list[str]:
    """searcher.type is a key of SEARCHERS."""
    if spec.searcher.type in SEARCHERS:
        return []
    return [problem("searcher.type", spec.searcher.type, ", ".join(SEARCHERS))]


def scheduler_type(spec: Spec) -> list[str]:
    """scheduler.type is a key of SCHEDULERS."""
    if spec.scheduler.type in SCHEDULERS:
        return []
    return [problem("scheduler.type", spec.scheduler.type, ", ".join(SCHEDULERS))]


def _stages(spec: Spec) -> list[tuple[str, str]]:
    # Only the stages the plan will run, each read with its per-task overrides.
    return [(kind, task) for kind in ("intermediate", "target")
            for task in spec.training_tasks(kind)]


def _dimension_problems(path: str, key: str, dimension: Dimension) -> list[str]:
    values = dimension_values(dimension)
    if values is None:
        low, high = dimension.loguniform if isinstance(dimension, LogUniform) else dimension.uniform
        return [problem(path, value, allowed) for failed, value, allowed in (
            (not (math.isfinite(low) and math.isfinite(high)), [low, high], "finite bounds"),
            (not low < high, [low, high], "[low, high] with low < high"),
            (isinstance(dimension, LogUniform) and low <= 0, [low, high],
             "positive bounds for loguniform"),
            (key in ("epochs", "batch_size", "seed"), dimension.model_dump(),
             "a value or {choice: [...]} of integers"),
        ) if failed]
    problems = []
    for value in values:
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        # Only a float can be inf or nan; an int past float's range must not be made one.
        if number is None or (isinstance(number, float) and not math.isfinite(number)):
            problems.append(problem(path, value, "a number"))
        elif key in ("epochs", "batch_size") and (
                (isinstance(number, float) and not number.is_integer()) or number < 1):
            problems.append(problem(path, value, "a positive integer"))
        elif key == "learning_rate" and not 0 < number < 1:
            problems.append(problem(path, value, "a learning rate in (0, 1)"))
        elif key == "warmup_ratio" and not 0 <= number < 1:
            problems.append(problem(path, value, "a ratio in [0, 1)"))
        elif key == "weight_decay" and number < 0:
            problems.append(problem(path, value, "a non-negative number"))
    return problems


def stage_dimensions(spec: Spec) -> list[str]:
    """Every stage's hyperparameters are valid values or distributions for their key."""
    return [found for kind, task in _stages(spec) for key in HYPERPARAMETERS
            for found in _dimension_problems(spec.stage_field(kind, task, key), key,
                                             getattr(spec.stage_search(kind, task), key))]


def seeds_repeat_one_configuration(spec: Spec) -> list[str]:
    """A stage's seeds are distinct, and take the place of a fixed `seed`, not of a searched
    one (a configuration is repeated over the seeds, so the seed cannot also be searched)."""
    problems = []
    for kind, task in _stages(spec):
        stage = spec.stage_search(kind, task)
        if stage.seeds is None:
            continue
        if len(set(stage.seeds)) != len(stage.seeds):
            problems.append(problem(spec.stage_field(kind, task, "seeds"), stage.seeds,
                                    "distinct seeds"))
        if len(dimension_values(stage.seed) or []) != 1:
            seeds_field = spec.stage_field(kind, task, "seeds")
            problems.append(problem(spec.stage_field(kind, task, "seed"),
                                    stage.seed.model_dump(),  # a choice or distribution
                                    f"a fixed value where {seeds_field} repeats each "
                                    "configuration"))
    return problems


def searcher_stages(spec: Spec) -> list[str]:
    """Every stage passes its searcher's own checks (SearcherOption.check_stage)."""
    option = SEARCHERS.get(spec.searcher.type)
    if option is None:
        return []
    return [found for kind, task in _stages(spec) for found in option.check_stage(spec, kind, task)]


def scheduler_settings(spec: Spec) -> list[str]:
    """The scheduler settings pass the scheduler's own checks (SchedulerOption.check)."""
    option = SCHEDULERS.get(spec.scheduler.type)
    return [] if option is None else option.check(spec)


def batch_size_splits_over_workers(spec: Spec) -> list[str]:
    """Every batch size is a multiple of workers_per_trial: it is the global batch."""
    workers = spec.resources.workers_per_trial
    return [problem(spec.stage_field(kind, task, "batch_size"), value,
                    f"a multiple of resources.workers_per_trial ({workers}), "
                    "as it is the global batch")
            for kind, task in _stages(spec)
            for value in dimension_values(spec.stage_search(kind, task).batch_size) or []
            if isinstance(value, int) and value % workers]


def evaluation_languages(spec: Spec) -> list[str]:
    """evaluation.languages is `all` or languages of the target and retrieval tasks."""
    if spec.evaluation.languages == "all":
        return []
    known = sorted({language for task in spec.target_tasks + spec.retrieval_tasks
                    if task in REGISTRY for language in get_task(task).languages})
    return [problem(f"evaluation.languages[{index}]", name,
                    "'all' or languages of the tasks: " + ", ".join(known))
            for index, name in enumerate(spec.evaluation.languages) if name not in known]


def custom_resources(spec: Spec) -> list[str]:
    """custom_per_worker names resources of its own, in positive amounts."""
    problems = []
    for name, amount in spec.resources.custom_per_worker.items():
        path = f"resources.custom_per_worker.{name}"
        if name in RESERVED_RESOURCES:
            problems.append(problem(path, amount, "custom resource names other than "
                                    + ", ".join(sorted(RESERVED_RESOURCES))
                                    + " (use cpus_per_worker and gpus_per_worker)"))
        elif amount <= 0:
            problems.append(problem(path, amount, "a positive amount"))
    return problems


def storage_scheme(spec: Spec) -> list[str]:
    """storage is a local path or a URI of an object store pyarrow maps to bucket/key, with a
    bucket (Location.path is netloc + path: with no netloc, pyarrow gets no bucket)."""
    if not spec.storage or "://" not in spec.storage:
        return []
    scheme = spec.storage.split("://", 1)[0]
    if scheme not in STORAGE_SCHEMES:
        return [problem("storage", spec.storage, "a local path or a URI with scheme "
                        + ", ".join(f"{known}://" for known in STORAGE_SCHEMES))]
    try:
        bucket = urlsplit(spec.storage).netloc
    except ValueError as error:  # e.g. an unclosed [ in the host
        return [problem("storage", spec.storage, f"a URI urllib can split ({error})")]
    if scheme == "file" or bucket:
        return []
    return [problem("storage", spec.storage,
                    f"a bucket after {scheme}://, as in {scheme}://bucket/prefix")]


def local_data_path(spec: Spec) -> list[str]:
    """Local data names an existing directory."""
    if spec.data.source != "local":
        return []
    if not spec.data.path:
        return [problem("data.path", None, "a directory of <task>/<split>-<language>.jsonl files "
                        "or of the tasks' original files (see README, Tasks)")]
    if not Path(spec.data.path).expanduser().is_dir():
        return [problem("data.path", spec.data.path, "an existing directory")]
    return []


def data_source_fits_tasks(spec: Spec) -> list[str]:
    """Synthetic tasks read offline or local data, the others hub or local data; a hub run
    needs data.path for a task with no complete hub copy (or local only, for no hub copy)."""
    problems = []
    source, chosen = spec.data.source, spec.evaluation.languages
    members = (m for e in spec.intermediate_names() for m in spec.intermediate_members(e)[0])
    for name in [*spec.target_tasks, *spec.retrieval_tasks, *members]:
        task = REGISTRY.get(name)
        if task is None:
            continue
        if task.synthetic and source not in ("offline", "local"):
            problems.append(problem("data.source", source,
                                    f"offline or local for synthetic task {name!r}"))
        if source == "offline" and not task.synthetic:
            problems.append(problem("data.source", "offline",
                                    f"hub or local for task {name!r} (not synthetic)"))
        if source != "hub" or task.synthetic:
            continue
        # A hub copy may lack some of the task's languages (Tatoeba's XTREME-R five).
        off_hub = task.hub is None or not all(
            task.reads_hub("hub", language) for language in task.languages
            if chosen == "all" or language in chosen)
        if off_hub and task.local is None:
            problems.append(problem("data.source", "hub",
                                    f"local for task {name!r}, which has no hub source"))
        elif off_hub and not spec.data.path:
            holding = f"{task.local.folder}/" if task.local.folder else "its files"
            problems.append(problem("data.path", None, f"a directory holding {holding} for task "
                                    f"{name!r}, which has no complete hub copy"))
    return problems


def max_t_covers_grace_period(spec: Spec) -> list[str]:
    """scheduler.max_t, when set, is at least scheduler.grace_period."""
    max_t, grace_period = spec.scheduler.max_t, spec.scheduler.grace_period
    if max_t is None or max_t >= grace_period:
        return []
    return [problem("scheduler.max_t", max_t, f">= scheduler.grace_period ({grace_period})")]


def tracking_settings(spec: Spec) -> list[str]:
    """Every tracker the spec turns on has its package installed and passes its own checks
    (TrackerOption.check), so that a missing one stops the sweep before it starts."""
    if spec.tracking is None:
        return []
    problems = []
    for name, option in TRACKERS.items():
        settings = getattr(spec.tracking, name)
        if settings is None or settings is False:
            continue
        path = f"tracking.{name}"
        if find_spec(option.module) is None:
            shown = settings if isinstance(settings, bool) else settings.model_dump(
                exclude_defaults=True)
            problems.append(problem(path, shown, f"a tracker whose package is installed; "
                                    f"{option.module} is not: {option.install}, "
                                    f"or {INSTALL_EXTRA}"))
        else:
            problems += option.check(settings, path)
    return problems


RULES: tuple[Rule, ...] = (
    target_and_retrieval_tasks,
    intermediate_entries,
    target_intermediate_choices,
    per_task_keys,
    searcher_type,
    scheduler_type,
    stage_dimensions,
    seeds_repeat_one_configuration,
    searcher_stages,
    scheduler_settings,
    batch_size_splits_over_workers,
    evaluation_languages,
    custom_resources,
    storage_scheme,
    *MODEL_RULES,
    local_data_path,
    data_source_fits_tasks,
    max_t_covers_grace_period,
    tracking_settings,
    target_arms,
    efficiency_settings,
)


def check_semantics(spec: Spec) -> list[str]:
    """Every rule's problems, in RULES order, each once."""
    return list(dict.fromkeys(found for rule in RULES for found in rule(spec)))
