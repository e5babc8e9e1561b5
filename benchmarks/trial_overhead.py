"""What a one-worker trial costs beyond its work: the engine's trial against a bare loop.

The same work both ways, side by side in one run: synth_xnli from the base model (the
offline default's tiny XLM-R), learning rate 1e-3, 4 epochs of 8,000 examples at batch 32,
8 English dev evaluations and 8 checkpoints (weights and optimiser state), tokenising
included (the engine's feature cache is emptied of the task first).
  1. the bare loop: one process, one thread, plain PyTorch (the engine's model, features and
     scorer, so that both do the same arithmetic);
  2. the engine: `sweep run` of a one-trial target stage on a local Ray (one CPU for the
     trial), timed from the stage's start to its manifest entry, and Tune's own time for the
     trial;
  3. the ratio. Goal (issue 11): at most 1.3.

Run: .venv/bin/python benchmarks/trial_overhead.py   (about 2 minutes here)
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import torch  # noqa: E402

from sweep.manifest import Manifest  # noqa: E402
from sweep.results import load_trials  # noqa: E402
from sweep.runner import prepare_offline_assets, run_sweep  # noqa: E402
from sweep.spec import parse_spec  # noqa: E402
from trainables.families import get_family  # noqa: E402
from trainables.families.base import SplitContext  # noqa: E402
from trainables.model import MultiTaskModel, load_encoder, load_tokenizer, save_checkpoint  # noqa: E402
from trainables.storage import cache_dir  # noqa: E402
from trainables.tasks import get_task  # noqa: E402
from trainables.training import split_examples  # noqa: E402

TASK, EPOCHS, EVALS_PER_EPOCH, BATCH, LEARNING_RATE = "synth_xnli", 4, 2, 32, 1e-3
TRAIN_SIZE = 8000
STAGE = f"target/{TASK}"


def benchmark_spec(storage: Path):
    """The one-trial sweep: the offline default's model, synth_xnli from `none` only."""
    return parse_spec({
        "name": "trial-overhead",
        "model": {"source": "offline", "name": "tiny-xlmr",
                  "tiny": {"vocab_size": 4000, "hidden_size": 64, "num_layers": 2,
                           "num_heads": 4, "intermediate_size": 128, "pretrain_steps": 1500}},
        "data": {"source": "offline",
                 "offline": {"seed": 13, "train_size": TRAIN_SIZE, "eval_size": 300,
                             "retrieval_size": 200}},
        "target_tasks": [TASK],
        "search": {"target": {"intermediate": ["none"], "learning_rate": LEARNING_RATE,
                              "epochs": EPOCHS, "batch_size": BATCH, "warmup_ratio": 0.1,
                              "evals_per_epoch": EVALS_PER_EPOCH}},
        "scheduler": {"type": "fifo"},
        "searcher": {"type": "grid"},
        "resources": {"workers_per_trial": 1, "cpus_per_worker": 1,
                      "max_concurrent_trials": 1},
        "evaluation": {"languages": ["en"]},
        "storage": str(storage),
    })


def bare_loop(spec, checkpoints: Path) -> float:
    """The trial's work in plain PyTorch; returns its wall seconds (loading included, as a
    trial's time includes it)."""
    started = time.perf_counter()
    torch.set_num_threads(1)
    random.seed(0)
    torch.manual_seed(0)
    model_cfg, data = spec.model.model_dump(), spec.data.model_dump()
    config = {"data": data, "max_length": spec.model.max_length}
    task = get_task(TASK)
    family = get_family(task.family)
    tokenizer = load_tokenizer(model_cfg)
    max_length = spec.model.max_length or task.max_length
    train = family.featurize(task, split_examples(config, task, "train", "en")[0], tokenizer,
                             max_length)
    dev_examples = split_examples(config, task, "dev", "en")[0]
    dev = family.featurize(task, dev_examples, tokenizer, max_length)
    model = MultiTaskModel(load_encoder(model_cfg), [task])
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    steps_per_epoch = math.ceil(len(train) / BATCH)
    total = steps_per_epoch * EPOCHS
    warmup = int(0.1 * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / max(warmup, 1), max(total - step, 0) / max(total - warmup, 1)))
    evaluate_at = {round((k + 1) * steps_per_epoch / EVALS_PER_EPOCH)
                   for k in range(EVALS_PER_EPOCH)}
    context = SplitContext(tokenizer, spec.model.max_length or task.max_length, 64,
                           torch.device("cpu"), "en")
    evaluations = 0
    for _ in range(EPOCHS):
        order = torch.randperm(len(train)).tolist()
        for step in range(steps_per_epoch):
            model.train()
            batch = family.collate([train[i] for i in order[step * BATCH:(step + 1) * BATCH]],
                                   tokenizer.pad_token_id)
            labels = batch.pop("labels")
            logits = model(TASK, batch.pop("input_ids"), batch.pop("attention_mask"), **batch)
            loss = family.loss(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            if step + 1 in evaluate_at:
                family.score_split(model, task, dev_examples, dev, context)
                evaluations += 1
                directory = checkpoints / f"checkpoint_{evaluations:06d}"
                save_checkpoint(model, directory, {"group": TASK})
                torch.save({"optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict()},
                           directory / "training_state.pt")
    assert evaluations == EPOCHS * EVALS_PER_EPOCH
    return time.perf_counter() - started


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="trial-overhead-"))
    try:
        spec = benchmark_spec(work / "run")
        prepare_offline_assets(spec, quiet=True)  # built once, for both sides
        bare = bare_loop(spec, work / "bare")
        # The engine tokenises too: its node cache of this task's features is emptied first.
        for cached in (cache_dir() / "features").glob(f"{TASK}.*"):
            shutil.rmtree(cached, ignore_errors=True)

        import ray

        ray.init(num_cpus=1, resources={"trial_driver": 1}, include_dashboard=False,
                 _temp_dir=tempfile.mkdtemp(prefix="xs-ray-", dir="/tmp"), log_to_driver=False)
        try:
            run_sweep(spec, storage=str(work / "run"), quiet=True)
        finally:
            ray.shutdown()
        entry = Manifest.read(work / "run").stages[STAGE]
        stage_seconds = entry["recorded_at"] - entry["started_at"]
        trials = load_trials(work / "run")
        trial_seconds = float(trials.loc[trials["stage"] == STAGE, "time_total_s"].iloc[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"bare PyTorch loop            {bare:7.1f} s")
    print(f"engine trial (Tune's time)   {trial_seconds:7.1f} s   {trial_seconds / bare:.2f}x")
    print(f"engine stage (start to end)  {stage_seconds:7.1f} s   {stage_seconds / bare:.2f}x")
    print(f"trial_overhead: one-worker stage / bare loop = {stage_seconds / bare:.2f} "
          "(goal <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
