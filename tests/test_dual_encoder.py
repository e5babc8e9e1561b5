"""XTREME-R's trained retrieval (LAReQA, Mewsli-X): readers, sentence breaks, mAP@20, the
dual-encoder family and `sweep score`, on files written here and ../shared/data's XQuAD."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from small import TINY_MODEL

from sweep.cli import main
from trainables.data import load_examples
from trainables.families import get_family
from trainables.families.base import SplitContext
from trainables.metrics import average_precision_at_k, lareqa_map_at_k, mewslix_map_at_20
from trainables.readers import mewsli_entity_text, mewsli_mention_text, read_lareqa_json
from trainables.sentence_breaks import infer_sentence_breaks
from trainables.tasks import get_task
from trainables.training import featurize_split

SHARED_XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad"


# --- metrics ----------------------------------------------------------------------------------


def test_average_precision_divides_by_relevant_items_up_to_k():
    # Hits at ranks 1 and 3 of two relevant items: (1/1 + 2/3) / 2.
    assert average_precision_at_k({"a", "b"}, ["a", "x", "b", "y"]) == pytest.approx(5 / 6)
    # Eleven relevant (LAReQA: one per language), two found at ranks 2 and 4: (1/2 + 2/4) / 11.
    relevant = [f"s{i}" for i in range(11)]
    assert average_precision_at_k(relevant, ["x", "s3", "y", "s9"]) == pytest.approx(1 / 11)
    # Only the first k count, and the divisor is min(relevant, k).
    assert average_precision_at_k({"a"}, ["x"] * 20 + ["a"]) == 0.0
    assert average_precision_at_k({"a", "b", "c"}, ["a", "b"], k=2) == 1.0
    # An item listed twice counts once.
    assert average_precision_at_k({"a", "b"}, ["a", "a", "b"]) == pytest.approx((1 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="without relevant"):
        average_precision_at_k([], ["a"])


def test_lareqa_map_is_the_mean_over_queries_in_percent():
    value = lareqa_map_at_k([{"a"}, {"b", "c"}], [["a"], ["x", "c", "b"]])
    # Query 1: 1. Query 2: (1/2 + 2/3) / 2 = 7/12.
    assert value == pytest.approx((1 + 7 / 12) / 2 * 100)
    with pytest.raises(ValueError, match="differ in length"):
        lareqa_map_at_k([{"a"}], [])


def test_mewsli_x_map_is_the_reciprocal_rank_of_the_gold_entity():
    gold = {"m1": ["Q1 "], "m2": ["Q2"], "m3": ["Q3"], "m4": ["Q4"]}
    predictions = {"m1": ["Q9", "Q1"], "m2": ["Q2", "Q2"], "m3": [f"Q{i}" for i in range(10, 30)]
                   + ["Q3"], "extra": ["Q1"]}
    # m1 at rank 2 (gold stripped), m2 at rank 1, m3 beyond 20, m4 has no predictions.
    assert mewslix_map_at_20(gold, predictions) == pytest.approx((0.5 + 1 + 0 + 0) / 4 * 100)


# --- sentence breaks and readers --------------------------------------------------------------


def test_sentence_breaks_follow_xtreme_r_rules():
    text = ("Dr. Smith went to Washington, D.C. Then he left. It rained in the U.S. 1990s. "
            "J. R. R. Tolkien wrote.\nThe end")
    sentences = [text[start:end] for start, end in infer_sentence_breaks(text)]
    assert sentences == ["Dr. Smith went to Washington, D.C.", "Then he left.",
                         "It rained in the U.S. 1990s.", "J. R. R. Tolkien wrote.", "The end"]


def _xquad_r_file(path: Path) -> Path:
    context = "Alpha is one. Beta is two. Alpha is one."
    document = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{
        "context": context, "sentence_breaks": [[0, 13], [14, 26], [27, 40]],
        "qas": [
            {"id": "q1", "question": "What is Alpha?", "answers": [
                {"text": "one", "answer_start": 9}]},
            {"id": "q2", "question": "What is Beta?", "answers": [
                {"text": "two", "answer_start": 22}]},
            {"id": "q3", "question": "Between?", "answers": [{"text": " ", "answer_start": 13}]},
        ]}]}]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_lareqa_reader_uses_the_files_breaks_and_matches_equal_sentences(tmp_path):
    records = read_lareqa_json(_xquad_r_file(tmp_path / "de.json"))
    queries = [r for r in records if r["side"] == "query"]
    candidates = [r for r in records if r["side"] == "candidate"]
    # q3's answer starts between two sentences: skipped, as XTREME-R does.
    assert [q["id"] for q in queries] == ["q1", "q2"]
    assert [c["key"] for c in candidates] == ["de_0_0", "de_0_1", "de_0_2"]
    # The answer sentence followed by its paragraph; both copies of "Alpha is one." match q1.
    assert candidates[1]["candidate"] == "Beta is two.Alpha is one. Beta is two. Alpha is one."
    assert [c["matches"] for c in candidates] == [["q1"], ["q2"], ["q1"]]


@pytest.mark.skipif(not SHARED_XQUAD.is_dir(), reason="../shared/data/xquad is absent")
def test_lareqa_reader_finds_answer_sentences_in_real_squad_json():
    """XQuAD's files lack sentence breaks, like SQuAD's: the breaker supplies them."""
    records = read_lareqa_json(SHARED_XQUAD / "xquad.en.json")
    queries = [r for r in records if r["side"] == "query"]
    candidates = [r for r in records if r["side"] == "candidate"]
    document = json.loads((SHARED_XQUAD / "xquad.en.json").read_text(encoding="utf-8"))
    questions = sum(len(p["qas"]) for a in document["data"] for p in a["paragraphs"])
    assert 0.98 * questions <= len(queries) <= questions
    matched = {match for c in candidates for match in c["matches"]}
    assert {q["id"] for q in queries} == matched
    assert len(candidates) > 1000  # 240 paragraphs of several sentences


def test_mewsli_x_texts_follow_xtreme_r_preprocessing():
    text = "The verdict came back for Smith, who stepped down as AG of Fictitious County in " \
           "February, 2012. Later {quoted} news."
    second = text.index("Later")
    context = {"text": text, "sentence_spans": [{"start": 0, "end": second - 1},
                                                {"start": second, "end": len(text)}]}
    mention = {"mention_span": {"start": 26, "end": 31, "text": "Smith"}}
    # As XTREME-R's preprocess_mention builds it: a space on both sides of each brace (its
    # docstring's example drops the one before the comma; its code does not).
    assert mewsli_mention_text(context, mention) == (
        "Smith: The verdict came back for { Smith } , who stepped down as AG of Fictitious "
        "County in February, 2012.")
    start = text.index("news")
    news = {"mention_span": {"start": start, "end": start + 4, "text": "news"}}
    assert mewsli_mention_text(context, news) == "news: Later (quoted) { news } ."
    across = {"mention_span": {"start": second - 5, "end": second + 3,
                               "text": text[second - 5 : second + 3]}}
    assert mewsli_mention_text(context, across) is None
    entity = {"description": "Large place.\nInhabited  by everyone. Extra", "sentence_spans": [
        {"start": 0, "end": 12}, {"start": 13, "end": 36}]}
    assert mewsli_entity_text(entity) == "Large place. Inhabited by everyone."


def _mewsli_x_folder(root: Path) -> Path:
    folder = root / "mewsli-x"
    folder.mkdir(parents=True)

    def entity(qid: str, description: str) -> dict:
        return {"entity_id": qid, "title": qid, "description": description,
                "description_language": "en", "description_url": "u",
                "sentence_spans": [{"start": 0, "end": len(description)}]}

    def article(language: str, mentions: list[tuple[str, str, str]]) -> dict:
        text = " ".join(word for word, _, _ in mentions) + "."
        spans, offset = [], 0
        for word, qid, example_id in mentions:
            spans.append({"example_id": example_id, "entity_id": qid, "mention_span": {
                "start": offset, "end": offset + len(word), "text": word}})
            offset += len(word) + 1
        return {"context": {"document_title": "d", "document_url": "u", "document_id": "d",
                            "language": language, "text": text,
                            "sentence_spans": [{"start": 0, "end": len(text)}]},
                "mentions": spans}

    lines = {
        "candidate_set_entities.jsonl": [entity("Q1", "A city."), entity("Q2", "A river.")],
        "wikinews_mentions-test.jsonl": [article("de", [("Berlin", "Q1", "d1")]),
                                         article("ja", [("Tokyo", "Q1", "j1"),
                                                        ("Sumida", "Q2", "j2")])],
        "wikipedia_pairs-train.jsonl": [
            {"contextual_mention": {"context": article("en", [("Paris", "Q1", "e1")])["context"],
                                    "mention": article("en", [("Paris", "Q1", "e1")])
                                    ["mentions"][0]},
             "entity": entity("Q1", "A city.")}],
    }
    for name, records in lines.items():
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_mewsli_x_test_split_keeps_one_languages_mentions_and_every_entity(tmp_path):
    _mewsli_x_folder(tmp_path)
    data = {"source": "local", "path": str(tmp_path)}
    records = load_examples(data, "mewsli_x", "test", "ja")
    assert [r["id"] for r in records if r["side"] == "query"] == ["j1", "j2"]
    assert [r["key"] for r in records if r["side"] == "candidate"] == ["Q1", "Q2"]
    assert records[0]["query"] == "Tokyo: { Tokyo } Sumida."
    pairs = load_examples(data, "mewsli_x", "train", "en")
    assert [r["side"] for r in pairs] == ["query", "candidate"]
    assert pairs[0]["match"] == pairs[1]["key"] == "Q1"
    (tmp_path / "mewsli-x" / "candidate_set_entities.jsonl").write_text('{"title": "x"}\n')
    with pytest.raises(ValueError, match=r"candidate_set_entities.jsonl:1: .*Mewsli-X"):
        load_examples(data, "mewsli_x", "test", "ja")


def test_mewsli_x_mentions_without_their_text_are_refused(tmp_path):
    """The released WikiNews files have empty texts until get-mewsli-x.sh restores them."""
    folder = _mewsli_x_folder(tmp_path)
    mentions = folder / "wikinews_mentions-test.jsonl"
    first, *rest = mentions.read_text().splitlines()
    article = json.loads(first)
    article["context"]["text"] = ""
    mentions.write_text("\n".join([json.dumps(article), *rest]) + "\n")
    data = {"source": "local", "path": str(tmp_path)}
    with pytest.raises(ValueError, match=r"wikinews_mentions-test.jsonl:1: mention d1: .*"
                                         r"not restored"):
        load_examples(data, "mewsli_x", "test", "de")


# --- the family -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from trainables.model import MultiTaskModel, load_encoder, load_tokenizer

    torch.manual_seed(0)
    task = get_task("synth_lareqa")
    model = MultiTaskModel(load_encoder(TINY_MODEL), [task])
    return task, model, load_tokenizer(TINY_MODEL)


def test_pooled_test_split_brings_every_languages_candidates(tiny):
    task, _, tokenizer = tiny
    config = {"data": {"source": "offline", "offline": {
        "seed": 13, "train_size": 300, "eval_size": 60, "retrieval_size": 40}}}
    examples, features = featurize_split(config, task, "test", "de", tokenizer)
    languages = {c["key"].split("_")[0] for c in examples if c["side"] == "candidate"}
    assert languages == {f"test-{language}" for language in task.languages}
    assert len(features) == sum(example["side"] == "query" for example in examples) == 60


def test_training_batch_scores_each_query_against_the_batchs_candidates(tiny):
    task, model, tokenizer = tiny
    family = get_family(task.family)
    features = family.featurize(task, _examples(), tokenizer, max_length=32)
    assert len(features) == 3 and all(len(f["input_ids"]) == 2 for f in features)
    batch = family.collate(features, tokenizer.pad_token_id)
    assert batch["input_ids"].shape[:2] == (3, 2)
    assert batch["labels"].tolist() == [0, 1, 2]
    model.train()
    logits = model(task.name, batch["input_ids"], batch["attention_mask"])
    assert logits.shape == (3, 3)
    # Cosine similarities times the learnable scale, which starts at 100.
    assert logits.abs().max() <= 100.0 + 1e-3
    loss = family.loss(logits, batch["labels"])
    loss.backward()
    assert model.heads[task.name].logit_scale.grad is not None


def _examples() -> list[dict]:
    def query(identifier: str, text: str, match: str) -> dict:
        return {"side": "query", "id": identifier, "query": text, "match": match}

    def candidate(key: str, text: str, matches: list[str]) -> dict:
        return {"side": "candidate", "key": key, "candidate": text, "matches": matches}

    return [query("q1", "Who sings?", "q1"), query("q2", "Who swims?", "q2"),
            query("q3", "Who runs?", "q3"), query("q4", "Nobody answers?", "q4"),
            candidate("c1", "Anna sings.", ["q1"]), candidate("c2", "Otto swims.", ["q2"]),
            candidate("c3", "Rosa runs.", ["q3"]), candidate("c4", "Anna runs.", ["q3"]),
            candidate("c5", "Nothing here.", [])]


def test_split_score_ranks_the_whole_pool_like_brute_force(tiny, tmp_path):
    task, model, tokenizer = tiny
    family = get_family(task.family)
    examples = _examples()
    features = family.featurize(task, examples, tokenizer, max_length=32)
    # q4 has no relevant candidate in the pool: no training pair, and LAReQA cannot score it.
    assert [examples[f["example_index"]]["id"] for f in features] == ["q1", "q2", "q3"]
    context = SplitContext(tokenizer, 32, 2, torch.device("cpu"), "en", tmp_path / "pool")
    with pytest.raises(ValueError, match="1 queries in 'en' have no relevant candidate"):
        family.score_split(model, task, examples, features, context)
    examples = [example for example in examples if example.get("id") != "q4"]
    features = family.featurize(task, examples, tokenizer, max_length=32)
    value = family.score_split(model, task, examples, features, context)["map@20"]

    model.eval()
    with torch.no_grad():
        def vectors(texts: list[str]) -> np.ndarray:
            batch = tokenizer(texts, padding=True, return_tensors="pt")
            return model(task.name, batch["input_ids"], batch["attention_mask"]).numpy()

        keys = ["c1", "c2", "c3", "c4", "c5"]
        pool = vectors([e["candidate"] for e in examples[3:]])
        queries = vectors([e["query"] for e in examples[:3]])
    rankings = [[keys[i] for i in np.argsort(-(pool @ q), kind="stable")] for q in queries]
    expected = lareqa_map_at_k([{"c1"}, {"c2"}, {"c3", "c4"}], rankings)
    assert value == pytest.approx(expected, abs=1e-9)
    # The pool was embedded once into the cache, and the next call reads it back.
    cached = list((tmp_path / "pool").glob("*/pool.npy"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert family.score_split(model, task, examples, features, context)["map@20"] == value
    assert cached[0].stat().st_mtime_ns == stamp


# --- sweep score ------------------------------------------------------------------------------


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_sweep_score_mewsli_x_in_xtremes_root_layout(tmp_path, capsys):
    _write(tmp_path / "labels" / "mewslix" / "test-de.json", {"m1": ["Q1"], "m2": ["Q2"]})
    _write(tmp_path / "labels" / "mewslix" / "test-ja.json", {"m3": ["Q3"]})
    _write(tmp_path / "pred" / "mewslix" / "test-de.json", {"m1": ["Q5", "Q1"], "m2": ["Q2"]})
    _write(tmp_path / "pred" / "mewslix" / "test-ja.json", {"m3": ["Q7"]})
    assert main(["score", "--task", "mewsli_x", "--predictions", str(tmp_path / "pred"),
                 "--labels", str(tmp_path / "labels"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scores"]["de"]["map@20"] == pytest.approx(75.0)
    assert result["scores"]["ja"]["map@20"] == 0.0
    assert result["avg_metric"] == pytest.approx(37.5)


def test_sweep_score_lareqa_and_its_errors(tmp_path, capsys):
    _write(tmp_path / "labels" / "test-en.json", {"q1": ["a", "b"], "q2": ["c"]})
    _write(tmp_path / "pred" / "test-en.json", {"q1": ["b", "x", "a"], "q2": ["c"]})
    assert main(["score", "--task", "lareqa", "--predictions", str(tmp_path / "pred"),
                 "--labels", str(tmp_path / "labels"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["avg_metric"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2 * 100)
    _write(tmp_path / "pred" / "test-en.json", {"q1": "b"})
    assert main(["score", "--task", "lareqa", "--predictions", str(tmp_path / "pred"),
                 "--labels", str(tmp_path / "labels")]) == 2
    assert "query 'q1': expected a list of candidate ids" in capsys.readouterr().err


def test_a_split_in_english_files_only_is_refused_for_other_languages(tmp_path):
    """LAReQA's dev split is SQuAD's English dev: asking for it in German is an error."""
    from trainables.data import local_files

    data = {"source": "local", "path": str(tmp_path)}
    with pytest.raises(FileNotFoundError, match="no dev data for language 'de': its dev files "
                                                "hold English only"):
        local_files(data, "lareqa", "dev", "de")
    with pytest.raises(FileNotFoundError, match=r"squad/dev-v1.1.json matches nothing"):
        local_files(data, "lareqa", "dev", "en")
