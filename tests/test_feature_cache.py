"""The node's feature cache (`trainables.feature_cache`): for a task of every family, cached
features are exactly the family's own; a second ask does not tokenise; every input of the key
changes it; two processes asking at once tokenise once; what a killed writer left is ignored;
features Arrow cannot hold are computed afresh instead."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from small import TINY_MODEL

from trainables import feature_cache
from trainables.data import load_examples, task_with_labels
from trainables.families import FAMILIES, get_family
from trainables.feature_cache import FeatureTable, feature_key, featurize_cached
from trainables.offline.benchmark import generate_benchmark
from trainables.tasks import ImageControl, get_task

REPO = Path(__file__).resolve().parent.parent
MAX_LENGTH = 32
# (task, split, language) of the offline benchmark: at least one task of every family, the
# image families with one and two images per example.
SYNTHETIC_SPLITS = [
    ("synth_nli", "train", "en"), ("synth_xnli", "test", "de"), ("synth_pos", "train", "en"),
    ("synth_swag", "train", "en"), ("synth_squad", "train", "en"),
    ("synth_xquad", "test", "de"), ("synth_lareqa", "train", "en"),
    ("synth_caption", "train", "en"), ("synth_ve", "train", "en"),
    ("synth_nlvr", "train", "en"),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    root = generate_benchmark(tmp_path_factory.mktemp("benchmark") / "data", train_size=12,
                              eval_size=6, retrieval_size=6, corpus_size=6)
    return {"source": "local", "path": str(root)}


@pytest.fixture(scope="module")
def tokenizer():
    from trainables.model import load_tokenizer

    return load_tokenizer(TINY_MODEL)  # before the tests move the cache: the tiny model's


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "features"


def identical(left, right) -> bool:
    """Equal and of the same types all the way down (a tuple is not a list, 1.0 not 1)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, np.ndarray):
        return left.dtype == right.dtype and left.shape == right.shape and \
            np.array_equal(left, right)
    if isinstance(left, dict):
        return list(left) == list(right) and all(identical(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(identical, left, right))
    return left == right


def counting(monkeypatch, family_name: str) -> list[int]:
    """Count the calls of a family's featurize (a list that grows by one per call)."""
    family = get_family(family_name)
    calls: list[int] = []
    featurize = family.featurize

    def counted(*args):
        calls.append(1)
        return featurize(*args)

    monkeypatch.setattr(family, "featurize", counted)
    return calls


def relevance_task_and_examples():
    """XGLUE's web page ranking (the relevance family has no synthetic task): two queries."""
    task = get_task("xglue_wpr")
    examples = [{"query": query, "web_page_title": f"title {n}",
                 "web_page_snippet": f"a snippet about {query} number {n}", "label": str(n % 5)}
                for query in ("first query", "second query") for n in range(3)]
    return task, examples


def task_splits(data) -> list:
    """(task, examples) of every case: the synthetic splits, relevance, the text-only
    control of the image-text family."""
    cases = [(task_with_labels(data, name), load_examples(data, name, split, language))
             for name, split, language in SYNTHETIC_SPLITS]
    caption = task_with_labels(data, "synth_caption")
    cases.append((replace(caption, image_control=ImageControl.TEXT_ONLY),
                  load_examples(data, "synth_caption", "train", "en")))
    cases.append(relevance_task_and_examples())
    return cases


def test_every_family_has_a_case(data):
    assert {task.family.value for task, _ in task_splits(data)} == set(FAMILIES)


@pytest.mark.parametrize("case", range(len(SYNTHETIC_SPLITS) + 2))
def test_cached_features_are_the_familys_own(case, data, tokenizer, monkeypatch, cache):
    task, examples = task_splits(data)[case]
    fresh = get_family(task.family).featurize(task, examples, tokenizer, MAX_LENGTH)
    assert fresh, "a case with no features tests nothing"
    calls = counting(monkeypatch, task.family.value)

    cold = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
    warm = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
    assert len(calls) == 1  # the second ask read the file
    for features in (cold, warm):
        assert isinstance(features, FeatureTable)  # cached, not the uncached fallback
        assert len(features) == len(fresh)
        assert identical(list(features), fresh)
        assert identical([features[i] for i in range(len(fresh))], fresh)
        assert identical(features[1:-1], fresh[1:-1]) and identical(features[::2], fresh[::2])
        assert identical(features[-1], fresh[-1])
        assert identical(pickle.loads(pickle.dumps(features)), fresh)
    assert [path.name.split(".")[:3] for path in cache.iterdir() if path.is_dir()] == \
        [[task.name, task.family.value, f"L{MAX_LENGTH}"]]


def test_reading_across_record_batches(data, tokenizer, monkeypatch):
    monkeypatch.setattr(feature_cache, "ROWS_PER_BATCH", 5)
    task = task_with_labels(data, "synth_squad")
    examples = load_examples(data, "synth_squad", "train", "en")
    fresh = get_family(task.family).featurize(task, examples, tokenizer, MAX_LENGTH)
    cached = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
    assert len(cached._batches) > 2
    assert identical(list(cached), fresh) and identical(cached[3:13], fresh[3:13])
    with pytest.raises(IndexError):
        cached[len(fresh)]


def test_every_input_of_the_key_changes_it(data, tokenizer):
    task = task_with_labels(data, "synth_nli")
    examples = load_examples(data, "synth_nli", "train", "en")
    key = feature_key(task, examples, tokenizer, MAX_LENGTH)
    assert feature_key(task, copy.deepcopy(examples), tokenizer, MAX_LENGTH) == key
    edited = copy.deepcopy(examples)
    edited[3]["hypothesis"] += " too"
    other_tokenizer = copy.deepcopy(tokenizer)
    other_tokenizer.add_tokens(["zzqx"])
    assert len({key,
                feature_key(task, examples, tokenizer, MAX_LENGTH + 1),
                feature_key(task, edited, tokenizer, MAX_LENGTH),
                feature_key(task, examples[:-1], tokenizer, MAX_LENGTH),
                feature_key(task, examples[::-1], tokenizer, MAX_LENGTH),
                feature_key(task, examples, other_tokenizer, MAX_LENGTH),
                feature_key(replace(task, labels=task.labels[::-1]), examples, tokenizer,
                            MAX_LENGTH),
                feature_key(get_task("synth_para"), examples, tokenizer, MAX_LENGTH)}) == 8
    # A token added to the tokenizer already fingerprinted: its memo is not reused.
    before = feature_key(task, examples, other_tokenizer, MAX_LENGTH)
    other_tokenizer.add_tokens(["qqzx"])
    assert feature_key(task, examples, other_tokenizer, MAX_LENGTH) != before


def test_image_vectors_are_in_the_key(data, tokenizer):
    task = task_with_labels(data, "synth_ve")
    examples = load_examples(data, "synth_ve", "train", "en")
    moved = [dict(example) for example in examples]
    moved[0]["image"] = moved[0]["image"] * 0.5
    assert feature_key(task, examples, tokenizer, MAX_LENGTH) != \
        feature_key(task, moved, tokenizer, MAX_LENGTH)


CHILD = """
import pickle, sys, time
from pathlib import Path
from transformers import AutoTokenizer
from trainables.data import load_examples, task_with_labels
from trainables.families import get_family
from trainables.feature_cache import featurize_cached

work, me, root = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
data = {"source": "local", "path": root}
tokenizer = AutoTokenizer.from_pretrained(work / "tokenizer")
task = task_with_labels(data, "synth_squad")
examples = load_examples(data, "synth_squad", "train", "en")
family = get_family(task.family)
featurize = family.featurize

def counted(*args):
    with open(work / "featurized", "a") as log:
        log.write(me + "\\n")
    time.sleep(0.5)  # the other process asks while this one builds
    return featurize(*args)

family.featurize = counted
(work / f"ready-{me}").touch()
while not all((work / f"ready-{name}").exists() for name in ("a", "b")):
    time.sleep(0.01)
features = featurize_cached(task, examples, tokenizer, 32)
(work / f"out-{me}").write_bytes(pickle.dumps((type(features).__name__, list(features))))
"""


def test_two_processes_asking_at_once_featurize_once(data, tokenizer, tmp_path, cache):
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    env = {**os.environ, "XSTILTS_CACHE": str(cache.parent),
           "TOKENIZERS_PARALLELISM": "false"}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), name,
                                  data["path"]], cwd=REPO, env=env)
                for name in ("a", "b")]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    assert len((tmp_path / "featurized").read_text().split()) == 1
    task = task_with_labels(data, "synth_squad")
    fresh = get_family(task.family).featurize(
        task, load_examples(data, "synth_squad", "train", "en"), tokenizer, 32)
    for name in ("a", "b"):
        kind, features = pickle.loads((tmp_path / f"out-{name}").read_bytes())
        assert kind == "FeatureTable" and identical(features, fresh)
    assert len([path for path in cache.iterdir() if path.is_dir()]) == 1  # no staging left


def test_what_a_killed_writer_left_is_ignored(data, tokenizer, monkeypatch, cache):
    task = task_with_labels(data, "synth_pos")
    examples = load_examples(data, "synth_pos", "train", "en")
    name = f"synth_pos.tagging.L{MAX_LENGTH}." + \
        feature_key(task, examples, tokenizer, MAX_LENGTH)[:32]
    # A staging directory with half a file, and a target without its DONE marker.
    for leftover in (cache / f"{name}.k1lled", cache / name):
        leftover.mkdir(parents=True)
        (leftover / "features.arrow").write_bytes(b"ARROW1\0\0 half a file")
    calls = counting(monkeypatch, "tagging")
    cached = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
    fresh = get_family(task.family).featurize(task, examples, tokenizer, MAX_LENGTH)
    assert identical(list(cached), fresh) and len(calls) == 2  # once cached, once here
    assert sorted(path.name for path in cache.iterdir()) == [name, f"{name}.lock"]
    assert identical(list(featurize_cached(task, examples, tokenizer, MAX_LENGTH)), fresh)


def test_no_features_is_a_cached_empty_table(data, tokenizer, monkeypatch):
    # The text-only control of captions alone with their image: no pairs, no features.
    task = replace(task_with_labels(data, "synth_caption"),
                   image_control=ImageControl.TEXT_ONLY)
    examples = [{"caption": f"caption {n}", "image_id": str(n)} for n in range(3)]
    calls = counting(monkeypatch, task.family.value)
    for _ in range(2):
        features = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
        assert isinstance(features, FeatureTable) and len(features) == 0
        assert list(features) == [] and features[:] == [] and not features
    assert len(calls) == 1


def test_features_arrow_cannot_hold_are_computed_afresh(data, tokenizer, monkeypatch, cache):
    task = task_with_labels(data, "synth_nli")
    examples = load_examples(data, "synth_nli", "train", "en")
    family = get_family(task.family)
    featurize = family.featurize
    calls = []

    def with_tuples(*args):  # tuples come back from Arrow as lists
        calls.append(1)
        return [{**feature, "pair": (1, 2)} for feature in featurize(*args)]

    monkeypatch.setattr(family, "featurize", with_tuples)
    for count in (1, 2):
        features = featurize_cached(task, examples, tokenizer, MAX_LENGTH)
        assert isinstance(features, list) and features[0]["pair"] == (1, 2)
        assert len(calls) == count  # the marker sends the second ask straight to featurize
    (published,) = [path for path in cache.iterdir() if path.is_dir()]
    assert sorted(path.name for path in published.iterdir()) == ["DONE", "UNCACHEABLE"]


def test_a_tokenizer_without_a_serialisable_backend_is_not_cached(data, tokenizer, cache):
    class StandIn:  # a slow tokenizer's interface: calls through, no backend_tokenizer
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, *args, **kwargs):
            return self.inner(*args, **kwargs)

    task = task_with_labels(data, "synth_nli")
    examples = load_examples(data, "synth_nli", "train", "en")
    features = featurize_cached(task, examples, StandIn(tokenizer), MAX_LENGTH)
    assert identical(features, get_family(task.family).featurize(task, examples, tokenizer,
                                                                 MAX_LENGTH))
    assert not cache.exists()
