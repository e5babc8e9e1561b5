"""What every task builder shares: its inputs, the writer of its files, the layout it declares
for benchmark.json, and the sampling helpers that keep labels balanced and splits apart."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables.offline.lexicon import LANGUAGES, Lexicon
from trainables.offline.streams import random_stream

EVERY_LANGUAGE = list(LANGUAGES)
NON_ENGLISH = [lang for lang in LANGUAGES if lang != "en"]
# An intermediate task: English only.
ENGLISH_SPLITS = {"train": ["en"], "dev": ["en"]}
# A target task: English train; dev/test rendered in every language from the same abstract
# examples, so they are parallel (line i is the same example in every language, like XNLI).
TARGET_SPLITS = {"train": ["en"], "dev": EVERY_LANGUAGE, "test": EVERY_LANGUAGE}


@dataclass(frozen=True)
class Inputs:
    """What the builders build from: the seed, the sizes and every language's lexicon."""

    seed: int
    train_size: int
    eval_size: int
    retrieval_size: int
    corpus_size: int
    lexicons: dict[str, Lexicon]

    def rng(self, *purpose: str) -> random.Random:
        """The random stream of one purpose (a task's name, then a language where it has one
        stream per language)."""
        return random_stream(self.seed, *purpose)

    def split_size(self, split: str) -> int:
        """Examples per language of an example split: `train_size` for train, else
        `eval_size`."""
        return self.train_size if split == "train" else self.eval_size


class BenchmarkWriter:
    """Writes files under the benchmark's root (UTF-8, "\\n" line ends) and records how many
    examples or lines each task file holds, for benchmark.json's "files"."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counts: dict[str, int] = {}

    def write_jsonl(self, rel: str, records: Sequence[dict]) -> None:
        """One JSON record per line."""
        self.write_lines(rel, [json.dumps(record, ensure_ascii=False) for record in records])

    def write_lines(self, rel: str, lines: Sequence[str], count: int | None = None) -> None:
        """`lines`, each ended by a newline; records `count` (by default, the lines)."""
        self.write_text(rel, "".join(line + "\n" for line in lines))
        self.counts[rel] = len(lines) if count is None else count

    def write_array(self, rel: str, array: np.ndarray) -> None:
        """`array` as float32 in NumPy's .npy format (np.save); records its rows."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.save(handle, np.ascontiguousarray(array, dtype="<f4"), allow_pickle=False)
        self.counts[rel] = len(array)

    def write_text(self, rel: str, text: str) -> None:
        """`text` as it is, recording nothing (the corpus is not a task file)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


@dataclass(frozen=True)
class Layout:
    """What benchmark.json says about a task's files; the registry says the rest (family,
    role, label names)."""

    splits: Mapping[str, Sequence[str]]  # split -> languages, in the order they are drawn
    text_fields: Sequence[str]
    label_field: str | None = "label"
    file_pattern: str | None = None  # how the files are named, where it is spelled out


Builder = Callable[[Inputs, BenchmarkWriter], Layout]


def balanced_labels(rng: random.Random, n: int, k: int) -> list[int]:
    """n labels in range(k), each about n / k times, shuffled."""
    labels = [i % k for i in range(n)]
    rng.shuffle(labels)
    return labels


def other_index(rng: random.Random, size: int, avoid: Iterable[int]) -> int:
    """A random index in range(size) that is not in `avoid`."""
    avoid = set(avoid)
    return rng.choice([i for i in range(size) if i not in avoid])


def other_number(rng: random.Random, avoid: Iterable[int]) -> int:
    """A random clause number (2..99) that is not in `avoid`."""
    avoid = set(avoid)
    while True:
        num = rng.randint(2, 99)
        if num not in avoid:
            return num


def unique_examples(make: Callable, rng: random.Random, labels: Iterable, seen: set) -> list:
    """make(rng, label) for each of `labels`, skipping any example already in `seen` (so splits
    never overlap)."""
    out = []
    for label in labels:
        while True:
            example = make(rng, label)
            if example not in seen:
                seen.add(example)
                out.append(example)
                break
    return out
