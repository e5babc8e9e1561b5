"""What the training loop does differently on an accelerator: precision, matmul mode, a fused
optimiser and pinned, non-blocking batch copies. On the CPU at fp32 every helper here is the
plain PyTorch the loop always ran. (The next batch is collated while the GPU runs the step
already: kernels launch asynchronously and the fp32 / bf16 step never waits for them.)

`resources.precision` (the spec): fp32 (TF32 matmuls on a GPU that has them), bf16 (autocast;
refused on a GPU without bf16) or fp16 (autocast with loss scaling).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

PRECISIONS: dict[str, torch.dtype | None] = {
    "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16,
}


def configure_device(device: torch.device, precision: str) -> None:
    """TF32 matmuls and convolutions on a GPU (fp32 weights and accumulation, 10-bit
    mantissa inputs: what XLM-R fine-tuning tolerates, at several times the speed); bf16
    asked of a GPU without it is an error rather than a silent fp32 run."""
    if precision not in PRECISIONS:
        raise ValueError(f"resources.precision: {precision!r} is not one of {list(PRECISIONS)}")
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"resources.precision: bf16 asked, but {torch.cuda.get_device_name()} "
                         "has no bf16; use fp16 or fp32")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's precision: autocast to bf16 / fp16, or nothing at fp32."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """Loss scaling for fp16 (whose range would underflow small gradients); None otherwise."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def adamw(parameters: Iterable[torch.nn.Parameter], learning_rate: float, weight_decay: float,
          device: torch.device) -> torch.optim.AdamW:
    """AdamW, fused into one kernel per step on a GPU (same update, fewer launches)."""
    fused = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay, **fused)


def to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, Any]:
    """A collated batch on `device`; on a GPU through pinned memory without blocking, so the
    host does not wait for the copy."""
    if device.type != "cuda":
        return {key: value.to(device) for key, value in batch.items()}
    return {key: value.pin_memory().to(device, non_blocking=True)
            for key, value in batch.items()}


def train_step(
    model: torch.nn.Module, task_name: str, loss_of: Callable[..., torch.Tensor],
    batch: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, scheduler: Any,
    scaler: torch.amp.GradScaler | None, device: torch.device, precision: str,
    weight: float = 1.0,
) -> None:
    """One optimiser step of the training loop on a batch already on `device` (its
    `labels`, `input_ids`, `attention_mask` and the family's extra inputs): forward under
    the precision's autocast, the loss times `weight` (a DDP rank's share of the global
    batch times the world size, so that DDP's mean of the ranks' gradients is the global
    batch's), gradients clipped to norm 1, then the schedule. Nothing is read back, so the
    host never waits for the GPU here."""
    model.train()
    inputs = dict(batch)
    labels = inputs.pop("labels")
    with autocast(device, precision):
        logits = model(task_name, inputs.pop("input_ids"), inputs.pop("attention_mask"),
                       **inputs)
        loss = loss_of(logits, labels) * weight
    optimizer.zero_grad()
    if scaler is None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    else:  # fp16: scaled loss, gradients unscaled before clipping
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
    scheduler.step()
