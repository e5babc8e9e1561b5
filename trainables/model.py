"""Base encoders, the multi-task model and its checkpoints.

STILTs transfer loads the encoder only: a checkpoint keeps the encoder (`encoder/`, in
`save_pretrained` format) apart from its task heads (`heads.pt`), so the target stage takes the
first and always builds fresh heads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainables.families import get_family
from trainables.offline.benchmark import ensure_benchmark
from trainables.offline.tiny_model import ensure_tiny_model
from trainables.storage import cache_dir, local_directory
from trainables.tasks import Task, get_task


def base_model_reference(model_cfg: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(tokenizer location, encoder location, hub revision) of the configured base model."""
    if model_cfg["source"] == "offline":
        tiny = dict(model_cfg["tiny"])
        corpus = ensure_benchmark(cache_dir() / "benchmarks", seed=tiny["corpus_seed"]) / "corpus"
        root = ensure_tiny_model(tiny, corpus)
        return str(root / "tokenizer"), str(root / "encoder"), None
    return model_cfg["name"], model_cfg["name"], model_cfg.get("revision")


def load_tokenizer(model_cfg: Mapping[str, Any]) -> Any:
    from transformers import AutoTokenizer  # lazy: slow to import; the driver needs none

    if model_cfg.get("architecture"):  # a wrapped checkpoint: its encoder's tokenizer
        return AutoTokenizer.from_pretrained(model_cfg["architecture"],
                                             revision=model_cfg.get("architecture_revision"))
    tokenizer_ref, _, revision = base_model_reference(model_cfg)
    return AutoTokenizer.from_pretrained(tokenizer_ref, revision=revision)


def load_encoder(model_cfg: Mapping[str, Any], checkpoint: str | None = None) -> nn.Module:
    """The base encoder, or the encoder of a checkpoint this project wrote (local or cloud)."""
    from transformers import AutoModel  # lazy: slow to import; the driver needs none

    if checkpoint:
        return AutoModel.from_pretrained(local_directory(checkpoint) / "encoder",
                                         add_pooling_layer=False)
    if model_cfg.get("key_map"):
        return _mapped_encoder(model_cfg)
    _, encoder_ref, revision = base_model_reference(model_cfg)
    return AutoModel.from_pretrained(encoder_ref, revision=revision, add_pooling_layer=False)


def _mapped_encoder(model_cfg: Mapping[str, Any]) -> nn.Module:
    """The encoder inside a checkpoint of another model (M-CLIP's text tower): the
    architecture's config, the checkpoint's weights renamed by `key_map`. A weight the
    encoder needs and the map does not give is an error."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(model_cfg["architecture"],
                                        revision=model_cfg.get("architecture_revision"))
    encoder = AutoModel.from_config(config, add_pooling_layer=False)
    renamed = {}
    for key, value in _checkpoint_weights(model_cfg["name"], model_cfg.get("revision")).items():
        prefix = next((old for old in model_cfg["key_map"] if key.startswith(old)), None)
        if prefix is not None:
            renamed[model_cfg["key_map"][prefix] + key[len(prefix):]] = value
    missing, _ = encoder.load_state_dict(renamed, strict=False)
    missing = [key for key in missing if not key.endswith("position_ids")]
    if missing:
        raise ValueError(f"model {model_cfg['name']!r}: key_map {model_cfg['key_map']} leaves "
                         f"{len(missing)} weight(s) of {model_cfg['architecture']!r} unset, "
                         f"first {missing[:3]}; the checkpoint has {len(renamed)} mapped keys")
    return encoder


def _checkpoint_weights(name: str, revision: str | None) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint's safetensors or pytorch_model.bin (local or hub)."""
    directory = Path(name).expanduser()
    if not directory.is_dir():
        from huggingface_hub import snapshot_download

        directory = Path(snapshot_download(name, revision=revision, allow_patterns=[
            "*.safetensors", "*.bin", "*.json"]))
    # Weights only: a checkpoint folder may hold training_args.bin or optimizer.bin too.
    files = sorted(directory.glob("*.safetensors")) or sorted(
        path for path in directory.glob("*.bin") if path.name.startswith("pytorch_model"))
    if not files:
        raise FileNotFoundError(f"model {name!r}: no *.safetensors or pytorch_model*.bin "
                                f"weights in {directory}")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            weights.update(load_file(str(file)))
        else:
            weights.update(torch.load(file, map_location="cpu", weights_only=True))
    return weights


class MultiTaskModel(nn.Module):
    """One shared encoder and a head per task; a single task is a mixture of one.

    `tasks` are the entries the heads were sized for, labels read from data included; they
    stay on the model (`model.tasks`) so that scoring uses the label order it was trained with.
    """

    def __init__(self, encoder: nn.Module, tasks: Sequence[Task], dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.tasks = {task.name: task for task in tasks}
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({
            task.name: get_family(task.family).head_for(task, hidden, dropout)
            for task in tasks})

    def forward(self, task_name: str, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                **inputs: torch.Tensor):
        """The task's logits; `inputs` are the batch's other model inputs (image vectors)."""
        family = get_family(self.tasks[task_name].family)
        return family.forward(self.encode, self.heads[task_name], input_ids, attention_mask,
                              **inputs)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               layer: int = -1) -> torch.Tensor:
        """The shared encoder's hidden states after `layer` layers (-1: the last)."""
        if layer == -1:
            return self.encoder(input_ids=input_ids,
                                attention_mask=attention_mask).last_hidden_state
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                            output_hidden_states=True).hidden_states[layer]


def save_checkpoint(model: MultiTaskModel, directory: Path, meta: dict) -> None:
    """Encoder, heads and meta.json; meta gains the tasks, each head's labels in order and
    each task's pooling layer (the spec may set another than the registry's)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(directory / "encoder")
    torch.save(model.heads.state_dict(), directory / "heads.pt")
    meta = {**meta, "tasks": list(model.tasks),
            "labels": {name: list(task.labels) for name, task in model.tasks.items()},
            "pool_layers": {name: task.pool_layer for name, task in model.tasks.items()}}
    (directory / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))


def read_meta(checkpoint: str | Path) -> dict:
    """What a checkpoint was trained on (tasks, step, ...), from its meta.json."""
    return json.loads((local_directory(checkpoint) / "meta.json").read_text())


def load_checkpoint(model_cfg: Mapping[str, Any], checkpoint: str | Path) -> MultiTaskModel:
    """A full model (encoder and heads) from a checkpoint (local or cloud), for evaluation or
    resuming."""
    directory = local_directory(checkpoint)
    meta = read_meta(directory)
    labels, pool_layers = meta.get("labels", {}), meta.get("pool_layers", {})
    tasks = [replace(get_task(name),
                     **({"labels": tuple(labels[name])} if name in labels else {}),
                     **({"pool_layer": pool_layers[name]} if name in pool_layers else {}))
             for name in meta["tasks"]]
    model = MultiTaskModel(load_encoder(model_cfg, str(directory)), tasks)
    model.heads.load_state_dict(torch.load(directory / "heads.pt", map_location="cpu"))
    return model
