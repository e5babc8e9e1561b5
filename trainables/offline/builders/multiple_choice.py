"""Multiple choice: synth_swag (HellaSwag-like, English) and synth_xcopa (XCOPA-like).

Where the signal lies: the SWAG-like continuation repeats the context's person, number and
thing; each distractor takes two of the three from a decoy, so only comparing choice and
context works. The COPA-like cause/effect follows fixed verb cycles (CAUSAL_CYCLES); of the
wrong alternatives, a third reverse the relation, a third change two anchors (which shared
anchors expose in any language) and a third are negated (the cue a tiny model learns first).
"""

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
from trainables.offline.grammar import Clause, random_clause, render_text
from trainables.offline.lexicon import NAMES, NOUNS, PREPOSITIONS, VERBS, Lexicon

# Cause -> effect cycles over English verbs, for the COPA-like task (and the continuations of
# the SWAG-like one). Cycles, so that every verb in them is the effect of one verb and the
# cause of another: a choice's verb alone never tells whether it is a cause or an effect.
CAUSAL_CYCLES = (
    ("need", "buy", "keep", "hide", "lose"),
    ("see", "like", "want", "take", "carry", "bring"),
    ("make", "paint", "sell", "count"),
    ("hold", "throw", "break", "fix"),
)
COPA_QUESTIONS = ("cause", "effect")

_VERB_INDEX = {base: i for i, (base, _) in enumerate(VERBS)}
_EFFECT = {
    _VERB_INDEX[cycle[i]]: _VERB_INDEX[cycle[(i + 1) % len(cycle)]]
    for cycle in CAUSAL_CYCLES for i in range(len(cycle))
}  # fmt: skip
_CAUSE = {effect: cause for cause, effect in _EFFECT.items()}

# context, question, choices, label
ChoiceExample = tuple[Clause, str, tuple[Clause, ...], int]


def _swag_example(rng: random.Random, label: int) -> ChoiceExample:
    """HellaSwag-like: a sentence and four continuations, one by the same person about the
    same number of the same things (name, number, noun); each distractor takes two of those
    three anchors from a decoy instead.

    The distractors keep one true anchor each, so every anchor has two true and two decoy
    values among the choices and every two choices share exactly one anchor: the choices
    alone do not give the answer away, comparing them with the context does.
    """
    context = random_clause(rng, p_adj=0.6, p_pp=0.5)
    verb = _EFFECT.get(context.verb)  # what the person plausibly does next
    if verb is None:
        verb = other_index(rng, len(VERBS), [context.verb])
    pp = (rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS)))
    follow = Clause(
        name=context.name, verb=verb, num=context.num, noun=context.noun,
        adj=context.adj if rng.random() < 0.5 else None, pp=pp if rng.random() < 0.3 else None,
    )
    truth = (context.name, context.num, context.noun)
    decoy = (other_index(rng, len(NAMES), [context.name]), other_number(rng, [context.num]),
             other_index(rng, len(NOUNS), [context.noun]))  # fmt: skip
    wrong = []
    for keep in range(3):
        name, num, noun = (truth[k] if k == keep else decoy[k] for k in range(3))
        wrong.append(replace(follow, name=name, num=num, noun=noun))
    rng.shuffle(wrong)
    return context, "", (*wrong[:label], follow, *wrong[label:]), label


def _copa_example(rng: random.Random, label: int, question: str) -> ChoiceExample:
    """COPA-like: the premise's cause or effect (CAUSAL_CYCLES) against an alternative.

    The wrong alternative is one of three kinds, equally often:

    - the premise's effect when its cause is asked (or the other way round), with the same
      person, number and thing: only knowing which verb causes which tells them apart;
    - the right event with two of those three anchors changed, which the anchors shared by
      all languages reveal;
    - the right event negated. As in synth_xnli's contradictions, this surface cue (the
      negation word, shared by the Latin-script languages) is what a tiny model trained from
      scratch picks up in a few hundred steps; the comparisons the other two need take it
      longer.
    """
    premise = replace(random_clause(rng, p_adj=0.5, p_pp=0.4), verb=rng.choice(sorted(_EFFECT)))
    causes, effects = _CAUSE[premise.verb], _EFFECT[premise.verb]
    right_verb, reversed_verb = (effects, causes) if question == "effect" else (causes, effects)
    right = Clause(
        name=premise.name, verb=right_verb, num=premise.num, noun=premise.noun,
        adj=premise.adj if rng.random() < 0.5 else None,
    )
    kind = rng.randrange(3)
    if kind == 0:
        wrong = replace(right, verb=reversed_verb)
    elif kind == 1:
        wrong = replace(right, neg=True)
    else:
        keep = rng.randrange(3)
        wrong = replace(
            right,
            name=right.name if keep == 0 else other_index(rng, len(NAMES), [right.name]),
            num=right.num if keep == 1 else other_number(rng, [right.num]),
            noun=right.noun if keep == 2 else other_index(rng, len(NOUNS), [right.noun]),
        )
    return premise, question, (wrong, right) if label else (right, wrong), label


def _copa_labels(rng: random.Random, n: int) -> list[tuple[int, str]]:
    """(label, question) pairs, both balanced and independent of each other."""
    pairs = [(i % 2, COPA_QUESTIONS[i // 2 % 2]) for i in range(n)]
    rng.shuffle(pairs)
    return pairs


def _choice_records(examples: list[ChoiceExample], lang: str, lex: Lexicon) -> list[dict]:
    return [
        {"context": render_text([context], lang, lex), "question": question,
         "choices": [render_text([c], lang, lex) for c in choices], "label": label}
        for context, question, choices, label in examples
    ]  # fmt: skip


def build_synth_swag(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_swag/{train,dev}-en.jsonl``: context, question (""), choices (4), label (the
    index of the right choice) (intermediate, HellaSwag-like)."""
    layout = Layout(ENGLISH_SPLITS, ["context", "question", "choices"])
    rng, seen = inputs.rng("synth_swag"), set()
    for split in layout.splits:
        labels = balanced_labels(rng, inputs.split_size(split), 4)  # of four choices
        examples = unique_examples(_swag_example, rng, labels, seen)
        files.write_jsonl(f"synth_swag/{split}-en.jsonl",
                          _choice_records(examples, "en", inputs.lexicons["en"]))
    return layout


def build_synth_xcopa(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xcopa/{train-en,dev-*,test-*}.jsonl``: context (the premise), question ("cause"
    or "effect", in English in every language, as in XCOPA), choices (2), label (target,
    XCOPA-like; dev/test parallel across languages)."""
    layout = Layout(TARGET_SPLITS, ["context", "question", "choices"])
    rng, seen = inputs.rng("synth_xcopa"), set()
    for split, languages in layout.splits.items():
        pairs = _copa_labels(rng, inputs.split_size(split))
        examples = unique_examples(lambda r, pair: _copa_example(r, *pair), rng, pairs, seen)
        for lang in languages:
            files.write_jsonl(f"synth_xcopa/{split}-{lang}.jsonl",
                              _choice_records(examples, lang, inputs.lexicons[lang]))
    return layout
