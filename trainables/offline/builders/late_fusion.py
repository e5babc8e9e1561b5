"""Late-fusion vision-language classification: synth_ve (SNLI-VE-like, English) and
synth_xvnli (XVNLI-like: English training pairs, dev and test parallel in every language),
synth_nlvr (NLVR2-like, two images, English) and synth_marvl (MaRVL-like, in every language).

Images are abstract scenes (`Clause`s), their vectors made by the image-text builder's
"image encoder" (`image_text.image_encoder`, `image_text.image_vectors`: one shared random
map of the scene's features plus noise), so that every synthetic image vector lives in one
space. A visual-entailment pair has an image of its own, a visual-reasoning pair of images
two sentences; a task's vectors are in `<task>/images.npy` with their ids in
`<task>/images.txt`, every split's, train's first.

Visual entailment. The hypothesis is a sentence about a person doing something to a number
of things, saying their adjective, where they are, or both (SHAPES: the same for every
label). Entailment: the image shows what it says (and, with P_UNSAID each, the parts it
leaves out). Contradiction: it changes one content word of what the image shows (the verb,
the thing or its adjective). Neutral: the image lacks one of the parts it says (it has no
adjective, or no place, at all). Each hypothesis is drawn the same way whatever its label,
so the text alone says nothing of the label: the signal is in (text, image).
Telling neutral from contradiction needs the image's parts (absent, or present but other);
neutral images lack a part more often, which an image alone hints at only faintly.

Visual reasoning. Two images and two sentences about them: a true one, saying part of the
left or of the right image (which one: a coin toss), and a false one, such a sentence with
one content word changed so that it holds of neither. Text alone: chance; one image alone
cannot tell a true sentence about the other image from a false one.

Where the signal lies (seed 13, default sizes; a logistic regression trained on the English
training examples, scored on the dev examples; tests/test_late_fusion.py): synth_ve, chance
33%: a bag of words 34.7%, the image vector 35.0%, the bag of words with each word's match
with the image (its direction in image space: a ridge map from entailed hypotheses to their
images) 51.7%; synth_nlvr, chance 50%: words 49.3%, the images 50.0%, words with their
matches with both images 59.7%. The encoder's noise caps it: given the true map's matches
of each part, a classifier reaches about 70% on synth_ve.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trainables.offline.builders.common import (
    ENGLISH_SPLITS,
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
    balanced_labels,
    other_index,
    unique_examples,
)
from trainables.offline.builders.image_text import image_encoder, image_vectors
from trainables.offline.grammar import Clause, english_variant, random_clause, render_text
from trainables.offline.lexicon import ADJECTIVES, NOUNS, PREPOSITIONS, VERBS, Lexicon
from trainables.tasks import NLI_LABELS
from trainables.tasks.synthetic import REASONING_LABELS, SYNTHETIC_IMAGE_DIM

ENTAILMENT, NEUTRAL, CONTRADICTION = (NLI_LABELS.index(label)
                                      for label in ("entailment", "neutral", "contradiction"))
FALSE, TRUE = (REASONING_LABELS.index(label) for label in ("False", "True"))
# What a hypothesis says besides person, verb, number and thing: (adjective, place).
SHAPES = ((True, False), (False, True), (True, True))
P_UNSAID = 0.5  # the chance an entailed or contradicted image shows a part left unsaid
P_MENTION = 0.6  # visual reasoning: the chance a sentence says its image's adjective, place
# English sentences: surface variation (english_variant), as the image-text captions have.
P_FRONT_PP, P_SYNONYM = 0.3, 0.3

VEExample = tuple[Clause, Clause, int]  # image scene, hypothesis, label
ReasoningPair = tuple[Clause, Clause, Clause, Clause]  # left, right, a true and a false sentence


def _some_adjective(rng: random.Random) -> int:
    return rng.randrange(len(ADJECTIVES))


def _some_place(rng: random.Random) -> tuple[int, int]:
    return rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS))


def _changed(rng: random.Random, said: Clause) -> Clause:
    """`said` with one content word replaced: its verb, its thing or (where it has one) its
    adjective."""
    part = rng.choice(["verb", "noun", *(["adj"] if said.adj is not None else [])])
    if part == "verb":
        return replace(said, verb=other_index(rng, len(VERBS), [said.verb]))
    if part == "noun":
        return replace(said, noun=other_index(rng, len(NOUNS), [said.noun]))
    return replace(said, adj=other_index(rng, len(ADJECTIVES), [said.adj]))


def _ve_example(rng: random.Random, label: int) -> VEExample:
    """A hypothesis, drawn alike for every label, and the image its label says."""
    says_adj, says_pp = rng.choice(SHAPES)
    said = random_clause(rng, p_adj=1.0, p_pp=1.0)
    said = replace(said, adj=said.adj if says_adj else None, pp=said.pp if says_pp else None)
    # The parts left unsaid, shown by the image with P_UNSAID each.
    scene = replace(said, adj=said.adj if says_adj else (
        _some_adjective(rng) if rng.random() < P_UNSAID else None),
        pp=said.pp if says_pp else (_some_place(rng) if rng.random() < P_UNSAID else None))
    if label == CONTRADICTION:  # one part the image shows is said with another value
        return scene, _changed(rng, said), label
    if label == NEUTRAL:  # the image lacks one of the parts the hypothesis says
        lacks = rng.choice([part for part, says in (("adj", says_adj), ("pp", says_pp))
                            if says])
        scene = replace(scene, **{lacks: None})
    return scene, said, label


def _holds(sentence: Clause, scene: Clause) -> bool:
    """Whether `sentence` says part of `scene`: the same person, verb, number and thing, and
    the adjective and place, where it says them, the scene's."""
    return (replace(sentence, adj=None, pp=None) == replace(scene, adj=None, pp=None)
            and sentence.adj in (None, scene.adj) and sentence.pp in (None, scene.pp))


def _reasoning_pair(rng: random.Random, _: object = None) -> ReasoningPair:
    """Two full scenes, a true sentence about one of them (which: a coin toss) and a false
    one: a sentence about one of them with a content word changed, holding of neither."""
    left, right = (random_clause(rng, p_adj=1.0, p_pp=1.0) for _ in range(2))

    def said() -> Clause:
        about = left if rng.random() < 0.5 else right
        return replace(about, adj=about.adj if rng.random() < P_MENTION else None,
                       pp=about.pp if rng.random() < P_MENTION else None)

    true = said()
    while True:
        false = _changed(rng, said())
        if not (_holds(false, left) or _holds(false, right)):
            return left, right, true, false


def _image_ids(task: str, start: int, n: int) -> list[str]:
    return [f"{task}-img-{i:06d}" for i in range(start, start + n)]


def _english(rng: random.Random, clause: Clause, lex: Lexicon) -> str:
    return english_variant(clause, lex, rng, front_pp=rng.random() < P_FRONT_PP,
                           p_synonym=P_SYNONYM)


def _write_images(inputs: Inputs, files: BenchmarkWriter, task: str, scenes: Sequence[Clause],
                  ids: Sequence[str]) -> None:
    """``<task>/images.npy`` (float32, a row per image) and ``<task>/images.txt`` (their ids);
    the noise has a stream of its own, so the texts do not move with it."""
    vectors = image_vectors(scenes, image_encoder(inputs), inputs.rng(task, "images"))
    files.write_array(f"{task}/images.npy",
                      np.array(vectors, dtype="<f4").reshape(len(ids), SYNTHETIC_IMAGE_DIM))
    files.write_lines(f"{task}/images.txt", list(ids))


def _build_ve(inputs: Inputs, files: BenchmarkWriter, task: str,
              splits: dict[str, list[str]], train_size: int) -> Layout:
    """`train_size` training and eval_size dev and test pairs (labels balanced), an image
    each."""
    rng, seen = inputs.rng(task), set()
    scenes: list[Clause] = []
    ids: list[str] = []
    for split, languages in splits.items():
        n = max(1, train_size if split == "train" else inputs.eval_size)
        examples = unique_examples(_ve_example, rng, balanced_labels(rng, n, len(NLI_LABELS)),
                                   seen)
        split_ids = _image_ids(task, len(ids), n)
        english = languages == ["en"]
        for lang in languages:
            lex = inputs.lexicons[lang]
            files.write_jsonl(f"{task}/{split}-{lang}.jsonl", [
                {"id": f"{task}-{split}-{index:06d}",
                 "hypothesis": (_english(rng, said, lex) if english
                                else render_text([said], lang, lex)),
                 "label": NLI_LABELS[label], "image_id": split_ids[index]}
                for index, (_, said, label) in enumerate(examples)])
        scenes += [scene for scene, _, _ in examples]
        ids += split_ids
    _write_images(inputs, files, task, scenes, ids)
    return Layout(splits, ["hypothesis"])


def build_synth_ve(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_ve/{train,dev}-en.jsonl``: id, hypothesis (English, varied surface forms),
    label (NLI_LABELS, balanced), image_id; train_size and eval_size pairs, an image each,
    in ``synth_ve/images.{npy,txt}`` (intermediate, SNLI-VE-like)."""
    return _build_ve(inputs, files, "synth_ve", ENGLISH_SPLITS, inputs.train_size)


def build_synth_ve_control(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """A control of synth_ve (`_scrambled`, `_random`, `_text_only`): no files of its own; it
    reads synth_ve's pairs and images."""
    return Layout(ENGLISH_SPLITS, ["hypothesis"], file_pattern="../synth_ve/{split}-{lang}.jsonl")


def build_synth_xvnli(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xvnli/train-en.jsonl`` (train_size / 2 English pairs, varied surface forms) and
    ``synth_xvnli/{dev,test}-<L>.jsonl`` for every language: eval_size pairs each, the same
    image, hypothesis and label on line i of every language (parallel, the same ids),
    rendered in L; fields as synth_ve's; images in ``synth_xvnli/images.{npy,txt}`` (target,
    XVNLI-like)."""
    return _build_ve(inputs, files, "synth_xvnli", TARGET_SPLITS, inputs.train_size // 2)


def _build_reasoning(inputs: Inputs, files: BenchmarkWriter, task: str,
                     splits: dict[str, list[str]], train_size: int) -> Layout:
    """Two examples per image pair, its true and its false sentence, in a random order:
    about `train_size` training and eval_size dev and test examples."""
    rng, seen = inputs.rng(task), set()
    scenes: list[Clause] = []
    ids: list[str] = []
    for split, languages in splits.items():
        n = max(1, (train_size if split == "train" else inputs.eval_size) // 2)
        pairs = unique_examples(_reasoning_pair, rng, range(n), seen)
        split_ids = _image_ids(task, len(ids), 2 * n)
        examples = []  # (pair index, sentence, label)
        for index, (_, _, true, false) in enumerate(pairs):
            both = [(index, true, TRUE), (index, false, FALSE)]
            examples += both if rng.random() < 0.5 else both[::-1]
        english = languages == ["en"]
        for lang in languages:
            lex = inputs.lexicons[lang]
            files.write_jsonl(f"{task}/{split}-{lang}.jsonl", [
                {"id": f"{task}-{split}-{number:06d}",
                 "sentence": (_english(rng, said, lex) if english
                              else render_text([said], lang, lex)),
                 "label": REASONING_LABELS[label], "left_image": split_ids[2 * index],
                 "right_image": split_ids[2 * index + 1]}
                for number, (index, said, label) in enumerate(examples)])
        scenes += [scene for left, right, _, _ in pairs for scene in (left, right)]
        ids += split_ids
    _write_images(inputs, files, task, scenes, ids)
    return Layout(splits, ["sentence"])


def build_synth_nlvr(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_nlvr/{train,dev}-en.jsonl``: id, sentence (English, varied surface forms),
    label (False/True), left_image, right_image; about train_size and eval_size examples,
    two per image pair (its true and its false sentence), the images in
    ``synth_nlvr/images.{npy,txt}`` (intermediate, NLVR2-like)."""
    return _build_reasoning(inputs, files, "synth_nlvr", ENGLISH_SPLITS, inputs.train_size)


def build_synth_marvl(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_marvl/train-en.jsonl`` (about train_size / 2 English examples) and
    ``synth_marvl/{dev,test}-<L>.jsonl`` for every language, parallel (about eval_size
    each: the same pairs, sentences and labels on line i of every language, rendered in L);
    fields as synth_nlvr's; images in ``synth_marvl/images.{npy,txt}`` (target,
    MaRVL-like)."""
    return _build_reasoning(inputs, files, "synth_marvl", TARGET_SPLITS,
                            inputs.train_size // 2)
