"""Target-language data for the direct fine-tuning arms (translate-train, translate-train-all,
in-language training, translate-test), shared by the builders of synth_xnli and synth_pos:
the noise that stands in for machine translation's errors, the size of the small gold
in-language training sets, and the layouts of both.

A translation task (synth_xnli_mt, synth_pos_mt, XNLI-MT-like) holds, for each non-English
language L, ``train-<L>``: the SAME abstract examples as its source task's English training
split (same labels, same order) rendered in L with `translation_noise`, and ``test-<L>``: L's
test examples (parallel across languages) rendered in English with noise from another stream
per L. The source task itself gains ``train-<L>``: fresh examples rendered in L without noise.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from trainables.offline.builders.common import EVERY_LANGUAGE, NON_ENGLISH, BenchmarkWriter, Inputs
from trainables.offline.lexicon import Lexicon

Item = TypeVar("Item")

# The probability, per word, that the "translation" drops it or swaps it with its neighbour.
# Per word, so longer sentences are changed more often, as with real MT. At 0.05 about 3 in
# 10 sentences change (seed 13: 26-29% per file kind; half of the NLI pairs have a changed
# premise or hypothesis): some, not most. At 0.15 about 2 in 3 would. Read at call time, so a
# test can set it to 0.
TRANSLATION_NOISE = 0.05
# Gold in-language training data is scarce compared with English training sets (XNLI has
# none but its English MNLI; many languages' treebanks are small), so each non-English
# language gets an eighth of the English training split's size.
IN_LANGUAGE_DIVISOR = 8

# A translation task's splits: translated training data in L, L's test set in English.
TRANSLATION_SPLITS = {"train": NON_ENGLISH, "test": NON_ENGLISH}
# A target task with its own (small) training set in every language, besides English's.
IN_LANGUAGE_SPLITS = {"train": EVERY_LANGUAGE, "dev": EVERY_LANGUAGE, "test": EVERY_LANGUAGE}


def in_language_size(train_size: int) -> int:
    """Examples of each non-English language's gold training set."""
    return max(1, train_size // IN_LANGUAGE_DIVISOR)


def translation_noise(
    rng: random.Random, items: Sequence[Item], rate: float | None = None
) -> list[Item]:
    """`items` (a sentence's words, or its (word, tag) pairs) with the errors of a machine
    translation standing in: each item, with probability `rate` (by default
    TRANSLATION_NOISE), is dropped (a word lost) or swapped with its right neighbour (the last
    with its left one: a word misplaced), each half of the time. Items move whole, so a word's
    tag goes where the word goes; the last remaining item is never dropped."""
    rate = TRANSLATION_NOISE if rate is None else rate
    out = list(items)
    i = 0
    while i < len(out):
        draw = rng.random()
        if draw < rate and len(out) > 1:
            if draw < rate / 2:
                del out[i]
                continue
            j = i + 1 if i + 1 < len(out) else i - 1
            out[i], out[j] = out[j], out[i]
            i += 1  # the swapped-in neighbour is not edited again
        i += 1
    return out


# (a split's examples, the language to render them in, its lexicon, the noise) -> records.
Render = Callable[[Any, str, Lexicon, random.Random], list[dict]]


def write_translations(inputs: Inputs, files: BenchmarkWriter, task: str,
                       examples: Mapping[str, Any], render: Render) -> None:
    """`task`'s files (TRANSLATION_SPLITS): the source's English training `examples`
    rendered into each L (`train-<L>`), and its test `examples` rendered into English
    (`test-<L>`), each file with `translation_noise` from its own stream."""
    for split, languages in TRANSLATION_SPLITS.items():
        for lang in languages:
            into = lang if split == "train" else "en"
            files.write_jsonl(f"{task}/{split}-{lang}.jsonl",
                              render(examples[split], into, inputs.lexicons[into],
                                     inputs.rng(task, split, lang)))
