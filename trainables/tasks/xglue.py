"""XGLUE's nine understanding tasks (Liang et al. 2020): one entry each.

Two sources. Local: XGLUE's archive `xglue_full_dataset.tar.gz` unpacked under `data.path`
(its terms allow non-commercial research only, so nothing fetches it), read in its own
formats, the layout XGLUE's `xglue_evaluate.py` reads its ground truth from. Hub: a parquet
copy (`hgissbkh/xglue`) whose split names carry the language (`validation.de`), through the
datasets script's column names in both spellings its versions used. English training data
is each task's own `en` train file; dev sets exist in every language.

XGLUE scores every task by its own metric, averaged over all its languages, English
included: seqeval F1 for NER, seqeval *precision* for POS (what its scorer computes, though
its README says accuracy; token accuracy is reported beside it), MLQA's F1 alone, nDCG over
runs of the same query for WPR, accuracy for the rest.
"""

from __future__ import annotations

from trainables.tasks import languages as lang
from trainables.tasks.schema import Family, FileFormat, HubSource, LocalSource, Scorer, Task
from trainables.tasks.synthetic import NLI_LABELS

ROOT = "xglue_full_dataset"
HUB_PATH = "hgissbkh/xglue"
_HUB_SPLITS = {"train": "train", "dev": "validation.{code}", "test": "test.{code}"}
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
NEWS_CATEGORIES = ("foodanddrink", "sports", "travel", "finance", "lifestyle", "news",
                   "entertainment", "health", "video", "autos")  # the hub copy's label order
BINARY = ("0", "1")
RELEVANCE_GRADES = ("0", "1", "2", "3", "4")  # bad, fair, good, excellent, perfect

# The leaderboard's "unique task score" (since 2021-04-28): the tasks new in XGLUE.
SUBSCORES = {"unique": ("xglue_nc", "xglue_qadsm", "xglue_wpr", "xglue_qam")}

# XGLUE's generation tasks: named here so a spec that asks for them is told why not.
UNSUPPORTED = {
    "xglue_qg": "XGLUE's question generation is sequence-to-sequence (BLEU of generated "
                "text); this engine fine-tunes encoders",
    "xglue_ntg": "XGLUE's news title generation is sequence-to-sequence (BLEU of generated "
                 "text); this engine fine-tunes encoders",
}


def _files(name: str) -> dict[str, str]:
    """NC, QADSM, WPR and QAM: `xglue.<task>.<lang>.<split>`."""
    return {split: f"xglue.{name}.{{code}}.{split}" for split in ("train", "dev", "test")}


_WORD_FILES = {split: f"{{code}}.{split}" for split in ("train", "dev", "test")}


def _xglue(name: str, folder: str, files: dict[str, str], format: FileFormat,
           columns: tuple[str, ...] = (), hub_columns: dict | None = None,
           hub_languages: tuple[str, ...] | None = None, label_aliases: dict | None = None,
           **kwargs) -> Task:
    return Task(
        name=f"xglue_{name}", benchmarks=("xglue",), roles=("target",),
        local=LocalSource(format, f"{ROOT}/{folder}", files, columns=columns,
                          label_aliases=label_aliases or {}),
        hub=HubSource(HUB_PATH, name if name != "pawsx" else "paws-x", splits=_HUB_SPLITS,
                      columns=hub_columns or {}, languages=hub_languages),
        **kwargs)


def _classification(name: str, folder: str, fields: tuple[str, ...], hub_label: str,
                    **kwargs) -> Task:
    hub_columns = {field: kwargs.pop(f"hub_{field}", field) for field in fields}
    return _xglue(name, folder, kwargs.pop("files", _files(name)), FileFormat.XGLUE_TSV,
                  columns=(*fields, "label"), hub_columns={**hub_columns, "label": hub_label},
                  family=kwargs.pop("family", Family.CLASSIFICATION),
                  metric=kwargs.pop("metric", "accuracy"),
                  scorer=kwargs.pop("scorer", Scorer.ACCURACY), text_fields=fields, **kwargs)


def _tagging(name: str, folder: str, **kwargs) -> Task:
    return _xglue(name, folder, _WORD_FILES, FileFormat.XGLUE_CONLL,
                  hub_columns={"tokens": "words", "tags": name}, family=Family.TAGGING,
                  scorer=Scorer.SEQEVAL, text_fields=("tokens",), label_field="tags", **kwargs)


XGLUE_TASKS: tuple[Task, ...] = (
    _tagging("ner", "NER", languages=lang.XGLUE_NER, labels=NER_TAGS, metric="f1"),
    _tagging("pos", "POS", languages=lang.XGLUE_POS,
             labels=("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
                     "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"),
             metric="precision",
             # The datasets script (and so the hub copy) drops Portuguese: read from the files.
             hub_languages=tuple(code for code in lang.XGLUE_POS if code != "pt")),
    _xglue("mlqa", "MLQA", {
        "train": "squad1.1/train-v1.1.json",
        "dev": "MLQA_V1/dev/dev-context-{code}-question-{code}.json",
        "test": "MLQA_V1/test/test-context-{code}-question-{code}.json"},
        FileFormat.SQUAD_JSON, family=Family.SPAN_QA, languages=lang.XGLUE_MLQA,
        metric="f1", scorer=Scorer.MLQA, label_field=None, max_length=384,
        headline_from=("f1",)),
    _classification("nc", "NC", ("news_title", "news_body"), "news_category",
                    languages=lang.XGLUE_NC, labels=NEWS_CATEGORIES),
    _classification("xnli", "XNLI", ("premise", "hypothesis"), "label",
                    files={"train": "multinli.train.{code}.tsv", "dev": "{code}.dev",
                           "test": "{code}.test"},
                    languages=lang.XGLUE_XNLI, labels=NLI_LABELS,
                    label_aliases={"contradictory": "contradiction"}),  # the MNLI train file's
    _classification("pawsx", "PAWSX", ("sentence1", "sentence2"), "label",
                    files={"train": "{code}/train.tsv", "dev": "{code}/dev_2k.tsv",
                           "test": "{code}/test_2k.tsv"},
                    languages=lang.XGLUE_PAWSX, labels=BINARY),
    _classification("qadsm", "QADSM", ("query", "ad_title", "ad_description"),
                    "relevance_label", languages=lang.XGLUE_QADSM, labels=("Bad", "Good")),
    _classification("wpr", "WPR", ("query", "web_page_title", "web_page_snippet"),
                    "relavance_label",  # sic, the datasets script's spelling
                    hub_web_page_title=("web_page_title", "wed_page_title"),
                    family=Family.RELEVANCE, metric="ndcg", scorer=Scorer.XGLUE_NDCG,
                    languages=lang.XGLUE_WPR, labels=RELEVANCE_GRADES),
    _classification("qam", "QAM", ("question", "answer"), "label",
                    hub_answer=("answer", "annswer"), languages=lang.XGLUE_QAM, labels=BINARY),
)
