"""Sentence-pair classification: synth_nli (MNLI-like), synth_para (QQP-like), synth_xnli
(XNLI-like) and its translations, synth_xnli_mt (XNLI-MT-like)."""

from __future__ import annotations

import random
from dataclasses import replace

from trainables.offline.builders.common import (
    ENGLISH_SPLITS,
    NON_ENGLISH,
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
    balanced_labels,
    other_index,
    other_number,
    unique_examples,
)
from trainables.offline.builders.translation import (
    IN_LANGUAGE_SPLITS,
    TRANSLATION_SPLITS,
    in_language_size,
    translation_noise,
    write_translations,
)
from trainables.offline.grammar import (
    SYNTAX,
    Clause,
    english_variant,
    random_clause,
    render_text,
    render_tokens,
    render_words,
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


def _nli_records(
    examples: list[Example], lang: str, lex: Lexicon, noise: random.Random | None = None
) -> list[dict]:
    """The examples rendered in `lang`; with `translation_noise` drawn from `noise` if given."""

    def text(clauses: tuple[Clause, ...]) -> str:
        if noise is None:
            return render_text(clauses, lang, lex)
        words = translation_noise(noise, render_words(clauses, lang, lex))
        return " ".join(words) + SYNTAX[lang].full_stop

    return [{"premise": text(p), "hypothesis": text(h), "label": label}
            for p, h, label in examples]  # fmt: skip


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


def _xnli_examples(inputs: Inputs) -> tuple[dict[str, list[Example]], set]:
    """synth_xnli's abstract examples of each split of TARGET_SPLITS, drawn in that order from
    its stream (so synth_xnli_mt can draw them again), and the set of every example drawn."""
    rng, seen = inputs.rng("synth_xnli"), set()
    examples = {}
    for split in TARGET_SPLITS:
        labels = balanced_labels(rng, inputs.split_size(split), len(NLI_LABELS))
        examples[split] = unique_examples(_xnli_example, rng, labels, seen)
    return examples, seen


def build_synth_xnli(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xnli/{train-*,dev-*,test-*}.jsonl``: premise, hypothesis, label (target,
    XNLI-like; dev/test are parallel across languages; train-en is the English training set,
    each other train-<L> a small gold in-language one of fresh examples)."""
    layout = Layout(IN_LANGUAGE_SPLITS, ["premise", "hypothesis"])
    examples, seen = _xnli_examples(inputs)
    for split, languages in TARGET_SPLITS.items():
        for lang in languages:
            files.write_jsonl(f"synth_xnli/{split}-{lang}.jsonl",
                              _nli_records(examples[split], lang, inputs.lexicons[lang]))
    # Drawn after every other split, each language from its own stream (so the others' bytes
    # do not move), and kept apart from every split, and from each other, by `seen`.
    for lang in NON_ENGLISH:
        rng = inputs.rng("synth_xnli", "in-language", lang)
        labels = balanced_labels(rng, in_language_size(inputs.train_size), len(NLI_LABELS))
        files.write_jsonl(f"synth_xnli/train-{lang}.jsonl",
                          _nli_records(unique_examples(_xnli_example, rng, labels, seen), lang,
                                       inputs.lexicons[lang]))
    return layout


def build_synth_xnli_mt(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xnli_mt/{train,test}-<L>.jsonl`` for each non-English L: synth_xnli's English
    training set "translated" into L and L's test set "translated" into English (premise,
    hypothesis, label; same examples, labels and order as their sources), each file with
    `translation_noise` from its own stream (XNLI-MT-like: translate-train, translate-test)."""
    write_translations(inputs, files, "synth_xnli_mt", _xnli_examples(inputs)[0], _nli_records)
    return Layout(TRANSLATION_SPLITS, ["premise", "hypothesis"])
