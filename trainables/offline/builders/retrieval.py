"""Retrieval: synth_tatoeba (Tatoeba-like sentence pairs) and synth_bucc (bitext mining in
BUCC 2018's file format).

Where the signal lies in bitext mining: translations share digits and names; 40% of each
side has no translation, half of it minimal pairs of a gold sentence, so anchors alone are
not enough.
"""

from __future__ import annotations

import random
from dataclasses import replace

from trainables.offline.builders.common import (
    NON_ENGLISH,
    BenchmarkWriter,
    Inputs,
    Layout,
    other_index,
)
from trainables.offline.grammar import Clause, random_clause, render_text
from trainables.offline.lexicon import ADJECTIVES, NOUNS, VERBS, Lexicon

BUCC_SPLITS = ("sample", "test")  # BUCC 2018 calls its dev split "sample"


def _tatoeba_clauses(rng: random.Random, n: int) -> list[Clause]:
    """Unique clauses; half are minimal pairs of an earlier one (same name and number), so
    matching digits and names alone cannot solve retrieval."""
    clauses: list[Clause] = []
    seen: set[Clause] = set()
    while len(clauses) < n:
        if clauses and rng.random() < 0.5:
            base = rng.choice(clauses)
            which = rng.randrange(3)
            if which == 0:
                c = replace(base, verb=other_index(rng, len(VERBS), [base.verb]))
            elif which == 1:
                c = replace(base, noun=other_index(rng, len(NOUNS), [base.noun]))
            else:
                c = replace(base, adj=other_index(rng, len(ADJECTIVES), [base.adj or 0]))
        else:
            c = random_clause(rng, p_adj=0.7, p_pp=0.5, p_neg=0.15)
        if c not in seen:
            seen.add(c)
            clauses.append(c)
    rng.shuffle(clauses)  # keep minimal pairs from sitting next to each other
    return clauses


Sentence = tuple[Clause, ...]


def _bucc_sentences(
    rng: random.Random, n: int, seen: set[Sentence]
) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    """(gold, other-side-only, English-only) sentences for one BUCC-like split of n per side.

    60% of each side is gold (its translation is on the other side). Half of the rest are
    minimal pairs of a gold sentence (one verb, noun or adjective changed, same name and
    number), so anchors alone mistake them for translations.
    """

    gold: list[Sentence] = []

    def draw(derive: bool) -> Sentence:
        while True:
            if derive:
                base = list(rng.choice(gold))
                k = rng.randrange(len(base))
                which = rng.randrange(3)
                if which == 0:
                    base[k] = replace(base[k], verb=other_index(rng, len(VERBS), [base[k].verb]))
                elif which == 1:
                    base[k] = replace(base[k], noun=other_index(rng, len(NOUNS), [base[k].noun]))
                else:
                    base[k] = replace(base[k], adj=other_index(rng, len(ADJECTIVES), [base[k].adj]))
                sentence = tuple(base)
            else:
                sentence = tuple(random_clause(rng, p_adj=0.6, p_pp=0.5, p_neg=0.1)
                                 for _ in range(1 + (rng.random() < 0.3)))  # fmt: skip
            if sentence not in seen:
                seen.add(sentence)
                return sentence

    n_gold = round(0.6 * n)
    gold.extend(draw(False) for _ in range(n_gold))
    other = [draw(rng.random() < 0.5) for _ in range(n - n_gold)]
    english = [draw(rng.random() < 0.5) for _ in range(n - n_gold)]
    return gold, other, english


def _bucc_files(rng: random.Random, n: int, lang: str, lexicons: dict[str, Lexicon],
                seen: set[Sentence]) -> tuple[list[str], list[str], list[str]]:
    """Lines of the `lang` file, the English file and the gold file of one BUCC-like split.

    Each side is shuffled on its own before ids are given, so ids say nothing of the pairing.
    """
    gold, other_only, english_only = _bucc_sentences(rng, n, seen)
    sides = []
    for side_lang, sentences in ((lang, gold + other_only), ("en", gold + english_only)):
        order = list(range(len(sentences)))
        rng.shuffle(order)
        ids = {k: f"{side_lang}-{position + 1:06d}" for position, k in enumerate(order)}
        lines = [f"{ids[k]}\t{render_text(sentences[k], side_lang, lexicons[side_lang])}"
                 for k in order]  # fmt: skip
        sides.append((ids, lines))
    (other_ids, other_lines), (english_ids, english_lines) = sides
    gold_lines = sorted(f"{other_ids[k]}\t{english_ids[k]}" for k in range(len(gold)))
    return other_lines, english_lines, gold_lines


def build_synth_tatoeba(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_tatoeba/test-<lang>.jsonl`` for every non-English language: english, other
    (a different set of sentences per language, like Tatoeba)."""
    layout = Layout({"test": NON_ENGLISH}, ["english", "other"], label_field=None)
    english = inputs.lexicons["en"]
    for lang in layout.splits["test"]:
        clauses = _tatoeba_clauses(inputs.rng("synth_tatoeba", lang), inputs.retrieval_size)
        files.write_jsonl(f"synth_tatoeba/test-{lang}.jsonl", [
            {"english": render_text([c], "en", english),
             "other": render_text([c], lang, inputs.lexicons[lang])}
            for c in clauses
        ])  # fmt: skip
    return layout


def build_synth_bucc(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_bucc/<lang>-en.{sample,test}.{<lang>,en,gold}`` for every non-English language,
    in BUCC 2018's format: ``<id><TAB><sentence>`` lines (ids like ``de-000001``,
    ``en-000001``) and ``<lang id><TAB><en id>`` gold lines ("sample" is BUCC's dev split)."""
    layout = Layout({split: NON_ENGLISH for split in BUCC_SPLITS}, [], label_field=None,
                    file_pattern="{lang}-en.{split}.{lang|en|gold}")
    for lang in NON_ENGLISH:  # one stream per language, drawn split by split
        rng, seen = inputs.rng("synth_bucc", lang), set()
        for split in layout.splits:
            lines = _bucc_files(rng, inputs.retrieval_size, lang, inputs.lexicons, seen)
            for suffix, content in zip((lang, "en", "gold"), lines, strict=True):
                files.write_lines(f"synth_bucc/{lang}-en.{split}.{suffix}", content)
    return layout
