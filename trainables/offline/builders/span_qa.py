"""Span QA: synth_squad (SQuAD-like, English) and synth_xquad (XQuAD-like, every language).

Where the signal lies: the question repeats anchors of the sentence it asks about (its name
or number, its verb and noun) and its question word (borrowed from English by the
Latin-script languages) says which phrase is the answer.
"""

from __future__ import annotations

import random
from dataclasses import replace

from trainables.offline.builders.common import (
    ENGLISH_SPLITS,
    EVERY_LANGUAGE,
    BenchmarkWriter,
    Inputs,
    Layout,
    balanced_labels,
    unique_examples,
)
from trainables.offline.grammar import (
    ANSWER_ROLES,
    Clause,
    random_clause,
    render_question,
    render_text,
    render_with_span,
)
from trainables.offline.lexicon import NAMES, NOUNS, PREPOSITIONS, QUESTION_TYPES, Lexicon

# sentences, index of the one asked about, question type
QAExample = tuple[tuple[Clause, ...], int, str]


def qa_example(rng: random.Random, qtype: str) -> QAExample:
    """2-4 sentences about different people and numbers, and a question about one of them.

    The other sentences often share the asked one's verb or noun, so one content word of the
    question does not find the sentence: its name or number does.
    """
    n = rng.randint(2, 4)
    names, nums = rng.sample(range(len(NAMES)), n), rng.sample(range(2, 100), n)
    clauses = [
        replace(random_clause(rng, p_adj=0.5, p_pp=0.5), name=name, num=num)
        for name, num in zip(names, nums, strict=True)
    ]
    target = rng.randrange(n)
    asked = clauses[target]
    if qtype == "place" and asked.pp is None:
        clauses[target] = asked = replace(
            asked, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS)))
        )
    for i, clause in enumerate(clauses):
        if i == target:
            continue
        r = rng.random()
        if r < 0.3:
            clauses[i] = replace(clause, verb=asked.verb)
        elif r < 0.6:
            clauses[i] = replace(clause, noun=asked.noun)
    return tuple(clauses), target, qtype


def qa_sentences(example: QAExample, lang: str, lex: Lexicon) -> tuple[list[str], int, str]:
    """The sentences of a QA example's context, and its answer's offset in the context (the
    sentences joined by spaces) and text."""
    clauses, target, qtype = example
    sentences, offset, start, answer = [], 0, 0, ""
    for k, clause in enumerate(clauses):
        if k == target:
            text, span_start, answer = render_with_span(clause, ANSWER_ROLES[qtype], lang, lex)
            start = offset + span_start
        else:
            text = render_text([clause], lang, lex)
        sentences.append(text)
        offset += len(text) + 1
    return sentences, start, answer


def _qa_records(examples: list[QAExample], lang: str, lex: Lexicon, prefix: str) -> list[dict]:
    """SQuAD-format records; ids depend only on the position, so they match across languages."""
    records = []
    for i, example in enumerate(examples):
        sentences, start, answer = qa_sentences(example, lang, lex)
        context = " ".join(sentences)
        assert context[start : start + len(answer)] == answer, (context, start, answer)
        clauses, target, qtype = example
        records.append({
            "id": f"{prefix}-{i:05d}", "context": context,
            "question": render_question(clauses[target], qtype, lang, lex),
            "answers": {"text": [answer], "answer_start": [start]},
        })  # fmt: skip
    return records


def balanced_questions(rng: random.Random, n: int) -> list[str]:
    """n question types (QUESTION_TYPES), each about equally often, shuffled."""
    return [QUESTION_TYPES[k] for k in balanced_labels(rng, n, len(QUESTION_TYPES))]


def build_synth_squad(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_squad/{train,dev}-en.jsonl``: id, context (2-4 sentences), question, answers
    ({"text": [...], "answer_start": [...]}, character offsets into context) (intermediate,
    SQuAD-like)."""
    layout = Layout(ENGLISH_SPLITS, ["context", "question"], label_field="answers")
    rng, seen = inputs.rng("synth_squad"), set()
    for split in layout.splits:
        questions = balanced_questions(rng, inputs.split_size(split))
        examples = unique_examples(qa_example, rng, questions, seen)
        files.write_jsonl(f"synth_squad/{split}-en.jsonl", _qa_records(
            examples, "en", inputs.lexicons["en"], f"synth-squad-{split}"))
    return layout


def build_synth_xquad(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_xquad/{dev-*,test-*}.jsonl`` in every language, en included: the fields of
    synth_squad (target, XQuAD-like; trained on synth_squad, so no train split; parallel, with
    the same ids in every language)."""
    layout = Layout({"dev": EVERY_LANGUAGE, "test": EVERY_LANGUAGE}, ["context", "question"],
                    label_field="answers")
    rng, seen = inputs.rng("synth_xquad"), set()
    for split, languages in layout.splits.items():
        questions = balanced_questions(rng, inputs.split_size(split))
        examples = unique_examples(qa_example, rng, questions, seen)
        for lang in languages:
            files.write_jsonl(f"synth_xquad/{split}-{lang}.jsonl", _qa_records(
                examples, lang, inputs.lexicons[lang], f"synth-xquad-{split}"))
    return layout
