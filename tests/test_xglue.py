"""XGLUE's tasks: read from the archive's layout and from the hub copy's schema, the WPR
family's predictions and scores, and the XGLUE score in the results."""

from __future__ import annotations

import datasets
import pandas as pd
import pytest
import torch
from small import TINY_MODEL
from xglue_files import write_xglue

from sweep.results import benchmark_scores
from trainables.data import load_examples
from trainables.families import get_family
from trainables.metrics import xglue_ndcg
from trainables.readers import read_tsv
from trainables.tasks import REGISTRY, get_task
from trainables.tasks.xglue import SUBSCORES

XGLUE = [name for name, task in REGISTRY.items() if "xglue" in task.benchmarks]


@pytest.fixture
def local(tmp_path) -> dict:
    write_xglue(tmp_path)
    return {"source": "local", "path": str(tmp_path)}


def test_the_nine_understanding_tasks_and_their_languages():
    assert XGLUE == ["xglue_ner", "xglue_pos", "xglue_mlqa", "xglue_nc", "xglue_xnli",
                     "xglue_pawsx", "xglue_qadsm", "xglue_wpr", "xglue_qam"]
    # xglue_evaluate.py's task2lg, in its order (the order of its sums).
    assert get_task("xglue_pos").languages[:3] == ("pl", "ar", "ru")
    assert len(get_task("xglue_pos").languages) == 18
    assert get_task("xglue_wpr").languages == ("de", "en", "es", "fr", "it", "pt", "zh")
    assert get_task("xglue_mlqa").headline_metrics == ("f1",)
    assert get_task("xglue_pos").metric == "precision"


@pytest.mark.parametrize("name", XGLUE)
def test_every_task_reads_english_train_and_each_languages_dev_and_test(name, local):
    task = get_task(name)
    for split, language in (("train", "en"), ("dev", "en"), ("dev", "de"), ("test", "de")):
        examples = load_examples(local, name, split, language)
        assert examples, (split, language)
        for example in examples:
            for field in task.text_fields:
                assert example[field], (field, example)
            if task.label_field:
                values = example[task.label_field]
                assert set(values if isinstance(values, list) else [values]) <= set(task.labels)
    with pytest.raises(FileNotFoundError, match="no train data for language 'de'"):
        load_examples(local, name, "train", "de")  # XGLUE trains in English only


def test_file_quirks_are_read_as_the_scorer_reads_them(local):
    [first, second] = load_examples(local, "xglue_xnli", "train", "en")
    assert second["label"] == "contradiction"  # MNLI's train file says contradictory
    assert first == {"premise": "A man", "hypothesis": "A person", "label": "entailment"}
    paws = load_examples(local, "xglue_pawsx", "dev", "de")
    assert [e["sentence1"] for e in paws] == ["A b", "C", "D"]  # header and id column gone
    for language in ("en", "de"):  # with and without NC's query column
        [sports, _] = load_examples(local, "xglue_nc", "dev", language)
        assert sports == {"news_title": "Team wins", "news_body": "The match ended",
                          "label": "sports"}
    ner = load_examples(local, "xglue_ner", "test", "de")
    assert [s["tokens"] for s in ner] == [["EU", "rejects", "German"], ["Peter", "Blackburn"]]
    assert ner[0]["tags"] == ["B-ORG", "O", "B-MISC"]
    qa = load_examples(local, "xglue_mlqa", "test", "de")
    assert [e["id"] for e in qa] == ["de-1", "de-2"]


def test_a_test_file_without_labels_names_the_file_line_and_why(tmp_path):
    path = tmp_path / "xglue.qam.de.test"
    path.write_text("Who?\tAnna did.\t1\nWho?\tIt rains.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"xglue.qam.de.test:2: got 2 tab-separated fields; "
                                         r"expected 3 \(question, answer, label\)"):
        read_tsv(path, ("question", "answer", "label"))
    path.write_text("a\tb\t1\n\na\tc\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="test:2: got a blank line"):
        read_tsv(path, ("question", "answer", "label"))


# -- the hub copy: split names carry the language; both column spellings ----------------------


def _hub_rows(config: str, split: str) -> datasets.Dataset:
    old = split.endswith(".fr")  # the older script's spellings, as a copy made with it has
    if config == "wpr":
        title = "wed_page_title" if old else "web_page_title"
        return datasets.Dataset.from_dict(
            {"query": ["q", "q"], title: ["t1", "t2"], "web_page_snippet": ["s1", "s2"],
             "relavance_label": [4, 0]},
            features=datasets.Features({
                "query": datasets.Value("string"), title: datasets.Value("string"),
                "web_page_snippet": datasets.Value("string"),
                "relavance_label": datasets.ClassLabel(
                    names=["Bad", "Fair", "Good", "Excellent", "Perfect"])}))
    if config == "qam":
        answer = "annswer" if old else "answer"
        return datasets.Dataset.from_dict({"question": ["Who?"], answer: ["Anna."],
                                           "label": [1]})
    if config == "nc":  # the older script's category is a string, the newer's a ClassLabel
        return datasets.Dataset.from_dict({"news_title": ["T"], "news_body": ["B"],
                                           "news_category": ["autos" if old else 9]})
    assert config == "pos"
    return datasets.Dataset.from_dict({"words": [["Ich", "bin"]], "pos": [[10, 3]]})


@pytest.fixture
def hub(monkeypatch):
    asked = []

    def load_dataset(path, name=None, split=None, revision=None):
        asked.append((path, name, split))
        return _hub_rows(name, split)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return asked


def test_hub_splits_are_named_by_language_and_both_spellings_read(hub):
    data = {"source": "hub", "revisions": {}}
    for language in ("de", "fr"):
        wpr = load_examples(data, "xglue_wpr", "dev", language)
        assert [e["web_page_title"] for e in wpr] == ["t1", "t2"]
        assert [e["label"] for e in wpr] == [4, 0]
        [qam] = load_examples(data, "xglue_qam", "test", language)
        assert qam["answer"] == "Anna."
        [nc] = load_examples(data, "xglue_nc", "test", language)
        assert get_task("xglue_nc").labels[9] == "autos"
        assert nc["label"] in (9, "autos")
    assert ("hgissbkh/xglue", "wpr", "validation.de") in hub
    assert ("hgissbkh/xglue", "qam", "test.fr") in hub
    assert load_examples(data, "xglue_wpr", "train", "en")[0]["query"] == "q"
    assert hub[-1] == ("hgissbkh/xglue", "wpr", "train")


def test_portuguese_pos_comes_from_the_files_the_hub_copy_lacks_it(hub, tmp_path):
    write_xglue(tmp_path, languages=("pt",))
    data = {"source": "hub", "revisions": {}, "path": str(tmp_path)}
    assert load_examples(data, "xglue_pos", "test", "pt")[0]["tokens"] == ["The", "cat", "sat"]
    assert hub == []
    [sentence] = load_examples(data, "xglue_pos", "test", "de")
    assert [get_task("xglue_pos").labels[i] for i in sentence["tags"]] == ["PRON", "AUX"]


# -- WPR: expected grade, nDCG over runs of one query -----------------------------------------


def test_wpr_predicts_the_expected_grade_and_scores_ndcg_per_query_run(local):
    from trainables.model import load_tokenizer

    task, family = get_task("xglue_wpr"), get_family("relevance")
    examples = load_examples(local, "xglue_wpr", "test", "de")
    tokenizer = load_tokenizer(TINY_MODEL)
    features = family.featurize(task, examples, tokenizer, max_length=64)
    # The query, then the page's title and snippet as one text.
    pair = tokenizer("apple", "Apple Inc The company", truncation=True, max_length=64)
    assert features[0]["input_ids"] == pair["input_ids"]
    grades = [4, 1, 2, 3, 0, 2]
    logits = [torch.tensor([0.0, 1.0, 0.0, 0.0, 3.0]) for _ in examples]
    predictions = family.predictions(task, examples, features, logits)
    expected = float((logits[0].softmax(-1) * torch.arange(5.0)).sum())
    assert predictions[0] == {"relevance": expected, "grade": 4, "query": 0}
    references = family.references(task, examples)
    # apple x3, pear, apple again (a new run), plum.
    assert [r["query"] for r in references] == [0, 0, 0, 1, 2, 3]
    assert [r["grade"] for r in references] == grades
    scores = family.score(task, predictions, references, "de")
    assert scores["ndcg"] == xglue_ndcg([0, 0, 0, 1, 2, 3], [p["relevance"] for p in predictions],
                                        grades)
    # Every prediction the same: only the one query run with two or more pages counts.
    records = pd.DataFrame(family.example_records(task, examples, predictions, references, "de"))
    assert records["weight"].tolist() == pytest.approx([1 / 3] * 3 + [0, 0, 0])
    assert records["score"].sum() / records["weight"].sum() == pytest.approx(scores["ndcg"])
    assert records["prediction"][0]["grade"] == "4"


# -- the XGLUE score --------------------------------------------------------------------------


def _row(task: str, language: str, metric: str, value: float) -> dict:
    return {"stage": f"eval/{task}", "task": task, "target_task": task, "language": language,
            "metric": metric, "value": value, "intermediate_task": "none", "split": "test",
            "seed": 0, "trial_id": "t"}


def test_the_xglue_score_averages_every_language_and_the_unique_tasks():
    rows = []
    for index, name in enumerate(XGLUE):
        task = get_task(name)
        for language in task.languages:
            for metric in {task.metric, *task.headline_metrics, "exact_match"}:
                rows.append(_row(name, language, metric, 50.0 + index
                                 + (10 if metric == "exact_match" else 0)))
    table = benchmark_scores(pd.DataFrame(rows), "xglue")
    scores = table.loc["none"]
    assert scores["xglue_mlqa"] == 52.0  # F1 alone: exact match is not counted
    assert scores["score"] == pytest.approx(sum(50.0 + i for i in range(9)) / 9)
    unique = [50.0 + XGLUE.index(name) for name in SUBSCORES["unique"]]
    assert scores["unique"] == pytest.approx(sum(unique) / 4)
    assert scores["missing"] == "-"
    partial = benchmark_scores(pd.DataFrame([r for r in rows if r["task"] != "xglue_wpr"]),
                               "xglue")
    assert "unique" not in partial.columns  # a sub-score over part of its tasks is not given
    assert partial.loc["none", "missing"] == "xglue_wpr"


# -- dev-as-train: the in-language data of NC, QADSM, WPR and QAM ----------------------------


def test_dev_as_train_splits_the_dev_file_by_query_and_leaves_test_alone(tmp_path):
    base = write_xglue(tmp_path, languages=("en", "fr"))
    data = {"source": "local", "path": str(tmp_path)}
    # Sixty queries of two documents each, and the first query coming back at the end.
    lines = [f"query {number}\tTitle {number}.{rank}\tSnippet\t{rank}"
             for number in range(60) for rank in (1, 3)] + ["query 0\tTitle 0.9\tSnippet\t2"]
    (base / "WPR/xglue.wpr.fr.dev").write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = load_examples(data, "xglue_wpr", "dev", "fr")
    train = load_examples(data, "xglue_wpr_dev", "train", "fr")
    dev = load_examples(data, "xglue_wpr_dev", "dev", "fr")
    assert train and dev
    def rows(examples: list[dict]) -> list:
        return sorted(tuple(sorted(example.items())) for example in examples)

    assert rows(train + dev) == rows(whole)  # together, the whole dev file
    assert {e["query"] for e in train}.isdisjoint(e["query"] for e in dev)  # no query split
    assert train == [e for e in whole if e in train]  # the file's order kept
    assert get_task("xglue_wpr").in_language == "xglue_wpr_dev"
    with pytest.raises(FileNotFoundError, match="no test split in its local files"):
        load_examples(data, "xglue_wpr_dev", "test", "fr")  # test is the task's own
    for name, key_field in (("xglue_nc", "news_title"), ("xglue_qadsm", "query"),
                            ("xglue_qam", "question")):
        source = get_task(get_task(name).in_language)
        assert source.dev_slice.key == key_field and key_field in get_task(name).text_fields
        rows = load_examples(data, source.name, "train", "fr") + load_examples(
            data, source.name, "dev", "fr")
        assert len(rows) == len(load_examples(data, name, "dev", "fr"))
