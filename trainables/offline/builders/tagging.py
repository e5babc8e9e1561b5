"""Tagging: synth_pos (UD-POS-like, every language), its translations synth_pos_mt, and
synth_ccg (CCG supertagging in CCGbank's AUTO format, English)."""

from __future__ import annotations

import random

from trainables.offline.builders.common import (
    NON_ENGLISH,
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
    unique_examples,
)
from trainables.offline.builders.translation import (
    IN_LANGUAGE_SPLITS,
    TRANSLATION_SPLITS,
    in_language_size,
    translation_noise,
    write_translations,
)
from trainables.offline.grammar import Clause, random_clause, render_tagged
from trainables.offline.lexicon import Lexicon


def _pos_clause(rng: random.Random) -> Clause:
    return random_clause(rng, p_adj=0.7, p_pp=0.5, p_neg=0.2)


# CCG categories and Penn Treebank tags of the English clause's parts of speech.
_CCG_CATEGORIES = {"PROPN": "N", "PART": r"(S\NP)/(S\NP)", "VERB": r"(S[dcl]\NP)/NP",
                   "NUM": "N/N", "ADJ": "N/N", "NOUN": "N", "DET": "NP[nb]/N"}
_PTB_TAGS = {"PROPN": "NNP", "PART": "RB", "VERB": "VBD", "NUM": "CD", "ADJ": "JJ",
             "NOUN": "NNS", "DET": "DT", "ADP": "IN"}
_NOUN_ATTACHED_PP = r"(NP\NP)/NP"
_VERB_ATTACHED_PP = r"((S\NP)\(S\NP))/NP"


def _ccg_auto_lines(clause: Clause, identifier: str, lex: Lexicon) -> list[str]:
    """One sentence in CCGbank's AUTO format: its ID line and a binary derivation whose leaves
    carry the words and categories (the inner nodes are right-branching placeholders: the
    supertagging task reads only the leaves)."""
    leaves = []
    for word, pos in render_tagged(clause, "en", lex):
        if pos == "ADP":
            category = _NOUN_ATTACHED_PP if clause.adj is not None else _VERB_ATTACHED_PP
        else:
            category = _CCG_CATEGORIES[pos]
        tag = _PTB_TAGS[pos]
        leaves.append(f"(<L {category} {tag} {tag} {word} {category}>)")
    derivation = leaves[-1]
    for leaf in reversed(leaves[:-1]):
        derivation = f"(<T S[dcl] 0 2> {leaf} {derivation} )"
    return [f"ID={identifier} PARSER=GOLD NUMPARSE=1", derivation]


def _pos_records(
    clauses: list[Clause], lang: str, lex: Lexicon, noise: random.Random | None = None
) -> list[dict]:
    """The clauses' tokens and tags in `lang`; with `translation_noise` drawn from `noise` if
    given (on (word, tag) pairs, so that every tag stays with its word)."""
    records = []
    for clause in clauses:
        pairs = render_tagged(clause, lang, lex)
        if noise is not None:
            pairs = translation_noise(noise, pairs)
        records.append({"tokens": [w for w, _ in pairs], "tags": [t for _, t in pairs]})
    return records


def _pos_clauses(inputs: Inputs) -> tuple[dict[str, list[Clause]], set]:
    """synth_pos's clauses of each split of TARGET_SPLITS, drawn in that order from its stream
    (so synth_pos_mt can draw them again), and the set of every clause drawn."""
    rng, seen = inputs.rng("synth_pos"), set()
    clauses = {}
    for split in TARGET_SPLITS:
        clauses[split] = unique_examples(lambda r, _: _pos_clause(r), rng,
                                         range(inputs.split_size(split)), seen)
    return clauses, seen


def build_synth_pos(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_pos/{train-*,dev-*,test-*}.jsonl``: tokens, tags (target, UD-POS-like; dev/test
    are parallel across languages; train-en is the English training set, each other
    train-<L> a small gold in-language one of fresh clauses)."""
    layout = Layout(IN_LANGUAGE_SPLITS, ["tokens"], label_field="tags")
    clauses, seen = _pos_clauses(inputs)
    for split, languages in TARGET_SPLITS.items():
        for lang in languages:
            files.write_jsonl(f"synth_pos/{split}-{lang}.jsonl",
                              _pos_records(clauses[split], lang, inputs.lexicons[lang]))
    # As synth_xnli's: after every other split, one stream per language, apart by `seen`.
    for lang in NON_ENGLISH:
        rng = inputs.rng("synth_pos", "in-language", lang)
        fresh = unique_examples(lambda r, _: _pos_clause(r), rng,
                                range(in_language_size(inputs.train_size)), seen)
        files.write_jsonl(f"synth_pos/train-{lang}.jsonl",
                          _pos_records(fresh, lang, inputs.lexicons[lang]))
    return layout


def build_synth_pos_mt(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_pos_mt/{train,test}-<L>.jsonl`` for each non-English L: tokens, tags of
    synth_pos's English training set "translated" into L and of L's test set "translated" into
    English (same clauses in the same order), each file with `translation_noise` from its own
    stream; a dropped word takes its tag along, swapped words swap their tags."""
    write_translations(inputs, files, "synth_pos_mt", _pos_clauses(inputs)[0], _pos_records)
    return Layout(TRANSLATION_SPLITS, ["tokens"], label_field="tags")


def build_synth_ccg(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_ccg/data/AUTO/<section>/wsj_<section>00.auto``: English clauses in CCGbank's AUTO
    format and section layout (train in sections 02 and 03, dev 00, test 23), each word a leaf
    with its CCG category; a preposition's category says whether its phrase attaches to the
    noun (the clause has an adjective) or to the verb (intermediate, CCG-supertagging-like)."""
    layout = Layout({"train": ["en"], "dev": ["en"], "test": ["en"]}, ["tokens"],
                    label_field="tags")
    rng, seen = inputs.rng("synth_ccg"), set()
    half = inputs.train_size // 2
    sections = (("02", half), ("03", inputs.train_size - half),
                ("00", inputs.eval_size), ("23", inputs.eval_size))
    for section, n in sections:
        clauses = unique_examples(lambda r, _: _pos_clause(r), rng, range(n), seen)
        files.write_lines(f"synth_ccg/data/AUTO/{section}/wsj_{section}00.auto", [
            line for number, clause in enumerate(clauses, 1)
            for line in _ccg_auto_lines(clause, f"wsj_{section}00.{number}",
                                        inputs.lexicons["en"])])
    return layout
