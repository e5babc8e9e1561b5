"""The training loop of every trial (intermediate and target stages alike): on each Ray Train
worker of a DDP trial, or in the trial's own process for a one-worker trial
(`trainables.session`).

One loop serves a single task and a multi-task mixture: each step draws a global batch from
one task (tasks sampled in proportion to their capped size), every rank trains on its slice of
that batch, and at each evaluation interval rank 0 scores the English dev sets and reports them
with a checkpoint. A restarted trial finds its last checkpoint and resumes from it.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from trainables.arms import Sources, english_sources
from trainables.data import load_examples, task_with_labels
from trainables.device_loop import (
    adamw,
    configure_device,
    grad_scaler,
    to_device,
    train_step,
)
from trainables.drops import counted_drops, drop_metrics
from trainables.families import get_family
from trainables.families.base import Feature, SplitContext
from trainables.feature_cache import featurize_cached
from trainables.model import (
    MultiTaskModel,
    load_checkpoint,
    load_encoder,
    load_tokenizer,
    save_checkpoint,
)
from trainables.session import LoopSession
from trainables.tasks import Task

SCORE = "score"  # the metric ASHA and model selection read: the English dev metric
# ASHA's clock: evaluations so far. Unlike Tune's training_iteration it survives a restore,
# because it lives in the Train checkpoint the trial resumes from.
EVALUATIONS = "evaluations"


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def split_examples(
    config: Mapping[str, Any], task: Task, split: str, language: str,
    sources: Sources | None = None, shots: int | None = None, shot_seed: int = 0,
) -> tuple[list[dict], int]:
    """Examples of one task split: English training data from the task's training sources
    (XNLI <- MNLI; ANLI+ adds MNLI and SNLI), English dev data from its dev source where it
    has no dev set of its own (XQuAD <- SQuAD), else the task's own split; `sources` ((task,
    language) pairs, `trainables.arms.sources`) in place of those where a target arm reads
    other data (translations, gold target-language data). `shots` keeps that many examples,
    drawn with `shot_seed` (few-shot). In a split whose candidate pool spans languages
    (LAReQA's test), the queries of `language` come with the candidates of every language.
    Also returns how many of the examples are in another language than English."""
    if sources is None:
        if split == "train" or (split == "dev" and language == "en"):
            sources = [(name, language) for name, _ in english_sources(task, split)]
        else:
            sources = [(task.name, language)]
    loaded = [(example, source_language != "en") for source, source_language in sources
              for example in load_examples(config["data"], source, split, source_language)]
    if shots is not None:
        if shots > len(loaded):
            named = ", ".join(f"{source} ({source_language})"
                              for source, source_language in sources)
            raise ValueError(f"task {task.name!r}: {shots} shots asked of {len(loaded)} {split} "
                             f"examples of {named}")
        loaded = random.Random(shot_seed).sample(loaded, shots)
    examples = [example for example, _ in loaded]
    if split in task.pooled_splits:
        examples += [example for other in task.languages if other != language
                     for example in load_examples(config["data"], task.name, split, other)
                     if example["side"] == "candidate"]
    return examples, sum(target for _, target in loaded)


def featurize_split(
    config: Mapping[str, Any], task: Task, split: str, language: str, tokenizer: Any,
    sources: Sources | None = None,
) -> tuple[list[dict], Sequence[Feature]]:
    """Examples and features of one task split (`split_examples`), the features from this
    node's cache (`trainables.feature_cache`)."""
    examples, _ = split_examples(config, task, split, language, sources)
    max_length = config.get("max_length") or task.max_length
    return examples, featurize_cached(task, examples, tokenizer, max_length)


# A length group: this many batches' worth of shuffled examples, sorted by length before
# they are cut into batches (the "megabatches" of Hugging Face's LengthGroupedSampler).
LENGTH_GROUP_BATCHES = 50


def epoch_schedule(
    sizes: Mapping[str, int], batch_size: int, cap: int | None, seed: int, epoch: int,
    lengths: Mapping[str, Sequence[int]] | None = None, ranks: int = 1,
) -> list[tuple[str, list[int]]]:
    """The (task, global batch indices) of one epoch, identical on every rank.

    Each task contributes min(size, cap) examples, so tasks are sampled in proportion to their
    capped size; the order of batches across tasks is shuffled. With `lengths` (each task's
    examples' token counts), each group of LENGTH_GROUP_BATCHES batches' worth of shuffled
    examples is sorted by length first, so a batch pads little. A task's last batch with
    fewer examples than `ranks` (DDP workers) joins the batch before it.
    """
    rng = random.Random(f"{seed}-{epoch}")
    schedule = []
    for task_name in sorted(sizes):
        order = list(range(sizes[task_name]))
        rng.shuffle(order)
        order = order[: cap or len(order)]
        if lengths is not None:
            group, length = batch_size * LENGTH_GROUP_BATCHES, lengths[task_name]
            order = [index for start in range(0, len(order), group)
                     for index in sorted(order[start:start + group], key=lambda i: -length[i])]
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        if len(batches) > 1 and len(batches[-1]) < ranks:
            last = batches.pop()  # else a rank would have nothing of it
            batches[-1] += last
        if batches and len(batches[-1]) < ranks:
            raise ValueError(f"task {task_name!r}: {len(order)} training examples an epoch for "
                             f"{ranks} workers; each worker needs at least one")
        schedule += [(task_name, batch) for batch in batches]
    rng.shuffle(schedule)
    return schedule


def feature_length(feature: Mapping[str, Any]) -> int:
    """A feature's tokens: its sequence's, or all of its sequences' (choices, pairs)."""
    ids = feature["input_ids"]
    return sum(len(sequence) for sequence in ids) if len(ids) and not isinstance(
        ids[0], int) else len(ids)


def mixture_diversity(sizes: Mapping[str, int], cap: int | None) -> dict[str, float]:
    """How much and how diverse one epoch's training is: the examples it draws (each task's
    capped size) and the entropy (nats) of the tasks' sampling weights, 0 for one task."""
    drawn = [min(size, cap) if cap else size for size in sizes.values()]
    total = sum(drawn)
    weights = [count / total for count in drawn if count]
    return {"mixture_examples": total,
            "mixture_entropy": float(-sum(w * math.log(w) for w in weights)) + 0.0}


def evaluation_steps(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """The steps (1-based, within an epoch) after which to evaluate."""
    count = min(evals_per_epoch, steps_per_epoch)
    return {round((k + 1) * steps_per_epoch / count) for k in range(count)}


def score_task(
    model: torch.nn.Module, task: Task, examples: Sequence[dict], features: Sequence[Feature],
    context: SplitContext,
) -> dict[str, float]:
    """The family's metrics of `model` on one task split."""
    return get_family(task.family).score_split(model, task, examples, features, context)


def train_loop_per_worker(config: dict) -> None:
    """Ray Train entry point: the loop on one rank of a DDP worker group."""
    from trainables.session import TrainWorkerSession  # lazy: imports Ray Train

    train_loop(config, TrainWorkerSession())


def train_loop(config: dict, session: LoopSession) -> None:
    """Train, evaluate each interval, report score and checkpoint through `session`."""
    # Lazy, as every Ray and transformers import here: worker-side only, and the driver
    # imports this module for its names.
    from transformers import get_linear_schedule_with_warmup

    rank, world_size, device = session.rank, session.world_size, session.device
    precision = config.get("precision", "fp32")
    configure_device(device, precision)
    hparams = config["hparams"]
    set_seed(int(hparams["seed"]))
    started = time.time()

    tokenizer = load_tokenizer(config["model"])
    pool_layers = config.get("pool_layers") or {}  # the spec's, over the registry's
    tasks = {name: replace(task_with_labels(config["data"], name),
                           **({"pool_layer": pool_layers[name]} if name in pool_layers else {}))
             for name in config["tasks"]}
    # A target arm's data (`trainables.arms`): None reads the English splits.
    arm = config.get("arm") or {}
    with counted_drops() as dropped:
        train_examples = {
            name: split_examples(config, task, "train", "en", arm.get("train"),
                                 hparams.get("shots"), int(hparams.get("shot_seed", 0)))
            for name, task in tasks.items()
        }
        dev_sets = (
            {name: featurize_split(config, task, "dev", "en", tokenizer, arm.get("dev"))
             for name, task in tasks.items()}
            if rank == 0 else {}
        )
    train_sets = {
        name: featurize_cached(task, train_examples[name][0], tokenizer,
                               config.get("max_length") or task.max_length)
        for name, task in tasks.items()
    }
    # Target-language training examples: what a direct arm trains on beside English.
    config = {**config, "dropped": dropped,
              "target_train_examples": sum(count for _, count in train_examples.values())}

    if config.get("init_heads"):  # few-shot: the zero-shot target model, head and all
        model = load_checkpoint(config["model"], config["init_checkpoint"])
    else:
        model = MultiTaskModel(load_encoder(config["model"], config.get("init_checkpoint")),
                               list(tasks.values()))
    # A mixture's other heads, and the layers above a task's pooling layer, get no gradient
    # in a step: DDP must be told to look for unused parameters.
    unused = len(tasks) > 1 or any(task.pool_layer != -1 for task in tasks.values())
    model = session.prepare_model(model, find_unused=unused)
    core = model.module if hasattr(model, "module") else model
    worker_nodes = session.node_ids()

    batch_size = int(hparams["batch_size"])
    sizes = {name: len(features) for name, features in train_sets.items()}
    cap = config.get("mixture_cap")
    config = {**config, **mixture_diversity(sizes, cap)}
    steps_per_epoch = len(epoch_schedule(sizes, batch_size, cap, int(hparams["seed"]), 0,
                                         ranks=world_size))
    epochs = int(hparams["epochs"])
    total_steps = steps_per_epoch * epochs
    optimizer = adamw(model.parameters(), float(hparams["learning_rate"]),
                      float(hparams.get("weight_decay", 0.0)), device)
    scaler = grad_scaler(device, precision)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(float(hparams["warmup_ratio"]) * total_steps), total_steps
    )

    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "examples_seen": 0,
             "evaluations": 0, "best_score": -math.inf, "train_seconds": 0.0}
    with session.resumed() as directory:
        if directory is not None:
            saved = torch.load(directory / "training_state.pt", map_location="cpu",
                               weights_only=False)
            core.load_state_dict(load_checkpoint(config["model"], directory).state_dict())
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            if scaler is not None and saved.get("scaler"):
                scaler.load_state_dict(saved["scaler"])
            state = saved["state"]
            # Training time accumulates across restarts, as examples_seen does.
            started -= state["train_seconds"]

    eval_steps = evaluation_steps(steps_per_epoch, int(config["evals_per_epoch"]))
    pad_id = tokenizer.pad_token_id
    lengths = {name: [feature_length(feature) for feature in features]
               for name, features in train_sets.items()} if config.get("length_grouped") else None
    while state["epoch"] < epochs:
        schedule = epoch_schedule(sizes, batch_size, cap, int(hparams["seed"]), state["epoch"],
                                  lengths, ranks=world_size)
        for step_in_epoch in range(state["step_in_epoch"], len(schedule)):
            task_name, global_batch = schedule[step_in_epoch]
            mine = global_batch[rank::world_size]  # never empty (epoch_schedule's ranks)
            family = get_family(tasks[task_name].family)
            batch = to_device(family.collate([train_sets[task_name][i] for i in mine], pad_id),
                              device)
            # Slices of a global batch may differ by one example: each rank's loss weighs its
            # share, so that DDP's mean of the gradients is the global batch's.
            train_step(model, task_name, family.loss, batch, optimizer, scheduler, scaler,
                       device, precision, world_size * len(mine) / len(global_batch))
            state["global_step"] += 1
            state["examples_seen"] += len(global_batch)
            state["step_in_epoch"] = step_in_epoch + 1
            if state["step_in_epoch"] in eval_steps:
                if state["step_in_epoch"] == len(schedule):
                    state["epoch"] += 1
                    state["step_in_epoch"] = 0
                _evaluate_and_report(config, core, dev_sets, state, optimizer, scheduler,
                                     scaler, session, tokenizer, started, worker_nodes)
        if state["step_in_epoch"]:  # epoch ended without an evaluation step at its end
            state["epoch"] += 1
            state["step_in_epoch"] = 0


def _evaluate_and_report(
    config: Mapping[str, Any], core: MultiTaskModel, dev_sets: Mapping[str, tuple], state: dict,
    optimizer: torch.optim.Optimizer, scheduler: Any, scaler: torch.amp.GradScaler | None,
    session: LoopSession, tokenizer: Any, started: float, worker_nodes: str,
) -> None:
    if session.rank != 0:
        session.report({}, checkpoint=None)
        return
    device = session.device
    metrics: dict[str, Any] = {}
    for task_name, (examples, features) in dev_sets.items():
        task = core.tasks[task_name]
        context = SplitContext(tokenizer, config.get("max_length") or task.max_length, 64,
                               device, "en")
        task_metrics = score_task(core, task, examples, features, context)
        metrics.update({f"{task_name}/{key}": value for key, value in task_metrics.items()})
    # A mixture is selected on the mean of its tasks' own metrics.
    score = sum(metrics[f"{name}/{core.tasks[name].metric}"] for name in dev_sets) / len(dev_sets)
    state["best_score"] = max(state["best_score"], score)
    state["evaluations"] += 1
    state["train_seconds"] = time.time() - started
    metrics.update({
        SCORE: score, EVALUATIONS: state["evaluations"], "best_score": state["best_score"],
        "epoch": state["epoch"],
        "step": state["global_step"], "examples_seen": state["examples_seen"],
        "train_seconds": state["train_seconds"], "worker_nodes": worker_nodes,
        "target_train_examples": config.get("target_train_examples", 0),
        **drop_metrics(config.get("dropped", {})),
        "mixture_examples": config.get("mixture_examples"),
        "mixture_entropy": config.get("mixture_entropy"),
    })
    with tempfile.TemporaryDirectory() as directory:
        meta = {"group": config["group"],
                "intermediate": config.get("intermediate", "none"),
                "hparams": config["hparams"], "metrics": metrics}
        save_checkpoint(core, Path(directory), meta)
        # Weights are in encoder/ and heads.pt already; this adds what resuming needs.
        torch.save({"optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": dict(state),
                    "scaler": scaler.state_dict() if scaler is not None else None},
                   Path(directory) / "training_state.pt")
        session.report(metrics, checkpoint=Path(directory))
