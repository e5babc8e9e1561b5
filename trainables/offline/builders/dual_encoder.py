"""Dual encoder: synth_lareqa (LAReQA-like: a question retrieves its answer sentence in every
language from one pool)."""

from __future__ import annotations

import json

from trainables.offline.builders.common import (
    EVERY_LANGUAGE,
    BenchmarkWriter,
    Inputs,
    Layout,
    unique_examples,
)
from trainables.offline.builders.span_qa import (
    QAExample,
    balanced_questions,
    qa_example,
    qa_sentences,
)
from trainables.offline.grammar import render_question
from trainables.offline.lexicon import Lexicon


def _lareqa_document(examples: list[QAExample], lang: str, lex: Lexicon, prefix: str,
                     with_breaks: bool) -> dict:
    """A SQuAD v1.1 JSON document, one paragraph per example; with XQuAD-R's
    `sentence_breaks` ([start, end) offsets of each sentence) where `with_breaks`."""
    paragraphs = []
    for i, example in enumerate(examples):
        sentences, start, answer = qa_sentences(example, lang, lex)
        clauses, target, qtype = example
        question = render_question(clauses[target], qtype, lang, lex)
        paragraph = {"context": " ".join(sentences), "qas": [{
            "id": f"{prefix}-{i:05d}", "question": question,
            "answers": [{"text": answer, "answer_start": start}]}]}
        if with_breaks:
            breaks, offset = [], 0
            for sentence in sentences:
                breaks.append([offset, offset + len(sentence)])
                offset += len(sentence) + 1
            paragraph["sentence_breaks"] = breaks
        paragraphs.append(paragraph)
    return {"version": "1.1", "data": [{"title": prefix, "paragraphs": paragraphs}]}


def build_synth_lareqa(inputs: Inputs, files: BenchmarkWriter) -> Layout:
    """``synth_lareqa/{train-en,dev-en,test-*}.json``: SQuAD-format JSON like LAReQA's inputs;
    the test files (every language, parallel, same question ids) carry XQuAD-R's
    ``sentence_breaks``, the English train and dev files leave the sentences to the breaker,
    like SQuAD v1.1 (target, LAReQA-like)."""
    layout = Layout({"train": ["en"], "dev": ["en"], "test": EVERY_LANGUAGE},
                    ["question", "context"], label_field="answers")
    rng, seen = inputs.rng("synth_lareqa"), set()
    for split, languages in layout.splits.items():
        questions = balanced_questions(rng, inputs.split_size(split))
        examples = unique_examples(qa_example, rng, questions, seen)
        for lang in languages:
            document = _lareqa_document(examples, lang, inputs.lexicons[lang],
                                        f"synth-lareqa-{split}", with_breaks=split == "test")
            files.write_lines(f"synth_lareqa/{split}-{lang}.json",
                              [json.dumps(document, ensure_ascii=False, sort_keys=True)],
                              count=len(examples))
    return layout
