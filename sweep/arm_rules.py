"""The spec rule for target arms (`search.target.arms`, a task's own under `search.per_task`;
`trainables.arms`): known arms, each once; the zero-shot stage where another arm builds on
it; and, for every target task, the target-language data each arm reads, named per language
where it is missing."""

from __future__ import annotations

from sweep.schema import Spec, dimension_values, problem
from trainables.arms import ARMS, ZERO_SHOT
from trainables.tasks import REGISTRY

_FIELD = "search.target.arms"


def _whole_numbers(spec: Spec, key: str, least: int) -> list[str]:
    values = dimension_values(getattr(spec.search.target, key))
    if values is not None and all(isinstance(v, int) and v >= least for v in values):
        return []
    return [problem(f"search.target.{key}", getattr(spec.search.target, key),
                    f"a whole number >= {least}, or a choice of them")]


def _arms_field(spec: Spec, task: str) -> str:
    override = spec.search.per_task.get(task)
    return f"search.per_task.{task}.arms" if override and override.arms else _FIELD


def _arm_list(path: str, arms: list[str]) -> list[str]:
    """Problems of one list of arms: unknown or repeated ones, and arms that build on
    zero_shot's models without it."""
    problems = [problem(f"{path}[{index}]", name, ", ".join(ARMS))
                for index, name in enumerate(arms) if name not in ARMS]
    problems += [problem(f"{path}[{index}]", name, "each arm once")
                 for index, name in enumerate(arms) if name in arms[:index]]
    known = [name for name in arms if name in ARMS]
    builds_on = [name for name in known if ARMS[name].from_zero_shot or not ARMS[name].trains]
    if builds_on and ZERO_SHOT not in known:
        problems.append(problem(path, arms, f"{ZERO_SHOT} among them ({', '.join(builds_on)} "
                                "start from or test the zero-shot models)"))
    return problems


def target_arms(spec: Spec) -> list[str]:
    """Arms are known and named once; few_shot and translate_test build on zero_shot's
    models (and few_shot on one per intermediate choice: the full table); arms set for one
    task (search.per_task) are a target task's; a task x arm without target-language data,
    or without it in an evaluated language, is refused with the missing source named."""
    problems = [problem(f"search.per_task.{name}.arms", override.arms,
                        "arms for a target task of this spec")
                for name, override in spec.search.per_task.items()
                if override.arms and name not in spec.target_tasks]
    lists = {_arms_field(spec, name): spec.arms(name) for name in spec.target_tasks}
    lists.setdefault(_FIELD, spec.search.target.arms)
    for path, arms in lists.items():
        problems += _arm_list(path, arms)
    chosen_arms = {name for arms in lists.values() for name in arms}
    if "few_shot" in chosen_arms:
        if not spec.evaluation.full_table:
            problems.append(problem("evaluation.full_table", False, "true for few_shot, which "
                                    "starts from the zero-shot model of every intermediate "
                                    "choice"))
        problems += _whole_numbers(spec, "shots", 1) + _whole_numbers(spec, "shot_seed", 0)
    chosen = spec.evaluation.languages
    for name in spec.target_tasks:
        task = REGISTRY.get(name)
        if task is None:
            continue  # target_and_retrieval_tasks reports it
        for index, arm_name in enumerate(spec.arms(name)):
            arm = ARMS.get(arm_name)
            if arm is None or arm.data is None:
                continue
            path = f"{_arms_field(spec, name)}[{index}]"
            having = ", ".join(a for a, entry in ARMS.items()
                               if entry.data is None or getattr(task, entry.data))
            if getattr(task, arm.data) is None:
                problems.append(problem(path, arm_name, f"an arm with data for target task "
                                        f"{name!r} ({having}); it has no "
                                        f"{arm.data.replace('_', '-')} source (Task.{arm.data})"))
                continue
            source = arm.data_task(task)
            if spec.data.source == "hub" and source.hub is None and not spec.data.path:
                problems.append(problem("data.path", None, f"a directory holding "
                                        f"{source.local.folder}/ for {source.name!r}, the "
                                        f"{arm.data.replace('_', '-')} source of {name!r} "
                                        f"({arm_name}), which has no hub copy"))
            if chosen == "all":
                continue
            problems += [problem(path, arm_name, f"data for every evaluated language: "
                                 f"{source.name!r}, the {arm.data.replace('_', '-')} source of "
                                 f"{name!r}, has no {language!r} (evaluation.languages)")
                         for language in chosen if language in task.languages
                         and language != "en" and language not in source.languages]
    return problems
