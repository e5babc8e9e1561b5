"""Families and the tiny model: featurisation traps, prediction reassembly, retrieval scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from small import TINY_MODEL

from trainables.evaluation import nearest_candidates
from trainables.families import get_family
from trainables.families.tagging import split_into_windows
from trainables.metrics import tatoeba_accuracy
from trainables.model import base_model_reference, load_tokenizer
from trainables.tasks import get_task
from trainables.training import epoch_schedule, evaluation_steps

TINY = TINY_MODEL


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TINY)


def test_tiny_model_is_cached_and_xlmr_shaped(tokenizer):
    first = base_model_reference(TINY)
    assert base_model_reference(TINY) == first  # second call reuses the cache
    assert (tokenizer.cls_token_id, tokenizer.pad_token_id, tokenizer.sep_token_id) == (0, 1, 2)
    pair = tokenizer("Anna sees 17 hats.", "Tom sees 17 hats.")["input_ids"]
    assert pair[0] == 0 and pair.count(2) == 3  # <s> A </s></s> B </s>
    assert "▁17" in tokenizer.convert_ids_to_tokens(pair)  # numbers stay whole anchors


def test_mlm_pretraining_changes_the_encoder():
    import torch

    from trainables.model import load_encoder

    pretrained = {**TINY, "tiny": {**TINY["tiny"], "pretrain_steps": 5,
                                   "pretrain_batch_size": 8, "pretrain_learning_rate": 1e-3}}
    assert base_model_reference(pretrained) != base_model_reference(TINY)  # cached apart
    random_init = load_encoder(TINY).state_dict()
    trained = load_encoder(pretrained).state_dict()
    name = "embeddings.word_embeddings.weight"
    assert not torch.equal(random_init[name], trained[name])
    assert load_tokenizer(pretrained).get_vocab() == load_tokenizer(TINY).get_vocab()


def test_windows_cover_every_word_once():
    pieces = [[1] * n for n in (3, 1, 4, 2, 2, 5, 1)]
    windows = split_into_windows(pieces, budget=6)
    covered = [i for start, end in windows for i in range(start, end)]
    assert covered == list(range(len(pieces)))
    for start, end in windows:
        assert sum(min(len(p), 6) for p in pieces[start:end]) <= 6 or end - start == 1


def test_tagging_labels_first_subtoken_and_splits_long_sentences(tokenizer):
    task = get_task("synth_pos")
    family = get_family("tagging")
    words = ["Anna", "zyxwvutsrq", "17", "hats"] * 10
    tags = ["PROPN", "NOUN", "NUM", "NOUN"] * 10
    features = family.featurize(task, [{"tokens": words, "tags": tags}], tokenizer,
                                max_length=16)
    assert len(features) > 1  # split, not truncated
    labelled = sum(sum(label != -100 for label in f["labels"]) for f in features)
    assert labelled == len(words)  # exactly one label per word
    for feature in features:
        assert len(feature["input_ids"]) <= 16
        assert feature["labels"][0] == -100 and feature["labels"][-1] == -100
    # A made-up word splits into several pieces; only its first piece carries the tag.
    pieces = tokenizer(["zyxwvutsrq"], add_special_tokens=False)["input_ids"][0]
    assert len(pieces) > 1
    # Reassemble predictions from perfect logits: every word gets its own tag back.
    logits = []
    for feature in features:
        row = torch.zeros(len(feature["labels"]), task.num_labels)
        for position, label in enumerate(feature["labels"]):
            if label != -100:
                row[position, label] = 1.0
        logits.append(row)
    predictions = family.predictions(task, [{"tokens": words, "tags": tags}], features, logits)
    references = family.references(task, [{"tokens": words, "tags": tags}])
    assert predictions == references
    assert family.score(task, predictions, references, "en") == {"accuracy": 100.0}


def test_classification_accuracy_by_hand(tokenizer):
    task = get_task("synth_xnli")
    family = get_family("classification")
    examples = [{"premise": "Anna sees 3 hats.", "hypothesis": h, "label": label}
                for h, label in (("Anna sees 3 hats.", 0), ("Tom sees 3 hats.", 1),
                                 ("Anna never sees 3 hats.", 2), ("Anna sees 4 hats.", 2))]
    features = family.featurize(task, examples, tokenizer, max_length=32)
    logits = [torch.tensor(row) for row in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0])]
    predictions = family.predictions(task, examples, features, logits)
    assert predictions == [0, 1, 2, 0]
    assert family.score(task, predictions, family.references(task, examples), "en") == {
        "accuracy": 75.0}


def test_top1_accuracy_by_hand():
    candidates = np.eye(4, dtype="float32")
    queries = candidates[[0, 1, 3, 2]]  # the last two are swapped
    assert tatoeba_accuracy(nearest_candidates(candidates, candidates)) == 100.0
    assert tatoeba_accuracy(nearest_candidates(queries, candidates)) == 50.0


def test_mixture_schedule_is_proportional_capped_and_rank_independent():
    schedule = epoch_schedule({"a": 100, "b": 30}, batch_size=10, cap=50, seed=0, epoch=0)
    assert sum(task == "a" for task, _ in schedule) == 5  # capped at 50 examples
    assert sum(task == "b" for task, _ in schedule) == 3
    assert schedule == epoch_schedule({"a": 100, "b": 30}, 10, 50, 0, 0)  # same on every rank
    assert schedule != epoch_schedule({"a": 100, "b": 30}, 10, 50, 0, 1)  # reshuffled per epoch


def test_evaluation_steps_end_each_epoch():
    assert evaluation_steps(10, 2) == {5, 10}
    assert evaluation_steps(3, 5) == {1, 2, 3}


def test_multiple_choice_scores_each_choice_and_masks_missing_ones(tokenizer):
    from trainables.model import MultiTaskModel, load_encoder

    task = get_task("synth_xcopa")
    family = get_family("multiple_choice")
    examples = [
        {"context": "Anna drops 3 hats.", "question": "effect",
         "choices": ["The hats fall.", "Tom sings."], "label": 0},
        {"context": "Tom sings.", "question": "", "choices": ["a", "b", "c"], "label": 2},
    ]
    features = family.featurize(task, examples, tokenizer, max_length=32)
    assert [len(f["input_ids"]) for f in features] == [2, 3]
    # The question joins each choice in the second segment: <s> context </s></s> q c </s>
    second = tokenizer.decode(features[0]["input_ids"][0])
    assert "effect The hats fall." in second
    batch = family.collate(features, tokenizer.pad_token_id)
    assert tuple(batch["input_ids"].shape[:2]) == (2, 3)
    assert batch["attention_mask"][0, 2].sum() == 0  # the first example has no third choice
    model = MultiTaskModel(load_encoder(TINY), [task])
    scores = model(task.name, batch["input_ids"], batch["attention_mask"])
    assert tuple(scores.shape) == (2, 3) and scores[0, 2] == -1e4
    logits = [torch.tensor([0.2, 0.9]), torch.tensor([0.1, 0.0, 0.3])]
    predictions = family.predictions(task, examples, features, logits)
    assert predictions == [1, 2]
    assert family.score(task, predictions, family.references(task, examples), "en") == {
        "accuracy": 50.0}


def test_span_qa_windows_labels_and_answers(tokenizer):
    task = get_task("synth_xquad")
    family = get_family("span_qa")
    filler = " ".join(["Tom sees 5 hats."] * 40)
    context = f"{filler} Anna buys 17 red cups. {filler}"
    start = context.index("17 red cups")
    examples = [{"id": "q1", "context": context, "question": "What does Anna buy?",
                 "answers": {"text": ["17 red cups"], "answer_start": [start]}}]
    features = family.featurize(task, examples, tokenizer, max_length=64)
    assert len(features) > 2 and all(len(f["input_ids"]) <= 64 for f in features)
    labelled = [f for f in features if f["labels"] != [0, 0]]
    assert labelled  # some window holds the whole answer
    for feature in labelled:
        first, last = feature["labels"]
        offsets = feature["offsets"]
        shift = feature["context_start"]
        span = context[offsets[first - shift][0] : offsets[last - shift][1]]
        assert span.strip() == "17 red cups"
    # Windows start min(doc_stride, window) sub-tokens apart: here the window is narrower
    # than the stride of 128, so they follow each other edge to edge.
    starts = [f["offsets"][0][0] for f in features]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # Perfect logits on one labelled window give the gold answer back.
    logits = []
    for feature in features:
        row = torch.zeros(len(feature["input_ids"]), 2)
        if feature is labelled[0]:
            row[feature["labels"][0], 0] = 10.0
            row[feature["labels"][1], 1] = 10.0
        logits.append(row)
    assert family.predictions(task, examples, features, logits) == ["17 red cups"]
    scores = family.score(task, ["17 red cups"], [["17 red cups"]], "de")
    assert scores == {"exact_match": 100.0, "f1": 100.0}


def test_span_qa_no_answer_for_squad_v2(tokenizer):
    task = get_task("squad_v2")
    family = get_family("span_qa")
    examples = [{"id": "q", "context": "Anna sees 3 hats.", "question": "Who sings?",
                 "answers": {"text": [], "answer_start": []}}]
    [feature] = family.featurize(task, examples, tokenizer, max_length=64)
    assert feature["labels"] == [0, 0]  # unanswerable: <s>
    row = torch.zeros(len(feature["input_ids"]), 2)
    row[0] = 5.0  # the <s> score beats every span
    assert family.predictions(task, examples, [feature], [row]) == [""]
    assert family.score(task, [""], [[]], "en") == {"exact_match": 100.0, "f1": 100.0}


def test_pos_scores_chunk_f1_like_xtreme():
    task = get_task("udpos")
    family = get_family("tagging")
    index = {tag: i for i, tag in enumerate(task.labels)}
    gold = [[index[t] for t in ("NOUN", "NOUN", "VERB", "NOUN")]]
    predicted = [[index[t] for t in ("NOUN", "VERB", "VERB", "NOUN")]]
    scores = family.score(task, predicted, gold, "en")
    # Tokens: 3 of 4 right. Chunks (runs of one tag): gold NOUN(0-1) VERB(2) NOUN(3),
    # predicted NOUN(0) VERB(1-2) NOUN(3): only NOUN(3) matches -> P = R = F1 = 1/3.
    assert scores["accuracy"] == 75.0
    assert scores["f1"] == pytest.approx(100 / 3)
