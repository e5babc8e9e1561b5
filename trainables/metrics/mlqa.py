"""MLQA ``mlqa_evaluation_v1.py`` (xtreme ``third_party/evaluate_mlqa.py``): per-language
normalisation, zh mixed segmentation and the Unicode punctuation set."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping

from trainables.metrics.squad import _ASCII_PUNCTUATION, _EN_ARTICLES, _qa_scores, _token_f1
from trainables.tasks import languages

_MLQA_MIXED_SEGMENTATION = frozenset({"zh"})
_MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": _EN_ARTICLES,
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,  # no formal articles
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # The reference's pattern, kept verbatim: the first branch can never match (^ after consumed
    # characters), so every "ال" becomes a space, even inside a word.
    "ar": re.compile(r"\sال^|ال"),
    "zh": None,  # no formal articles
}


@functools.cache
def mlqa_punctuation() -> frozenset[str]:
    """Every code point whose Unicode category starts with P, plus ``string.punctuation``.

    Like the reference, code points 0..sys.maxunicode-1 (built once, on first use: ~0.3 s).
    """
    unicode_p = (chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i))[0] == "P")
    return frozenset(unicode_p) | _ASCII_PUNCTUATION


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's zh tokeniser: each CJK character (U+4E00..U+9FA5 only, as in the reference) and
    each punctuation character is a token; the runs between them are split on whitespace."""
    punctuation = mlqa_punctuation()
    segments: list[str] = []
    run: list[str] = []
    for char in text:
        if "\u4e00" <= char <= "\u9fa5" or char in punctuation:
            if run:
                segments.extend("".join(run).split())
                run = []
            segments.append(char)
        else:
            run.append(char)
    if run:
        segments.extend("".join(run).split())
    return segments


def _check_mlqa_language(language: str) -> None:
    if language not in _MLQA_ARTICLES:
        raise ValueError(f"MLQA language: got {language!r}; allowed: {', '.join(languages.MLQA)}")


def mlqa_normalize_answer(s: str, language: str) -> str:
    """MLQA normalisation: lower, drop Unicode punctuation, drop the language's articles,
    tokenise (whitespace, or mixed segmentation for zh) and join the tokens with spaces."""
    _check_mlqa_language(language)
    punctuation = mlqa_punctuation()
    text = "".join(ch for ch in s.lower() if ch not in punctuation)
    articles = _MLQA_ARTICLES[language]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = mixed_segmentation(text) if language in _MLQA_MIXED_SEGMENTATION else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def mlqa_exact(prediction: str, ground_truth: str, language: str) -> int:
    """1 if the MLQA-normalised strings are equal, else 0 (per answer)."""
    return int(mlqa_normalize_answer(prediction, language)
               == mlqa_normalize_answer(ground_truth, language))


def mlqa_f1(prediction: str, ground_truth: str, language: str) -> float:
    """MLQA token F1 of one answer, in [0, 1]."""
    return _token_f1(mlqa_normalize_answer(prediction, language).split(),
                     mlqa_normalize_answer(ground_truth, language).split())


def mlqa_scores(
    predictions: Mapping[str, str], references: Mapping[str, Iterable[str]], language: str
) -> dict[str, float]:
    """MLQA corpus scores in percent, ``{"exact_match", "f1"}``; ``language`` is the answer
    (context) language, one of MLQA's (`trainables.tasks.languages.MLQA`)."""
    _check_mlqa_language(language)
    return _qa_scores(
        predictions, references,
        lambda p, g: mlqa_exact(p, g, language), lambda p, g: mlqa_f1(p, g, language))
