"""Spec -> plan: the DAG of stages, a pure function testable without Ray.

Stages, in the order they run:
  precompute/<task>    (with `precompute`) the image vectors of an image-text task whose
                       images are a local folder, made with its image encoder
  intermediate/<task>  one Tune experiment per intermediate task (or mixture)
  target/<task>        one Tune experiment per target task; the intermediate checkpoint
                       (`none` included) is a search dimension
  eval/<task>          zero-shot evaluation of the chosen target checkpoint(s), every seed of
                       the chosen configuration, x languages
  retrieval/<task>     retrieval from every intermediate encoder (each seed) and the base
                       model x languages
  after-target/<task>  (with evaluation.retrieval_after_target) the same retrieval from the
                       encoder of every target checkpoint (forgetting)
  efficiency/<task>    (with evaluation.efficiency) the same encoders' speed, search cost,
                       compression and geometry, each measured in several processes
A target arm other than zero-shot (`trainables.arms`) adds `target/<task>@<arm>` and
`eval/<task>@<arm>`, with `-<language>` for a per-language arm (one model per language,
tested on it); few-shot starts from the zero-shot stage's models, translate-test only
evaluates them.
With several base models (`model` a list) every stage runs once per model, its name ending
with `~<model>`. Each stage carries a hash of everything that determines its output, its
upstream stages' hashes included, so a finished stage is skipped only while that hash still
matches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sweep.schema import Spec, dimension_values
from sweep.searchers import SEARCHERS
from trainables.arms import ARMS, ZERO_SHOT, sources
from trainables.tasks import ImageEmbeddings, Scorer, get_task
from trainables.trial import (
    NO_INTERMEDIATE,
    evaluation_resources,
    in_trial_process,
    worker_resources,
)

ARM_MARK = "@"  # between a stage's task and its arm: zero-shot stages have none


@dataclass(frozen=True)
class Stage:
    name: str
    kind: str  # precompute | intermediate | target | eval | retrieval | after_target | ...
    task: str
    depends_on: tuple[str, ...]
    trials: int
    resources: str
    config: dict[str, Any] = field(compare=False)
    config_hash: str = ""
    repeats: int = 1  # seeds per configuration (training) or per checkpoint choice (eval)

    @property
    def slug(self) -> str:
        """The stage name as a directory name."""
        return self.name.replace("/", "-")


@dataclass(frozen=True)
class Plan:
    spec: Spec
    stages: tuple[Stage, ...]

    def stage(self, name: str) -> Stage:
        return next(stage for stage in self.stages if stage.name == name)


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stage_name(kind: str, task: str, arm: str = ZERO_SHOT, language: str | None = None) -> str:
    """`<kind>/<task>`, with `@<arm>` and `-<language>` for a target arm other than
    zero-shot."""
    if arm == ZERO_SHOT:
        return f"{kind}/{task}"
    return f"{kind}/{task}{ARM_MARK}{arm}" + (f"-{language}" if language else "")


def arm_cells(spec: Spec, task: str) -> list[tuple[str, str | None]]:
    """(arm, language) of every model family the spec asks of target `task`: a per-language
    arm once per evaluated language it has data for, the others once (language None)."""
    entry, languages = get_task(task), evaluation_languages(spec, task)
    cells: list[tuple[str, str | None]] = []
    for name in spec.arms(task):
        arm = ARMS[name]
        cells += [(name, language) for language in arm.languages(entry)
                  if language in languages] if arm.per_language else [(name, None)]
    return cells


def count_training_trials(spec: Spec, kind: str, task: str, arm: str = ZERO_SHOT) -> int:
    """Trials Tune will run for the `kind` stage of `task` (of `arm`, for a target): its
    configurations, each once per seed."""
    intermediates = spec.target_intermediates() if kind == "target" else None
    configurations = SEARCHERS[spec.searcher.type].count_trials(
        spec.stage_dimensions(kind, task, intermediates, arm),
        spec.stage_search(kind, task).num_samples)
    return configurations * spec.repeats(kind, task)


def max_iterations(spec: Spec, kind: str, task: str) -> int:
    """ASHA's max_t: evaluation intervals of the longest trial (unless the spec sets it)."""
    if spec.scheduler.max_t:
        return spec.scheduler.max_t
    epochs = dimension_values(spec.stage_search(kind, task).epochs)
    return int(max(epochs)) * spec.evals_per_epoch(kind, task)


def evaluation_languages(spec: Spec, task_name: str) -> list[str]:
    languages = get_task(task_name).languages
    chosen = spec.evaluation.languages
    return list(languages) if chosen == "all" else [lang for lang in languages if lang in chosen]


def _bundle(bundle: dict[str, float]) -> str:
    return "{" + ", ".join(f"{name}: {amount:g}" for name, amount in bundle.items()) + "}"


def _training_resources(spec: Spec) -> str:
    resources = spec.resources.model_dump()
    if in_trial_process(resources):
        return f"1 process {_bundle(worker_resources(resources))}"
    return (f"1 driver {{trial_driver: 1}} + {resources['workers_per_trial']} x "
            f"{_bundle(worker_resources(resources))}")


def _eval_resources(spec: Spec) -> str:
    return f"1 task {_bundle(evaluation_resources(spec.resources.model_dump()))}"


def make_plan(spec: Spec) -> Plan:
    """Expand a spec into its stages, upstream first: every stage once per base model."""
    stages: list[Stage] = []
    # Image vectors first, once whatever the base models: every training stage reads them
    # (and so, through it, the rest).
    for task, images in precomputed_images(spec).items():
        # What decides the vectors: not the batch size or the device.
        config = {"task": task, "image_folder": images.image_folder, "encoder": images.encoder,
                  "image_ids": images.image_ids, "data": spec.data.hashed(),
                  "precompute": spec.precompute.model_dump(include={"encoder_revision",
                                                                    "precision"})}
        stages.append(Stage(f"precompute/{task}", "precompute", task, (), 1,
                            _eval_resources(spec), config, config_hash(config)))
    for model in spec.models():
        _plan_model(spec.for_model(model.label) if spec.base_models else spec, stages)
    return Plan(spec, tuple(stages))


def _plan_model(spec: Spec, stages: list[Stage]) -> None:
    """Add the stages of `spec.model` to `stages`; with several base models each stage name
    ends with `~<model>` and each config names it (`base_model`), else both are as they
    were before base models could be listed, so that earlier runs still --resume."""
    suffix = spec.model_suffix
    # Each stage's search holds its resolved evals_per_epoch; the deprecated scheduler copy
    # would only make the old and the new spelling of one sweep hash apart.
    shared = {"model": spec.model.hashed(), "data": spec.data.hashed(),
              "scheduler": spec.scheduler.model_dump(exclude={"evals_per_epoch"}),
              "searcher": spec.searcher.model_dump()}
    if spec.resources.precision != "fp32":  # only where set: fp32 stages hash as before
        shared["precision"] = spec.resources.precision
    if spec.resources.length_grouped:  # likewise
        shared["length_grouped"] = True
    which = {"base_model": spec.model.label} if suffix else {}
    hashes = {stage.name: stage.config_hash for stage in stages}

    def named(kind: str, task: str, arm: str = ZERO_SHOT, language: str | None = None) -> str:
        return stage_name(kind, task, arm, language) + suffix

    def add(name: str, kind: str, task: str, depends_on: list[str], trials: int,
            resources: str, config: dict[str, Any], repeats: int = 1) -> None:
        config = {**config, **which, "upstream": {dep: hashes[dep] for dep in depends_on}}
        hashes[name] = config_hash(config)
        stages.append(Stage(name, kind, task, tuple(depends_on), trials, resources, config,
                            hashes[name], repeats))

    def images_of(tasks: list[str]) -> list[str]:
        """The precompute stages whose vectors `tasks` (or their training data) read."""
        read = {get_task(other).images for name in tasks for other in (
            name, get_task(name).training_task, get_task(name).dev_task,
            *get_task(name).train_also) if other}
        return [stage.name for stage in stages
                if stage.kind == "precompute" and get_task(stage.task).images in read]
    for name in spec.intermediate_names():
        members, cap = spec.intermediate_members(name)
        config = {**shared, "tasks": members, "cap": cap,
                  "search": spec.stage_search("intermediate", name).model_dump()}
        if spec.pool_layers(members):  # only where set: other stages hash as before
            config["pool_layers"] = spec.pool_layers(members)
        add(named("intermediate", name), "intermediate", name, images_of(members),
            count_training_trials(spec, "intermediate", name), _training_resources(spec),
            config, spec.repeats("intermediate", name))

    choices = spec.target_intermediates()
    upstream = [named("intermediate", name) for name in choices if name != NO_INTERMEDIATE]
    for task in spec.target_tasks:
        # The arms' own settings live in each arm stage's config: the zero-shot stage hashes
        # as it did before arms existed, so that earlier runs still --resume.
        search = spec.stage_search("target", task).model_dump(
            exclude={"arms", "shots", "shot_seed"})
        for arm, language in arm_cells(spec, task):
            if not ARMS[arm].trains:
                continue
            config = {**shared, "tasks": [task], "search": search, "intermediate": choices}
            if spec.pool_layers([task]):
                config["pool_layers"] = spec.pool_layers([task])
            if arm != ZERO_SHOT:
                config["arm"] = _arm_config(task, arm, language)
                if ARMS[arm].from_zero_shot:
                    config["search"] = {**search, "shots": spec.search.target.shots,
                                        "shot_seed": spec.search.target.shot_seed}
            after = [named("target", task)] if ARMS[arm].from_zero_shot \
                else [*images_of([task]), *upstream]
            add(named("target", task, arm, language), "target", task, after,
                count_training_trials(spec, "target", task, arm), _training_resources(spec),
                config, spec.repeats("target", task))

    for task in spec.target_tasks:
        # Every seed's checkpoint of each chosen configuration.
        seeds = spec.repeats("target", task)
        checkpoints = (len(choices) if spec.evaluation.full_table else 1) * seeds
        for arm, language in arm_cells(spec, task):
            trained = named("target", task, arm if ARMS[arm].trains else ZERO_SHOT, language)
            config = {"task": task, "languages": evaluation_languages(spec, task),
                      "splits": spec.evaluation.splits, "full_table": spec.evaluation.full_table}
            if arm != ZERO_SHOT:
                config["arm"] = _arm_config(task, arm, language)
                config["target_stage"] = trained
                if language:
                    config["languages"] = [language]
                if not ARMS[arm].trains:  # the languages with a translated test set
                    config["languages"] = [other for other in config["languages"]
                                           if other in ARMS[arm].languages(get_task(task))]
                    config["splits"] = ["test"]
            add(named("eval", task, arm, language), "eval", task, [trained],
                checkpoints * len(config["languages"]) * len(config["splits"]),
                _eval_resources(spec), config, seeds)

    all_intermediates = [named("intermediate", name) for name in spec.intermediate_names()]
    # The base model, and every seed's encoder of each intermediate task.
    encoders = 1 + sum(spec.repeats("intermediate", name) for name in spec.intermediate_names())
    for task in spec.retrieval_tasks:
        languages = evaluation_languages(spec, task)
        add(named("retrieval", task), "retrieval", task, all_intermediates,
            encoders * len(languages), _eval_resources(spec),
            {"task": task, "languages": languages, "model": spec.model.hashed(),
             "data": spec.data.hashed(), "retrieval": spec.evaluation.retrieval.model_dump()})
    if spec.evaluation.retrieval_after_target:
        # Every seed's checkpoint of each intermediate choice of every zero-shot target.
        targets = [named("target", task) for task in spec.target_tasks]
        checkpoints = len(choices) * sum(spec.repeats("target", task)
                                         for task in spec.target_tasks)
        for task in spec.retrieval_tasks:
            languages = evaluation_languages(spec, task)
            add(named("after-target", task), "after_target", task, targets,
                checkpoints * len(languages), _eval_resources(spec),
                {"task": task, "languages": languages, "targets": list(spec.target_tasks),
                 "model": spec.model.hashed(), "data": spec.data.hashed(),
                 "retrieval": spec.evaluation.retrieval.model_dump()})
    if spec.evaluation.efficiency is not None:
        # Every encoder, each measured in `noise_repeats` processes of its own.
        repeats = spec.evaluation.efficiency.noise_repeats
        for task in spec.retrieval_tasks:
            if get_task(task).scorer is not Scorer.TATOEBA:
                continue  # mining (BUCC) has no per-query pool to search
            languages = evaluation_languages(spec, task)
            add(named("efficiency", task), "efficiency", task, all_intermediates,
                encoders * repeats, _eval_resources(spec),
                {"task": task, "languages": languages, "model": spec.model.hashed(),
                 "data": spec.data.hashed(),
                 "retrieval": spec.evaluation.retrieval.model_dump(),
                 "efficiency": spec.evaluation.efficiency.model_dump()}, repeats)


def precomputed_images(spec: Spec) -> dict[str, ImageEmbeddings]:
    """With `precompute`, the image vectors to make: of every task the plan reads (trained,
    its training and dev data, evaluated) whose images are a local folder, once per set
    of vectors, named by the first task that reads it."""
    if spec.precompute is None:
        return {}
    read = [member for name in spec.intermediate_names()
            for member in spec.intermediate_members(name)[0]] + list(spec.target_tasks)
    read += [other for name in list(read) for other in (
        get_task(name).training_task, get_task(name).dev_task, *get_task(name).train_also)
        if other]
    found: dict[str, ImageEmbeddings] = {}
    for name in dict.fromkeys(read):
        images = get_task(name).images
        if images is not None and images.image_folder and images not in found.values():
            found[name] = images
    return found


def _arm_config(task: str, arm: str, language: str | None) -> dict[str, Any]:
    """What a stage of a target arm reads (`trainables.arms.sources`), in the plan's JSON."""
    return {"name": arm, "language": language,
            **{split: [list(pair) for pair in pairs]
               for split, pairs in sources(ARMS[arm], get_task(task), language).items()}}


def describe(plan: Plan, storage: str) -> str:
    """The plan as a text table, for `sweep plan`."""
    spec = plan.spec
    lines = [
        f"sweep {spec.name!r}: {len(plan.stages)} stages, "
        f"{sum(s.trials for s in plan.stages if s.kind in ('intermediate', 'target'))} training "
        f"trials; searcher {spec.searcher.type}, scheduler {spec.scheduler.type}, "
        f"at most {spec.resources.max_concurrent_trials} trials at once",
        f"storage: {storage}",
        "",
    ]
    rows = [("stage", "trials", "each trial asks for", "after")]
    for stage in plan.stages:
        trials = str(stage.trials) if stage.repeats == 1 else \
            f"{stage.trials} ({stage.trials // stage.repeats} x {stage.repeats} seeds)"
        rows.append((stage.name, trials, stage.resources, ", ".join(stage.depends_on) or "-"))
    name_width, trials_width, resources_width = (max(len(row[i]) for row in rows)
                                                 for i in range(3))
    for name, trials, resources, after in rows:
        lines.append(f"{name:<{name_width}}  {trials:<{trials_width}}  "
                     f"{resources:<{resources_width}}  {after}")
    lines.append("")
    lines.append("eval and retrieval 'trials' are Ray tasks: checkpoints x languages x splits.")
    lines += _arm_summary(plan)
    return "\n".join(lines)


def _arm_summary(plan: Plan) -> list[str]:
    """How each target arm multiplies the training: its stages and trials per task, a
    per-language arm once per language."""
    if all(plan.spec.arms(task) == [ZERO_SHOT] for task in plan.spec.target_tasks):
        return []
    lines = ["", "target arms (trials per task; a per-language arm trains one model per "
             "language):"]
    for task in plan.spec.target_tasks:
        for arm in plan.spec.arms(task):
            stages = [stage for stage in plan.stages if stage.task == task
                      and stage.kind == ("target" if ARMS[arm].trains else "eval")
                      and (stage.config.get("arm") or {}).get("name", ZERO_SHOT) == arm]
            languages = [stage.config["arm"]["language"] for stage in stages
                         if stage.config.get("arm", {}).get("language")]
            trials = sum(stage.trials for stage in stages) if ARMS[arm].trains else 0
            where = f"{len(languages)} languages ({', '.join(languages)}) x " \
                f"{trials // max(len(languages), 1)} = " if languages else ""
            lines.append(f"  {task} {arm} ({ARMS[arm].summary}): {where}{trials} training "
                         "trials")
    return lines
