"""`sweep export`: a run's kept predictions of one task in google-research/xtreme's layout.

For each evaluated checkpoint (intermediate task and seed), two trees that `sweep score`
reads back to the numbers of the result rows:

    OUT/<checkpoint>/predictions/<folder>/test-<lang>.<suffix>
    OUT/<checkpoint>/labels/<folder>/test-<lang>.<suffix>

`<folder>` is the task's xtreme folder (`Task.xtreme_files`), the file formats those of
`sweep.scoring`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sweep.errors import ResultsError
from sweep.predictions import load_predictions
from trainables.storage import Location
from trainables.tasks import PredictionFormat, Task, get_task, scorable_tasks

# Files of one language: (predictions text, labels text) from its examples, in order.
Writer = Callable[[list[Any], list[Any], list[str]], tuple[str, str]]


def _lines(values: list[Any]) -> str:
    return "".join(f"{value}\n" for value in values)


def _labels(predictions: list[Any], gold: list[Any], ids: list[str]) -> tuple[str, str]:
    return _lines(predictions), _lines(gold)


def _tags(predictions: list[Any], gold: list[Any], ids: list[str]) -> tuple[str, str]:
    def sentences(tags: list[list[str]]) -> str:
        return "".join(_lines(sentence) + "\n" for sentence in tags)

    return sentences(predictions), sentences(gold)


def _answers(predictions: list[Any], gold: list[Any], ids: list[str]) -> tuple[str, str]:
    # The contexts are not kept: xtreme's scorer reads only the questions' ids and answers.
    questions = [{"id": qid, "answers": [{"text": text} for text in answers]}
                 for qid, answers in zip(ids, gold, strict=True)]
    labels = {"version": "1.1", "data": [{"title": "", "paragraphs": [
        {"context": "", "qas": questions}]}]}
    return (json.dumps(dict(zip(ids, predictions, strict=True)), ensure_ascii=False),
            json.dumps(labels, ensure_ascii=False))


def _rankings(predictions: list[Any], gold: list[Any], ids: list[str]) -> tuple[str, str]:
    return (json.dumps(dict(zip(ids, predictions, strict=True)), ensure_ascii=False),
            json.dumps(dict(zip(ids, gold, strict=True)), ensure_ascii=False))


def _pairs(predictions: list[Any], gold: list[Any], ids: list[str]) -> tuple[str, str]:
    def pairs(found: list[list[str]]) -> str:
        return _lines(f"{other}\t{english}" for other, englishes in zip(ids, found, strict=True)
                      for english in englishes)

    return pairs(predictions), pairs(gold)


WRITERS: dict[PredictionFormat, Writer] = {
    PredictionFormat.LABELS: _labels,
    PredictionFormat.TAGS: _tags,
    PredictionFormat.ANSWERS: _answers,
    PredictionFormat.RANKINGS: _rankings,
    PredictionFormat.PAIRS: _pairs,
}


def checkpoint_name(intermediate_task: str, seed: Any) -> str:
    """A checkpoint's folder: its intermediate task (or encoder) and its seed."""
    return intermediate_task if pd.isna(seed) else f"{intermediate_task}-seed{int(seed)}"


def _test_predictions(storage: str | Path | Location, task: Task) -> pd.DataFrame:
    if task.name not in scorable_tasks():
        raise ResultsError(f"--task {task.name}: it has no xtreme file layout; exportable: "
                           f"{', '.join(scorable_tasks())}")
    kept = load_predictions(storage)
    examples = kept[kept["task"] == task.name]
    if examples.empty:
        have = ", ".join(sorted(set(kept["task"]))) or "none"
        raise ResultsError(f"--task {task.name}: the run kept no predictions of it; tasks "
                           f"with predictions: {have}")
    test = examples[examples["split"] == "test"]
    if test.empty:
        splits = ", ".join(sorted(set(examples["split"])))
        raise ResultsError(f"--task {task.name}: only {splits} predictions; xtreme's layout "
                           "holds test predictions")
    return test


def export_task(storage: str | Path | Location, task_name: str, out: Path) -> list[Path]:
    """Write every checkpoint's test predictions and labels of `task_name` under `out`;
    returns the checkpoint folders written."""
    task = get_task(task_name)
    test = _test_predictions(storage, task)
    files, writer = task.xtreme_files, WRITERS[task.xtreme_files.format]
    folders = []
    checkpoints = test.groupby(["intermediate_task", "seed", "trial_id"], dropna=False,
                               sort=True)
    names = [checkpoint_name(intermediate, seed) for intermediate, seed, _ in checkpoints.groups]
    for (intermediate, seed, trial_id), examples in checkpoints:
        folder = checkpoint_name(intermediate, seed)
        if names.count(folder) > 1:  # several trials of one seed: not a full-table run
            folder += f"-{trial_id}"
        for language, group in examples.groupby("language", sort=True):
            predictions, labels = writer([json.loads(v) for v in group["prediction"]],
                                         [json.loads(v) for v in group["gold"]],
                                         group["example_id"].astype(str).tolist())
            for side, text in (("predictions", predictions), ("labels", labels)):
                directory = out / folder / side / (files.folder or task.name)
                directory.mkdir(parents=True, exist_ok=True)
                (directory / f"test-{language}.{files.format.suffix}").write_text(
                    text, encoding="utf-8")
        folders.append(out / folder)
    return folders
