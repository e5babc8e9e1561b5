"""`sweep export`: a run's kept predictions of one task in google-research/xtreme's layout,
or for an XGLUE task in microsoft/XGLUE's.

For each evaluated checkpoint (intermediate task and seed), two trees that `sweep score`
reads back to the numbers of the result rows:

    OUT/<checkpoint>/predictions/<folder>/test-<lang>.<suffix>
    OUT/<checkpoint>/labels/<folder>/test-<lang>.<suffix>

`<folder>` is the task's xtreme folder (`Task.xtreme_files`), the file formats those of
`sweep.scoring`. An XGLUE task's trees are those of `sweep.xglue_scoring`:

    OUT/<checkpoint>/predictions/<TASK>/<lang>.prediction
    OUT/<checkpoint>/labels/<TASK>/<its ground-truth file of the test split>

The labels in XGLUE's ground-truth format, text fields left empty (the kept predictions have
no texts): the label last on each line (PAWS-X with its header and an id column; WPR's query
group first, `q<group>`, so its queries survive), `_ <tag>` lines for NER and POS, SQuAD JSON
of the ids and answers for MLQA.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from sweep import xglue_scoring
from sweep.errors import ResultsError
from sweep.predictions import load_predictions
from trainables.storage import Location
from trainables.tasks import Family, PredictionFormat, Task, get_task, scorable_tasks

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


# --- XGLUE's layout ----------------------------------------------------------------------------


def _xglue_rows(task: Task, labels: list[Any], ids: list[str],
                first: list[str] | None = None) -> str:
    """Ground-truth lines: the task's text fields empty (or the first one from `first`), the
    label last; a headed file (PAWS-X's) with its header, `id` and the columns, and the ids."""
    header = xglue_scoring.has_header(task)
    rows = []
    for index, (example_id, label) in enumerate(zip(ids, labels, strict=True)):
        fields = [first[index] if first else "", *[""] * (len(task.text_fields) - 1), label]
        rows.append("\t".join([example_id, *fields] if header else fields))
    return ("\t".join(("id", *task.local.columns)) + "\n" if header else "") + _lines(rows)


def _xglue_labels(task: Task, predictions: list[Any], gold: list[Any],
                  ids: list[str]) -> tuple[str, str]:
    return _lines(predictions), _xglue_rows(task, gold, ids)


def _xglue_relevance(task: Task, predictions: list[Any], gold: list[Any],
                     ids: list[str]) -> tuple[str, str]:
    # The expected grade, what the run's `ndcg` ranks by (repr: the float read back exactly).
    return (_lines(repr(float(p["relevance"])) for p in predictions),
            _xglue_rows(task, [g["grade"] for g in gold], ids, [f"q{g['query']}" for g in gold]))


def _xglue_tags(task: Task, predictions: list[Any], gold: list[Any],
                ids: list[str]) -> tuple[str, str]:
    # An empty sentence would be two blank lines in a row, which XGLUE's scorer cannot read;
    # leaving it out of both files changes no chunk.
    kept = [(p, g) for p, g in zip(predictions, gold, strict=True) if g]
    return ("".join(_lines(sentence) + "\n" for sentence, _ in kept),
            "".join(_lines(f"_ {tag}" for tag in sentence) + "\n" for _, sentence in kept))


def _xglue_answers(task: Task, predictions: list[Any], gold: list[Any],
                   ids: list[str]) -> tuple[str, str]:
    return _answers(predictions, gold, ids)  # {id: answer}, and SQuAD JSON: as xtreme's


XglueWriter = Callable[[Task, list[Any], list[Any], list[str]], tuple[str, str]]
XGLUE_WRITERS: dict[Family, XglueWriter] = {
    Family.CLASSIFICATION: _xglue_labels,
    Family.RELEVANCE: _xglue_relevance,
    Family.TAGGING: _xglue_tags,
    Family.SPAN_QA: _xglue_answers,
}

# The tasks `sweep export` writes: the xtreme-layout ones, then XGLUE's.
EXPORTABLE: tuple[str, ...] = (*scorable_tasks(), *xglue_scoring.TASKS)

# A language's two files under predictions/ and labels/.
Paths = Callable[[str], tuple[PurePosixPath, PurePosixPath]]


def _layout(task: Task) -> tuple[Writer, Paths]:
    """The task's writer and file paths: xtreme's layout, else XGLUE's."""
    if task.xtreme_files:
        files = task.xtreme_files

        def xtreme(language: str) -> tuple[PurePosixPath, PurePosixPath]:
            name = PurePosixPath(files.folder or task.name,
                                 f"test-{language}.{files.format.suffix}")
            return name, name

        return WRITERS[files.format], xtreme
    return (partial(XGLUE_WRITERS[task.family], task),
            lambda language: (xglue_scoring.prediction_path(task, language),
                              xglue_scoring.label_path(task, "test", language)))


def checkpoint_name(intermediate_task: str, seed: Any) -> str:
    """A checkpoint's folder: its intermediate task (or encoder) and its seed."""
    return intermediate_task if pd.isna(seed) else f"{intermediate_task}-seed{int(seed)}"


def _test_predictions(storage: str | Path | Location, task: Task) -> pd.DataFrame:
    if task.name not in EXPORTABLE:
        raise ResultsError(f"--task {task.name}: it has no xtreme file layout (nor XGLUE's); "
                           f"exportable: {', '.join(EXPORTABLE)}")
    kept = load_predictions(storage)
    examples = kept[kept["task"] == task.name]
    if examples.empty:
        have = ", ".join(sorted(set(kept["task"]))) or "none"
        raise ResultsError(f"--task {task.name}: the run kept no predictions of it; tasks "
                           f"with predictions: {have}")
    test = examples[examples["split"] == "test"]
    if test.empty:
        splits = ", ".join(sorted(set(examples["split"])))
        raise ResultsError(f"--task {task.name}: only {splits} predictions; the exported "
                           "layout holds test predictions")
    return test


def export_task(storage: str | Path | Location, task_name: str, out: Path) -> list[Path]:
    """Write every checkpoint's test predictions and labels of `task_name` under `out`;
    returns the checkpoint folders written."""
    task = get_task(task_name)
    test = _test_predictions(storage, task)
    writer, paths = _layout(task)
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
            for side, text, path in zip(("predictions", "labels"), (predictions, labels),
                                        paths(language), strict=True):
                file = out / folder / side / path
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text(text, encoding="utf-8")
        folders.append(out / folder)
    return folders
