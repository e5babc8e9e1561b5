"""XTREME metrics against hand-computed values (worked out in the comments) and, where the
reference can run offline, against it: seqeval 0.0.12 on many random tag sequences, and
XGLUE's WPR nDCG against scikit-learn's ndcg_score and a copy of XG-EVAL's logic.

Every corpus score is in percent, like xtreme's evaluate.py.
"""

from __future__ import annotations

import collections
import importlib.metadata
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainables import metrics

# --- accuracy ---------------------------------------------------------------------------------


def test_accuracy_is_percent():
    # 3 of 4 equal -> 75 %
    assert metrics.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 75.0


def test_accuracy_rejects_bad_lengths():
    with pytest.raises(ValueError, match="3 vs 2"):
        metrics.accuracy(["a", "b", "c"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])


def test_tatoeba_accuracy():
    # query i's gold is i: hits at 0, 2 and 3 (faiss's (n, 1) shape accepted) -> 3/4
    assert metrics.tatoeba_accuracy(np.array([[0], [2], [2], [3]])) == 75.0
    # explicit gold: 1 of 2
    assert metrics.tatoeba_accuracy([5, 7], gold_indices=[5, 6]) == 50.0
    with pytest.raises(ValueError, match="one neighbour"):
        metrics.tatoeba_accuracy(np.zeros((3, 2), dtype=int))


# --- SQuAD v1.1 -------------------------------------------------------------------------------


def test_squad_normalisation_order():
    # lower -> drop ASCII punctuation -> drop a/an/the words -> squeeze whitespace
    assert metrics.normalize_answer("  The  Eiffel Tower! ") == "eiffel tower"
    assert metrics.normalize_answer("The theatre") == "theatre"  # \b: no "the" inside words
    assert metrics.normalize_answer("the-end") == "theend"  # "-" goes first, so "the" stays
    assert metrics.normalize_answer("A. Smith") == "smith"
    assert metrics.normalize_answer("«Paris»") == "«paris»"  # only string.punctuation goes


def test_squad_v1_english_corpus():
    references = {"q1": ["eiffel tower", "Tower"], "q2": ["Paris"], "q3": ["Lyon"]}
    predictions = {"q1": "The Eiffel Tower!", "q2": "in Paris, France", "unknown": "x"}
    # q1: normalises to "eiffel tower" = gold 1 -> EM 1, F1 1
    # q2: [in, paris, france] vs [paris]: 1 common, P = 1/3, R = 1 -> F1 = (2/3)/(4/3) = 0.5
    # q3: unanswered -> 0 but counted; "unknown" ignored.  Total 3.
    # EM = 100 * 1 / 3;  F1 = 100 * (1 + 0.5) / 3 = 50
    scores = metrics.squad_v1_scores(predictions, references)
    assert scores["exact_match"] == pytest.approx(100 / 3, rel=1e-15)
    assert scores["f1"] == pytest.approx(50.0, rel=1e-15)
    assert metrics.squad_f1("in Paris, France", "Paris") == pytest.approx(0.5, rel=1e-15)


def test_squad_v1_chinese_answer_is_one_token():
    # No spaces: the whole answer is one token, so F1 is all or nothing.
    assert metrics.squad_f1("北京大学", "北京") == 0.0
    # "。" is not in string.punctuation, so it stays and breaks the match.
    assert metrics.squad_exact("北京大学。", "北京大学") == 0
    # A space makes two tokens: [北京, 大学] vs [北京大学] -> nothing in common.
    assert metrics.squad_f1("北京 大学", "北京大学") == 0.0
    scores = metrics.squad_v1_scores({"q": "北京大学"}, {"q": ["北京", "北京大学"]})
    assert scores == {"exact_match": 100.0, "f1": 100.0}  # max over the gold answers


def test_squad_v1_thai_answer_is_one_token():
    assert metrics.squad_f1("กรุงเทพมหานคร", "กรุงเทพ") == 0.0
    # [กรุงเทพ, มหานคร] vs [กรุงเทพ]: P = 1/2, R = 1 -> F1 = 1 / 1.5 = 2/3
    assert metrics.squad_f1("กรุงเทพ มหานคร", "กรุงเทพ") == pytest.approx(2 / 3, rel=1e-15)
    scores = metrics.squad_v1_scores({"q1": "กรุงเทพ มหานคร", "q2": "กรุงเทพมหานคร"},
                                     {"q1": ["กรุงเทพ"], "q2": ["กรุงเทพ"]})
    # EM 0 everywhere; F1 = 100 * (2/3 + 0) / 2 = 33.33...
    assert scores["exact_match"] == 0.0
    assert scores["f1"] == pytest.approx(100 / 3, rel=1e-15)


def test_squad_v1_needs_gold_answers():
    with pytest.raises(ValueError, match="no gold answer"):
        metrics.squad_v1_scores({"q": "x"}, {"q": []})
    with pytest.raises(ValueError, match="no questions"):
        metrics.squad_v1_scores({}, {})


# --- SQuAD v2.0 -------------------------------------------------------------------------------


def test_squad_v2_unanswerable_questions():
    references = {"q1": ["Paris"], "q2": [], "q3": [], "q4": ["the"]}
    predictions = {"q1": "Paris", "q2": "", "q3": "London", "q4": ""}
    # q1: exact 1, F1 1.
    # q2: no gold -> gold is [""]; "" predicted: exact 1, F1 1 (both empty).
    # q3: gold [""], "London" predicted: exact 0, F1 0.
    # q4: "the" normalises to "" so the gold becomes [""]; "" predicted: 1 and 1. It is still a
    #     HasAns question (its answers list is not empty).
    # all: 3/4 -> 75 and 75; HasAns {q1, q4}: 100, 100; NoAns {q2, q3}: 50, 50.
    assert metrics.squad_v2_scores(predictions, references) == {
        "exact": 75.0, "f1": 75.0, "total": 4,
        "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 2,
        "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2,
    }


def test_squad_v2_partial_f1_and_missing_predictions():
    references = {"q1": ["the big cat"], "q2": [], "q3": ["dog"]}
    predictions = {"q1": "big dog", "q2": "cat"}
    # q1: [big, dog] vs [big, cat]: P = R = 1/2 -> F1 0.5, exact 0.  q2: 0 and 0.
    # q3 has no prediction: left out of the total (v2.0 behaviour): total 2.
    # exact 0; F1 = 100 * 0.5 / 2 = 25.  HasAns {q1}: 0, 50.  NoAns {q2}: 0, 0.
    scores = metrics.squad_v2_scores(predictions, references)
    assert (scores["exact"], scores["f1"], scores["total"]) == (0.0, 25.0, 2)
    assert (scores["HasAns_f1"], scores["HasAns_total"], scores["NoAns_f1"]) == (50.0, 1, 0.0)


# --- MLQA -------------------------------------------------------------------------------------


def test_mlqa_zh_mixed_segmentation():
    # Each CJK character is a token; a non-CJK run is split on whitespace.
    assert metrics.mixed_segmentation("2008年北京奥运会") == [
        "2008", "年", "北", "京", "奥", "运", "会"]
    assert metrics.mlqa_normalize_answer("iPhone 手机", "zh") == "iphone 手 机"
    # Unicode punctuation goes ("。" is Po) before segmentation.
    assert metrics.mlqa_normalize_answer("北京大学。", "zh") == "北 京 大 学"
    # Only U+4E00..U+9FA5 count as CJK, as in the reference: U+9FA6 is not split off.
    assert metrics.mixed_segmentation("\u9fa6\u9fa6 \u9fa5") == ["\u9fa6\u9fa6", "\u9fa5"]


def test_mlqa_zh_corpus():
    references = {"q1": ["北京", "北京大学"], "q2": ["2008年北京奥运会"]}
    predictions = {"q1": "北京大学", "q2": "2008年"}
    # q1 vs 北京: 4 tokens vs 2, 2 common: P = 1/2, R = 1 -> 2/3; vs 北京大学: exact -> EM 1, F1 1.
    # q2: [2008, 年] vs 7 tokens, 2 common: P = 1, R = 2/7 -> F1 = (4/7) / (9/7) = 4/9; EM 0.
    # EM = 100 * 1 / 2 = 50;  F1 = 100 * (1 + 4/9) / 2 = 72.22...
    assert metrics.mlqa_f1("北京大学", "北京", "zh") == pytest.approx(2 / 3, rel=1e-15)
    scores = metrics.mlqa_scores(predictions, references, "zh")
    assert scores["exact_match"] == 50.0
    assert scores["f1"] == pytest.approx(100 * (1 + 4 / 9) / 2, rel=1e-15)
    # The same strings under SQuAD v1.1: one token each -> q1 exact via the 2nd gold, q2 0.
    assert metrics.squad_v1_scores(predictions, references) == {"exact_match": 50.0, "f1": 50.0}


def test_mlqa_language_rules():
    assert metrics.mlqa_normalize_answer("«Paris»", "en") == "paris"  # Unicode punctuation
    assert metrics.mlqa_normalize_answer("der Bundestag", "de") == "bundestag"
    assert metrics.mlqa_normalize_answer("La casa", "es") == "casa"
    assert metrics.mlqa_normalize_answer("cái bàn", "vi") == "bàn"
    assert metrics.mlqa_normalize_answer("भारत।", "hi") == "भारत"  # danda is punctuation
    # Arabic: every "ال" becomes a space, even inside a word (the reference's regex).
    assert metrics.mlqa_normalize_answer("الكتاب", "ar") == "كتاب"
    assert metrics.mlqa_normalize_answer("مال", "ar") == "م"
    # English articles are not removed for zh, nor Spanish ones for en.
    assert metrics.mlqa_normalize_answer("the la", "zh") == "the la"
    assert metrics.mlqa_normalize_answer("the la", "en") == "la"
    with pytest.raises(ValueError, match="allowed: en, es, de, ar, hi, vi, zh"):
        metrics.mlqa_scores({"q": "x"}, {"q": ["x"]}, "fr")


# --- seqeval 0.0.12 ---------------------------------------------------------------------------


def test_pos_runs_are_chunks():
    gold = [["NOUN", "NOUN", "VERB", "DET", "NOUN"]]
    pred = [["NOUN", "VERB", "VERB", "DET", "NOUN"]]
    # gold chunks: NOUN(0-1) VERB(2) DET(3) NOUN(4); pred: NOUN(0) VERB(1-2) DET(3) NOUN(4).
    # 2 shared of 4 and 4 -> P = R = F1 = 50 %, while token accuracy is 4/5 = 80 %.
    assert metrics.get_entities(gold) == [("NOUN", 0, 1), ("VERB", 2, 2), ("DET", 3, 3),
                                          ("NOUN", 4, 4)]
    assert metrics.seqeval_scores(pred, gold) == {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    assert metrics.accuracy(pred[0], gold[0]) == 80.0


def test_pos_tags_follow_their_first_letter():
    # SCONJ/SYM start with "S" (IOBES "single"): every token is its own chunk.
    assert metrics.get_entities(["SCONJ", "SCONJ", "ADP", "ADP"]) == [
        ("SCONJ", 0, 0), ("SCONJ", 1, 1), ("ADP", 2, 3)]
    # INTJ starts with "I": a run is still one chunk.
    assert metrics.get_entities(["INTJ", "INTJ"]) == [("INTJ", 0, 1)]
    # Same first letter, different type: PRON then PROPN are two chunks.
    assert metrics.get_entities(["PRON", "PROPN", "PROPN"]) == [("PRON", 0, 0), ("PROPN", 1, 2)]
    # Sentences are joined with an "O", so runs do not cross sentence boundaries.
    assert metrics.get_entities([["NOUN"], ["NOUN"]]) == [("NOUN", 0, 0), ("NOUN", 2, 2)]


def test_ner_iob2_with_i_after_o():
    gold = [["O", "B-PER", "I-PER", "O", "B-LOC"]]
    # I- after O starts a chunk, so this predicts the same chunks PER(1-2), LOC(4).
    assert metrics.get_entities(["O", "I-PER", "I-PER", "O", "I-LOC"]) == [
        ("PER", 1, 2), ("LOC", 4, 4)]
    assert metrics.seqeval_scores([["O", "I-PER", "I-PER", "O", "I-LOC"]], gold)["f1"] == 100.0
    # A type change inside a chunk splits it: PER(0), LOC(1-2): nothing right.
    assert metrics.seqeval_scores([["B-PER", "I-LOC", "I-LOC", "O", "O"]], gold) == {
        "f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_ner_two_sentences():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    # flat positions (an "O" after each sentence): gold PER(0-1) LOC(3) ORG(5);
    # pred PER(0-1) ORG(3) ORG(5): 2 of 3 -> P = R = F1 = 66.66...
    scores = metrics.seqeval_scores(pred, gold)
    assert scores["f1"] == pytest.approx(200 / 3, rel=1e-15)
    assert scores["precision"] == scores["recall"] == pytest.approx(200 / 3, rel=1e-15)


def test_seqeval_rejects_misaligned_input():
    with pytest.raises(ValueError, match="sentence 0"):
        metrics.seqeval_scores([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="1 vs 2"):
        metrics.seqeval_scores([["O"]], [["O"], ["O"]])


def _random_sentences(rng: random.Random, alphabet: list[str]) -> tuple[list, list]:
    gold, pred = [], []
    for _ in range(rng.randint(0, 5)):
        sentence = [rng.choice(alphabet) for _ in range(rng.randint(0, 8))]
        for i in range(1, len(sentence)):  # plenty of runs of one tag
            if rng.random() < 0.4:
                sentence[i] = sentence[i - 1]
        gold.append(sentence)
        pred.append([t if rng.random() < 0.7 else rng.choice(alphabet) for t in sentence])
    return gold, pred


def test_matches_seqeval_0_0_12_on_random_sequences():
    seqeval = pytest.importorskip("seqeval.metrics")
    if importlib.metadata.version("seqeval") != "0.0.12":
        pytest.skip("needs seqeval==0.0.12 (newer versions count chunks differently)")
    upos = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
            "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]
    ner = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    odd = [*ner, "E-PER", "S-LOC", ".", "B", "I", "O-X", "I-", "-", "S", "E"]
    rng = random.Random(0)
    for alphabet in (upos, ner, odd):
        for _ in range(1000):
            gold, pred = _random_sentences(rng, alphabet)
            # xtreme reports seqeval's fractions times 100: the same float operations.
            expected = {"f1": seqeval.f1_score(gold, pred) * 100,
                        "precision": seqeval.precision_score(gold, pred) * 100,
                        "recall": seqeval.recall_score(gold, pred) * 100}
            assert metrics.seqeval_scores(pred, gold) == expected, (gold, pred)
            assert metrics.get_entities(gold) == seqeval.sequence_labeling.get_entities(gold)


def test_xglue_pos_is_seqeval_precision_on_upos():
    # XG-EVAL scores POS with seqeval's precision_score(labels, preds), UPOS tags as chunks.
    seqeval = pytest.importorskip("seqeval.metrics")
    if importlib.metadata.version("seqeval") != "0.0.12":
        pytest.skip("needs seqeval==0.0.12 (newer versions count chunks differently)")
    upos = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
            "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]
    rng = random.Random(1)
    for _ in range(2000):
        gold, pred = _random_sentences(rng, upos)
        # our percent is seqeval's fraction times 100, the same float operation (p * 100 / 100
        # is not always p, so the fraction is compared after that multiplication)
        assert metrics.seqeval_scores(pred, gold)["precision"] == (
            seqeval.precision_score(gold, pred) * 100), (gold, pred)


# --- BUCC -------------------------------------------------------------------------------------


def test_bucc_scores():
    # 1 of 2 predicted pairs is gold, 1 of 3 gold pairs found: P = 1/2, R = 1/3,
    # F1 = 2 * (1/6) / (5/6) = 0.4
    scores = metrics.bucc_scores([("de-1", "en-1"), ("de-2", "en-2")],
                                 [("de-1", "en-1"), ("de-3", "en-3"), ("de-4", "en-4")])
    assert scores["precision"] == 50.0
    assert scores["recall"] == pytest.approx(100 / 3, rel=1e-15)
    assert scores["f1"] == pytest.approx(40.0, rel=1e-15)
    assert metrics.bucc_scores([("a", "b")], [("c", "d")]) == {
        "f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_bucc_best_threshold():
    candidates = {("s1", "t1"): 1.30, ("s2", "t9"): 1.20, ("s3", "t3"): 1.10,
                  ("s4", "t4"): 1.05, ("s5", "t7"): 1.00}
    gold = [("s1", "t1"), ("s3", "t3"), ("s4", "t4"), ("s6", "t6")]
    # Down the sorted list (4 gold pairs):
    #   1.30 correct: P 1/1, R 1/4, F1 0.4    -> best, threshold (1.30 + 1.20) / 2
    #   1.20 wrong:   P 1/2, R 1/4, F1 1/3
    #   1.10 correct: P 2/3, R 2/4, F1 4/7    -> best, threshold (1.10 + 1.05) / 2
    #   1.05 correct: P 3/4, R 3/4, F1 0.75   -> best, threshold (1.05 + 1.00) / 2 = 1.025
    #   1.00 wrong:   P 3/5, R 3/4, F1 2/3
    threshold = metrics.bucc_best_threshold(candidates, gold)
    assert threshold == pytest.approx(1.025, rel=1e-15)
    extracted = metrics.bucc_extract(candidates, threshold)
    assert extracted == [("s1", "t1"), ("s2", "t9"), ("s3", "t3"), ("s4", "t4")]
    assert metrics.bucc_scores(extracted, gold) == {"f1": 75.0, "precision": 75.0, "recall": 75.0}


def test_bucc_threshold_edge_cases():
    # Nothing correct: the reference's initial 0.
    assert metrics.bucc_best_threshold({("a", "b"): 0.9}, [("c", "d")]) == 0
    # Best at the last candidate (the reference indexes past the end): that candidate's score.
    assert metrics.bucc_best_threshold({("x", "y"): 1.2, ("a", "b"): 0.9},
                                       [("a", "b")]) == 0.9


def test_margin_mine_ratio_margin():
    x = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    # k = 4 -> 2 neighbours each way (all of them).  cos: x0.y0 = 1, x0.y1 = 0,
    # x1.y0 = 0.6, x1.y1 = 0.8.  Mean neighbour similarity: x0 0.5, x1 0.7, y0 0.8, y1 0.4.
    # ratio margin (0,0) = 1 / ((0.5 + 0.8) / 2) = 1 / 0.65; (1,1) = 0.8 / ((0.7 + 0.4) / 2)
    # = 0.8 / 0.55; (1,0) = 0.6 / 0.75 = 0.8; (0,1) = 0.  Best per side: x0-y0, x1-y1 (and the
    # same from y's side); greedy by score, each sentence used once.
    mined = metrics.margin_mine(x, y, k=4)
    assert [(src, trg) for _, src, trg in mined] == [(0, 0), (1, 1)]
    assert mined[0][0] == pytest.approx(1 / 0.65, rel=1e-6)  # float32 arithmetic
    assert mined[1][0] == pytest.approx(0.8 / 0.55, rel=1e-6)
    assert [(s, t) for _, s, t in metrics.margin_mine(x, y, k=4, threshold=1.5)] == [(0, 0)]


# --- XGLUE WPR nDCG ---------------------------------------------------------------------------


def test_ndcg_by_hand():
    # labels [2, 0, 1], scores [0.1, 0.9, 0.5]: gains in score order 0, 1, 2 ->
    # DCG = 0 + 1/log2(3) + 2/log2(4) = 1.6309...; ideal order 2, 1, 0 -> 2 + 1/log2(3)
    third = 1 / math.log2(3)
    assert metrics.ndcg([2, 0, 1], [0.1, 0.9, 0.5]) == pytest.approx(
        (third + 1) / (2 + third), rel=1e-15)
    # tied scores share their mean gain: [1, 0] both at 0.5 -> 0.5 * (1 + 1/log2(3)); ideal 1
    assert metrics.ndcg([1, 0], [0.5, 0.5]) == pytest.approx(0.5 * (1 + third), rel=1e-15)
    # all labels 0: ideal DCG 0, scored 0 (sklearn's value), not NaN and not skipped
    assert metrics.ndcg([0, 0, 0], [0.3, 0.2, 0.1]) == 0.0


def _random_ranking(rng: random.Random, labels_kind: str, scores_kind: str,
                    size: int) -> tuple[list[float], list[float]]:
    labels = {
        "graded": lambda: float(rng.randint(0, 4)),  # WPR's 0-4 relevance: many ties
        "binary": lambda: float(rng.random() < 0.3),
        "zero": lambda: 0.0,
        "continuous": lambda: rng.random() * 3,
    }[labels_kind]
    scores = {
        "continuous": lambda: rng.gauss(0, 1),
        "rounded": lambda: round(rng.random(), 1),  # ties in scores
        "argmax": lambda: float(rng.randint(0, 4)),  # a classifier's argmax: ties everywhere
        "constant": lambda: 0.5,
    }[scores_kind]
    return [labels() for _ in range(size)], [scores() for _ in range(size)]


def test_ndcg_matches_sklearn_on_random_queries():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(0)
    for labels_kind in ("graded", "binary", "zero", "continuous"):
        for scores_kind in ("continuous", "rounded", "argmax", "constant"):
            for _ in range(150):
                size = rng.choice([2, 2, 3, 4, 7, 12, 30, 150])  # 150: numpy's pairwise sums
                labels, scores = _random_ranking(rng, labels_kind, scores_kind, size)
                # XG-EVAL's call: one row each, as numpy arrays
                expected = sklearn_metrics.ndcg_score(np.asarray([labels]), np.asarray([scores]))
                assert metrics.ndcg(labels, scores) == expected, (labels, scores)
    # integer labels, as sklearn sees them unconverted
    assert metrics.ndcg([3, 0, 1, 0], [1, 1, 0, 2]) == sklearn_metrics.ndcg_score(
        [[3, 0, 1, 0]], [[1, 1, 0, 2]])


def test_query_groups_are_contiguous_runs():
    # "a" again after "b" is a new group (XG-EVAL compares each line with the one before)
    assert metrics.query_groups(["a", "a", "b", "a", "a"]) == [0, 0, 1, 2, 2]
    # an empty query does not end its run (the reference's len(last_query) > 0)
    assert metrics.query_groups(["", "a", "a", "b", "", "c"]) == [0, 0, 0, 1, 2, 2]
    assert metrics.query_groups([]) == []


def test_xglue_ndcg_by_hand():
    groups = metrics.query_groups(["a", "a", "b", "a", "a"])
    # group 0: labels [1, 0] ranked right -> 1; group 1 has one item: skipped;
    # group 2: labels [0, 1] ranked wrong -> (1/log2(3)) / 1.  Mean of 2, times 100.
    predictions, labels = [0.9, 0.1, 0.5, 0.9, 0.1], [1, 0, 2, 0, 1]
    expected = (1 + 1 / math.log2(3)) / 2 * 100
    assert metrics.xglue_ndcg(groups, predictions, labels) == pytest.approx(expected, rel=1e-15)
    # merging the two "a" runs would give another score: the grouping matters
    assert metrics.xglue_ndcg([0, 0, 1, 0, 0], predictions, labels) != pytest.approx(expected)


def _xg_eval_wpr(label_lines: list[str], prediction_lines: list[str], where: Path) -> float:
    """XG-EVAL's ``load_data`` and ``simple_ndcg`` for WPR (the copy in
    tests/xglue_reference.py) on these lines, written as its files; the fraction, as the
    reference returns it."""
    from xglue_reference import load_data, simple_ndcg

    (where / "WPR").mkdir(parents=True, exist_ok=True)
    (where / "WPR" / "xglue.wpr.de.test").write_text("".join(label_lines), encoding="utf-8")
    (where / "WPR" / "de.prediction").write_text("".join(prediction_lines), encoding="utf-8")
    return simple_ndcg(*load_data(where, where, "test", "WPR", "de"))


def _wpr_lines(rng: random.Random) -> tuple[list[str], list[str]]:
    """Ground-truth lines (query, title, snippet, label) and prediction lines: runs of one
    query, some of one line, some all irrelevant, and the first query back after others."""
    pool = ["cheap flights berlin", "wetter morgen", "recette crêpes", "python list sort",
            "北京 天气", "fútbol resultados"]
    runs = [pool[0], *(rng.choice(pool) for _ in range(rng.randint(1, 12))), pool[0]]
    label_lines, prediction_lines = [], []
    argmax = rng.random() < 0.3  # predictions as a classifier's labels: ties
    for run, query in enumerate(runs):
        irrelevant = rng.random() < 0.15
        for item in range(rng.choice([1, 1, 2, 3, 5, 10, 30])):
            label = 0 if irrelevant else rng.randint(0, 4)
            label_lines.append(f"{query}\tpage {run}.{item}\tsnippet of {query}\t{label}\n")
            score = rng.randint(0, 4) if argmax else rng.random()
            prediction_lines.append(f"{score}\n")
    return label_lines, prediction_lines


def test_xglue_ndcg_matches_xg_eval_on_random_wpr_files(tmp_path):
    pytest.importorskip("sklearn.metrics")
    rng = random.Random(0)
    recurring, singletons = 0, 0
    for _ in range(300):
        label_lines, prediction_lines = _wpr_lines(rng)
        queries = [line.split("\t")[0] for line in label_lines]
        groups = metrics.query_groups(queries)
        labels = [float(line.split("\t")[-1]) for line in label_lines]
        predictions = [float(line) for line in prediction_lines]
        sizes = collections.Counter(groups)
        if max(sizes.values()) < 2:  # the reference's mean of nothing (NaN): refused here
            with pytest.raises(ValueError, match="none has"):
                metrics.xglue_ndcg(groups, predictions, labels)
            continue
        expected = _xg_eval_wpr(label_lines, prediction_lines, tmp_path) * 100
        assert metrics.xglue_ndcg(groups, predictions, labels) == expected
        recurring += groups[0] != groups[-1]  # the first query back: two groups
        singletons += min(sizes.values()) == 1
    assert recurring > 200 and singletons > 200  # the cases this test is about did occur


def test_ndcg_and_xglue_ndcg_errors():
    with pytest.raises(ValueError, match="at least 2 items, got 1"):
        metrics.ndcg([1.0], [0.5])
    with pytest.raises(ValueError, match="at least 2 items, got 0"):
        metrics.ndcg([], [])
    with pytest.raises(ValueError, match="2 vs 1"):
        metrics.ndcg([1, 0], [0.5])
    with pytest.raises(ValueError, match="negative"):
        metrics.ndcg([1, -1], [0.5, 0.2])
    with pytest.raises(ValueError, match="non-finite"):
        metrics.ndcg([1, 0], [0.5, float("nan")])
    with pytest.raises(ValueError, match="none has"):
        metrics.xglue_ndcg([0, 1, 2], [0.1, 0.2, 0.3], [1, 0, 1])  # every group of 1 item
    with pytest.raises(ValueError, match="none has"):
        metrics.xglue_ndcg([], [], [])
    with pytest.raises(ValueError, match="3 vs 2"):
        metrics.xglue_ndcg([0, 0, 1], [0.1, 0.2], [1, 0, 1])
    with pytest.raises(ValueError, match="3 vs 2"):
        metrics.xglue_ndcg([0, 0, 1], [0.1, 0.2, 0.3], [1, 0])


def test_xglue_ndcg_does_not_import_sklearn():
    script = ("import sys; from trainables import metrics; "
              "metrics.xglue_ndcg([0, 0], [0.2, 0.1], [1, 0]); "
              "print('sklearn' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "False"
