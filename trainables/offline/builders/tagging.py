"""Tagging: synth_pos (UD-POS-like, every language) and synth_ccg (CCG supertagging in
CCGbank's AUTO format, English)."""

from __future__ import annotations

import random

from trainables.offline.builders.common import (
    TARGET_SPLITS,
    BenchmarkWriter,
    Inputs,
    Layout,
    unique_examples,
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


def build_synth_pos(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_pos/{train-en,dev-*,test-*}.jsonl``: tokens, tags (target, UD-POS-like)."""
    layout = Layout(TARGET_SPLITS, ["tokens"], label_field="tags")
    rng, seen = inputs.rng("synth_pos"), set()
    for split, languages in layout.splits.items():
        clauses = unique_examples(lambda r, _: _pos_clause(r), rng,
                                  range(inputs.split_size(split)), seen)
        for lang in languages:
            records = []
            for clause in clauses:
                pairs = render_tagged(clause, lang, inputs.lexicons[lang])
                records.append({"tokens": [w for w, _ in pairs], "tags": [t for _, t in pairs]})
            files.write_jsonl(f"synth_pos/{split}-{lang}.jsonl", records)
    return layout


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
