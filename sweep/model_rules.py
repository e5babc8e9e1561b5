"""The spec rules for the models a sweep runs: base models (`model`, or a list of them to
compare) — each local model an existing directory, each hub model pinned, a retrieval layer
every model has, distinct short names, a key map only with the architecture it maps onto —
and the image encoder of the precompute stages, pinned, with images to embed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sweep.plan import precomputed_images
from sweep.schema import ModelSpec, Spec, problem
from trainables.tasks import REGISTRY
from trainables.tasks.schema import IMAGED_FAMILIES

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # the pattern of ModelSpec.tag


def _fields(spec: Spec) -> list[tuple[str, ModelSpec]]:
    """(field path, model) of every base model: `model` alone, or `model[i]` of a list."""
    if not spec.base_models:
        return [("model", spec.model)]
    return [(f"model[{index}]", model) for index, model in enumerate(spec.base_models)]


def local_model_directory(spec: Spec) -> list[str]:
    """A local model is an existing directory."""
    return [problem(f"{path}.name", model.name,
                    "an existing directory when model.source is local")
            for path, model in _fields(spec)
            if model.source == "local" and not Path(model.name).expanduser().exists()]


def model_layers(model: ModelSpec) -> int | None:
    """A base model's number of layers where it is known before Ray starts: the tiny
    model's setting, or a local model's config.json; None for a hub model (pre-flight
    resolves only its commit, not its config) or a local one without a readable count."""
    if model.source == "offline":
        return model.tiny.num_layers
    if model.source != "local":
        return None
    try:
        config = json.loads((Path(model.architecture or model.name).expanduser()
                             / "config.json").read_text())
    except (OSError, ValueError):  # no config.json or not JSON: transformers will say so
        return None
    layers = config.get("num_hidden_layers") if isinstance(config, dict) else None
    return layers if isinstance(layers, int) and layers > 0 else None


def retrieval_layer(spec: Spec) -> list[str]:
    """evaluation.retrieval.layer indexes the encoder's hidden states, of which there are
    one per layer and the embeddings' (0): 0 to each model's layers, or negative from the
    top (-1 the last layer)."""
    layer = spec.evaluation.retrieval.layer
    problems = []
    for path, model in _fields(spec):
        layers = model_layers(model)
        if layers is not None and not -(layers + 1) <= layer <= layers:
            whose = "" if path == "model" else f" ({path})"
            problems.append(problem("evaluation.retrieval.layer", layer,
                                    f"{-(layers + 1)} to {layers} for a model of {layers} "
                                    f"layers{whose} (0 the embeddings, -1 the last layer)"))
    return problems


def hub_model_revision(spec: Spec) -> list[str]:
    """A hub model is pinned to a revision."""
    return [problem(f"{path}.revision", None,
                    "a pinned hub revision (commit sha or tag) for a hub model")
            for path, model in _fields(spec) if model.source == "hub" and not model.revision]


def base_model_labels(spec: Spec) -> list[str]:
    """Base models to compare have distinct short names (their stage names end with them)
    made of letters, digits, `.`, `_` and `-` (a name's last part, where no tag is set)."""
    labels = [model.label for model in spec.base_models]
    problems = [problem(f"model[{index}].tag", model.tag,
                        f"a name no other base model has ({label!r} is taken: set tag)")
                for index, (model, label) in enumerate(zip(spec.base_models, labels,
                                                           strict=True))
                if label in labels[:index]]
    return problems + [problem(f"model[{index}].tag", None, f"a tag: the name's last part "
                               f"{label!r} is not letters, digits, '.', '_' and '-'")
                       for index, label in enumerate(labels) if not LABEL.fullmatch(label)]


def key_map_architecture(spec: Spec) -> list[str]:
    """A key map renames a checkpoint's weights onto an architecture, which it needs."""
    return [problem(f"{path}.architecture", None,
                    "the hub id or directory of the encoder the key map loads into")
            for path, model in _fields(spec) if model.key_map and not model.architecture]


def precompute_images(spec: Spec) -> list[str]:
    """`precompute` has image folders to embed, and a pinned image encoder for hub ones."""
    if spec.precompute is None:
        return []
    found = precomputed_images(spec)
    if not found:
        return [problem("precompute", spec.precompute.model_dump(exclude_defaults=True),
                        "left out: no image-text task of this spec has an image folder to "
                        "embed (ImageEmbeddings.image_folder)")]
    hub = sorted({images.encoder for images in found.values()
                  if not Path(images.encoder).expanduser().is_dir()})
    if hub and not spec.precompute.encoder_revision:
        return [problem("precompute.encoder_revision", None,
                        f"a pinned revision (commit sha or tag) of {', '.join(hub)}")]
    return []


def pool_layer_settings(spec: Spec) -> list[str]:
    """search.per_task.<task>.pool_layer is an image-text or late-fusion task's, and a
    layer every base model has (as evaluation.retrieval.layer)."""
    problems = []
    for name, override in spec.search.per_task.items():
        if override.pool_layer is None or name not in REGISTRY:
            continue
        path, layer = f"search.per_task.{name}.pool_layer", override.pool_layer
        if REGISTRY[name].family not in IMAGED_FAMILIES:
            problems.append(problem(path, layer, "left out: a pooling layer is an image-text "
                                    f"or late-fusion task's, and {name} is "
                                    f"{REGISTRY[name].family}"))
            continue
        for where, model in _fields(spec):
            layers = model_layers(model)
            if layers is not None and not -(layers + 1) <= layer <= layers:
                problems.append(problem(path, layer, f"{-(layers + 1)} to {layers} for the "
                                        f"{layers}-layer {where} (0 the embeddings, -1 the "
                                        "last layer)"))
    return problems


MODEL_RULES = (local_model_directory, retrieval_layer, hub_model_revision, base_model_labels,
               key_map_architecture, precompute_images, pool_layer_settings)
