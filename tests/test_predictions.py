"""Per-example predictions: every family's records add up to its metric, and `sweep export`
writes them in xtreme's layout, which `sweep score` reads back to the same numbers."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from small import TINY_MODEL

from sweep.cli import main
from sweep.errors import ResultsError
from sweep.export import export_task
from sweep.predictions import (
    COLUMNS,
    headline,
    load_predictions,
    prediction_rows,
    seed_matrices,
    shared_ids,
    write_predictions,
)
from sweep.scoring import score_directory
from trainables import evaluation
from trainables.families import get_family
from trainables.families.base import SplitContext
from trainables.storage import Location
from trainables.tasks import REGISTRY, Family, Scorer, Task, get_task

# Retrieval, dual encoders and image-text retrieval score whole pools: their records are
# checked below and in tests/test_image_text.py.
HEADED = [name for name, task in REGISTRY.items() if task.family not in (
    Family.RETRIEVAL, Family.DUAL_ENCODER, Family.IMAGE_TEXT_CONTRASTIVE)]
ANSWERS = ["the river", "a town", "River", "", "the old town"]


def _labelled(task: Task) -> Task:
    """The task with a label set (CCG's comes from its data)."""
    return task if task.labels or task.family is not Family.TAGGING else replace(
        task, labels=("N", "NP", "S"))


def _random_outcomes(task: Task, count: int = 40, seed: int = 0) -> tuple[list, list]:
    """(predictions, references) of `count` examples in the family's own form."""
    rng = random.Random(seed)
    if task.family is Family.TAGGING:
        lengths = [rng.randint(1, 6) for _ in range(count)]
        tags = range(len(task.labels))
        return ([[rng.choice(tags) for _ in range(n)] for n in lengths],
                [[rng.choice(tags) for _ in range(n)] for n in lengths])
    if task.family is Family.SPAN_QA:
        golds = [[a for a in rng.sample(ANSWERS, 2) if a or task.scorer is Scorer.SQUAD_V2]
                 or ["a town"] for _ in range(count)]
        return [rng.choice(ANSWERS) for _ in range(count)], golds
    choices = range(task.num_labels or 4)
    if task.family is Family.RELEVANCE:  # queries of 1 to 5 documents, in runs
        groups = sorted(rng.randrange(count // 3) for _ in range(count))
        return ([{"query": g, "relevance": rng.uniform(0, 4), "grade": rng.choice(choices)}
                 for g in groups], [{"query": g, "grade": rng.choice(choices)} for g in groups])
    return ([rng.choice(choices) for _ in range(count)],
            [rng.choice(choices) for _ in range(count)])


def _examples(task: Task, count: int) -> list[dict]:
    return [{"id": f"{task.name}-{index}"} if task.family is Family.SPAN_QA else {}
            for index in range(count)]


def _family_records(task: Task, language: str, seed: int = 0) -> tuple[float, list[dict]]:
    """The family's headline of random outcomes and their records."""
    family = get_family(task.family)
    predictions, references = _random_outcomes(task, seed=seed)
    metrics = family.score(task, predictions, references, language)
    records = family.example_records(task, _examples(task, len(predictions)), predictions,
                                     references, language)
    return task.headline(metrics), records


@pytest.mark.parametrize("name", HEADED)
def test_each_examples_score_adds_up_to_the_task_headline(name):
    task = _labelled(get_task(name))
    expected, records = _family_records(task, task.languages[0])
    frame = pd.DataFrame(records)
    assert headline(frame) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert frame["example_id"].is_unique


@pytest.fixture(scope="module")
def dual_encoder():
    from trainables.model import MultiTaskModel, load_encoder, load_tokenizer

    torch.manual_seed(0)
    tasks = [task for task in REGISTRY.values() if task.family is Family.DUAL_ENCODER]
    return MultiTaskModel(load_encoder(TINY_MODEL), tasks), load_tokenizer(TINY_MODEL)


def _dual_encoder_examples(count: int = 6) -> list[dict]:
    queries = [{"side": "query", "id": f"q{i}", "query": f"Who does thing {i}?",
                "match": f"q{i}"} for i in range(count)]
    candidates = [{"side": "candidate", "key": f"c{i}", "candidate": f"Person {i} does it.",
                   "matches": [f"q{i}", f"q{(i + 1) % count}"]} for i in range(count)]
    return queries + candidates


def _dual_encoder_records(name: str, model_and_tokenizer, tmp_path) -> tuple[float, list]:
    model, tokenizer = model_and_tokenizer
    task = get_task(name)
    family = get_family(task.family)
    examples = _dual_encoder_examples()
    features = family.featurize(task, examples, tokenizer, max_length=32)
    context = SplitContext(tokenizer, 32, 4, torch.device("cpu"), "en", tmp_path)
    metrics, records = family.evaluate_split(model, task, examples, features, context)
    assert family.score_split(model, task, examples, features, context) == metrics
    return task.headline(metrics), records


@pytest.mark.parametrize("name", [n for n, t in REGISTRY.items()
                                  if t.family is Family.DUAL_ENCODER])
def test_each_querys_average_precision_adds_up_to_map(name, dual_encoder, tmp_path):
    expected, records = _dual_encoder_records(name, dual_encoder, tmp_path)
    assert len(records) == 6 and all(len(r["prediction"]) <= 20 for r in records)
    assert headline(pd.DataFrame(records)) == pytest.approx(expected, rel=1e-12)


def _retrieval_records(name: str, monkeypatch) -> tuple[float, list]:
    task = get_task(name)
    if task.scorer is Scorer.BUCC:  # o1 and o2 mine e1 and e2; o3 has no gold pair
        records = [*({"side": "other", "id": f"o{i}", "sentence": s}
                     for i, s in ((1, "1"), (2, "2"), (3, "5"), (4, "4"))),
                   *({"side": "english", "id": f"e{i}", "sentence": s}
                     for i, s in ((1, "1"), (2, "2"), (3, "3"), (4, "6"))),
                   {"side": "gold", "other_id": "o1", "english_id": "e1"},
                   {"side": "gold", "other_id": "o4", "english_id": "e3"}]
    else:
        records = [{"english": e, "other": o} for e, o in (("1", "1"), ("2", "3"), ("3", "2"),
                                                           ("4", "4"))]
    monkeypatch.setattr(evaluation, "load_examples", lambda *args: records)

    def encode(sentences: list[str]) -> np.ndarray:
        return np.eye(8, dtype="float32")[[int(sentence) for sentence in sentences]] + 0.01

    metrics, kept = evaluation.RETRIEVAL_SCORERS[task.scorer](encode, {}, name, "de",
                                                              "en_to_xx")
    return task.headline(metrics), kept


@pytest.mark.parametrize("name", [n for n, t in REGISTRY.items() if t.family is Family.RETRIEVAL])
def test_each_retrieval_querys_record_adds_up_to_the_metric(name, monkeypatch):
    expected, records = _retrieval_records(name, monkeypatch)
    assert headline(pd.DataFrame(records)) == pytest.approx(expected, rel=1e-12)


# -- kept and exported ------------------------------------------------------------------------


def _keep(storage: Location, task: Task, by_language: dict[str, list], seed: int = 0,
          intermediate: str = "none") -> None:
    rows = []
    for language, records in by_language.items():
        facts = {"target_task": task.name, "intermediate_task": intermediate,
                 "trial_id": f"t{seed}", "seed": seed, "language": language, "split": "test"}
        rows += prediction_rows(f"eval/{task.name}", task.name, facts, records)
    write_predictions(storage, f"eval-{task.name}-{intermediate}-{seed}", rows)


def _records_for(name: str, language: str, seed: int, monkeypatch, dual, tmp_path):
    task = get_task(name)
    if task.family is Family.RETRIEVAL:
        return _retrieval_records(name, monkeypatch)
    if task.family is Family.DUAL_ENCODER:
        return _dual_encoder_records(name, dual, tmp_path)
    return _family_records(task, language, seed)


SCORABLE = [name for name, task in REGISTRY.items() if task.xtreme_files]


@pytest.mark.parametrize("name", SCORABLE)
def test_exported_predictions_score_back_to_the_same_numbers(name, tmp_path, monkeypatch,
                                                             dual_encoder):
    task = get_task(name)
    languages = [lang for lang in task.languages if lang != "en"][:2] or list(task.languages)
    storage = Location.of(tmp_path / "run")
    expected = {}
    for seed in (0, 1):
        by_language = {}
        for offset, language in enumerate(languages):
            value, by_language[language] = _records_for(name, language, seed * 10 + offset,
                                                        monkeypatch, dual_encoder, tmp_path)
            expected[(seed, language)] = value
        _keep(storage, task, by_language, seed)
    kept = load_predictions(storage)
    assert list(kept.columns) == COLUMNS and set(kept["seed"]) == {0, 1}
    folders = export_task(storage, name, tmp_path / "out")
    assert [folder.name for folder in folders] == ["none-seed0", "none-seed1"]
    for seed, folder in enumerate(folders):
        result = score_directory(name, folder / "predictions", folder / "labels")
        assert result["languages"] == [lang for lang in (task.xtreme_files.languages
                                                         or task.languages) if lang in languages]
        for language in languages:
            scores = result["scores"][language]
            assert task.headline(scores) == pytest.approx(expected[(seed, language)], abs=1e-9)


def test_export_refuses_what_it_cannot_write(tmp_path, capsys):
    storage = Location.of(tmp_path / "run")
    task = get_task("synth_xnli")
    records = [{"example_id": "0", "prediction": "neutral", "gold": "neutral", "score": 100.0,
                "weight": 1.0}]
    _keep(storage, task, {"de": records})
    with pytest.raises(ResultsError, match="synth_nli: it has no xtreme file layout"):
        export_task(storage, "synth_nli", tmp_path / "out")
    with pytest.raises(ResultsError, match="kept no predictions of it; tasks with predictions: "
                                           "synth_xnli"):
        export_task(storage, "xnli", tmp_path / "out")
    assert main(["export", str(tmp_path / "run"), "--task", "xnli", "--out",
                 str(tmp_path / "out")]) == 2
    assert "kept no predictions" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "run"), "--task", "synth_xnli", "--out",
                 str(tmp_path / "out")]) == 0
    written = tmp_path / "out" / "none-seed0" / "predictions" / "synth_xnli" / "test-de.tsv"
    assert written.read_text() == "neutral\n"


def test_seeds_pair_up_on_the_examples_all_of_them_scored():
    rows = pd.DataFrame({"seed": [0, 0, 0, 1, 1], "example_id": ["b", "a", "c", "a", "b"],
                         "score": [1.0, 2.0, 3.0, 4.0, 5.0], "weight": [1.0] * 5})
    ids = shared_ids(rows)
    assert ids == ["a", "b"]  # c is missing from seed 1
    scores, weights = seed_matrices(rows, ids)
    assert scores.tolist() == [[2.0, 1.0], [4.0, 5.0]] and weights.shape == (2, 2)
