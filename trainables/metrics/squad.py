"""SQuAD v1.1 (XQuAD, TyDiQA-GoldP) and v2.0: ``evaluate-v1.1.py`` (xtreme
``third_party/evaluate_squad.py``) and ``evaluate-v2.0.py``.

The token F1 and the corpus loop are shared with MLQA (`trainables.metrics.mlqa`), whose
script is SQuAD's with another normalisation.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower, drop ASCII punctuation, drop a/an/the, squeeze whitespace.

    The order (lower, punctuation, articles, whitespace) is the reference's; it matters, e.g.
    "the-end" -> "theend" keeps its "the".
    """
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION)
    text = _EN_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    """Bag-of-tokens F1 as in both official scripts (0 when nothing overlaps)."""
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def squad_exact(prediction: str, ground_truth: str) -> int:
    """1 if the normalised strings are equal, else 0 (per answer, not percent)."""
    return int(normalize_answer(prediction) == normalize_answer(ground_truth))


def squad_f1(prediction: str, ground_truth: str) -> float:
    """SQuAD v1.1 token F1 of one answer, in [0, 1].

    Tokens are whitespace-separated, so an unsegmented answer (Chinese, Thai, Japanese) is one
    token: F1 is then all-or-nothing, as in the reference.
    """
    return _token_f1(normalize_answer(prediction).split(), normalize_answer(ground_truth).split())


def _as_gold_list(qid: str, answers: Iterable[str]) -> list[str]:
    golds = list(answers)
    if not all(isinstance(a, str) for a in golds):
        raise ValueError(f"question {qid!r}: gold answers must be strings, got {golds!r}")
    return golds


def _qa_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Iterable[str]],
    exact_fn: Any,
    f1_fn: Any,
) -> dict[str, float]:
    """The corpus loop of evaluate-v1.1.py / mlqa_evaluation_v1.py: unanswered questions count
    in the total with score 0; predictions for unknown ids are ignored."""
    f1 = exact_match = total = 0
    for qid, answers in references.items():
        total += 1
        if qid not in predictions:
            continue
        golds = _as_gold_list(qid, answers)
        if not golds:
            # The reference crashes here (max of an empty list); v1.1 data always has answers.
            raise ValueError(f"question {qid!r} has no gold answer (use squad_v2_scores)")
        prediction = predictions[qid]
        if not isinstance(prediction, str):
            raise ValueError(f"question {qid!r}: prediction must be a string, got {prediction!r}")
        exact_match += max(exact_fn(prediction, gold) for gold in golds)
        f1 += max(f1_fn(prediction, gold) for gold in golds)
    if total == 0:
        raise ValueError("no questions to score")
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def squad_v1_scores(
    predictions: Mapping[str, str], references: Mapping[str, Iterable[str]]
) -> dict[str, float]:
    """SQuAD v1.1 corpus scores in percent: ``{"exact_match", "f1"}``.

    ``predictions``: question id -> answer text; ``references``: question id -> gold answer
    texts, in the dataset's order (the order of the float sum, as in the reference).
    """
    return _qa_scores(predictions, references, squad_exact, squad_f1)


def _v2_tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def squad_v2_f1(prediction: str, ground_truth: str) -> float:
    """SQuAD v2.0 token F1 of one answer, in [0, 1]; an empty side scores 1 only if both are."""
    gold_tokens, prediction_tokens = _v2_tokens(ground_truth), _v2_tokens(prediction)
    if not gold_tokens or not prediction_tokens:
        return float(gold_tokens == prediction_tokens)
    return _token_f1(prediction_tokens, gold_tokens)


def squad_v2_scores(
    predictions: Mapping[str, str], references: Mapping[str, Iterable[str]]
) -> dict[str, float]:
    """SQuAD v2.0 corpus scores in percent, with the official script's keys.

    Returns ``exact``, ``f1``, ``total`` and, where such questions exist, ``HasAns_*`` and
    ``NoAns_*``. A question with no gold answer (or only answers that normalise to "") is
    unanswerable: its only gold is "", and the prediction "" means "no answer". As in the
    reference, questions without a prediction are left out of ``total`` (v1.1 counts them
    as 0); the reference then crashes computing HasAns/NoAns, we use the scored ones. No
    no-answer-probability threshold search.
    """
    exact_scores: dict[str, float] = {}
    f1_scores: dict[str, float] = {}
    has_answer: dict[str, bool] = {}
    for qid, answers in references.items():
        raw = _as_gold_list(qid, answers)
        has_answer[qid] = bool(raw)  # the reference: bool(qa['answers']), before normalising
        golds = [a for a in raw if normalize_answer(a)] or [""]
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        if not isinstance(prediction, str):
            raise ValueError(f"question {qid!r}: prediction must be a string, got {prediction!r}")
        exact_scores[qid] = max(squad_exact(gold, prediction) for gold in golds)
        f1_scores[qid] = max(squad_v2_f1(prediction, gold) for gold in golds)
    if not exact_scores:
        raise ValueError("no question has a prediction")

    def summary(qids: list[str]) -> dict[str, float]:
        total = len(qids)
        return {"exact": 100.0 * sum(exact_scores[q] for q in qids) / total,
                "f1": 100.0 * sum(f1_scores[q] for q in qids) / total,
                "total": total}

    result = summary(list(exact_scores))
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        qids = [q for q, has in has_answer.items() if has is wanted and q in exact_scores]
        if qids:
            result.update({f"{prefix}_{k}": v for k, v in summary(qids).items()})
    return result
