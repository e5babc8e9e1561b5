"""Task data through the real readers: ../shared/data in its original formats, and the hub
loader on parquet files written in each dataset's hub schema."""

from __future__ import annotations

import datasets
import pytest
from conftest import SHARED_DATA
from small import TINY_MODEL

from trainables.data import load_examples
from trainables.tasks import PARQUET, get_task

SHARED = {"source": "local", "path": str(SHARED_DATA)}


def needs(folder: str) -> None:
    if not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"{SHARED_DATA / folder} is absent")


def test_tatoeba_in_laser_format():
    needs("tatoeba")
    pairs = load_examples(SHARED, "tatoeba", "test", "de")
    assert len(pairs) == 1000
    assert pairs[0]["other"] == "Maria sagte, sie wisse nicht, wo Tom sei."
    assert not any(p["english"].endswith("\n") or p["other"].endswith("\n") for p in pairs)
    # XTREME's 36 languages have their files here (XTREME-R's five more are LASER's too).
    for language in get_task("tatoeba").languages_in("xtreme"):
        assert len(load_examples(SHARED, "tatoeba", "test", language)) >= 100


def test_xquad_in_squad_json():
    needs("xquad")
    english = load_examples(SHARED, "xquad", "test", "en")
    chinese = load_examples(SHARED, "xquad", "test", "zh")
    romanian = load_examples(SHARED, "xquad", "test", "ro")  # XTREME-R's twelfth language
    assert len(english) == len(chinese) == len(romanian) == 1190
    assert [e["id"] for e in english] == [e["id"] for e in chinese]  # parallel questions
    for example in chinese:
        for text, start in zip(example["answers"]["text"], example["answers"]["answer_start"],
                               strict=True):
            assert example["context"][start : start + len(text)] == text


def test_ud_pos_in_conllu():
    needs("ud")
    thai = load_examples(SHARED, "udpos", "test", "th")
    assert len(thai) == 1000
    tags = set(get_task("udpos").labels)
    assert all(set(sentence["tags"]) <= tags for sentence in thai)
    # English test = every English treebank's test file (EWT and PUD), as XTREME builds it.
    english = load_examples(SHARED, "udpos", "test", "en")
    assert len(english) == 2077 + 1000
    german = load_examples(SHARED, "udpos", "test", "de")
    # The file has 21,329 word lines and 328 multi-word ranges ("am" = "an dem"): XTREME
    # keeps the words and drops the ranges.
    assert sum(len(s["tokens"]) for s in german) == 21329
    first = german[0]["tokens"]
    assert "am" not in first and first[first.index("an") + 1] == "dem"


def test_a_missing_language_names_the_file_pattern():
    needs("xquad")
    with pytest.raises(FileNotFoundError, match=r"xquad\.xx\.json matches nothing"):
        load_examples(SHARED, "xquad", "test", "xx")


# -- the hub loader on local parquet in each dataset's hub schema ----------------------------

# SQuAD-format features, as rajpurkar/squad's and squad_v2's loading scripts declare them
# (huggingface/datasets datasets/squad/squad.py, datasets/squad_v2/squad_v2.py) and their
# cards' dataset_info list them: answers a Sequence of {text, answer_start int32}, stored in
# parquet as a struct of two lists. google/xquad's script (datasets/xquad/xquad.py) has the
# same without `title`.
_ANSWERS = datasets.Sequence({"text": datasets.Value("string"),
                              "answer_start": datasets.Value("int32")})
SQUAD_FEATURES = datasets.Features({
    "id": datasets.Value("string"), "title": datasets.Value("string"),
    "context": datasets.Value("string"), "question": datasets.Value("string"),
    "answers": _ANSWERS})
XQUAD_FEATURES = datasets.Features({
    "id": datasets.Value("string"), "context": datasets.Value("string"),
    "question": datasets.Value("string"), "answers": _ANSWERS})
# facebook/xnli's card (dataset_info, per-language configs): premise, hypothesis strings and
# label ClassLabel entailment/neutral/contradiction.
XNLI_HUB_LABELS = ["entailment", "neutral", "contradiction"]
XNLI_FEATURES = datasets.Features({
    "premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
    "label": datasets.ClassLabel(names=XNLI_HUB_LABELS)})
# google-research-datasets/paws-x's card and script (datasets/paws-x/paws-x.py): id int32,
# sentence1, sentence2, label ClassLabel named "0" (different meaning) and "1" (paraphrase).
PAWSX_FEATURES = datasets.Features({
    "id": datasets.Value("int32"), "sentence1": datasets.Value("string"),
    "sentence2": datasets.Value("string"), "label": datasets.ClassLabel(names=["0", "1"])})
# nyu-mll/glue's card, config qqp: question1, question2, label ClassLabel
# not_duplicate/duplicate, idx int32.
QQP_HUB_LABELS = ["not_duplicate", "duplicate"]
QQP_FEATURES = datasets.Features({
    "question1": datasets.Value("string"), "question2": datasets.Value("string"),
    "label": datasets.ClassLabel(names=QQP_HUB_LABELS), "idx": datasets.Value("int32")})
# eriktks/conll2002's card (dataset_info, config nl) and the datasets script
# (huggingface/datasets datasets/conll2002/conll2002.py): id, tokens, pos_tags ClassLabel
# (Dutch: 12 tags; Spanish: 60) and ner_tags ClassLabel in this order.
CONLL2002_NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CONLL2002_NL_POS = ["Adj", "Adv", "Art", "Conj", "Int", "Misc", "N", "Num", "Prep", "Pron",
                    "Punc", "V"]
CONLL2002_NL_FEATURES = datasets.Features({
    "id": datasets.Value("string"), "tokens": datasets.Sequence(datasets.Value("string")),
    "pos_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL2002_NL_POS)),
    "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL2002_NER))})
# hgissbkh/xglue's wpr config, in the newer datasets script's spellings (as tests/test_xglue.py
# reads them): a query's documents in a run, relavance_label a ClassLabel Bad..Perfect.
WPR_HUB_GRADES = ["Bad", "Fair", "Good", "Excellent", "Perfect"]
WPR_FEATURES = datasets.Features({
    "query": datasets.Value("string"), "web_page_title": datasets.Value("string"),
    "web_page_snippet": datasets.Value("string"),
    "relavance_label": datasets.ClassLabel(names=WPR_HUB_GRADES)})
# Forty German queries of two documents each: enough for the dev slice to hold some out.
WPR_DEV_QUERIES = [f"anfrage {number}" for number in range(40)]


def _squad_row(id_, context, question, answers, title="t"):
    """One SQuAD-format row; answers: (text, start) pairs, checked against the context."""
    for text, start in answers:
        assert context[start : start + len(text)] == text
    return {"id": id_, "title": title, "context": context, "question": question,
            "answers": {"text": [t for t, _ in answers], "answer_start": [s for _, s in answers]}}


def _columns(rows, drop=()):
    return {key: [row[key] for row in rows] for key in rows[0] if key not in drop}

HUB_ROWS = {
    ("tau/commonsense_qa", None, "train"): (
        {"id": ["q1"], "question": ["Where do fish live?"],
         "question_concept": ["fish"],
         "choices": [{"label": ["A", "B", "C", "D", "E"],
                      "text": ["tree", "sea", "sky", "desert", "car"]}],
         "answerKey": ["B"]}, None),
    ("allenai/cosmos_qa", None, "validation"): (
        {"id": ["c1"], "context": ["It rained."], "question": ["Why wet?"],
         "answer0": ["rain"], "answer1": ["sun"], "answer2": ["wind"], "answer3": ["none"],
         "label": [0]}, None),
    ("stanfordnlp/snli", "plain_text", "train"): (
        {"premise": ["A man sleeps.", "A dog runs."], "hypothesis": ["A man rests.", "?"],
         "label": [0, -1]}, None),
    ("google-research-datasets/tydiqa", "secondary_task", "train"): (
        {"id": ["english-1", "arabic-2"], "title": ["t", "t"],
         "context": ["Paris is in France.", "x"], "question": ["Where is Paris?", "y"],
         "answers": [{"text": ["France"], "answer_start": [12]},
                     {"text": ["x"], "answer_start": [0]}]}, None),
    ("google/xtreme", "tatoeba.deu", "validation"): (
        {"source_lang": ["deu"], "target_lang": ["eng"],
         "source_sentence": ["Ich bin da.\n"], "target_sentence": ["I am here.\n"]}, None),
    ("google/xtreme", "udpos.German", "test"): (
        {"tokens": [["Ich", "bin", "da", "."]], "pos_tags": [[10, 1, 2, 12]]},
        datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                           "pos_tags": datasets.Sequence(datasets.ClassLabel(
                               names=list(get_task("udpos").labels)))})),
    **{("facebook/anli", "plain_text", f"train_r{r}"): (
        {"uid": [f"t{r}"], "premise": [f"anli {r}"], "hypothesis": ["h"], "label": [r - 1],
         "reason": [""]}, None) for r in (1, 2, 3)},
    ("nyu-mll/glue", "mnli", "train"): (
        {"premise": ["mnli p"], "hypothesis": ["h"], "label": [1], "idx": [0]}, None),
    ("Rowan/hellaswag", None, "train"): (
        {"ind": [1], "activity_label": ["a"], "ctx_a": ["x"], "ctx_b": ["y"],
         "ctx": ["A man opens the door."], "endings": [["he sleeps", "he walks in", "a", "b"]],
         "source_id": ["s"], "split": ["train"], "split_type": ["indomain"], "label": ["1"]},
        None),
    ("allenai/social_i_qa", None, "validation"): (
        {"context": ["Tracy lost her keys."], "question": ["How does Tracy feel?"],
         "answerA": ["happy"], "answerB": ["calm"], "answerC": ["upset"], "label": ["3"]},
        None),
    ("cambridgeltl/xcopa", "et", "test"): (
        {"premise": ["Ese oli mullikilesse mähitud."], "choice1": ["See oli õrn."],
         "choice2": ["See oli väike."], "question": ["cause"], "label": [0], "idx": [0],
         "changed": [False]}, None),
    ("unimelb-nlp/wikiann", "qu", "test"): (
        {"tokens": [["Angela", "Merkel", "Berlinpi", "rimarqan"]],
         "ner_tags": [[1, 2, 5, 0]], "langs": [["qu"] * 4],
         "spans": [["PER: Angela Merkel", "LOC: Berlinpi"]]},
        datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                           "ner_tags": datasets.Sequence(datasets.ClassLabel(
                               names=list(get_task("panx").labels))),
                           "langs": datasets.Sequence(datasets.Value("string")),
                           "spans": datasets.Sequence(datasets.Value("string"))})),
    ("facebook/mlqa", "mlqa.de.de", "test"): (
        {"id": ["m1"], "title": ["t"], "context": ["Berlin ist groß."],
         "question": ["Was ist groß?"], "answers": [{"answer_start": [0], "text": ["Berlin"]}]},
        None),
    ("facebook/anli", "plain_text", "dev_r1"): (
        {"uid": ["a"], "premise": ["p1"], "hypothesis": ["h1"], "label": [2], "reason": [""]},
        None),
    ("facebook/anli", "plain_text", "dev_r2"): (
        {"uid": ["b"], "premise": ["p2"], "hypothesis": ["h2"], "label": [1], "reason": [""]},
        None),
    ("facebook/anli", "plain_text", "dev_r3"): (
        {"uid": ["c"], "premise": ["p3"], "hypothesis": ["h3"], "label": [0], "reason": [""]},
        None),
    # One row per hub split, told apart by content, so a wrong split mapping reads the
    # wrong row. Labels are written as the hub's ClassLabel indices.
    **{("facebook/xnli", "de", split): (
        {"premise": [f"Der Hund schläft. ({split})"], "hypothesis": ["Ein Tier ruht."],
         "label": [XNLI_HUB_LABELS.index(label)]}, XNLI_FEATURES)
       for split, label in (("train", "entailment"), ("validation", "contradiction"),
                            ("test", "neutral"))},
    **{("google-research-datasets/paws-x", "de", split): (
        {"id": [id_], "sentence1": [f"Sie zog 1990 nach Berlin. ({split})"],
         "sentence2": ["1990 zog sie nach Berlin."], "label": [label]}, PAWSX_FEATURES)
       for split, id_, label in (("train", 1, 1), ("validation", 2, 0), ("test", 3, 1))},
    # PAWS-X's own machine-translated French training data.
    ("google-research-datasets/paws-x", "fr", "train"): (
        {"id": [4, 5], "sentence1": ["Il est né à Paris.", "Elle vit à Lyon."],
         "sentence2": ["À Paris, il est né.", "Lyon vit chez elle."], "label": [1, 0]},
        PAWSX_FEATURES),
    **{("eriktks/conll2002", "nl", split): (
        {"id": ["0"], "tokens": [tokens], "ner_tags": [[CONLL2002_NER.index(t) for t in tags]],
         "pos_tags": [[CONLL2002_NL_POS.index(t) for t in pos]]}, CONLL2002_NL_FEATURES)
       for split, tokens, tags, pos in (
           ("train", ["Jan", "Peeters", "werkt", "bij", "Philips", "in", "Eindhoven", "."],
            ["B-PER", "I-PER", "O", "O", "B-ORG", "O", "B-LOC", "O"],
            ["N", "N", "V", "Prep", "N", "Prep", "N", "Punc"]),
           ("validation", ["De", "Ronde", "van", "Vlaanderen"],
            ["O", "B-MISC", "I-MISC", "I-MISC"], ["Art", "N", "Prep", "N"]))},
    ("hgissbkh/xglue", "wpr", "validation.de"): (
        {"query": [query for query in WPR_DEV_QUERIES for _ in range(2)],
         "web_page_title": [f"{query} {rank}" for query in WPR_DEV_QUERIES for rank in (1, 2)],
         "web_page_snippet": ["Ein Ausschnitt."] * 2 * len(WPR_DEV_QUERIES),
         "relavance_label": [grade for _ in WPR_DEV_QUERIES for grade in (4, 0)]},
        WPR_FEATURES),
    **{("nyu-mll/glue", "qqp", split): (
        {"question1": [f"How do I learn Python? ({split})"],
         "question2": ["What is the best way to learn Python?"],
         "label": [QQP_HUB_LABELS.index(label)], "idx": [idx]}, QQP_FEATURES)
       for split, idx, label in (("train", 0, "duplicate"), ("validation", 7, "not_duplicate"))},
    ("rajpurkar/squad", "plain_text", "train"): (_columns([_squad_row(
        "s-train", "Denver won Super Bowl 50.", "Who won?", [("Denver", 0)])]), SQUAD_FEATURES),
    # SQuAD's dev set has several gold answers per question (here two, one repeated).
    ("rajpurkar/squad", "plain_text", "validation"): (_columns([_squad_row(
        "s-dev", "The Broncos beat the Panthers.", "Who beat the Panthers?",
        [("The Broncos", 0), ("Broncos", 4), ("Broncos", 4)])]), SQUAD_FEATURES),
    ("rajpurkar/squad_v2", "squad_v2", "train"): (_columns([_squad_row(
        "v2-train", "Normandy is in France.", "Where is Normandy?", [("France", 15)])]),
        SQUAD_FEATURES),
    # SQuAD v2.0: an unanswerable question has empty answer lists, not a missing column.
    ("rajpurkar/squad_v2", "squad_v2", "validation"): (_columns([
        _squad_row("v2-a", "Normandy is in France.", "Where is Normandy?", [("France", 15)]),
        _squad_row("v2-u", "Normandy is in France.", "Where is Paris?", [])]),
        SQUAD_FEATURES),
    ("google/xquad", "xquad.de", "validation"): (_columns([_squad_row(
        "x1", "Die Broncos besiegten die Panthers.", "Wer besiegte die Panthers?",
        [("Die Broncos", 0)])], drop=("title",)), XQUAD_FEATURES),
}


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """`datasets.load_dataset` answered from parquet files written here in the hub schema."""
    files, asked = {}, []
    for index, (key, (columns, features)) in enumerate(HUB_ROWS.items()):
        path = tmp_path / f"{index}.parquet"
        datasets.Dataset.from_dict(columns, features=features).to_parquet(str(path))
        files[key] = path
    real = datasets.load_dataset

    def load_dataset(path, name=None, split=None, revision=None):
        asked.append((path, name, split, revision))
        return real("parquet", data_files={"data": str(files[(path, name, split)])},
                    split="data")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return asked


def hub_data(**revisions) -> dict:
    return {"source": "hub", "revisions": revisions}


def test_hub_nested_columns_and_letter_labels(hub):
    [example] = load_examples(hub_data(commonsenseqa="abc"), "commonsenseqa", "train", "en")
    assert example == {"context": "Where do fish live?",
                       "choices": ["tree", "sea", "sky", "desert", "car"], "label": 1}
    assert hub == [("tau/commonsense_qa", None, "train", "abc")]


def test_hub_columns_gathered_into_choices(hub):
    [example] = load_examples(hub_data(), "cosmosqa", "dev", "en")
    assert example["choices"] == ["rain", "sun", "wind", "none"] and example["label"] == 0
    assert hub[0][3] == PARQUET  # script-based: the parquet conversion


def test_hub_rows_without_gold_label_are_dropped(hub):
    from trainables.drops import DataLossError, counted_drops

    with pytest.raises(DataLossError, match="snli/train/en: 1 of 2 rows dropped"):
        load_examples(hub_data(snli="s"), "snli", "train", "en")  # half: over the 5% allowed
    with counted_drops() as dropped:
        examples = load_examples({**hub_data(snli="s"), "max_dropped_share": 0.5}, "snli",
                                 "train", "en")
    assert [e["premise"] for e in examples] == ["A man sleeps."]
    assert dropped == {"snli/train/en": 1}


def test_hub_language_picked_by_id_prefix(hub):
    [example] = load_examples(hub_data(), "tydiqa", "train", "en")
    assert example["id"] == "english-1"
    assert example["context"][12:18] == example["answers"]["text"][0]


def test_hub_tatoeba_loses_its_trailing_newline(hub):
    assert load_examples(hub_data(), "tatoeba", "test", "de") == [
        {"other": "Ich bin da.", "english": "I am here."}]
    assert hub[0][:3] == ("google/xtreme", "tatoeba.deu", "validation")


def test_tatoeba_languages_the_hub_copy_lacks_come_from_laser_files(hub, tmp_path):
    """google/xtreme holds XTREME's 36 Tatoeba languages; XTREME-R's Polish is LASER's file."""
    folder = tmp_path / "tatoeba"
    folder.mkdir()
    (folder / "tatoeba.pol-eng.pol").write_text("Jestem tu.\n", encoding="utf-8")
    (folder / "tatoeba.pol-eng.eng").write_text("I am here.\n", encoding="utf-8")
    data = {**hub_data(), "path": str(tmp_path)}
    assert load_examples(data, "tatoeba", "test", "pl") == [
        {"english": "I am here.", "other": "Jestem tu."}]
    assert hub == []  # the hub was not asked
    assert load_examples(data, "tatoeba", "test", "de")[0]["other"] == "Ich bin da."


def test_hub_class_labels_and_language_names(hub):
    [sentence] = load_examples(hub_data(), "udpos", "test", "de")
    labels = get_task("udpos").labels
    assert [labels[i] for i in sentence["tags"]] == ["PRON", "ADP", "ADV", "PUNCT"]


def test_hub_splits_concatenate(hub):
    examples = load_examples(hub_data(anli_plus="r"), "anli_plus", "dev", "en")
    assert [e["premise"] for e in examples] == ["p1", "p2", "p3"]
    assert [e["label"] for e in examples] == [2, 1, 0]



def test_anli_plus_trains_on_anli_mnli_and_snli(hub):
    from trainables.model import load_tokenizer
    from trainables.training import featurize_split

    tokenizer = load_tokenizer(TINY_MODEL)
    # The fake SNLI's one row without a gold label is half of it.
    config = {"data": {**hub_data(anli_plus="a", mnli="m", snli="s"), "max_dropped_share": 0.5},
              "max_length": 32}
    examples, features = featurize_split(config, get_task("anli_plus"), "train", "en",
                                         tokenizer)
    assert [e["premise"] for e in examples] == ["anli 1", "anli 2", "anli 3", "mnli p",
                                                "A man sleeps."]
    assert [f["labels"] for f in features] == [0, 1, 2, 1, 0]


def test_hub_multiple_choice_schemas(hub):
    [swag] = load_examples(hub_data(), "hellaswag", "train", "en")
    assert swag == {"context": "A man opens the door.",
                    "choices": ["he sleeps", "he walks in", "a", "b"], "label": 1}
    [siqa] = load_examples(hub_data(), "socialiqa", "dev", "en")
    assert siqa["choices"] == ["happy", "calm", "upset"] and siqa["label"] == 2
    [copa] = load_examples(hub_data(), "xcopa", "test", "et")
    assert copa == {"context": "Ese oli mullikilesse mähitud.", "question": "cause",
                    "label": 0, "choices": ["See oli õrn.", "See oli väike."]}


def test_hub_ner_and_mlqa_schemas(hub):
    # Quechua: one of the eight languages XTREME-R's WikiANN adds to XTREME's PAN-X.
    [sentence] = load_examples(hub_data(), "panx", "test", "qu")
    labels = get_task("panx").labels
    assert [labels[i] for i in sentence["tags"]] == ["B-PER", "I-PER", "B-LOC", "O"]
    assert sentence["tokens"][0] == "Angela"
    [question] = load_examples(hub_data(), "mlqa", "test", "de")
    assert question["answers"] == {"answer_start": [0], "text": ["Berlin"]}
    assert ("facebook/mlqa", "mlqa.de.de", "test", PARQUET) in hub



def _reads(task_name: str, example: dict) -> None:
    """The example has every field the task's family reads."""
    task = get_task(task_name)
    assert set(task.text_fields) <= example.keys()
    assert task.label_field is None or task.label_field in example


@pytest.mark.parametrize(("split", "hub_split", "label"), [
    ("dev", "validation", "contradiction"), ("test", "test", "neutral")])
def test_hub_xnli_per_language_config(hub, split, hub_split, label):
    [example] = load_examples(hub_data(), "xnli", split, "de")
    assert example == {"premise": f"Der Hund schläft. ({hub_split})",
                       "hypothesis": "Ein Tier ruht.",
                       "label": get_task("xnli").labels.index(label)}
    _reads("xnli", example)
    assert hub == [("facebook/xnli", "de", hub_split, PARQUET)]


@pytest.mark.parametrize(("split", "hub_split", "label"), [
    ("train", "train", 1), ("dev", "validation", 0), ("test", "test", 1)])
def test_hub_pawsx_per_language_config(hub, split, hub_split, label):
    [example] = load_examples(hub_data(), "pawsx", split, "de")
    assert example["sentence1"] == f"Sie zog 1990 nach Berlin. ({hub_split})"
    assert example["sentence2"] == "1990 zog sie nach Berlin."
    # The hub's "1" is a paraphrase: our "duplicate".
    assert get_task("pawsx").labels[example["label"]] == ("not_duplicate", "duplicate")[label]
    _reads("pawsx", example)
    assert hub == [("google-research-datasets/paws-x", "de", hub_split, PARQUET)]


@pytest.mark.parametrize(("split", "hub_split", "label"), [
    ("train", "train", "duplicate"), ("dev", "validation", "not_duplicate")])
def test_hub_qqp_from_glue(hub, split, hub_split, label):
    [example] = load_examples(hub_data(), "qqp", split, "en")
    assert example["question1"] == f"How do I learn Python? ({hub_split})"
    assert example["question2"] == "What is the best way to learn Python?"
    assert get_task("qqp").labels[example["label"]] == label
    _reads("qqp", example)
    assert hub == [("nyu-mll/glue", "qqp", hub_split, PARQUET)]


def test_hub_xnli_mt_is_facebook_xnli_train_per_language(hub):
    [example] = load_examples(hub_data(), "xnli_mt", "train", "de")
    assert example == {"premise": "Der Hund schläft. (train)", "hypothesis": "Ein Tier ruht.",
                       "label": get_task("xnli_mt").labels.index("entailment")}
    _reads("xnli", example)
    assert hub == [("facebook/xnli", "de", "train", PARQUET)]
    assert get_task("xnli").translations == get_task("xglue_xnli").translations == "xnli_mt"


def test_hub_pawsx_translations_under_each_label_set(hub):
    """pawsx_mt and xglue_pawsx_mt read the same hub rows; the hub's ClassLabel 1 (a
    paraphrase) is pawsx's "duplicate" and XGLUE's "1"."""
    for name, task_name, labels in (("pawsx_mt", "pawsx", ["not_duplicate", "duplicate"]),
                                    ("xglue_pawsx_mt", "xglue_pawsx", ["0", "1"])):
        examples = load_examples(hub_data(), name, "train", "fr")
        assert [e["sentence1"] for e in examples] == ["Il est né à Paris.", "Elle vit à Lyon."]
        source = get_task(name)
        assert [source.labels[e["label"]] for e in examples] == [labels[1], labels[0]]
        assert source.labels == get_task(task_name).labels
        _reads(task_name, examples[0])
    assert hub == [("google-research-datasets/paws-x", "fr", "train", PARQUET)] * 2


def test_hub_conll2002_for_xglue_ner_in_dutch(hub):
    source = get_task("xglue_ner_conll2002")
    assert source.labels == get_task("xglue_ner").labels == tuple(CONLL2002_NER)
    [train] = load_examples(hub_data(xglue_ner_conll2002="c"), source.name, "train", "nl")
    assert train["tokens"][:2] == ["Jan", "Peeters"]
    assert [source.labels[i] for i in train["tags"]] == [
        "B-PER", "I-PER", "O", "O", "B-ORG", "O", "B-LOC", "O"]
    [dev] = load_examples(hub_data(), source.name, "dev", "nl")
    assert [source.labels[i] for i in dev["tags"]] == ["O", "B-MISC", "I-MISC", "I-MISC"]
    _reads("xglue_ner", dev)
    assert hub == [("eriktks/conll2002", "nl", "train", "c"),
                   ("eriktks/conll2002", "nl", "validation", PARQUET)]
    with pytest.raises(ValueError, match="no 'test' split"):  # XGLUE's test stays its own
        load_examples(hub_data(), source.name, "test", "nl")


def test_hub_dev_as_train_slices_the_language_dev_split(hub):
    train = load_examples(hub_data(), "xglue_wpr_dev", "train", "de")
    dev = load_examples(hub_data(), "xglue_wpr_dev", "dev", "de")
    assert hub == [("hgissbkh/xglue", "wpr", "validation.de", PARQUET)] * 2
    assert train and dev and len(train) + len(dev) == 2 * len(WPR_DEV_QUERIES)
    assert {e["query"] for e in train}.isdisjoint(e["query"] for e in dev)
    labels = get_task("xglue_wpr_dev").labels
    assert [labels[e["label"]] for e in dev[:2]] == ["4", "0"]  # Perfect, Bad
    _reads("xglue_wpr", train[0])


def test_hub_squad_keeps_every_gold_answer(hub):
    [train] = load_examples(hub_data(), "squad", "train", "en")
    [dev] = load_examples(hub_data(squad="pinned"), "squad", "dev", "en")
    assert train["id"] == "s-train" and train["question"] == "Who won?"
    assert train["answers"] == {"text": ["Denver"], "answer_start": [0]}
    assert dev["context"] == "The Broncos beat the Panthers."
    assert dev["answers"] == {"text": ["The Broncos", "Broncos", "Broncos"],
                              "answer_start": [0, 4, 4]}
    _reads("squad", dev)
    assert hub == [("rajpurkar/squad", "plain_text", "train", PARQUET),
                   ("rajpurkar/squad", "plain_text", "validation", "pinned")]


def test_hub_squad_v2_keeps_unanswerable_questions(hub):
    [train] = load_examples(hub_data(), "squad_v2", "train", "en")
    assert train["answers"] == {"text": ["France"], "answer_start": [15]}
    answerable, unanswerable = load_examples(hub_data(), "squad_v2", "dev", "en")
    assert answerable["id"] == "v2-a"
    assert answerable["answers"] == {"text": ["France"], "answer_start": [15]}
    assert unanswerable["id"] == "v2-u" and unanswerable["question"] == "Where is Paris?"
    assert unanswerable["answers"] == {"text": [], "answer_start": []}
    assert hub == [("rajpurkar/squad_v2", "squad_v2", "train", PARQUET),
                   ("rajpurkar/squad_v2", "squad_v2", "validation", PARQUET)]


def test_hub_xquad_reads_the_google_copy(hub):
    """With `source: hub`, XQuAD comes from google/xquad, not from its local JSON files."""
    [example] = load_examples(hub_data(), "xquad", "test", "de")
    assert example == {"id": "x1", "context": "Die Broncos besiegten die Panthers.",
                       "question": "Wer besiegte die Panthers?",
                       "answers": {"text": ["Die Broncos"], "answer_start": [0]}}
    assert hub == [("google/xquad", "xquad.de", "validation", PARQUET)]

def test_xtreme_r_pos_reads_ud_2_7_treebanks_by_language_name(tmp_path):
    treebank = tmp_path / "ud-2.7" / "UD_Wolof-WTB"
    treebank.mkdir(parents=True)
    (treebank / "wo_wtb-ud-test.conllu").write_text(
        "# sent_id = 1\n1\tMaa\tmaa\tPRON\t_\t_\t0\troot\t_\t_\n"
        "2\tdem\tdem\tVERB\t_\t_\t1\tdep\t_\t_\n\n", encoding="utf-8")
    data = {"source": "local", "path": str(tmp_path)}
    assert load_examples(data, "udpos_r", "test", "wo") == [
        {"tokens": ["Maa", "dem"], "tags": ["PRON", "VERB"]}]
    assert get_task("udpos_r").labels == get_task("udpos").labels
