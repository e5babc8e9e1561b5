"""The task registry is whole: every family, format, scorer, synthetic task and scorable task
it names exists and agrees with the code that serves it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from small import TINY_MODEL

from sweep.scoring import TASKS as SCORABLE
from sweep.scoring import score_directory
from trainables import evaluation
from trainables.families import FAMILIES, get_family
from trainables.families.base import SplitContext
from trainables.offline.benchmark import generate_benchmark
from trainables.readers import READERS
from trainables.tasks import (
    REGISTRY,
    Family,
    FileFormat,
    PredictionFormat,
    Scorer,
    Task,
    get_task,
    languages,
)
from trainables.tasks.checks import check_registry
from trainables.tasks.schema import FAMILY_SCORERS

TRAINABLE = [family for family in Family if family is not Family.RETRIEVAL]


def test_every_family_is_registered_and_only_those():
    assert set(FAMILIES) == {family.value for family in TRAINABLE}
    for family in TRAINABLE:
        assert get_family(family).name == family.value
    assert set(evaluation.RETRIEVAL_SCORERS) == FAMILY_SCORERS[Family.RETRIEVAL]


def test_every_local_format_has_a_reader_and_every_reader_a_format():
    assert set(READERS) == {file_format.value for file_format in FileFormat}


def test_a_scorer_typo_fails_when_the_registry_is_built():
    with pytest.raises(ValueError, match="'seqevel' is not a valid Scorer"):
        replace(get_task("panx"), scorer="seqevel")
    wrong_family = replace(get_task("panx"), scorer=Scorer.SQUAD_V1)
    with pytest.raises(ValueError, match="scorer 'squad_v1' is not one of the tagging"):
        check_registry([wrong_family], READERS)
    with pytest.raises(ValueError, match="names task 'mnli', which is not registered"):
        check_registry([get_task("xnli")], READERS)
    with pytest.raises(ValueError, match="local format 'conllu' has no reader"):
        check_registry([get_task("udpos_r")], {"jsonl": None})


# -- every task's selection metric is a key its family's scorer returns ----------------------


def _two_examples(task: Task) -> tuple[list, list]:
    """(predictions, references) of two tiny examples in the family's own form."""
    if task.family is Family.TAGGING:
        return [[0, 1], [1]], [[0, 0], [1]]
    if task.family is Family.SPAN_QA:
        return ["the river", ""], [["the river"], ["a town"]]
    if task.family is Family.RELEVANCE:  # two documents of one query
        return ([{"query": 0, "relevance": 2.5, "grade": 3}, {"query": 0, "relevance": 0.5,
                                                                "grade": 0}],
                [{"query": 0, "grade": 3}, {"query": 0, "grade": 1}])
    if task.family is Family.IMAGE_TEXT_CONTRASTIVE:  # each caption's ranked image ids
        return [["img1", "img2"], ["img1", "img2"]], ["img1", "img2"]
    return [0, 1], [0, 0]


def _dual_encoder_examples() -> list[dict]:
    return [{"side": "query", "id": "q1", "query": "Who sings?", "match": "q1"},
            {"side": "query", "id": "q2", "query": "Who swims?", "match": "q2"},
            {"side": "candidate", "key": "c1", "candidate": "Anna sings.", "matches": ["q1"]},
            {"side": "candidate", "key": "c2", "candidate": "Otto swims.", "matches": ["q2"]}]


@pytest.fixture(scope="module")
def tiny_model():
    from trainables.model import MultiTaskModel, load_encoder, load_tokenizer

    torch.manual_seed(0)
    tasks = [task for task in REGISTRY.values() if task.family is Family.DUAL_ENCODER]
    return MultiTaskModel(load_encoder(TINY_MODEL), tasks), load_tokenizer(TINY_MODEL)


@pytest.mark.parametrize("name", [name for name, task in REGISTRY.items()
                                  if task.family in TRAINABLE])
def test_selection_metric_is_returned_by_the_family_scorer(name, tiny_model, tmp_path):
    task = get_task(name)
    family = get_family(task.family)
    language = task.languages[0]
    if task.family is Family.DUAL_ENCODER:
        model, tokenizer = tiny_model
        examples = _dual_encoder_examples()
        features = family.featurize(task, examples, tokenizer, max_length=32)
        context = SplitContext(tokenizer, 32, 2, torch.device("cpu"), language, tmp_path)
        scores = family.score_split(model, task, examples, features, context)
    else:
        predictions, references = _two_examples(task)
        scores = family.score(task, predictions, references, language)
    assert task.metric in scores
    assert all(metric in scores for metric in task.headline_metrics)


@pytest.mark.parametrize("name", [name for name, task in REGISTRY.items()
                                  if task.family is Family.RETRIEVAL])
def test_retrieval_metric_is_returned_by_its_scorer(name, monkeypatch):
    task = get_task(name)
    if task.scorer is Scorer.BUCC:  # two sentences each side, one gold pair, per split
        records = [{"side": "other", "id": "o1", "sentence": "1"},
                   {"side": "other", "id": "o2", "sentence": "2"},
                   {"side": "english", "id": "e1", "sentence": "1"},
                   {"side": "english", "id": "e2", "sentence": "3"},
                   {"side": "gold", "other_id": "o1", "english_id": "e1"}]
    else:
        records = [{"english": "1", "other": "1"}, {"english": "2", "other": "2"}]
    monkeypatch.setattr(evaluation, "load_examples", lambda *args: records)

    def encode(sentences: list[str]) -> np.ndarray:
        vectors = np.eye(8, dtype="float32")[[int(sentence) for sentence in sentences]]
        return vectors + 0.01

    scores, _ = evaluation.RETRIEVAL_SCORERS[task.scorer](encode, {}, name, "de", "en_to_xx")
    assert task.metric in scores


# -- synthetic tasks and `sweep score` ---------------------------------------------------------


def test_every_synthetic_task_exists_in_the_generated_benchmark(tmp_path):
    root = generate_benchmark(tmp_path, train_size=20, eval_size=10, retrieval_size=10,
                              corpus_size=10)
    described = json.loads((root / "benchmark.json").read_text())["tasks"]
    from trainables.data import load_examples

    data = {"source": "local", "path": str(root)}
    for name, task in REGISTRY.items():
        if not task.synthetic:
            continue
        assert name in described
        for language in task.languages:
            split = task.retrieval_splits[0] if task.family is Family.RETRIEVAL else "test"
            if task.languages == ("en",) and task.family is not Family.RETRIEVAL:
                split = "dev"
            assert load_examples(data, name, split, language), (name, split, language)


def _write_predictions(folder, task: Task, language: str) -> None:
    """One correct prediction and its label, in the task's xtreme layout."""
    file_format = task.xtreme_files.format
    name = f"test-{language}.{file_format.suffix}"
    labels, predictions = folder / "labels", folder / "predictions"
    for where in (labels, predictions):
        where.mkdir(exist_ok=True)
    if file_format is PredictionFormat.ANSWERS:
        squad = {"data": [{"paragraphs": [{"qas": [{"id": "q", "answers": [{"text": "x"}]}]}]}]}
        (labels / name).write_text(json.dumps(squad))
        (predictions / name).write_text(json.dumps({"q": "x"}))
        return
    content = {PredictionFormat.LABELS: "entailment\n", PredictionFormat.TAGS: "B-PER\nO\n\n",
               PredictionFormat.PAIRS: "de-1\ten-1\n",
               PredictionFormat.RANKINGS: json.dumps({"q": ["c"]})}[file_format]
    for where in (labels, predictions):
        (where / name).write_text(content)


@pytest.mark.parametrize("name", SCORABLE)
def test_every_task_sweep_score_accepts_resolves_through_the_registry(name, tmp_path):
    task = get_task(name)
    language = task.languages[0]
    _write_predictions(tmp_path, task, language)
    result = score_directory(name, tmp_path / "predictions", tmp_path / "labels")
    assert result["languages"] == [language]
    assert result["avg_metric"] == pytest.approx(100.0)
    assert result["metric"] == "+".join(task.headline_metrics)


def test_language_lists_are_written_once_in_xtremes_order():
    from trainables.metrics import mlqa_normalize_answer

    for language in languages.MLQA:  # every MLQA language has its normalisation
        mlqa_normalize_answer("a", language)
    assert get_task("panx").languages_in("xtreme") == get_task("panx").languages[:40]
    assert get_task("udpos").xtreme_files.languages[:33] == get_task("udpos").languages


def test_tydiqa_selects_on_training_rows_held_out_of_training(monkeypatch):
    import datasets

    from trainables.data import load_examples

    task = get_task("tydiqa")
    assert "dev" not in task.hub.splits  # its validation rows are the test set only
    asked = []

    def load_dataset(path, name=None, split=None, revision=None):
        asked.append(split)
        return [{"id": f"{language}-{split}-{index}", "context": "c", "question": "q",
                 "answers": {"text": ["c"], "answer_start": [0]}}
                for language in ("english", "arabic") for index in range(100)]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    data = {"source": "hub", "revisions": {}}
    train = {example["id"] for example in load_examples(data, "tydiqa", "train", "en")}
    dev = {example["id"] for example in load_examples(data, "tydiqa", "dev", "en")}
    test = {example["id"] for example in load_examples(data, "tydiqa", "test", "en")}
    assert asked == ["train", "train", "validation"]
    assert not train & dev and len(train | dev) == 100
    assert 3 <= len(dev) <= 25  # about a tenth, fixed by the ids' hashes
    assert all(identifier.startswith("english-validation-") for identifier in test)
    assert dev == {e for e in train | dev if task.dev_slice.holds({"id": e})}


def test_the_direct_arms_read_each_real_tasks_target_language_data():
    from trainables.arms import ARMS

    def non_english(names):
        return tuple(language for language in names if language != "en")

    assert ARMS["translate_train"].languages(get_task("xnli")) == non_english(languages.XNLI)
    assert ARMS["translate_train"].languages(get_task("xglue_xnli")) == non_english(
        languages.XNLI)
    assert ARMS["translate_train"].languages(get_task("xglue_pawsx")) == ("de", "es", "fr")
    assert ARMS["in_language"].languages(get_task("panx")) == non_english(languages.PANX_R)
    assert ARMS["in_language"].languages(get_task("xglue_wpr")) == non_english(
        languages.XGLUE_WPR)
    assert ARMS["in_language"].languages(get_task("xglue_ner")) == ("es", "nl")
    # UD-POS: the languages with a train and a dev treebank, not Tagalog, Thai, Yoruba (test
    # only) or Kazakh (no dev).
    udpos = ARMS["in_language"].languages(get_task("udpos"))
    assert "de" in udpos and not {"kk", "th", "tl", "yo"} & set(udpos)
    assert len(udpos) == len(languages.UDPOS) - 1 - 4
    assert ARMS["in_language"].languages(get_task("xglue_pos")) == ()  # see its entry
    for name in ("xnli_mt", "pawsx_mt", "xglue_pawsx_mt", "udpos_gold",
                 "xglue_ner_conll2002", "xglue_nc_dev"):
        source = get_task(name)
        assert source.roles == () and source.benchmarks == ()  # never a target by itself
