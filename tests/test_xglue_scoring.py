"""`sweep score` for XGLUE's layout against a copy of XGLUE's own scorer, `sweep export` of
every XGLUE task scored back to the families' numbers, and the errors bad input gets."""

from __future__ import annotations

import importlib.metadata
import json
import random
from pathlib import Path

import numpy as np
import pytest
from test_predictions import _family_records, _keep
from xglue_files import write_xglue
from xglue_reference import (
    get_score_by_task,
    load_data,
    load_ner_pos_data,
    load_pawsx_data,
    load_xnli_data,
    task2lg,
)

from sweep import xglue_scoring
from sweep.cli import main
from sweep.export import export_task
from trainables import metrics
from trainables.readers import read_tsv, read_xglue_conll
from trainables.storage import Location
from trainables.tasks import Family, get_task

XGLUE_TASKS = xglue_scoring.TASKS
LANGUAGES = sorted({lang for name in XGLUE_TASKS for lang in get_task(name).languages})




def _references():
    pytest.importorskip("sklearn.metrics")
    pytest.importorskip("seqeval.metrics")
    if importlib.metadata.version("seqeval") != "0.0.12":
        pytest.skip("needs seqeval==0.0.12, XGLUE's (newer versions count chunks differently)")


# --- trees: the real layout's quirks (tests/xglue_files.py), and larger random ones ------------

NER_TYPES = ("PER", "ORG", "LOC", "MISC")
UPOS = get_task("xglue_pos").labels
ANSWERS = ("Bonn", "Anna", "in Bonn", "Anna lives", "lives in", "")


def _random_tags(rng: random.Random, task: str, length: int) -> list[str]:
    if task == "NER":
        tags, previous = [], "O"
        for _ in range(length):
            kind = rng.choice(("O", "O", "B", "I"))
            tags.append("O" if kind == "O" else f"{kind}-{rng.choice(NER_TYPES)}")
            if kind == "I" and previous != "O" and rng.random() < 0.7:  # mostly proper chunks
                tags[-1] = "I-" + previous.split("-")[-1]
            previous = tags[-1]
        return tags
    return [rng.choice(UPOS) for _ in range(length)]


def _random_ground_truth(base: Path, rng: random.Random) -> None:
    """Overwrite every dev and test file of the tree with a larger random one, same format."""
    for name in XGLUE_TASKS:
        task = get_task(name)
        for split in xglue_scoring.SPLITS:
            for language in task.languages:
                path = base / xglue_scoring.label_path(task, split, language)
                count = rng.randint(20, 60)
                if task.family is Family.TAGGING:
                    text = "-DOCSTART- -X- O O\n\n"
                    for _ in range(count // 3):
                        text += "".join(f"w{rng.randrange(99)} {tag}\n" for tag in _random_tags(
                            rng, xglue_scoring.folder(task), rng.randint(1, 9))) + "\n"
                elif task.family is Family.SPAN_QA:
                    qas = [{"id": f"{language}-{i}", "question": "?", "answers": [
                        {"text": rng.choice(ANSWERS[:-1]), "answer_start": 0}
                        for _ in range(rng.randint(1, 3))]} for i in range(count)]
                    text = json.dumps({"version": "1.0", "data": [{"title": "t", "paragraphs": [
                        {"context": "Anna lives in Bonn.", "qas": qas}]}]})
                elif task.family is Family.RELEVANCE:  # runs of one query, queries coming back
                    rows = []
                    while len(rows) < count:
                        query = rng.choice(("apple", "pear", "plum", "fig"))
                        rows += [f"{query}\tt\ts\t{rng.choice(task.labels)}"
                                 for _ in range(rng.randint(1, 5))]
                    text = "".join(row + "\n" for row in rows)
                else:
                    header = "id\tsentence1\tsentence2\tlabel\n" if xglue_scoring.has_header(
                        task, split) else ""
                    text = header + "".join(f"{i}\ta\tb\t{rng.choice(task.labels)}\n"
                                            for i in range(count))
                path.write_text(text, encoding="utf-8")


def _gold_examples(task, path: Path) -> list:
    """What a prediction file must cover: lines, sentence lengths or question ids."""
    if task.family is Family.TAGGING:
        return [len(sentence["tags"]) for sentence in read_xglue_conll(path)]
    if task.family is Family.SPAN_QA:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        return [qa["id"] for article in data for p in article["paragraphs"] for qa in p["qas"]]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[-1] for line in lines[1 if xglue_scoring.has_header(task) else 0:]]


def _random_predictions(directory: Path, labels: Path, split: str, rng: random.Random) -> None:
    """Prediction files for every task and language: right often, wrong often; tagging
    sentences cut short now and then (XGLUE pads them with O), WPR's scores tied or not."""
    for name in XGLUE_TASKS:
        task = get_task(name)
        tied = rng.random() < 0.5
        for language in task.languages:
            gold = _gold_examples(task, labels / xglue_scoring.label_path(task, split, language))
            if task.family is Family.TAGGING:
                text = ""
                for length in gold:
                    if rng.random() < 0.2:
                        length = rng.randint(1, length)
                    text += "".join(f"{tag}\n" for tag in _random_tags(
                        rng, xglue_scoring.folder(task), length)) + "\n"
            elif task.family is Family.SPAN_QA:
                text = json.dumps({qid: rng.choice(ANSWERS) for qid in gold})
            elif task.family is Family.RELEVANCE:
                text = "".join(f"{rng.choice(task.labels) if tied else rng.uniform(0, 4)}\n"
                               for _ in gold)
            else:
                text = "".join(f"{g if rng.random() < 0.5 else rng.choice(task.labels)}\n"
                               for g in gold)
            path = directory / xglue_scoring.prediction_path(task, language)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """The xglue_files tree with every XGLUE language, and a larger random one."""
    root = tmp_path_factory.mktemp("xglue")
    quirks = write_xglue(root / "quirks", tuple(LANGUAGES))
    larger = write_xglue(root / "random", tuple(LANGUAGES))
    _random_ground_truth(larger, random.Random(0))
    return {"quirks": quirks, "random": larger}


def test_xglues_order_is_the_registrys_and_the_scripts():
    assert [xglue_scoring.folder(get_task(name)) for name in XGLUE_TASKS] == [
        "NER", "POS", "NC", "MLQA", "XNLI", "PAWSX", "QADSM", "WPR", "QAM"]
    for name in XGLUE_TASKS:
        task = get_task(name)
        assert task.languages == tuple(task2lg[xglue_scoring.folder(task)].split())


@pytest.mark.parametrize("split", xglue_scoring.SPLITS)
@pytest.mark.parametrize("tree", ["quirks", "random"])
@pytest.mark.parametrize("seed", range(4))
def test_scores_are_xglue_evaluates_times_100_to_the_bit(trees, tree, split, seed, tmp_path):
    _references()
    labels, predictions = trees[tree], tmp_path / "predictions"
    _random_predictions(predictions, labels, split, random.Random(seed))
    averages = []
    for name in XGLUE_TASKS:
        task = get_task(name)
        reference = get_score_by_task(xglue_scoring.folder(task), predictions, labels, split)
        ours = xglue_scoring.score_task(name, predictions, labels, split)
        assert ours["languages"] == list(task.languages)
        for language in task.languages:
            assert ours["scores"][language][task.metric] == reference[language] * 100, (
                name, language)
        assert ours["avg_metric"] == ours["average"][task.metric] == reference["avg"] * 100
        assert ours["xglue"] == reference
        averages.append(reference["avg"])
    everything = xglue_scoring.score_all(predictions, labels, split)
    assert everything["average"] == np.mean(averages) * 100  # "Average across all tasks"
    assert [result["task"] for result in everything["tasks"]] == list(XGLUE_TASKS)


def test_the_metrics_beside_xglues_and_the_packages_own_agree(trees, tmp_path):
    # NER's precision and recall, POS's token accuracy (seqeval 0.0.12's accuracy_score), and
    # each language's headline from the package's metric functions, to the bit.
    _references()
    from seqeval.metrics import accuracy_score, precision_score, recall_score

    labels, predictions = trees["random"], tmp_path / "predictions"
    _random_predictions(predictions, labels, "test", random.Random(7))
    dirs = (predictions, labels, "test")
    for name in XGLUE_TASKS:
        task = get_task(name)
        ours = xglue_scoring.score_task(name, *dirs)
        assert list(ours["average"])[0] == task.metric  # XGLUE's score first
        for language in task.languages:
            scores, folder = ours["scores"][language], xglue_scoring.folder(task)
            if task.family is Family.TAGGING:
                preds, gold = load_ner_pos_data(*dirs, folder, language)
                assert {k: scores[k] for k in ("precision", "f1", "recall") if k in scores} == {
                    k: v for k, v in metrics.seqeval_scores(preds, gold).items() if k in scores}
                if task.metric == "precision":
                    assert scores["accuracy"] == accuracy_score(gold, preds) * 100
                else:
                    assert scores["precision"] == precision_score(gold, preds) * 100
                    assert scores["recall"] == recall_score(gold, preds) * 100
            elif task.family is Family.RELEVANCE:
                preds, gold, groups = load_data(*dirs, folder, language)
                assert scores["ndcg"] == metrics.xglue_ndcg(groups.tolist(), preds.astype(float),
                                                            gold.astype(float))
            elif task.family is Family.CLASSIFICATION:
                loader = {"XNLI": load_xnli_data, "PAWSX": load_pawsx_data}.get(folder)
                first, second = (loader(*dirs, folder, language) if loader
                                 else load_data(*dirs, folder, language)[:2])
                assert scores["accuracy"] == metrics.accuracy(first.tolist(), second.tolist())


# --- sweep export, scored back ----------------------------------------------------------------


@pytest.mark.parametrize("name", XGLUE_TASKS)
def test_exported_predictions_score_back_to_the_same_numbers(name, tmp_path, capsys):
    task = get_task(name)
    storage = Location.of(tmp_path / "run")
    expected = {}
    for seed in (0, 1):
        by_language = {}
        for offset, language in enumerate(task.languages):
            expected[(seed, language)], by_language[language] = _family_records(
                task, language, seed * 100 + offset)
        _keep(storage, task, by_language, seed)
    folders = export_task(storage, name, tmp_path / "out")
    assert [folder.name for folder in folders] == ["none-seed0", "none-seed1"]
    for seed, folder in enumerate(folders):
        result = xglue_scoring.score_task(name, folder / "predictions", folder / "labels")
        for language in task.languages:
            value = task.headline(result["scores"][language])
            if task.family is Family.SPAN_QA:  # XGLUE's f1 / 100 * 100: MLQA's f1 +- an ulp
                assert value == pytest.approx(expected[(seed, language)], rel=1e-15)
            else:
                assert value == expected[(seed, language)], language
    # The labels are XGLUE's ground-truth format: the package's own readers take them.
    labels = folders[0] / "labels" / xglue_scoring.label_path(task, "test", task.languages[0])
    if task.family is Family.TAGGING:
        assert all(sentence["tags"] for sentence in read_xglue_conll(labels))
    elif task.family is not Family.SPAN_QA:
        examples = read_tsv(labels, task.local.columns)
        assert {example["label"] for example in examples} <= set(task.labels)
    assert main(["export", str(tmp_path / "run"), "--task", name, "--out",
                 str(tmp_path / "cli")]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    command = printed[printed.index("(") + 1:-1].split()  # the `sweep score` it suggests
    assert command[:3] == ["sweep", "score", "--task"] and main(command[1:]) == 0


def test_exported_wpr_keeps_its_query_runs(tmp_path):
    task = get_task("xglue_wpr")
    storage = Location.of(tmp_path / "run")
    _, records = _family_records(task, "de", 3)
    _keep(storage, task, {lang: records for lang in task.languages})
    folder = export_task(storage, "xglue_wpr", tmp_path / "out")[0]
    rows = (folder / "labels/WPR/xglue.wpr.de.test").read_text().splitlines()
    assert rows == [f"q{r['gold']['query']}\t\t\t{r['gold']['grade']}" for r in records]
    predicted = (folder / "predictions/WPR/de.prediction").read_text().splitlines()
    assert [float(p) for p in predicted] == [r["prediction"]["relevance"] for r in records]


# --- bad input ----------------------------------------------------------------------------------


@pytest.fixture
def scored(tmp_path) -> tuple[Path, Path]:
    labels = write_xglue(tmp_path / "gt", tuple(LANGUAGES))
    predictions = tmp_path / "predictions"
    _random_predictions(predictions, labels, "test", random.Random(0))
    return predictions, labels


def test_a_missing_file_names_the_path_expected(scored):
    predictions, labels = scored
    (predictions / "NC/fr.prediction").unlink()
    with pytest.raises(ValueError, match=r"xglue_nc fr: no prediction file; expected "
                                         r".*predictions/NC/fr\.prediction"):
        xglue_scoring.score_task("xglue_nc", predictions, labels)
    (labels / "PAWSX/es/dev_2k.tsv").unlink()
    with pytest.raises(ValueError, match=r"no ground-truth file; expected .*PAWSX/es/dev_2k"):
        xglue_scoring.score_task("xglue_pawsx", predictions, labels, "dev")


def test_line_counts_that_differ_name_both_files(scored):
    predictions, labels = scored
    with (predictions / "QAM/de.prediction").open("a") as f:
        f.write("1\n")
    with pytest.raises(ValueError, match=r"QAM/de\.prediction: expected 2 lines \(as in "
                                         r".*QAM/xglue\.qam\.de\.test\), got 3"):
        xglue_scoring.score_task("xglue_qam", predictions, labels)
    (predictions / "NER/de.prediction").write_text("O\n\nO\n\nO\n")
    with pytest.raises(ValueError, match=r"expected 2 sentences \(as in .*NER/de\.test\), got 3"):
        xglue_scoring.score_task("xglue_ner", predictions, labels)
    (predictions / "NER/de.prediction").write_text("O\nO\nO\nO\n\nO\n")
    with pytest.raises(ValueError, match=r"sentence 1: expected at most 3 tags"):
        xglue_scoring.score_task("xglue_ner", predictions, labels)
    (predictions / "NER/de.prediction").write_text("O\n\n\nO\n")
    with pytest.raises(ValueError, match=r"NER/de\.prediction:3: a blank line that ends no "):
        xglue_scoring.score_task("xglue_ner", predictions, labels)
    (predictions / "WPR/de.prediction").write_text("1\nx\n3\n4\n0\n1\n")
    with pytest.raises(ValueError, match=r"WPR/de\.prediction:2: got 'x'; expected a number"):
        xglue_scoring.score_task("xglue_wpr", predictions, labels)


def test_short_sentences_are_padded_with_o_and_trailing_blank_lines_pass(scored):
    predictions, labels = scored
    # Gold (xglue_files' NER): B-ORG O B-MISC / B-PER I-PER. The first sentence cut to B-ORG
    # (padded: B-ORG O O) finds 2 chunks of 3, both right.
    (predictions / "NER/de.prediction").write_text("B-ORG\n\nB-PER\nI-PER\n\n\n")
    scores = xglue_scoring.score_task("xglue_ner", predictions, labels)["scores"]["de"]
    assert scores == {"f1": 2 * 1 * (2 / 3) / (1 + 2 / 3) * 100, "precision": 100.0,
                      "recall": 2 / 3 * 100}


def test_bad_input_exits_2_with_the_reason(scored, capsys):
    predictions, labels = scored
    base = ["score", "--predictions", str(predictions), "--labels", str(labels)]
    assert main([*base, "--task", "xglue_nc", "--split", "train"]) == 2
    assert "split: got 'train'; allowed: test, dev" in capsys.readouterr().err
    with pytest.raises(ValueError, match="split: got 'validation'"):
        xglue_scoring.score_task("xglue_nc", predictions, labels, "validation")
    assert main([*base, "--task", "xnli", "--split", "dev"]) == 2
    assert "--split is for XGLUE's tasks" in capsys.readouterr().err
    (predictions / "QADSM/fr.prediction").unlink()
    assert main([*base, "--task", "xglue"]) == 2
    assert "no prediction file; expected" in (err := capsys.readouterr().err)
    assert "QADSM/fr.prediction" in err


def test_every_task_at_once_prints_the_average_across_all_tasks(scored, capsys):
    predictions, labels = scored
    base = ["score", "--predictions", str(predictions), "--labels", str(labels)]
    assert main([*base, "--task", "xglue"]) == 0
    out = capsys.readouterr().out
    result = xglue_scoring.score_all(predictions, labels)
    assert f"Average across all tasks: {result['average']:.2f}" in out
    assert "xglue_pos precision (* XGLUE's score, test)" in out and "precision*" in out
    assert main([*base, "--task", "xglue_wpr", "--split", "dev", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(xglue_scoring.score_task("xglue_wpr", predictions,
                                                                     labels, "dev")))
