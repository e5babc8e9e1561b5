"""Scoring xtreme-layout prediction directories: per-language numbers, averages, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweep.scoring import TASKS, format_scores, score_directory, score_file


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def squad_json(answers: dict[str, list[str]]) -> str:
    qas = [{"id": qid, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in golds]}
           for qid, golds in answers.items()]
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": "c", "qas": qas}]}]}, ensure_ascii=False)


def lines(*items: str) -> str:
    return "".join(f"{item}\n" for item in items)


def tags(*sentences: str) -> str:
    return "".join(lines(*sentence.split()) + "\n" for sentence in sentences)


def test_classification_per_language_and_average(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold, "test-en.tsv", lines("entailment", "neutral", "contradiction", "neutral"))
    write(pred, "test-en.tsv", lines("entailment", "neutral", "neutral", "neutral"))  # 3/4
    write(gold, "test-de.tsv", lines("neutral", "neutral"))
    write(pred, "test-de.tsv", lines("neutral", "entailment"))  # 1/2
    write(pred, "dev-en.tsv", lines("ignored"))
    result = score_directory("xnli", pred, gold)
    assert result["languages"] == ["de", "en"]  # xtreme's order for xnli
    assert result["scores"] == {"de": {"accuracy": 50.0}, "en": {"accuracy": 75.0}}
    assert result["average"] == {"accuracy": 62.5}  # (50 + 75) / 2
    assert (result["metric"], result["avg_metric"]) == ("accuracy", 62.5)
    assert "62.50" in format_scores(result)


def test_tagging_seqeval_f1(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    # POS: gold NOUN(0-1) VERB(2) DET(3) NOUN(4), pred NOUN(0) VERB(1-2) DET(3) NOUN(4):
    # 2 of 4 chunks -> 50 % (token accuracy would be 80 %).
    write(gold, "test-en.tsv", tags("NOUN NOUN VERB DET NOUN"))
    write(pred, "test-en.tsv", tags("NOUN VERB VERB DET NOUN") + "\n\n")  # trailing blanks: ok
    # Two sentences, all right -> 100.
    write(gold, "test-fr.tsv", tags("DET NOUN", "PRON VERB"))
    write(pred, "test-fr.tsv", tags("DET NOUN", "PRON VERB"))
    result = score_directory("udpos", pred, gold)
    assert result["scores"]["en"] == {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    assert result["scores"]["fr"]["f1"] == 100.0
    assert result["average"]["f1"] == 75.0
    assert result["avg_metric"] == 75.0


def test_panx_iob2(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    # gold PER(0-1) LOC(3) | ORG(5); pred PER(0-1) ORG(3) | ORG(5): 2 of 3 -> 66.67
    write(gold, "test-de.tsv", tags("B-PER I-PER O B-LOC", "B-ORG O"))
    write(pred, "test-de.tsv", tags("B-PER I-PER O B-ORG", "B-ORG O"))
    result = score_directory("panx", pred, gold)
    assert result["scores"]["de"]["f1"] == pytest.approx(200 / 3, rel=1e-15)


def test_qa_squad_and_mlqa(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    references = {"q1": ["北京", "北京大学"], "q2": ["2008年北京奥运会"]}
    predictions = {"q1": "北京大学", "q2": "2008年"}
    for task in ("xquad", "mlqa"):
        write(gold / task, "test-zh.json", squad_json(references))
        write(pred / task, "test-zh.json", json.dumps(predictions, ensure_ascii=False))
    write(gold / "xquad", "test-en.json", squad_json({"a": ["Paris"], "b": ["the Louvre"]}))
    write(pred / "xquad", "test-en.json", json.dumps({"a": "Paris", "b": "Louvre museum"}))

    # xquad (SQuAD v1.1): zh answers are single tokens: q1 exact (2nd gold), q2 0 -> 50 / 50.
    # en: a exact; b [louvre, museum] vs [louvre]: P 1/2, R 1 -> F1 2/3 -> EM 50, F1 83.33.
    # The root layout (a task sub-directory) is accepted too.
    xquad = score_directory("xquad", pred, gold)
    assert xquad["languages"] == ["en", "zh"]
    assert xquad["scores"]["zh"] == {"exact_match": 50.0, "f1": 50.0}
    assert xquad["scores"]["en"]["exact_match"] == 50.0
    assert xquad["scores"]["en"]["f1"] == pytest.approx(100 * (1 + 2 / 3) / 2, rel=1e-15)
    assert xquad["average"]["exact_match"] == 50.0
    # avg_metric: mean of average EM (50) and average F1 ((83.33 + 50) / 2 = 66.67)
    assert xquad["avg_metric"] == pytest.approx((50 + (250 / 3 + 50) / 2) / 2, rel=1e-15)

    # mlqa zh: character tokens: q1 1 / 1, q2 F1 4/9 -> EM 50, F1 100 * (1 + 4/9) / 2
    mlqa = score_directory("mlqa", pred / "mlqa", gold / "mlqa")
    assert mlqa["scores"]["zh"]["exact_match"] == 50.0
    assert mlqa["scores"]["zh"]["f1"] == pytest.approx(100 * (1 + 4 / 9) / 2, rel=1e-15)


def test_qa_unanswered_questions_score_zero(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold, "test-fi.json", squad_json({"a": ["Helsinki"], "b": ["Turku"]}))
    write(pred, "test-fi.json", json.dumps({"a": "Helsinki"}))
    with pytest.warns(UserWarning, match="1 of 2 questions have no prediction"):
        result = score_directory("tydiqa", pred, gold)
    assert result["scores"]["fi"] == {"exact_match": 50.0, "f1": 50.0}


def test_bucc_and_tatoeba(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold / "bucc2018", "test-de.tsv",
          lines("de-1\ten-1", "de-3\ten-3", "de-4\ten-4"))
    write(pred / "bucc2018", "test-de.tsv", lines("de-1\ten-1", "de-2\ten-2"))
    # P = 1/2, R = 1/3 -> F1 = 40
    bucc = score_directory("bucc2018", pred, gold)
    assert bucc["scores"]["de"]["precision"] == 50.0
    assert bucc["avg_metric"] == pytest.approx(40.0, rel=1e-15)

    write(gold / "tatoeba", "test-ja.tsv", lines("0", "1", "2", "3"))
    write(pred / "tatoeba", "test-ja.tsv", lines("0", "2", "2", "3"))  # 3/4
    assert score_directory("tatoeba", pred, gold)["scores"]["ja"] == {"accuracy": 75.0}


def test_unknown_task_and_missing_directories(tmp_path):
    with pytest.raises(ValueError, match=r"task: got 'mnli'; allowed: synth_xnli, .*, xnli, pawsx"):
        score_directory("mnli", tmp_path, tmp_path)
    with pytest.raises(ValueError, match="predictions directory .*nope: does not exist"):
        score_directory("xnli", tmp_path / "nope", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no test-\*\.json files for task xquad"):
        score_directory("xquad", tmp_path / "empty", tmp_path / "empty")
    assert "tatoeba" in TASKS


def test_language_on_one_side_only(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    for directory in (pred, gold):
        write(directory, "test-en.tsv", lines("a"))
    write(pred, "test-sw.tsv", lines("a"))
    with pytest.raises(ValueError, match=r"test-sw\.tsv has no label file"):
        score_directory("xnli", pred, gold)
    (pred / "test-sw.tsv").unlink()
    write(gold, "test-ur.tsv", lines("a"))
    with pytest.raises(ValueError, match=r"test-ur\.tsv has no prediction file"):
        score_directory("xnli", pred, gold)


def test_line_and_tag_count_mismatches(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold, "test-en.tsv", lines("a", "b", "c"))
    write(pred, "test-en.tsv", lines("a", "b"))
    with pytest.raises(ValueError, match=r"pred/test-en\.tsv: expected 3 lines .*got 2"):
        score_directory("pawsx", pred, gold)

    write(gold / "t", "test-en.tsv", tags("NOUN VERB", "DET NOUN"))
    write(pred / "t", "test-en.tsv", tags("NOUN VERB"))
    with pytest.raises(ValueError, match="expected 2 sentences .*got 1"):
        score_directory("udpos", pred / "t", gold / "t")
    write(pred / "t", "test-en.tsv", tags("NOUN VERB", "DET"))
    with pytest.raises(ValueError, match="sentence 2: expected 2 tags .*got 1"):
        score_directory("udpos", pred / "t", gold / "t")


def test_bad_qa_files(tmp_path):
    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold, "test-en.json", squad_json({"a": ["x"]}))
    write(pred, "test-en.json", "{not json")
    with pytest.raises(ValueError, match=r"test-en\.json: not valid JSON"):
        score_directory("xquad", pred, gold)
    write(pred, "test-en.json", json.dumps({"a": 3}))
    with pytest.raises(ValueError, match="answer of 'a' must be a string"):
        score_directory("xquad", pred, gold)
    write(pred, "test-en.json", json.dumps({"a": "x"}))
    write(gold, "test-en.json", json.dumps({"data": [{"title": "t"}]}))
    with pytest.raises(ValueError, match="not SQuAD-format JSON"):
        score_directory("xquad", pred, gold)
    # MLQA has normalisation rules for its own languages only.
    write(gold, "test-fr.json", squad_json({"a": ["x"]}))
    write(pred, "test-fr.json", json.dumps({"a": "x"}))
    with pytest.raises(ValueError, match="no MLQA normalisation for fr"):
        score_directory("mlqa", pred, gold)


def test_score_file_names_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        score_file("xnli", tmp_path / "a.tsv", tmp_path / "b.tsv", "en")


def test_sweep_score_command(tmp_path, capsys):
    from sweep.cli import main

    pred, gold = tmp_path / "pred", tmp_path / "gold"
    write(gold, "test-en.tsv", lines("entailment", "neutral", "contradiction", "neutral"))
    write(pred, "test-en.tsv", lines("entailment", "neutral", "neutral", "neutral"))
    args = ["score", "--task", "xnli", "--predictions", str(pred), "--labels", str(gold)]
    assert main([*args, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scores"]["en"]["accuracy"] == 75.0
    assert main(args) == 0
    assert "75" in capsys.readouterr().out
    write(pred, "test-de.tsv", lines("neutral"))  # no label file for de
    assert main(args) == 2
    assert "test-de.tsv" in capsys.readouterr().err
