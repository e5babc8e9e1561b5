"""Score XTREME prediction files laid out as google-research/xtreme lays them out.

A directory holds one file per language, ``test-<lang>.tsv`` or, for QA, ``test-<lang>.json``;
the label directory holds the same names (the layout of xtreme's ``evaluate.py``; a directory
that contains ``<task>/test-*`` instead, xtreme's root layout, works too). Formats:

- xnli, pawsx, tatoeba: one label (or retrieved index) per line, compared as stripped strings.
- udpos, panx: one tag per line, a blank line after each sentence.
- bucc2018: one ``source-id<TAB>target-id`` pair per line, compared as sets.
- xquad, tydiqa, mlqa: predictions ``{question id: answer text}``; labels SQuAD-format JSON
  (``{"data": [...]}`` or the bare list of articles).
- mewsli_x (xtreme's ``mewslix`` folder), lareqa: JSON ``{query id: [candidate ids, best
  first]}`` predictions and ``{query id: [relevant candidate ids]}`` labels. XTREME-R's
  ``evaluate.py`` reads Mewsli-X in this format; it has no LAReQA reader, so LAReQA's files
  take the same shape.

Metrics as in xtreme: accuracy for xnli/pawsx/tatoeba, seqeval 0.0.12 chunk F1 for udpos/panx,
BUCC F1, SQuAD v1.1 for xquad/tydiqa, the MLQA script for mlqa, and mAP@20 for mewsli_x
(XTREME-R's ``mewslix_map20``) and lareqa (its ``mean_avg_prec_at_k``). All scores are percent;
averages are summed in xtreme's language order, so they match its ``evaluate.py`` to the digit.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainables import metrics
from trainables.tasks import PredictionFormat, Scorer, Task, get_task, scorable_tasks

# The tasks whose prediction files `sweep score` reads (`Task.xtreme_files`).
TASKS: tuple[str, ...] = scorable_tasks()


def _files(task: str) -> tuple[Task, PredictionFormat]:
    if task not in TASKS:
        raise ValueError(f"task: got {task!r}; allowed: {', '.join(TASKS)}")
    entry = get_task(task)
    return entry, entry.xtreme_files.format


# --- readers ----------------------------------------------------------------------------------


def _read_lines(path: Path) -> list[str]:
    """xtreme ``read_label``: every line, stripped (blank lines included)."""
    with path.open(encoding="utf-8") as f:
        return [line.strip() for line in f]


def _read_tags(path: Path) -> list[list[str]]:
    """xtreme ``read_tag``: sentences separated by blank lines.

    Trailing empty sentences (extra blank lines at the end of the file) are dropped: they add
    no chunk, and would otherwise make two files that differ only there incomparable.
    """
    sentences: list[list[str]] = []
    sentence: list[str] = []
    for line in _read_lines(path):
        if line:
            sentence.append(line)
        else:
            sentences.append(sentence)
            sentence = []
    if sentence:
        sentences.append(sentence)
    while sentences and not sentences[-1]:
        sentences.pop()
    return sentences


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def _read_qa_predictions(path: Path) -> dict[str, str]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object {{question id: answer}}, "
                         f"got {type(data).__name__}")
    for qid, answer in data.items():
        if not isinstance(answer, str):
            raise ValueError(f"{path}: answer of {qid!r} must be a string, got {answer!r}")
    return data


def _read_qa_labels(path: Path) -> dict[str, list[str]]:
    """Question id -> gold answer texts, in file order, from a SQuAD-format file."""
    data = _read_json(path)
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    if not isinstance(articles, list):
        raise ValueError(f"{path}: expected SQuAD JSON ({{'data': [articles]}} or a list)")
    answers: dict[str, list[str]] = {}
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    qid = qa["id"]
                    if qid in answers:
                        raise ValueError(f"{path}: question id {qid!r} appears twice")
                    answers[qid] = [answer["text"] for answer in qa["answers"]]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: not SQuAD-format JSON (missing or bad {error})") from error
    return answers


# --- one language -----------------------------------------------------------------------------


def _check_line_count(prediction_file: Path, label_file: Path, got: int, expected: int,
                      unit: str) -> None:
    if got != expected:
        raise ValueError(f"{prediction_file}: expected {expected} {unit} (as in {label_file}), "
                         f"got {got}")


def _score_labels(task: Task, prediction_file: Path, label_file: Path,
                  language: str) -> dict[str, float]:
    predictions, labels = _read_lines(prediction_file), _read_lines(label_file)
    _check_line_count(prediction_file, label_file, len(predictions), len(labels), "lines")
    if not labels:
        raise ValueError(f"{label_file}: empty")
    return {"accuracy": metrics.accuracy(predictions, labels)}


def _score_tags(task: Task, prediction_file: Path, label_file: Path,
                language: str) -> dict[str, float]:
    predictions, labels = _read_tags(prediction_file), _read_tags(label_file)
    _check_line_count(prediction_file, label_file, len(predictions), len(labels), "sentences")
    for i, (pred, gold) in enumerate(zip(predictions, labels, strict=True)):
        if len(pred) != len(gold):
            raise ValueError(f"{prediction_file}: sentence {i + 1}: expected {len(gold)} tags "
                             f"(as in {label_file}), got {len(pred)}")
    if task.scorer is Scorer.SEQEVAL:
        return metrics.seqeval_scores(predictions, labels)
    return {"accuracy": metrics.accuracy([tag for sentence in predictions for tag in sentence],
                                         [tag for sentence in labels for tag in sentence])}


def _score_pairs(task: Task, prediction_file: Path, label_file: Path,
                language: str) -> dict[str, float]:
    # As xtreme's bucc_f1: each stripped line split on tabs; sets, so no count check.
    predictions = [tuple(line.split("\t")) for line in _read_lines(prediction_file)]
    gold = [tuple(line.split("\t")) for line in _read_lines(label_file)]
    return metrics.bucc_scores(predictions, gold)


def _score_answers(task: Task, prediction_file: Path, label_file: Path,
              language: str) -> dict[str, float]:
    predictions, references = _read_qa_predictions(prediction_file), _read_qa_labels(label_file)
    if not references:
        raise ValueError(f"{label_file}: no questions")
    missing = sum(1 for qid in references if qid not in predictions)
    if missing:
        # Scored 0, as by the official scripts (which print a line per question).
        warnings.warn(f"{prediction_file}: {missing} of {len(references)} questions have no "
                      "prediction and score 0", stacklevel=3)
    if task.scorer is Scorer.MLQA:
        return metrics.mlqa_scores(predictions, references, language)
    return metrics.squad_v1_scores(predictions, references)


def _read_rankings(path: Path) -> dict[str, list[str]]:
    """``{query id: [candidate ids]}`` from a JSON file; an error names the file and entry."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object {{query id: [candidate ids]}}")
    for query, candidates in data.items():
        if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
            raise ValueError(f"{path}: query {query!r}: expected a list of candidate ids, got "
                             f"{candidates!r}")
    return data


def _score_rankings(task: Task, prediction_file: Path, label_file: Path,
                   language: str) -> dict[str, float]:
    predictions, labels = _read_rankings(prediction_file), _read_rankings(label_file)
    if not labels:
        raise ValueError(f"{label_file}: no queries")
    empty = next((query for query, relevant in labels.items() if not relevant), None)
    if empty is not None:
        raise ValueError(f"{label_file}: query {empty!r} has no relevant candidate")
    if task.scorer is Scorer.MEWSLI_X:
        return {"map@20": metrics.mewslix_map_at_20(labels, predictions)}
    return {"map@20": metrics.lareqa_map_at_k(
        list(labels.values()), [predictions.get(query, []) for query in labels], 20)}


_SCORERS: dict[PredictionFormat, Callable[[Task, Path, Path, str], dict[str, float]]] = {
    PredictionFormat.LABELS: _score_labels,
    PredictionFormat.TAGS: _score_tags,
    PredictionFormat.PAIRS: _score_pairs,
    PredictionFormat.ANSWERS: _score_answers,
    PredictionFormat.RANKINGS: _score_rankings,
}


def score_file(task: str, prediction_file: Path, label_file: Path,
               language: str) -> dict[str, float]:
    """One language's scores in percent, e.g. ``{"f1", "precision", "recall"}``."""
    entry, file_format = _files(task)
    for path in (prediction_file, label_file):
        if not Path(path).is_file():
            raise ValueError(f"{path}: no such file")
    return _SCORERS[file_format](entry, Path(prediction_file), Path(label_file), language)


# --- a directory ------------------------------------------------------------------------------


def _task_dir(directory: Path, task: Task, role: str) -> Path:
    """``directory`` itself, or ``directory/<task>`` when only that holds the test files."""
    if not directory.is_dir():
        raise ValueError(f"{role} directory {directory}: does not exist")
    pattern = f"test-*.{task.xtreme_files.format.suffix}"
    if not any(directory.glob(pattern)):
        for name in (task.name, task.xtreme_files.folder or task.name):
            if (directory / name).is_dir():
                directory = directory / name
                break
    if not any(directory.glob(pattern)):
        raise ValueError(f"{role} directory {directory}: no {pattern} files for task {task.name}")
    return directory


def _languages(directory: Path, task: Task) -> dict[str, Path]:
    suffix = task.xtreme_files.format.suffix
    return {path.name[len("test-"):-len(suffix) - 1]: path
            for path in directory.glob(f"test-*.{suffix}") if path.is_file()}


def _language_order(task: Task, languages: set[str]) -> list[str]:
    """xtreme's order for its languages (the order of its float sums), then the rest sorted."""
    order = task.xtreme_files.languages or task.languages
    known = [lang for lang in order if lang in languages]
    return known + sorted(languages - set(known))


def score_directory(task: str, predictions: Path, labels: Path) -> dict[str, Any]:
    """Score every language of ``task`` found in the two directories.

    Returns ``{"task", "languages", "scores": {lang: {metric: value}}, "average": {metric:
    value}, "metric", "avg_metric"}``, all in percent. ``avg_metric`` is xtreme's headline
    (`Task.headline`): the mean of average exact match and average F1 for QA, else the
    average F1 or accuracy. A language present on one side only is an error naming the
    missing file.
    """
    entry, _ = _files(task)
    prediction_dir = _task_dir(Path(predictions), entry, "predictions")
    label_dir = _task_dir(Path(labels), entry, "labels")
    predicted, gold = _languages(prediction_dir, entry), _languages(label_dir, entry)
    for lang in sorted(predicted.keys() - gold.keys()):
        raise ValueError(f"{predicted[lang]} has no label file: expected "
                         f"{label_dir / predicted[lang].name}")
    for lang in sorted(gold.keys() - predicted.keys()):
        raise ValueError(f"{gold[lang]} has no prediction file: expected "
                         f"{prediction_dir / gold[lang].name}")
    if entry.scorer is Scorer.MLQA:
        unknown = sorted(set(gold) - set(entry.languages))
        if unknown:
            raise ValueError(f"mlqa: no MLQA normalisation for {', '.join(unknown)} "
                             f"({label_dir}); allowed: {', '.join(entry.languages)}")

    languages = _language_order(entry, set(gold))
    scores = {lang: score_file(task, predicted[lang], gold[lang], lang) for lang in languages}
    names = list(scores[languages[0]])
    # As xtreme: sum over languages in its order, then divide.
    average = {name: sum(scores[lang][name] for lang in languages) / len(languages)
               for name in names}
    return {"task": task, "languages": languages, "scores": scores, "average": average,
            "metric": "+".join(entry.headline_metrics), "avg_metric": entry.headline(average)}


def format_scores(result: dict[str, Any]) -> str:
    """A plain-text table of ``score_directory``'s result: one row per language, then avg."""
    names = list(result["average"])
    width = max(8, *(len(name) for name in names))
    header = "language".ljust(10) + "".join(name.rjust(width + 2) for name in names)
    rows = [header]
    for lang in result["languages"]:
        values = result["scores"][lang]
        rows.append(lang.ljust(10) + "".join(f"{values[n]:.2f}".rjust(width + 2) for n in names))
    rows.append("avg".ljust(10)
                + "".join(f"{result['average'][n]:.2f}".rjust(width + 2) for n in names))
    rows.append(f"{result['task']} {result['metric']}: {result['avg_metric']:.2f}")
    return "\n".join(rows)
