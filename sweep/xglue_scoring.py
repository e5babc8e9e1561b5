"""Score XGLUE's understanding tasks as microsoft/XGLUE ``evaluation/xglue_evaluate.py`` does:

    PREDICTIONS/<TASK>/<lang>.prediction
    LABELS/<TASK>/<the task's local file of the split>    (LABELS: xglue_full_dataset/)

``<TASK>`` is XGLUE's folder (NER, POS, NC, MLQA, XNLI, PAWSX, QADSM, WPR, QAM), the last part
of ``local.folder``; the ground truth is ``local.files[split]`` with ``{code}`` the language
(``PAWSX/de/test_2k.tsv``), for every language of the task in XGLUE's order (``task2lg``).

Read as the script reads them: a prediction per stripped line (NER, POS: a tag per line, a
blank line after each sentence; MLQA: JSON ``{question id: answer}``); the ground truth's last
tab field per line, PAWS-X's (a `.tsv`) after its header, blank lines skipped; NER and POS the
last field of each line, blank and ``-DOCSTART-`` lines ending sentences, a predicted sentence
shorter than its gold padded with "O"; WPR's queries the runs of one first field; MLQA's SQuAD
JSON. Metrics: seqeval 0.0.12 F1 (NER) and precision (POS; token accuracy beside it), accuracy
of the label strings, WPR's nDCG per query of float() predictions and labels, MLQA's F1 / 100.

XGLUE reports fractions: each is computed as the script does and reported times 100 (a
language's number is `metrics.accuracy`'s, `seqeval_scores`' or `xglue_ndcg`'s to the bit); a
task's average sums its fractions in XGLUE's order and divides, `xglue` takes numpy's mean of
the task averages ("Average across all tasks"), each times 100 only then: the script's numbers
times 100 to the last digit (averaging the percents instead differs in the last bits). Where
the script would crash or pair lines wrongly (counts that differ, a predicted sentence longer
than its gold) this raises ValueError naming the files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from sweep.scoring import _check_line_count, _read_lines, _read_qa_labels, _read_qa_predictions
from trainables import metrics
from trainables.tasks import REGISTRY, Family, Task, get_task

ALL = "xglue"  # `sweep score --task xglue`: every task, and the average across them
SPLITS = ("test", "dev")
# XGLUE's folders in its README's `--tasks` order (the order of the script's final mean).
_ORDER = ("NER", "POS", "NC", "MLQA", "XNLI", "PAWSX", "QADSM", "WPR", "QAM")


def folder(task: Task) -> str:
    """XGLUE's name and folder of the task (``NER``)."""
    return PurePosixPath(task.local.folder).name


TASKS: tuple[str, ...] = tuple(sorted(
    (name for name, task in REGISTRY.items() if "xglue" in task.benchmarks and task.local),
    key=lambda name: _ORDER.index(folder(get_task(name)))))


def _task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"task: got {name!r}; allowed: {', '.join((*TASKS, ALL))}")
    return get_task(name)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split: got {split!r}; allowed: {', '.join(SPLITS)}")


def prediction_path(task: Task, language: str) -> PurePosixPath:
    """A language's prediction file under the predictions directory (``NER/de.prediction``)."""
    return PurePosixPath(folder(task), f"{language}.prediction")


def label_path(task: Task, split: str, language: str) -> PurePosixPath:
    """A language's ground-truth file under the labels directory (``NER/de.test``)."""
    _check_split(split)
    pattern = task.local.files[split]
    if not isinstance(pattern, str):
        raise ValueError(f"{task.name}: its {split} split spans several files; XGLUE reads one")
    return PurePosixPath(folder(task), pattern.format(code=task.code(language),
                                                      language=language))


def _headed(path: PurePosixPath | Path) -> bool:
    return path.suffix == ".tsv"  # as `read_tsv` reads a header


def has_header(task: Task, split: str = "test") -> bool:
    """Whether the split's ground truth opens with a header line: a `.tsv` file, PAWS-X's
    (which XGLUE's ``load_pawsx_data`` skips)."""
    return _headed(label_path(task, split, task.languages[0]))


# --- one language: XGLUE's fractions ----------------------------------------------------------


def _raw_lines(path: Path) -> list[str]:
    """Every line as the script's ``for item in open(path)`` gives it, newline included."""
    with path.open(encoding="utf-8") as f:
        return list(f)


def _last_fields(lines: list[str]) -> list[str]:
    """Each line's last tab field, stripped (``load_data``, ``load_xnli_data``)."""
    return [line.split("\t")[-1].strip() for line in lines]


def _score_labels(task: Task, predicted: Path, gold: Path, language: str) -> dict[str, float]:
    predictions, lines = _read_lines(predicted), _raw_lines(gold)
    if _headed(gold):  # load_pawsx_data: the header and blank lines skipped
        lines = [line for line in lines[1:] if line.strip()]
    labels = _last_fields(lines)
    _check_line_count(predicted, gold, len(predictions), len(labels), "lines")
    if not labels:
        raise ValueError(f"{gold}: no labels")
    # simple_accuracy: numpy's mean of the equal positions, k / n.
    return {"accuracy": sum(p == g for p, g in zip(predictions, labels, strict=True))
            / len(labels)}


def _numbers(path: Path, values: list[str]) -> list[float]:
    """float() of each value (``simple_ndcg``); an error names the file and line."""
    numbers = []
    for number, value in enumerate(values, 1):
        try:
            numbers.append(float(value))
        except ValueError:
            raise ValueError(f"{path}:{number}: got {value!r}; expected a number") from None
    return numbers


def _score_relevance(task: Task, predicted: Path, gold: Path, language: str) -> dict[str, float]:
    import numpy as np  # lazy: `sweep` starts without numpy

    lines = _raw_lines(gold)
    groups = metrics.query_groups([line.split("\t")[0] for line in lines])
    labels = _numbers(gold, _last_fields(lines))
    predictions = _numbers(predicted, _read_lines(predicted))
    _check_line_count(predicted, gold, len(predictions), len(labels), "lines")
    members: dict[int, tuple[list[float], list[float]]] = {}
    for group, prediction, label in zip(groups, predictions, labels, strict=True):
        members.setdefault(group, ([], []))[0].append(prediction)
        members[group][1].append(label)
    # simple_ndcg: every query of 2 documents or more, in order, numpy's mean.
    try:
        ndcgs = [metrics.ndcg(truth, scores) for scores, truth in members.values()
                 if len(truth) > 1]
    except ValueError as error:  # negative or non-finite grades
        raise ValueError(f"{gold}: {error}") from None
    if not ndcgs:
        raise ValueError(f"{gold}: no query has 2 documents or more; nDCG is undefined")
    return {"ndcg": float(np.array(ndcgs).mean())}


def _read_sentences(path: Path) -> list[list[str]]:
    """``load_ner_pos_data``'s predictions: a blank line ends a sentence that has a tag."""
    lines = _read_lines(path)
    while lines and not lines[-1]:
        lines.pop()  # the script would read them as empty tags, which seqeval cannot score
    sentences, sentence = [], []
    for number, line in enumerate(lines, 1):
        if not line and sentence:
            sentences.append(sentence)
            sentence = []
        elif not line:
            raise ValueError(f"{path}:{number}: a blank line that ends no sentence; XGLUE's "
                             "scorer reads it as an empty tag and fails")
        else:
            sentence.append(line)
    return [*sentences, sentence] if sentence else sentences


def _read_gold_sentences(path: Path) -> list[list[str]]:
    """``load_ner_pos_data``'s labels: the last field of each line; a blank or ``-DOCSTART-``
    line ends a sentence."""
    sentences, sentence = [], []
    for line in _raw_lines(path):
        if not (len(line.strip()) == 0 or line.startswith("-DOCSTART-")):
            sentence.append(line.split()[-1].strip())
        elif sentence:
            sentences.append(sentence)
            sentence = []
    return [*sentences, sentence] if sentence else sentences


def _score_tags(task: Task, predicted: Path, gold: Path, language: str) -> dict[str, float]:
    predictions, labels = _read_sentences(predicted), _read_gold_sentences(gold)
    _check_line_count(predicted, gold, len(predictions), len(labels), "sentences")
    for i, (sentence, truth) in enumerate(zip(predictions, labels, strict=True)):
        if len(sentence) > len(truth):
            raise ValueError(f"{predicted}: sentence {i + 1}: expected at most {len(truth)} "
                             f"tags (as in {gold}), got {len(sentence)}")
        sentence += ["O"] * (len(truth) - len(sentence))  # as the script pads them
    if not labels:
        raise ValueError(f"{gold}: no sentences")
    # seqeval 0.0.12's precision_score and f1_score, as fractions (`seqeval_scores` x 100).
    true, found = set(metrics.get_entities(labels)), set(metrics.get_entities(predictions))
    correct = len(true & found)
    p = correct / len(found) if found else 0
    r = correct / len(true) if true else 0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0
    tags = [(tag, truth) for sentence, gold_sentence in zip(predictions, labels, strict=True)
            for tag, truth in zip(sentence, gold_sentence, strict=True)]
    if task.metric == "precision":  # XGLUE's POS score; its README calls it accuracy
        return {"precision": float(p), "accuracy": sum(t == g for t, g in tags) / len(tags)}
    return {"f1": float(f1), "precision": float(p), "recall": float(r)}


def _score_answers(task: Task, predicted: Path, gold: Path, language: str) -> dict[str, float]:
    import warnings

    predictions, references = _read_qa_predictions(predicted), _read_qa_labels(gold)
    if not references:
        raise ValueError(f"{gold}: no questions")
    missing = sum(1 for qid in references if qid not in predictions)
    if missing:  # scored 0, as by MLQA's script (which prints a line per question)
        warnings.warn(f"{predicted}: {missing} of {len(references)} questions have no "
                      "prediction and score 0", stacklevel=4)
    scores = metrics.mlqa_scores(predictions, references, language)
    return {"f1": scores["f1"] / 100, "exact_match": scores["exact_match"] / 100}


_SCORERS: dict[Family, Callable[[Task, Path, Path, str], dict[str, float]]] = {
    Family.CLASSIFICATION: _score_labels,
    Family.RELEVANCE: _score_relevance,
    Family.TAGGING: _score_tags,
    Family.SPAN_QA: _score_answers,
}


# --- a task, and all of them ------------------------------------------------------------------


def _fractions(task: Task, predictions: Path, labels: Path, split: str) -> dict[str, dict]:
    """Each language's fractions, as the script's ``results``, in its order."""
    by_language = {}
    for language in task.languages:
        predicted = predictions / prediction_path(task, language)
        gold = labels / label_path(task, split, language)
        for path, role in ((predicted, "prediction"), (gold, "ground-truth")):
            if not path.is_file():
                raise ValueError(f"{task.name} {language}: no {role} file; expected {path}")
        by_language[language] = _SCORERS[task.family](task, predicted, gold, language)
    return by_language


def _mean(values: list[float]) -> float:
    """The script's ``avg += ...; avg /= count``: summed in order (not Python's compensated
    ``sum``), then divided."""
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


def score_task(task: str, predictions: Path, labels: Path, split: str = "test") -> dict[str, Any]:
    """One XGLUE task's scores in percent: ``{"task", "split", "languages", "scores": {lang:
    {metric: value}}, "average": {metric: value}, "metric", "avg_metric", "xglue"}``; ``metric``
    is the task's, XGLUE's score (listed first), ``avg_metric`` its average, and ``xglue`` the
    script's own printout of the task, ``{lang: fraction, "avg": fraction}``."""
    _check_split(split)
    entry = _task(task)
    fractions = _fractions(entry, Path(predictions), Path(labels), split)
    languages = list(entry.languages)
    names = list(fractions[languages[0]])
    averages = {name: _mean([fractions[lang][name] for lang in languages]) for name in names}
    return {"task": task, "split": split, "languages": languages,
            "scores": {lang: {name: fractions[lang][name] * 100 for name in names}
                       for lang in languages},
            "average": {name: value * 100 for name, value in averages.items()},
            "metric": entry.metric, "avg_metric": averages[entry.metric] * 100,
            "xglue": {**{lang: fractions[lang][entry.metric] for lang in languages},
                      "avg": averages[entry.metric]}}


def score_all(predictions: Path, labels: Path, split: str = "test") -> dict[str, Any]:
    """Every XGLUE task (`TASKS`) and the average across them, in percent: ``{"task":
    "xglue", "split", "tasks": [score_task's results], "average"}``."""
    import numpy as np  # lazy: `sweep` starts without numpy

    results = [score_task(task, predictions, labels, split) for task in TASKS]
    # The script's np.mean of its task averages (fractions; pairwise summed), times 100.
    average = float(np.mean([result["xglue"]["avg"] for result in results])) * 100
    return {"task": ALL, "split": split, "tasks": results, "average": average}


def score(task: str, predictions: Path, labels: Path, split: str = "test") -> dict[str, Any]:
    """`score_task`, or `score_all` for ``xglue``."""
    if task == ALL:
        return score_all(predictions, labels, split)
    return score_task(task, predictions, labels, split)


def _format_task(result: dict[str, Any]) -> str:
    names = list(result["average"])
    width = max(8, *(len(name) for name in names))
    rows = ["language".ljust(10) + "".join(
        (name + ("*" if name == result["metric"] else "")).rjust(width + 2) for name in names)]
    for lang, values in (*result["scores"].items(), ("avg", result["average"])):
        rows.append(lang.ljust(10) + "".join(f"{values[n]:.2f}".rjust(width + 2)
                                             for n in names))
    rows.append(f"{result['task']} {result['metric']} (* XGLUE's score, {result['split']}): "
                f"{result['avg_metric']:.2f}")
    return "\n".join(rows)


def format_scores(result: dict[str, Any]) -> str:
    """A plain-text table per task (a row per language, then avg; XGLUE's metric marked *),
    and for ``xglue`` the average across all tasks, as the script prints it."""
    if result["task"] != ALL:
        return _format_task(result)
    return "\n\n".join([*(_format_task(task) for task in result["tasks"]),
                        f"Average across all tasks: {result['average']:.2f}"])
