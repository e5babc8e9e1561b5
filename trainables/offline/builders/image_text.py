"""Image-text contrastive: synth_caption (COCO-like: English captions, several per image) and
synth_xflickrco (xFlickr&CO-like: English training captions; dev and test captions of the
same images in every language, parallel).

An image is an abstract scene, a `Clause` (who does what to how many of which things, where),
and its vector is what a frozen "image encoder" makes of the scene: one fixed random linear
map, shared by both tasks so that their spaces agree, applied to the scene's features (one-hot
person, action, thing, its colour or kind, a coarse count, and the place: preposition and
noun), plus Gaussian-like noise, L2-normalised (float32, `SYNTHETIC_IMAGE_DIM` wide).

Where the signal lies: a caption names the scene's content words, so a map from captions to
image vectors can be learnt from the English training captions. Captions say only part of
what their image shows (each mentions the adjective, and the place, with P_MENTION; about a
third say everything), the count is coarse in the image but exact in the caption, and the
noise keeps alignment from being exact: the noise-free vector of what a caption says finds
its image among 300 at recall@1 about 97% of the time; with seed 13, a ridge map from bags
of words learnt on synth_xflickrco's English training captions, 48% (chance 0.33%). Other
languages' captions share the names, the digits and (de, fr, sw) some cognates with English:
that map finds their images 1-4% of the time, through those anchors (English names and
digits alone: 2.7%).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trainables.offline.builders.common import (
    ENGLISH_SPLITS,
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
)
from trainables.offline.grammar import Clause, english_variant, random_clause, render_text
from trainables.offline.lexicon import ADJECTIVES, NAMES, NOUNS, PREPOSITIONS, VERBS, Lexicon
from trainables.tasks.synthetic import SYNTHETIC_IMAGE_DIM

CAPTIONS_PER_IMAGE = 3  # per image of a split with several captions per image
# The stream of the image encoder's map: one purpose for both tasks, so they share the map.
ENCODER_PURPOSE = "image_encoder"
# The count an image shows: which of these ranges its number falls in (lower bounds).
COUNT_BUCKETS = (2, 5, 10, 20, 50)
# Each feature group of a scene (its size) and its weight in the image vector.
FEATURES: tuple[tuple[str, int, float], ...] = (
    ("name", len(NAMES), 0.6),
    ("verb", len(VERBS), 0.8),
    ("noun", len(NOUNS), 1.0),
    ("adj", len(ADJECTIVES), 0.8),
    ("count", len(COUNT_BUCKETS), 0.6),
    ("prep", len(PREPOSITIONS), 0.4),
    ("place", len(NOUNS), 0.6),
)
NOISE = 1.25  # the noise vector's expected norm; a scene's content vector's is about 1.9
P_MENTION = 0.6  # the chance a caption mentions its image's adjective, and its place
# English training captions: surface variation (english_variant).
P_FRONT_PP, P_SYNONYM = 0.3, 0.3


def _offsets() -> dict[str, int]:
    offsets, at = {}, 0
    for group, size, _ in FEATURES:
        offsets[group] = at
        at += size
    return offsets


_OFFSETS = _offsets()
_WEIGHTS = {group: weight for group, _, weight in FEATURES}
N_FEATURES = sum(size for _, size, _ in FEATURES)


def _normal(rng: random.Random) -> float:
    """A standard normal, approximately (Irwin-Hall: twelve uniforms, less six). Arithmetic
    only, unlike random.gauss, so the bytes do not depend on the platform's libm."""
    total = 0.0
    for _ in range(12):
        total += rng.random()
    return total - 6.0


def scene_features(clause: Clause) -> list[tuple[int, float]]:
    """The (feature index, weight) pairs a scene has: one per group its clause fills."""
    active = {
        "name": clause.name, "verb": clause.verb, "noun": clause.noun,
        "count": bisect_right(COUNT_BUCKETS, clause.num) - 1,
    }  # fmt: skip
    if clause.adj is not None:
        active["adj"] = clause.adj
    if clause.pp is not None:
        active["prep"], active["place"] = clause.pp
    return [(_OFFSETS[group] + index, _WEIGHTS[group])
            for group, index in sorted(active.items(), key=lambda item: _OFFSETS[item[0]])]


def image_encoder(inputs: Inputs) -> list[list[float]]:
    """The encoder's map: a column of SYNTHETIC_IMAGE_DIM values per feature, each about
    N(0, 1 / dim), so a column's norm is about 1. The same for every task."""
    rng = inputs.rng(ENCODER_PURPOSE)
    scale = math.sqrt(SYNTHETIC_IMAGE_DIM)
    return [[_normal(rng) / scale for _ in range(SYNTHETIC_IMAGE_DIM)]
            for _ in range(N_FEATURES)]  # fmt: skip


def image_vectors(scenes: Sequence[Clause], encoder: list[list[float]],
                  rng: random.Random) -> list[list[float]]:
    """Each scene's vector: the encoder's columns of its features, weighted, plus noise (norm
    about NOISE), L2-normalised. Exact sums (math.fsum) and square roots only, so the values
    are the same on every platform."""
    scale = NOISE / math.sqrt(SYNTHETIC_IMAGE_DIM)
    vectors = []
    for scene in scenes:
        active = scene_features(scene)
        vector = [math.fsum([weight * encoder[f][d] for f, weight in active]
                            + [scale * _normal(rng)]) for d in range(SYNTHETIC_IMAGE_DIM)]
        norm = math.sqrt(math.fsum(v * v for v in vector))
        vectors.append([v / norm for v in vector])
    return vectors


def _scenes(rng: random.Random, n: int, seen: set[Clause]) -> list[Clause]:
    """n scenes no split of the task has yet. A scene has every part (an image shows its
    things' colour or kind and where they are; its captions leave parts out) and no negation
    (an image shows what is there)."""
    scenes = []
    while len(scenes) < n:
        scene = random_clause(rng, p_adj=1.0, p_pp=1.0)
        if scene not in seen:
            seen.add(scene)
            scenes.append(scene)
    return scenes


def _mentioned(rng: random.Random, scene: Clause) -> Clause:
    """What one caption says of its scene: the adjective and the place each with P_MENTION."""
    adj = scene.adj if rng.random() < P_MENTION else None
    pp = scene.pp if rng.random() < P_MENTION else None
    return replace(scene, adj=adj, pp=pp)


def _english_captions(rng: random.Random, scene: Clause, lex: Lexicon, k: int) -> list[str]:
    """k English captions of one scene, each mentioning part of it, in varied surface forms
    (synonyms, a fronted place); redrawn a few times where one repeats an earlier one."""
    captions: list[str] = []
    for _ in range(k):
        for _ in range(8):
            said = _mentioned(rng, scene)
            caption = english_variant(said, lex, rng, front_pp=rng.random() < P_FRONT_PP,
                                      p_synonym=P_SYNONYM)
            if caption not in captions:
                break
        captions.append(caption)
    return captions


def _image_ids(task: str, start: int, n: int) -> list[str]:
    return [f"{task}-img-{i:06d}" for i in range(start, start + n)]


def _several_per_image(rng: random.Random, scenes: Sequence[Clause], ids: Sequence[str],
                       lex: Lexicon) -> list[dict]:
    """CAPTIONS_PER_IMAGE English caption records per scene, image by image."""
    return [{"id": f"{image_id}-{k}", "caption": caption, "image_id": image_id}
            for scene, image_id in zip(scenes, ids, strict=True)
            for k, caption in enumerate(_english_captions(rng, scene, lex, CAPTIONS_PER_IMAGE))]


def _write_images(inputs: Inputs, files: BenchmarkWriter, task: str, scenes: Sequence[Clause],
                  ids: Sequence[str]) -> None:
    """``<task>/images.npy`` (float32, one row per image) and ``<task>/images.txt`` (its ids,
    in row order); the noise has a stream of its own, so the captions do not move with it."""
    vectors = image_vectors(scenes, image_encoder(inputs), inputs.rng(task, "images"))
    files.write_array(f"{task}/images.npy",
                      np.array(vectors, dtype="<f4").reshape(len(ids), SYNTHETIC_IMAGE_DIM))
    files.write_lines(f"{task}/images.txt", list(ids))


def _layout(splits: dict[str, list[str]]) -> Layout:
    return Layout(splits, ["caption"], label_field=None)


CAPTION_LAYOUT = _layout(ENGLISH_SPLITS)


def build_synth_caption(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_caption/{train,dev}-en.jsonl``: id, caption, image_id, CAPTIONS_PER_IMAGE
    English captions per image (about train_size and eval_size captions), and
    ``synth_caption/images.{npy,txt}``: both splits' images, train's first (intermediate,
    COCO-like)."""
    lex, rng, seen = inputs.lexicons["en"], inputs.rng("synth_caption"), set()
    scenes: list[Clause] = []
    ids: list[str] = []
    for split in CAPTION_LAYOUT.splits:
        n = max(1, inputs.split_size(split) // CAPTIONS_PER_IMAGE)
        split_scenes, split_ids = _scenes(rng, n, seen), _image_ids("synth_caption", len(ids), n)
        files.write_jsonl(f"synth_caption/{split}-en.jsonl",
                          _several_per_image(rng, split_scenes, split_ids, lex))
        scenes += split_scenes
        ids += split_ids
    _write_images(inputs, files, "synth_caption", scenes, ids)
    return CAPTION_LAYOUT


def build_synth_caption_control(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """A control of synth_caption (`_scrambled`, `_random`, `_text_only`): no files of its
    own; it reads synth_caption's captions and images."""
    return replace(CAPTION_LAYOUT, file_pattern="../synth_caption/{split}-{lang}.jsonl")


def build_synth_xflickrco(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xflickrco/train-en.jsonl`` (about train_size / 2 English captions,
    CAPTIONS_PER_IMAGE per image) and ``synth_xflickrco/{dev,test}-<L>.jsonl`` for every
    language: one caption per image, eval_size images each, the same images and what is said
    of them on line i of every language (parallel, the same ids), rendered in L; fields id,
    caption, image_id. ``synth_xflickrco/images.{npy,txt}``: every split's images, train's
    first (target, xFlickr&CO-like)."""
    layout = _layout(TARGET_SPLITS)
    rng, seen = inputs.rng("synth_xflickrco"), set()
    scenes: list[Clause] = []
    ids: list[str] = []
    for split, languages in layout.splits.items():
        n = (max(1, inputs.train_size // 2 // CAPTIONS_PER_IMAGE) if split == "train"
             else inputs.eval_size)
        split_scenes = _scenes(rng, n, seen)
        split_ids = _image_ids("synth_xflickrco", len(ids), n)
        if split == "train":
            files.write_jsonl("synth_xflickrco/train-en.jsonl", _several_per_image(
                rng, split_scenes, split_ids, inputs.lexicons["en"]))
        else:
            said = [_mentioned(rng, scene) for scene in split_scenes]
            for lang in languages:
                files.write_jsonl(f"synth_xflickrco/{split}-{lang}.jsonl", [
                    {"id": f"{image_id}-0", "caption": render_text([clause], lang,
                                                                   inputs.lexicons[lang]),
                     "image_id": image_id}
                    for clause, image_id in zip(said, split_ids, strict=True)])  # fmt: skip
        scenes += split_scenes
        ids += split_ids
    _write_images(inputs, files, "synth_xflickrco", scenes, ids)
    return layout
