"""The pretraining corpus: ``corpus/<lang>.txt``, one sentence per line (a tenth of them
questions), for training a tokenizer and masked-LM pretraining."""

from __future__ import annotations

import random

from trainables.offline.builders.common import EVERY_LANGUAGE, BenchmarkWriter, Inputs
from trainables.offline.grammar import english_variant, random_clause, render_question, render_text
from trainables.offline.lexicon import QUESTION_TYPES, Lexicon


def _corpus_lines(rng: random.Random, n: int, lang: str, lex: Lexicon) -> list[str]:
    lines = []
    for _ in range(n):
        if rng.random() < 0.1:  # questions, so that pretraining sees the question words
            clause = random_clause(rng, p_pp=0.5)
            types = [t for t in QUESTION_TYPES if t != "place" or clause.pp is not None]
            lines.append(render_question(clause, rng.choice(types), lang, lex))
            continue
        clauses = [random_clause(rng, p_neg=0.15) for _ in range(1 + (rng.random() < 0.25))]
        if lang == "en" and rng.random() < 0.3:  # let the tokenizer see the synonyms too
            lines.append(english_variant(clauses[0], lex, rng, rng.random() < 0.2, 0.5))
        else:
            lines.append(render_text(clauses, lang, lex))
    return lines


def build_corpus(inputs: Inputs, files: BenchmarkWriter) -> dict:
    """Write every language's corpus file; returns benchmark.json's "corpus" entry."""
    for lang in EVERY_LANGUAGE:
        lines = _corpus_lines(inputs.rng("corpus", lang), inputs.corpus_size, lang,
                              inputs.lexicons[lang])
        files.write_text(f"corpus/{lang}.txt", "\n".join(lines) + "\n")
    return {"dir": "corpus", "languages": EVERY_LANGUAGE,
            "lines_per_language": inputs.corpus_size}
