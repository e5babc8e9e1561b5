"""Training throughput of an XLM-R-large-shaped encoder on one GPU: the engine's step against a
bare PyTorch loop and Hugging Face `Trainer`, side by side in one run.

Random weights (no download), XNLI's three-way classification head, random token ids at a
fixed length, batch 32; for each precision (fp32, bf16) and length (128, 256):
  1. the engine: `trainables.device_loop.train_step` on the engine's `MultiTaskModel`, with
     its optimiser (fused AdamW), precision (autocast; TF32 at fp32) and batches
     copied from pinned memory, as `trainables.training.train_loop` runs them;
  2. a bare loop: `XLMRobertaForSequenceClassification`, `torch.optim.AdamW`, autocast, the
     same clipping, PyTorch's defaults otherwise;
  3. `Trainer` with the matching `bf16` flag, no evaluation, logging or saving.
At fp32 all three run TF32 matmuls (the engine switches them on first, through the legacy
flags only: mixing them with PyTorch's new fp32_precision API is an error). The engine and
the bare loop take collated tensors; Trainer collates its rows each step, as it always
does. Each is timed over steps after a warm-up, between CUDA synchronisations. Prints tokens/s and
model FLOPs utilisation (6 x non-embedding parameters + 12 x layers x hidden x length FLOPs
per token, against the GPU's dense peak) and the engine's ratio to `Trainer`. Goal (issue
11) on an H100/H200: at least 45% MFU at bf16 and 1.2 x Trainer's tokens/s. Writes
`benchmarks/results/gpu_throughput.json` (the engine's bf16 tokens/s at length 128, which
`sweep plan --estimate` reads).

Without a CUDA GPU it says so and exits 0; `--cpu-smoke` runs two steps of each on a tiny
encoder on the CPU to check the code paths (no measurement, nothing written).

Run: .venv/bin/python benchmarks/gpu_throughput.py [--steps 30] [--warmup 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_throughput.json"
BATCH, LENGTHS, PRECISIONS = 32, (128, 256), ("fp32", "bf16")
# Dense peak FLOP/s by device name (bf16, and TF32 for fp32 with TF32 matmuls).
PEAKS = {"H200": (989e12, 494.5e12), "H100": (989e12, 494.5e12), "A100": (312e12, 156e12),
         "L40S": (362e12, 183e12), "A10G": (125e12, 62.5e12)}
LARGE = {"vocab_size": 250002, "hidden_size": 1024, "num_hidden_layers": 24,
         "num_attention_heads": 16, "intermediate_size": 4096, "max_position_embeddings": 514,
         "type_vocab_size": 1}
TINY = {"vocab_size": 1000, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 514, "type_vocab_size": 1}


def _config(shape: dict, labels: int = 3):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(**shape, num_labels=labels)


def _batches(config, length: int, count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [{"input_ids": torch.randint(5, config.vocab_size, (BATCH, length),
                                        generator=generator),
             "attention_mask": torch.ones(BATCH, length, dtype=torch.long),
             "labels": torch.randint(0, 3, (BATCH,), generator=generator)}
            for _ in range(count)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(step, batches: list, warmup: int, device: torch.device) -> float:
    """Seconds for the steps after the first `warmup` (synchronised at both ends)."""
    for batch in batches[:warmup]:
        step(batch)
    _sync(device)
    started = time.perf_counter()
    for batch in batches[warmup:]:
        step(batch)
    _sync(device)
    return time.perf_counter() - started


def engine(config, batches, warmup, device, precision) -> float:
    """The engine's step: `MultiTaskModel`, `device_loop` as the training loop uses it."""
    from transformers import AutoModel, get_linear_schedule_with_warmup

    from trainables.device_loop import (
        adamw,
        configure_device,
        grad_scaler,
        to_device,
        train_step,
    )
    from trainables.families import get_family
    from trainables.model import MultiTaskModel
    from trainables.tasks import get_task

    configure_device(device, precision)
    task = get_task("xnli")
    model = MultiTaskModel(AutoModel.from_config(config), [task]).to(device)
    optimizer = adamw(model.parameters(), 2e-5, 0.0, device)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(batches))
    scaler = grad_scaler(device, precision)
    loss = get_family(task.family).loss
    def step(batch) -> None:
        train_step(model, task.name, loss, to_device(batch, device), optimizer, scheduler,
                   scaler, device, precision)

    return _timed(step, batches, warmup, device)


def bare(config, batches, warmup, device, precision) -> float:
    """A plain loop: the Hugging Face classifier, AdamW, autocast at bf16."""
    from transformers import XLMRobertaForSequenceClassification

    model = XLMRobertaForSequenceClassification(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    dtype = torch.bfloat16 if precision == "bf16" else None

    def step(batch) -> None:
        batch = {key: value.to(device) for key, value in batch.items()}
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return _timed(step, batches, warmup, device)


def trainer(config, batches, warmup, device, precision) -> float:
    """Hugging Face `Trainer` over the same batches (one example per row)."""
    from transformers import (
        Trainer,
        TrainerCallback,
        TrainingArguments,
        XLMRobertaForSequenceClassification,
    )

    rows = [{key: batch[key][row] for key in batch}
            for batch in batches for row in range(BATCH)]
    marks: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in (warmup, len(batches)):
                _sync(device)
                marks[str(state.global_step)] = time.perf_counter()

    with tempfile.TemporaryDirectory() as output:
        arguments = TrainingArguments(
            output_dir=output, per_device_train_batch_size=BATCH, max_steps=len(batches),
            learning_rate=2e-5, bf16=precision == "bf16",
            use_cpu=device.type != "cuda",
            logging_strategy="no", save_strategy="no", eval_strategy="no", report_to=[],
            dataloader_pin_memory=device.type == "cuda", max_grad_norm=1.0, disable_tqdm=True)
        Trainer(model=XLMRobertaForSequenceClassification(config), args=arguments,
                train_dataset=rows, callbacks=[Clock()]).train()
    return marks[str(len(batches))] - marks[str(warmup)]


def flops_per_token(config, length: int) -> float:
    """Training FLOPs per token: 6 x non-embedding parameters + attention's 12 x L x H x T."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    per_layer = 4 * hidden * hidden + 2 * hidden * config.intermediate_size
    return 6 * layers * per_layer + 12 * layers * hidden * length


def peak(device: torch.device, precision: str) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name()
    for key, (bf16, tf32) in PEAKS.items():
        if key in name:
            return bf16 if precision == "bf16" else tf32
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--cpu-smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        device, shape, steps, warmup, lengths = torch.device("cpu"), TINY, 2, 1, (16,)
    elif torch.cuda.is_available():
        device, shape, steps, warmup, lengths = (torch.device("cuda"), LARGE, args.steps,
                                                 args.warmup, LENGTHS)
    else:
        print("gpu_throughput: needs a CUDA GPU and there is none here; nothing measured")
        return 0
    config = _config(shape)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu (smoke)"
    print(f"{name}: XLM-R {'large' if shape is LARGE else 'tiny'} shape, batch {BATCH}")
    print(f"{'precision':9}  {'length':>6}  {'loop':8}  {'tokens/s':>10}  {'MFU':>6}")
    rows = []
    for precision in PRECISIONS:
        for length in lengths:
            batches = _batches(config, length, warmup + steps)
            tokens = BATCH * length * steps
            measured = {}
            for loop, run in (("engine", engine), ("bare", bare), ("trainer", trainer)):
                seconds = run(config, batches, warmup, device, precision)
                rate = tokens / seconds
                ceiling = peak(device, precision)
                mfu = rate * flops_per_token(config, length) / ceiling if ceiling else None
                measured[loop] = rate
                rows.append({"precision": precision, "length": length, "loop": loop,
                             "tokens_per_second": rate, "mfu": mfu})
                shown = f"{100 * mfu:5.1f}%" if mfu is not None else "   n/a"
                print(f"{precision:9}  {length:6}  {loop:8}  {rate:10.0f}  {shown}")
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            print(f"gpu_throughput: {precision} length {length}: engine / Trainer = "
                  f"{measured['engine'] / measured['trainer']:.2f} (goal >= 1.2), "
                  f"engine / bare = {measured['engine'] / measured['bare']:.2f}")
    if device.type == "cuda":
        engine_bf16 = next(row for row in rows if row["loop"] == "engine"
                           and row["precision"] == "bf16" and row["length"] == LENGTHS[0])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"device": name, "batch": BATCH,
                                       "tokens_per_second": engine_bf16["tokens_per_second"],
                                       "rows": rows}, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
