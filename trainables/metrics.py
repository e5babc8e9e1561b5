"""XTREME metrics, re-implemented to agree with the reference scorers to the last digit.

Unit convention (one for the whole module): every corpus-level score is a **percentage in
[0, 100]**, exactly what google-research/xtreme's ``evaluate.py`` reports. That script multiplies
the fractions of seqeval, of its accuracy and of its BUCC F1 by 100, and the SQuAD and MLQA
scripts return percent themselves; we multiply in the same place and in the same order, so the
floats are bit-identical to the references'. The only exceptions are named as such: per-answer
helpers (``squad_exact``, ``squad_f1``, ``mlqa_exact``, ``mlqa_f1``, ``squad_v2_f1``) return the
reference's per-example value (0/1 or a fraction in [0, 1]), and a BUCC threshold or margin
score is a similarity ratio, not a percentage.

References read (not copied): SQuAD ``evaluate-v1.1.py`` (xtreme ``third_party/evaluate_squad.py``),
SQuAD ``evaluate-v2.0.py``, MLQA ``mlqa_evaluation_v1.py`` (xtreme
``third_party/evaluate_mlqa.py``), seqeval 0.0.12 ``seqeval/metrics/sequence_labeling.py``,
xtreme ``evaluate.py`` and ``third_party/utils_retrieve.py`` (``mine_bitext``,
``bucc_optimize``, ``bucc_extract``), ``third_party/utils_lareqa.py``
(``average_precision_at_k``, ``mean_avg_prec_at_k``) and ``third_party/utils_mewslix.py``
(``mean_reciprocal_rank``, ``evaluate``).

Unicode behaviour (``str.lower``, ``str.split``, ``\\b``, MLQA's punctuation set) comes from the
running Python, as it does for the reference scripts run by the same interpreter.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trainables.tasks import languages

if TYPE_CHECKING:  # numpy loads only where a metric needs it: `sweep` commands start fast
    import numpy as np  # lazy: see the TYPE_CHECKING import

Pair = tuple[str, ...]  # a BUCC (source id, target id) pair

# --------------------------------------------------------------------------------------------
# Accuracy (XNLI, PAWS-X, Tatoeba)
# --------------------------------------------------------------------------------------------


def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> float:
    """Percentage of positions where prediction == reference (xtreme ``evaluate.accuracy``)."""
    _check_lengths(predictions, references, "predictions", "references")
    if len(predictions) == 0:
        raise ValueError("accuracy of an empty list of predictions is undefined")
    correct = sum(int(p == r) for p, r in zip(predictions, references, strict=True))
    return float(correct) / len(predictions) * 100


def tatoeba_accuracy(nearest_indices: Any, gold_indices: Any = None) -> float:
    """Percentage of queries whose top-1 neighbour is the gold one.

    ``nearest_indices`` holds one candidate index per query (shape (n,) or (n, 1), as faiss
    returns it); the gold of query i is i unless ``gold_indices`` says otherwise (Tatoeba's
    sentences are aligned line by line).
    """
    import numpy as np  # lazy: see the TYPE_CHECKING import

    nearest = np.asarray(nearest_indices)
    if nearest.ndim == 2 and nearest.shape[1] == 1:
        nearest = nearest[:, 0]
    if nearest.ndim != 1:
        raise ValueError(f"expected one neighbour per query, got shape {nearest.shape}")
    gold = np.arange(len(nearest)) if gold_indices is None else np.asarray(gold_indices)
    return accuracy(nearest.tolist(), gold.reshape(-1).tolist())


# --------------------------------------------------------------------------------------------
# SQuAD v1.1 (XQuAD, TyDiQA-GoldP) and v2.0
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# MLQA
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# seqeval 0.0.12 chunk scores (PAN-X NER, UD-POS)
# --------------------------------------------------------------------------------------------


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``end_of_chunk``: did a chunk end before the current token?"""
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``start_of_chunk``: does a chunk start at the current token?"""
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(seq: Sequence[str] | Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """Chunks ``(type, first, last)`` of a tag sequence, exactly as seqeval 0.0.12 finds them.

    A tag's prefix is its *first character* and its type the part after the last "-": "B-PER"
    is (B, PER), but a plain POS tag "NOUN" is (N, NOUN). So a run of one POS tag is one chunk,
    except for tags starting with S (SCONJ, SYM: "S" = single) or B/E/I/O, which follow the IOBES
    rules of their first letter. A list of sentences is flattened with an "O" after each one,
    and positions count in that flat list.
    """
    if all(isinstance(s, str) for s in seq):
        flat = list(seq)
    elif any(isinstance(s, str) for s in seq):
        raise ValueError("expected a list of tags or a list of sentences, not a mixture")
    else:
        flat = [tag for sentence in seq for tag in [*sentence, "O"]]

    prev_tag, prev_type = "O", ""
    begin = 0
    chunks: list[tuple[str, int, int]] = []
    for i, chunk in enumerate([*flat, "O"]):
        if not isinstance(chunk, str) or not chunk:
            raise ValueError(f"tag {i} must be a non-empty string, got {chunk!r}")
        tag, type_ = chunk[0], chunk.split("-")[-1]
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def seqeval_scores(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """seqeval 0.0.12 micro chunk ``{"f1", "precision", "recall"}`` in percent, as xtreme's
    ``evaluate.f1`` reports them for PAN-X and UD-POS. Both arguments are lists of sentences,
    which must have the same number of sentences and of tags per sentence."""
    _check_lengths(predictions, references, "predicted sentences", "reference sentences")
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        if isinstance(pred, str) or isinstance(ref, str):
            raise ValueError(f"sentence {i}: expected a list of tags, got a string")
        _check_lengths(pred, ref, f"sentence {i}: predicted tags", "reference tags")
    true_entities = set(get_entities(references))
    pred_entities = set(get_entities(predictions))
    nb_correct = len(true_entities & pred_entities)
    nb_pred, nb_true = len(pred_entities), len(true_entities)
    p = nb_correct / nb_pred if nb_pred > 0 else 0
    r = nb_correct / nb_true if nb_true > 0 else 0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0
    return {"f1": float(f1 * 100), "precision": float(p * 100), "recall": float(r * 100)}


# --------------------------------------------------------------------------------------------
# BUCC 2018 bitext mining
# --------------------------------------------------------------------------------------------


def bucc_scores(predictions: Iterable[Pair], gold: Iterable[Pair]) -> dict[str, float]:
    """BUCC ``{"f1", "precision", "recall"}`` in percent over sets of (source id, target id)
    pairs: precision = correct / predicted, recall = correct / gold (xtreme ``bucc_f1``)."""
    predicted, expected = {tuple(p) for p in predictions}, {tuple(g) for g in gold}
    ncorrect = len(expected & predicted)
    if ncorrect > 0:
        precision = ncorrect / len(predicted)
        recall = ncorrect / len(expected)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0
    return {"f1": float(f1 * 100), "precision": float(precision * 100),
            "recall": float(recall * 100)}


def bucc_best_threshold(candidate_scores: Mapping[Pair, float], gold: Iterable[Pair]) -> float:
    """The margin threshold that maximises F1 on gold pairs (xtreme ``bucc_optimize``).

    Candidates are sorted by score, descending (ties keep their mapping order); walking down
    the list, each strict improvement of F1 sets the threshold to the midpoint between the
    current candidate's score and the next one's. 0 if no candidate is correct. Where the best
    F1 is reached at the last candidate the reference raises IndexError; we return that
    candidate's score, which extracts the same set.
    """
    items = sorted(candidate_scores.items(), key=lambda item: -item[1])
    expected = {tuple(g) for g in gold}
    ngold = len(expected)
    ncorrect = 0
    threshold: float = 0
    best_f1: float = 0
    for i, (pair, score) in enumerate(items):
        nextract = i + 1
        if tuple(pair) in expected:
            ncorrect += 1
        if ncorrect > 0:
            precision = ncorrect / nextract
            recall = ncorrect / ngold
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                following = items[i + 1][1] if i + 1 < len(items) else score
                threshold = (score + following) / 2
    return threshold


def bucc_extract(candidate_scores: Mapping[Pair, float], threshold: float) -> list[Pair]:
    """The candidate pairs scoring at least ``threshold``, in mapping order (``bucc_extract``)."""
    return [pair for pair, score in candidate_scores.items() if score >= threshold]


def margin_mine(x: np.ndarray, y: np.ndarray, k: int = 4,
                threshold: float = 0.0) -> list[tuple[float, int, int]]:
    """Ratio-margin bitext mining, xtreme/LASER ``mine_bitext`` (mode 'mine', retrieval 'max',
    margin 'ratio', cosine, no embedding shift).

    ``x`` (sources) and ``y`` (targets) are embeddings of *unique* sentences (the reference
    de-duplicates texts first: the caller's job). Both are L2-normalised; each side takes its
    k nearest neighbours in the other (exact inner product, faiss as in the reference); a
    candidate (i, j) scores cos(x_i, y_j) / ((mean knn sim of x_i + mean knn sim of y_j) / 2).
    Each source's and each target's best candidate are pooled and taken greedily by score,
    each source and target used once. Returns ``(score, source index, target index)`` with
    score > threshold, best first: the reference's candidates file, before the id mapping.
    """
    import faiss  # lazy: `sweep score` loads this module without faiss
    import numpy as np  # lazy: see the TYPE_CHECKING import

    x = np.array(x, dtype=np.float32, order="C", copy=True)
    y = np.array(y, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(x)
    faiss.normalize_L2(y)

    def knn(queries: np.ndarray, database: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        index = faiss.IndexFlatIP(database.shape[1])
        index.add(database)
        return index.search(queries, n)

    x2y_sim, x2y_ind = knn(x, y, min(y.shape[0], k))
    y2x_sim, y2x_ind = knn(y, x, min(x.shape[0], k))
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)

    def score_candidates(a: np.ndarray, b: np.ndarray, inds: np.ndarray, fwd_mean: np.ndarray,
                         bwd_mean: np.ndarray) -> np.ndarray:
        # One dot product per candidate, float32 like the reference, stored in float64.
        scores = np.zeros(inds.shape)
        for i in range(scores.shape[0]):
            for j in range(scores.shape[1]):
                t = inds[i, j]
                scores[i, j] = a[i].dot(b[t]) / ((fwd_mean[i] + bwd_mean[t]) / 2)
        return scores

    fwd_scores = score_candidates(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd_scores = score_candidates(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd_scores.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd_scores.argmax(axis=1)]
    indices = np.stack((np.concatenate((np.arange(x.shape[0]), bwd_best)),
                        np.concatenate((fwd_best, np.arange(y.shape[0])))), axis=1)
    scores = np.concatenate((fwd_scores.max(axis=1), bwd_scores.max(axis=1)))
    seen_src: set[int] = set()
    seen_trg: set[int] = set()
    mined: list[tuple[float, int, int]] = []
    for i in np.argsort(-scores):  # the reference's (unstable) sort, for identical tie order
        src, trg = int(indices[i][0]), int(indices[i][1])
        if src not in seen_src and trg not in seen_trg:
            seen_src.add(src)
            seen_trg.add(trg)
            if scores[i] > threshold:
                mined.append((float(scores[i]), src, trg))
    return mined


# --------------------------------------------------------------------------------------------
# Retrieval with relevance judgements (LAReQA, Mewsli-X): mAP@k
# --------------------------------------------------------------------------------------------


def average_precision_at_k(relevant: Iterable[Any], ranked: Sequence[Any], k: int = 20) -> float:
    """AP@k of one query, as a fraction (xtreme ``utils_lareqa.average_precision_at_k``):
    precision at each relevant item among the first ``k`` of ``ranked`` (an item counted once),
    summed and divided by min(number of relevant items, k)."""
    targets = set(relevant)
    if not targets:
        raise ValueError("average precision of a query without relevant items is undefined")
    top = list(ranked[:k])
    score, hits = 0.0, 0.0
    for position, item in enumerate(top):
        if item in targets and item not in top[:position]:
            hits += 1.0
            score += hits / (position + 1.0)
    return score / min(len(targets), k)


def lareqa_map_at_k(relevant: Sequence[Iterable[Any]], rankings: Sequence[Sequence[Any]],
                    k: int = 20) -> float:
    """LAReQA's mAP@k in percent: the numpy mean of every query's AP@k (``mean_avg_prec_at_k``,
    which prints the fraction), times 100."""
    import numpy as np  # lazy: see the TYPE_CHECKING import

    _check_lengths(relevant, rankings, "relevant", "rankings")
    if not rankings:
        raise ValueError("mAP of no queries is undefined")
    scores = [average_precision_at_k(targets, ranked, k)
              for targets, ranked in zip(relevant, rankings, strict=True)]
    return float(np.mean(scores)) * 100


def mewslix_map_at_20(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, Sequence[str]],
                      k: int = 20) -> float:
    """Mewsli-X's "MAP@20" in percent (xtreme ``evaluate.mewslix_map20``): one gold entity per
    mention (the first of its list, stripped), so AP@k is the reciprocal rank of the gold among
    the first ``k`` predictions; a mention without predictions scores 0, predictions for
    mentions without gold are ignored; the sum over gold mentions / their number, times 100."""
    if not gold:
        raise ValueError("MAP@20 of no mentions is undefined")
    reciprocal_ranks = [
        average_precision_at_k([entities[0].strip()], list(predictions.get(mention, []))[:k], k)
        for mention, entities in gold.items()
    ]
    return sum(reciprocal_ranks) / len(reciprocal_ranks) * 100


# --------------------------------------------------------------------------------------------


def _check_lengths(a: Sequence[Any], b: Sequence[Any], name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} differ in length: {len(a)} vs {len(b)}")
