"""Sentence-pair classification: synth_nli (MNLI-like), synth_para (QQP-like), synth_xnli
(XNLI-like)."""

from __future__ import annotations

import random
from dataclasses import replace

from trainables.offline.builders.common import (
    ENGLISH_SPLITS,
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
    balanced_labels,
    other_index,
    other_number,
    unique_examples,
)
from trainables.offline.grammar import (
    Clause,
    english_variant,
    random_clause,
    render_text,
    render_tokens,
)
from trainables.offline.lexicon import (
    ADJECTIVES,
    ENGLISH_SYNONYMS,
    NAMES,
    NOUNS,
    PREPOSITIONS,
    VERBS,
    Lexicon,
)
from trainables.tasks import NLI_LABELS, PARAPHRASE_LABELS

Example = tuple[tuple[Clause, ...], tuple[Clause, ...], int]


def _nli_example(rng: random.Random, label: int) -> Example:
    """Intermediate NLI: single-clause premise; hypothesis derived from it (MNLI-like)."""
    p = random_clause(rng, p_adj=0.8, p_pp=0.6)
    if label == 0:  # entailment: same facts, maybe with an adjective / phrase dropped
        h = p
        if p.adj is not None and rng.random() < 0.5:
            h = replace(h, adj=None)
        if p.pp is not None and rng.random() < 0.5:
            h = replace(h, pp=None)
    elif label == 2:  # contradiction: same person, different number or negated
        flip = rng.random() < 0.5
        h = replace(p, num=other_number(rng, [p.num])) if flip else replace(p, neg=True)
    else:  # neutral: another person, or an unrelated fact added
        r = rng.random()
        if r < 0.25 and p.adj is None:
            h = replace(p, adj=rng.randrange(len(ADJECTIVES)))
        elif r < 0.5 and p.pp is None:
            h = replace(p, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS))))
        else:
            h = replace(p, name=other_index(rng, len(NAMES), [p.name]))
    return (p,), (h,), label


def _xnli_example(rng: random.Random, label: int) -> Example:
    """Target NLI: two-clause premise ("A ... and B ..."), hypothesis about one of the clauses.

    The twist versus `_nli_example`: facts must be matched to the right person, because the
    hypothesis may borrow the other clause's number, verb or object.
    """
    c1 = random_clause(rng, p_adj=0.6, p_pp=0.4)
    c2 = random_clause(rng, p_adj=0.6, p_pp=0.4)
    c2 = replace(
        c2, name=other_index(rng, len(NAMES), [c1.name]), num=other_number(rng, [c1.num]),
        verb=other_index(rng, len(VERBS), [c1.verb]), noun=other_index(rng, len(NOUNS), [c1.noun]),
    )
    # Most premises have one clause, so the task stays learnable for a tiny model trained
    # from scratch; the two-clause ones still require matching facts to the right person.
    premise = (c1, c2) if rng.random() < 0.3 else (c1,)
    k = rng.randrange(len(premise))
    ck = premise[k]
    # A tiny model trained from scratch cannot learn to compare premise and hypothesis in a
    # few hundred steps, so contradiction carries a surface cue (the negation word, shared by
    # the Latin-script languages); neutral and entailment need the comparison.
    r = rng.random()
    if label == 0:  # entailment: the same facts, maybe fewer of them
        if r < 0.2 and len(premise) == 2:
            return premise, (c2, c1), label  # conjuncts swapped
        h = ck
        if ck.adj is not None and rng.random() < 0.5:
            h = replace(h, adj=None)
        if ck.pp is not None and rng.random() < 0.5:
            h = replace(h, pp=None)
    elif label == 2:  # contradiction: negated, sometimes with another number as well
        h = replace(ck, neg=True)
        if r < 0.3:
            h = replace(h, num=other_number(rng, [c1.num, c2.num]))
    else:  # neutral: a fact the premise does not state, or someone it does not mention
        if r < 0.6 and ck.pp is None:
            h = replace(ck, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS))))
        elif r < 0.6 and ck.adj is None:
            h = replace(ck, adj=rng.randrange(len(ADJECTIVES)))
        else:
            h = replace(ck, name=other_index(rng, len(NAMES), [c1.name, c2.name]))
    return premise, (h,), label


def _nli_records(examples: list[Example], lang: str, lex: Lexicon) -> list[dict]:
    return [
        {"premise": render_text(p, lang, lex), "hypothesis": render_text(h, lang, lex),
         "label": label}
        for p, h, label in examples
    ]  # fmt: skip


def _para_records(rng: random.Random, n: int, lex: Lexicon) -> list[dict]:
    """QQP-like pairs: duplicates differ only in surface form, non-duplicates in one anchor."""
    records = []
    for label in balanced_labels(rng, n, len(PARAPHRASE_LABELS)):
        # Only clauses that have a paraphrase (a phrase to front or a word with a synonym), for
        # both labels alike, so that "identical strings" is not a shortcut to the label.
        while True:
            c = random_clause(rng, p_adj=0.7, p_pp=0.6, p_neg=0.1)
            if c.pp is not None or any(w in ENGLISH_SYNONYMS for w in render_tokens(c, "en", lex)):
                break
        s1 = english_variant(c, lex, rng, front_pp=rng.random() < 0.3, p_synonym=0.3)
        if label == 1:
            # Retry a few times so a duplicate is (almost always) a different surface string.
            for _ in range(8):
                s2 = english_variant(c, lex, rng, front_pp=rng.random() < 0.5, p_synonym=0.5)
                if s2 != s1:
                    break
        else:
            which = rng.randrange(3)
            if which == 0:
                c2 = replace(c, name=other_index(rng, len(NAMES), [c.name]))
            elif which == 1:
                c2 = replace(c, num=other_number(rng, [c.num]))
            else:
                c2 = replace(c, noun=other_index(rng, len(NOUNS), [c.noun]))
            s2 = english_variant(c2, lex, rng, front_pp=rng.random() < 0.5, p_synonym=0.5)
        records.append({"sentence1": s1, "sentence2": s2, "label": label})
    return records


def build_synth_nli(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_nli/{train,dev}-en.jsonl``: premise, hypothesis, label (intermediate,
    MNLI-like)."""
    layout = Layout(ENGLISH_SPLITS, ["premise", "hypothesis"])
    rng, seen = inputs.rng("synth_nli"), set()
    for split in layout.splits:
        labels = balanced_labels(rng, inputs.split_size(split), len(NLI_LABELS))
        examples = unique_examples(_nli_example, rng, labels, seen)
        files.write_jsonl(f"synth_nli/{split}-en.jsonl",
                          _nli_records(examples, "en", inputs.lexicons["en"]))
    return layout


def build_synth_para(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_para/{train,dev}-en.jsonl``: sentence1, sentence2, label (intermediate,
    QQP-like)."""
    layout = Layout(ENGLISH_SPLITS, ["sentence1", "sentence2"])
    rng = inputs.rng("synth_para")
    for split in layout.splits:
        files.write_jsonl(f"synth_para/{split}-en.jsonl",
                          _para_records(rng, inputs.split_size(split), inputs.lexicons["en"]))
    return layout


def build_synth_xnli(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xnli/{train-en,dev-*,test-*}.jsonl``: premise, hypothesis, label (target,
    XNLI-like; dev/test are parallel across languages)."""
    layout = Layout(TARGET_SPLITS, ["premise", "hypothesis"])
    rng, seen = inputs.rng("synth_xnli"), set()
    for split, languages in layout.splits.items():
        labels = balanced_labels(rng, inputs.split_size(split), len(NLI_LABELS))
        examples = unique_examples(_xnli_example, rng, labels, seen)
        for lang in languages:
            files.write_jsonl(f"synth_xnli/{split}-{lang}.jsonl",
                              _nli_records(examples, lang, inputs.lexicons[lang]))
    return layout
