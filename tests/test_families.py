"""Families and the tiny model: featurisation traps, prediction reassembly, retrieval scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainables.evaluation import top1_accuracy
from trainables.families import get_family
from trainables.families.tagging import split_into_windows
from trainables.model import base_model_reference, load_tokenizer
from trainables.tasks import get_task
from trainables.training import epoch_schedule, evaluation_steps

TINY = {"source": "offline", "name": "tiny-xlmr",
        "tiny": {"vocab_size": 4000, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
                 "intermediate_size": 64, "max_position_embeddings": 130, "seed": 0,
                 "corpus_seed": 13}}


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
    assert family.score(task, predictions, references, "en") == {"accuracy": 1.0}


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
        "accuracy": 0.75}


def test_top1_accuracy_by_hand():
    candidates = np.eye(4, dtype="float32")
    queries = candidates[[0, 1, 3, 2]]  # the last two are swapped
    assert top1_accuracy(candidates, candidates) == 1.0
    assert top1_accuracy(queries, candidates) == 0.5


def test_mixture_schedule_is_proportional_capped_and_rank_independent():
    schedule = epoch_schedule({"a": 100, "b": 30}, batch_size=10, cap=50, seed=0, epoch=0)
    assert sum(task == "a" for task, _ in schedule) == 5  # capped at 50 examples
    assert sum(task == "b" for task, _ in schedule) == 3
    assert schedule == epoch_schedule({"a": 100, "b": 30}, 10, 50, 0, 0)  # same on every rank
    assert schedule != epoch_schedule({"a": 100, "b": 30}, 10, 50, 0, 1)  # reshuffled per epoch


def test_evaluation_steps_end_each_epoch():
    assert evaluation_steps(10, 2) == {5, 10}
    assert evaluation_steps(3, 5) == {1, 2, 3}
