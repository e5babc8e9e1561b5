"""The task registry: one declarative entry per task.

A task says where its data comes from, which fields hold the text and the label, which
languages it has, where its English training data comes from and how it is scored. What a
task *does* with that (featurisation, head, metric) belongs to its family
(`trainables.families`), so adding a task is one entry here and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

SYNTHETIC_LANGUAGES = ("en", "de", "fr", "sw", "ru", "ar", "hi", "zh")

NLI_LABELS = ("entailment", "neutral", "contradiction")
PARAPHRASE_LABELS = ("not_duplicate", "duplicate")
SYNTHETIC_POS_TAGS = ("PROPN", "NUM", "VERB", "ADJ", "NOUN", "ADP", "DET", "PART")
UD_POS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
    "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip


# The hub's parquet conversion of a dataset: the revision that loads with datasets >= 4 even
# for script-based datasets. A branch, not a commit: a run resolves it to the commit it names
# when the run starts and reads that commit throughout (sweep.preflight.pin_revisions).
PARQUET = "refs/convert/parquet"


@dataclass(frozen=True)
class HubSource:
    """Where a task lives on the Hugging Face hub, and how its rows become examples.

    `config` may contain `{code}`, the language's code on the hub (`language_codes`, else the
    language itself). `splits` maps our split names (train, dev, test) to the hub's; a tuple
    concatenates several. `columns` maps our field names to hub columns (`a.b` reads a nested
    field), `lists` gathers several hub columns into one list field (answer0..answer3 ->
    choices), and `label_values` lists the raw hub labels in our label order: rows with any
    other label (SNLI's -1, no gold label) are dropped. `id_prefix` picks a language's rows by
    their id (TyDiQA keeps every language in one config).
    """

    path: str
    config: str | None = None
    revision: str = PARQUET
    splits: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    label_values: tuple | None = None
    id_prefix: Mapping[str, str] = field(default_factory=dict)
    # The task's languages this copy holds, where it lacks some (google/xtreme's Tatoeba has
    # XTREME's 36 of XTREME-R's 41): the others are read from the task's local files.
    languages: tuple[str, ...] | None = None

    def config_for(self, code: str) -> str | None:
        return self.config.format(code=code) if self.config else None


@dataclass(frozen=True)
class LocalSource:
    """A task's files in their original format under `<data.path>/<folder>/`.

    `files` maps each split to a glob (with `{language}` and `{code}`) relative to the folder,
    or a tuple of globs read in order; every match is read with the `format`'s reader
    (`trainables.readers`) and concatenated. Tasks without one use the offline benchmark's
    layout, `<task>/<split>-<language>.jsonl`.
    """

    format: str  # squad_json | conllu | laser_tatoeba | bucc | ccgbank_auto | lareqa_json | ...
    folder: str
    files: Mapping[str, str | tuple[str, ...]]
    # Where one file holds every language (Mewsli-X's mentions): the example field that names
    # the language; examples of other languages are dropped, examples without it kept.
    language_field: str | None = None


@dataclass(frozen=True)
class Task:
    """One task: data, fields, languages and metric. Families interpret the rest."""

    name: str
    family: str  # classification | multiple_choice | tagging | span_qa | dual_encoder | retrieval
    languages: tuple[str, ...]
    metric: str  # the metric model selection and the tables use
    scorer: str  # the reference scorer: accuracy, seqeval, squad_v1, squad_v2, mlqa, ...
    text_fields: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    # The label set is every label in the task's files, not a fixed list (CCG supertags: the
    # categories of the CCGbank copy in use); `trainables.data.task_with_labels` fills `labels`.
    labels_from_data: bool = False
    label_field: str | None = "label"
    roles: tuple[str, ...] = ("target",)  # intermediate | target | retrieval
    train_task: str | None = None  # English training data comes from this task (XNLI <- MNLI)
    train_also: tuple[str, ...] = ()  # tasks whose English training data is added (ANLI+)
    dev_task: str | None = None  # English dev data (model selection) from this task
    max_length: int = 256  # X-STILTs: 256, 384 for QA (the span-QA default)
    query_length: int | None = None  # dual encoders: the queries' own limit (else max_length)
    # Splits whose candidate pool is every language's candidates (LAReQA's test).
    pooled_splits: tuple[str, ...] = ()
    synthetic: bool = False
    hub: HubSource | None = None
    local: LocalSource | None = None
    language_codes: Mapping[str, str] = field(default_factory=dict)  # ours -> hub/file code
    benchmarks: tuple[str, ...] = ()  # xtreme, xtreme-r: the aggregate scores it counts in
    # The languages a benchmark averages over, where it counts fewer than `languages`
    # (XTREME's 40 PAN-X languages of WikiANN's 48 in XTREME-R).
    benchmark_languages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def source_splits(self) -> tuple[str, ...]:
        """The splits of its original files, else of its hub copy (none for the offline
        benchmark's layout)."""
        source = self.local or self.hub
        return tuple(source.files if self.local else source.splits) if source else ()

    @cached_property
    def label_ids(self) -> dict[str, int]:
        """Label name -> index (CCG has over a thousand supertags: no list search per token)."""
        return {label: index for index, label in enumerate(self.labels)}

    @property
    def training_task(self) -> str:
        return self.train_task or self.name

    def code(self, language: str) -> str:
        return self.language_codes.get(language, language)

    def reads_hub(self, data_source: str, language: str) -> bool:
        """Whether a run with `data.source: data_source` reads `language` from the hub (else
        from the task's files)."""
        return (data_source == "hub" and self.hub is not None
                and (self.hub.languages is None or language in self.hub.languages))

    def languages_in(self, benchmark: str) -> tuple[str, ...]:
        """The languages `benchmark`'s score averages this task over."""
        return self.benchmark_languages.get(benchmark, self.languages)


def _synthetic(**kwargs) -> Task:
    return Task(synthetic=True, max_length=64, **kwargs)


XTREME_BENCHMARKS = ("xtreme", "xtreme-r")

XNLI_LANGUAGES = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur",
                  "vi", "zh")
PAWSX_LANGUAGES = ("en", "de", "es", "fr", "ja", "ko", "zh")
XCOPA_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
UDPOS_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "kk": "Kazakh", "ko": "Korean",
    "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian", "ta": "Tamil",
    "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}  # fmt: skip
# XTREME-R's UD-POS: XTREME's 33 languages and five more, from UD 2.7.
UDPOS_R_NAMES = {**UDPOS_NAMES, "lt": "Lithuanian", "pl": "Polish", "uk": "Ukrainian",
                 "wo": "Wolof", "ro": "Romanian"}
PANX_LANGUAGES = (
    "en", "af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he", "hi",
    "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru",
    "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh",
)  # fmt: skip
# XTREME-R's WikiANN: the same Rahimi et al. splits in eight more languages.
PANX_R_LANGUAGES = (*PANX_LANGUAGES, "qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
XQUAD_LANGUAGES = ("en", "ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_LANGUAGES = ("en", "ar", "de", "es", "hi", "vi", "zh")
TYDIQA_PREFIXES = {
    "en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
}  # fmt: skip
TATOEBA_CODES = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa",
    "et": "est", "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
    "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz",
    "ko": "kor", "ml": "mal", "mr": "mar", "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh",
    "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl", "tr": "tur", "ur": "urd", "vi": "vie",
    "zh": "cmn",
}  # fmt: skip
# XTREME-R's Tatoeba: five more of LASER's test sets (evaluate.py's XTREME_R_TASK2LANGS).
TATOEBA_R_CODES = {**TATOEBA_CODES, "az": "aze", "lt": "lit", "pl": "pol", "uk": "ukr",
                   "ro": "ron"}
# XTREME-R's XQuAD adds Romanian.
XQUAD_R_LANGUAGES = (*XQUAD_LANGUAGES, "ro")
BUCC_LANGUAGES = ("de", "fr", "ru", "zh")
MEWSLIX_LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")

_NLI_COLUMNS = {"premise": "premise", "hypothesis": "hypothesis", "label": "label"}
_SQUAD_SPLITS = {"train": "train", "dev": "validation"}
_COPA_LISTS = {"choices": ("choice1", "choice2")}
_COPA_COLUMNS = {"context": "premise", "question": "question", "label": "label"}


_TRAIN_DEV_TEST = {"train": "train", "dev": "validation", "test": "test"}
# Every treebank of the language, as XTREME concatenates them.
_UD_FILES = {split: f"UD_{{code}}-*/*-ud-{split}.conllu" for split in ("train", "dev", "test")}


def _udpos(**kwargs) -> Task:
    return Task(family="tagging", metric="f1", scorer="seqeval", text_fields=("tokens",),
                label_field="tags", labels=UD_POS_TAGS, **kwargs)


def _classification(**kwargs) -> Task:
    return Task(family="classification", metric="accuracy", scorer="accuracy", **kwargs)


def _multiple_choice(**kwargs) -> Task:
    return Task(family="multiple_choice", metric="accuracy", scorer="accuracy", **kwargs)


def _span_qa(scorer: str = "squad_v1", **kwargs) -> Task:
    return Task(family="span_qa", metric="f1", scorer=scorer, label_field=None, max_length=384,
                **kwargs)


_TASKS: tuple[Task, ...] = (
    # --- the offline benchmark (generated by trainables.offline.benchmark; labelled synthetic) ---
    _synthetic(
        name="synth_nli", family="classification", text_fields=("premise", "hypothesis"),
        languages=("en",), labels=NLI_LABELS, metric="accuracy", scorer="accuracy",
        roles=("intermediate",),
    ),
    _synthetic(
        name="synth_para", family="classification", text_fields=("sentence1", "sentence2"),
        languages=("en",), labels=PARAPHRASE_LABELS, metric="accuracy", scorer="accuracy",
        roles=("intermediate",),
    ),
    _synthetic(
        name="synth_xnli", family="classification", text_fields=("premise", "hypothesis"),
        languages=SYNTHETIC_LANGUAGES, labels=NLI_LABELS, metric="accuracy", scorer="accuracy",
        roles=("intermediate", "target"),
    ),
    _synthetic(
        name="synth_pos", family="tagging", text_fields=("tokens",), label_field="tags",
        languages=SYNTHETIC_LANGUAGES, labels=SYNTHETIC_POS_TAGS, metric="accuracy",
        scorer="accuracy", roles=("intermediate", "target"),
    ),
    _synthetic(
        name="synth_tatoeba", family="retrieval", text_fields=("english", "other"),
        label_field=None, languages=SYNTHETIC_LANGUAGES[1:], metric="accuracy",
        scorer="tatoeba", roles=("retrieval",),
    ),
    _synthetic(
        name="synth_swag", family="multiple_choice", languages=("en",), metric="accuracy",
        scorer="accuracy", roles=("intermediate",),
    ),
    _synthetic(
        name="synth_xcopa", family="multiple_choice", languages=SYNTHETIC_LANGUAGES,
        metric="accuracy", scorer="accuracy", roles=("intermediate", "target"),
    ),
    _synthetic(
        name="synth_squad", family="span_qa", languages=("en",), metric="f1", scorer="squad_v1",
        label_field=None, roles=("intermediate",),
    ),
    _synthetic(
        name="synth_xquad", family="span_qa", languages=SYNTHETIC_LANGUAGES, metric="f1",
        scorer="squad_v1", label_field=None, train_task="synth_squad",
    ),
    _synthetic(
        # CCGbank's AUTO format and section layout (train in two sections, dev 00, test 23).
        name="synth_ccg", family="tagging", text_fields=("tokens",), label_field="tags",
        languages=("en",), labels_from_data=True, metric="accuracy", scorer="accuracy",
        roles=("intermediate",),
        local=LocalSource("ccgbank_auto", "synth_ccg", {
            "train": ("data/AUTO/02/*.auto", "data/AUTO/03/*.auto"),
            "dev": "data/AUTO/00/*.auto", "test": "data/AUTO/23/*.auto"}),
    ),
    _synthetic(
        # LAReQA-like: SQuAD-format JSON, test files with XQuAD-R's sentence breaks, training
        # files without (found by the rule-based breaker, as for SQuAD).
        name="synth_lareqa", family="dual_encoder", languages=SYNTHETIC_LANGUAGES,
        metric="map@20", scorer="lareqa", label_field=None, pooled_splits=("test",),
        local=LocalSource("lareqa_json", "synth_lareqa", {
            "train": "train-en.json", "dev": "dev-en.json", "test": "test-{code}.json"}),
    ),
    _synthetic(
        name="synth_bucc", family="retrieval", languages=SYNTHETIC_LANGUAGES[1:], metric="f1",
        scorer="bucc", label_field=None, roles=("retrieval",),
        local=LocalSource("bucc", "synth_bucc", {"dev": "{code}-en.sample",
                                                 "test": "{code}-en.test"}),
    ),
    # --- sentence and sentence-pair classification ---
    _classification(
        name="mnli", text_fields=("premise", "hypothesis"), languages=("en",), labels=NLI_LABELS,
        roles=("intermediate",),
        hub=HubSource("nyu-mll/glue", "mnli", splits={"train": "train",
                                                      "dev": "validation_matched"}),
    ),
    _classification(
        name="snli", text_fields=("premise", "hypothesis"), languages=("en",), labels=NLI_LABELS,
        roles=(),  # only part of ANLI+
        hub=HubSource("stanfordnlp/snli", "plain_text", splits=_SQUAD_SPLITS,
                      columns=_NLI_COLUMNS, label_values=(0, 1, 2)),
    ),
    _classification(
        # ANLI+ (X-STILTs): ANLI rounds 1-3 with MNLI and SNLI, gold labels only.
        name="anli_plus", text_fields=("premise", "hypothesis"), languages=("en",),
        labels=NLI_LABELS, roles=("intermediate",), train_also=("mnli", "snli"),
        hub=HubSource("facebook/anli", "plain_text",
                      splits={"train": ("train_r1", "train_r2", "train_r3"),
                              "dev": ("dev_r1", "dev_r2", "dev_r3")},
                      label_values=(0, 1, 2)),
    ),
    _classification(
        name="qqp", text_fields=("question1", "question2"), languages=("en",),
        labels=PARAPHRASE_LABELS, roles=("intermediate",),
        hub=HubSource("nyu-mll/glue", "qqp", splits={"train": "train", "dev": "validation"}),
    ),
    _classification(
        name="xnli", text_fields=("premise", "hypothesis"), languages=XNLI_LANGUAGES,
        labels=NLI_LABELS, train_task="mnli", benchmarks=XTREME_BENCHMARKS,
        hub=HubSource("facebook/xnli", "{code}", splits={"dev": "validation", "test": "test"}),
    ),
    _classification(
        # The original dataset: google/xtreme's PAWS-X configs lose rows.
        name="pawsx", text_fields=("sentence1", "sentence2"), languages=PAWSX_LANGUAGES,
        labels=PARAPHRASE_LABELS, benchmarks=("xtreme",),  # XTREME-R dropped PAWS-X
        hub=HubSource("google-research-datasets/paws-x", "{code}",
                      splits=_TRAIN_DEV_TEST),
    ),
    # --- multiple choice ---
    _multiple_choice(
        name="hellaswag", languages=("en",), roles=("intermediate",),
        hub=HubSource("Rowan/hellaswag", splits=_SQUAD_SPLITS,
                      columns={"context": "ctx", "choices": "endings", "label": "label"},
                      label_values=("0", "1", "2", "3")),
    ),
    _multiple_choice(
        name="cosmosqa", languages=("en",), roles=("intermediate",),
        hub=HubSource("allenai/cosmos_qa", splits=_SQUAD_SPLITS,
                      columns={"context": "context", "question": "question", "label": "label"},
                      lists={"choices": ("answer0", "answer1", "answer2", "answer3")}),
    ),
    _multiple_choice(
        name="commonsenseqa", languages=("en",), roles=("intermediate",),
        hub=HubSource("tau/commonsense_qa", splits=_SQUAD_SPLITS,
                      columns={"context": "question", "choices": "choices.text",
                               "label": "answerKey"},
                      label_values=("A", "B", "C", "D", "E")),
    ),
    _multiple_choice(
        name="socialiqa", languages=("en",), roles=("intermediate",),
        hub=HubSource("allenai/social_i_qa", splits=_SQUAD_SPLITS,
                      columns={"context": "context", "question": "question", "label": "label"},
                      lists={"choices": ("answerA", "answerB", "answerC")},
                      label_values=("1", "2", "3")),
    ),
    _multiple_choice(
        name="copa", languages=("en",), roles=("intermediate",),
        hub=HubSource("aps/super_glue", "copa", splits=_SQUAD_SPLITS,
                      columns=_COPA_COLUMNS, lists=_COPA_LISTS),
    ),
    _multiple_choice(
        # XTREME-R: trained on COPA (optionally after SocialIQA as the intermediate task).
        name="xcopa", languages=XCOPA_LANGUAGES, train_task="copa", dev_task="copa",
        benchmarks=("xtreme-r",),
        hub=HubSource("cambridgeltl/xcopa", "{code}",
                      splits={"dev": "validation", "test": "test"},
                      columns=_COPA_COLUMNS, lists=_COPA_LISTS),
    ),
    # --- tagging ---
    _udpos(
        # XTREME's: UD 2.5.
        name="udpos", languages=tuple(UDPOS_NAMES), language_codes=UDPOS_NAMES,
        benchmarks=("xtreme",),
        hub=HubSource("google/xtreme", "udpos.{code}", splits=_TRAIN_DEV_TEST,
                      columns={"tokens": "tokens", "tags": "pos_tags"}),
        local=LocalSource("conllu", "ud", _UD_FILES),
    ),
    _udpos(
        # XTREME-R's: UD 2.7, 38 languages; no hub copy of every treebank, so its files.
        name="udpos_r", languages=tuple(UDPOS_R_NAMES), language_codes=UDPOS_R_NAMES,
        benchmarks=("xtreme-r",), local=LocalSource("conllu", "ud-2.7", _UD_FILES),
    ),
    Task(
        # WikiANN with Rahimi et al.'s splits (PAN-X): XTREME counts 40 of its languages.
        name="panx", family="tagging", languages=PANX_R_LANGUAGES, metric="f1",
        scorer="seqeval", text_fields=("tokens",), label_field="tags", labels=NER_TAGS,
        benchmarks=XTREME_BENCHMARKS, benchmark_languages={"xtreme": PANX_LANGUAGES},
        hub=HubSource("unimelb-nlp/wikiann", "{code}", splits=_TRAIN_DEV_TEST,
                      columns={"tokens": "tokens", "tags": "ner_tags"}),
    ),
    Task(
        # CCGbank 1.1 (LDC2005T13), the unpacked release under <data.path>/ccgbank/, read from
        # its AUTO derivations with the standard split: sections 02-21 train, 00 dev, 23 test.
        name="ccg", family="tagging", languages=("en",), metric="accuracy", scorer="accuracy",
        text_fields=("tokens",), label_field="tags", labels_from_data=True,
        roles=("intermediate",),
        local=LocalSource("ccgbank_auto", "ccgbank", {
            "train": tuple(f"data/AUTO/{section:02d}/*.auto" for section in range(2, 22)),
            "dev": "data/AUTO/00/*.auto", "test": "data/AUTO/23/*.auto"}),
    ),
    # --- span QA ---
    _span_qa(name="squad", languages=("en",), roles=("intermediate",),
             hub=HubSource("rajpurkar/squad", "plain_text", splits=_SQUAD_SPLITS)),
    _span_qa(name="squad_v2", scorer="squad_v2", languages=("en",), roles=("intermediate",),
             hub=HubSource("rajpurkar/squad_v2", "squad_v2", splits=_SQUAD_SPLITS)),
    _span_qa(
        name="xquad", languages=XQUAD_R_LANGUAGES, train_task="squad", dev_task="squad",
        benchmarks=XTREME_BENCHMARKS, benchmark_languages={"xtreme": XQUAD_LANGUAGES},
        hub=HubSource("google/xquad", "xquad.{code}", splits={"test": "validation"}),
        local=LocalSource("squad_json", "xquad", {"test": "xquad.{code}.json"}),
    ),
    _span_qa(
        # Context and question in the same language (MLQA's cross-language pairs are not used).
        name="mlqa", scorer="mlqa", languages=MLQA_LANGUAGES, train_task="squad",
        benchmarks=XTREME_BENCHMARKS,
        hub=HubSource("facebook/mlqa", "mlqa.{code}.{code}",
                      splits={"dev": "validation", "test": "test"}),
    ),
    _span_qa(
        # GoldP; every language in one config, told apart by id ("english-...").
        name="tydiqa", languages=tuple(TYDIQA_PREFIXES),
        benchmarks=XTREME_BENCHMARKS,
        hub=HubSource("google-research-datasets/tydiqa", "secondary_task",
                      # No separate dev set: the English validation part selects models.
                      splits={"train": "train", "dev": "validation", "test": "validation"},
                      id_prefix=TYDIQA_PREFIXES),
    ),
    # --- retrieval trained as a dual encoder (XTREME-R) ---
    Task(
        # XQuAD-R: a question retrieves its answer sentence (with its paragraph) in all 11
        # languages from one pool of every sentence of every language; trained on SQuAD v1.1
        # with the answer sentences XTREME-R's sentence breaker finds. XTREME's download
        # layout under <data.path>: squad/*-v1.1.json and lareqa/xquad-r/<lang>.json.
        name="lareqa", family="dual_encoder", languages=XQUAD_LANGUAGES, metric="map@20",
        scorer="lareqa", label_field=None, max_length=256, query_length=96,
        benchmarks=("xtreme-r",), pooled_splits=("test",),
        local=LocalSource("lareqa_json", "", {
            "train": "squad/train-v1.1.json", "dev": "squad/dev-v1.1.json",
            "test": "lareqa/xquad-r/{code}.json"}),
    ),
    Task(
        # WikiNews mentions retrieve their WikiData entity from a million entity descriptions
        # in 50 languages; trained on English Wikipedia mention-entity pairs. The dataset as
        # google-research's get-mewsli-x.sh builds it (text restored, test labels kept),
        # copied to <data.path>/mewsli-x/.
        name="mewsli_x", family="dual_encoder", languages=MEWSLIX_LANGUAGES, metric="map@20",
        scorer="mewsli_x", label_field=None, max_length=64, benchmarks=("xtreme-r",),
        local=LocalSource("mewsli_x", "mewsli-x", {
            "train": "wikipedia_pairs-train.jsonl", "dev": "wikipedia_pairs-dev.jsonl",
            "test": ("wikinews_mentions-test.jsonl", "candidate_set_entities.jsonl")},
            language_field="language"),
    ),
    # --- retrieval (no training) ---
    Task(
        name="tatoeba", family="retrieval", languages=tuple(TATOEBA_R_CODES),
        metric="accuracy", scorer="tatoeba", label_field=None, roles=("retrieval",),
        language_codes=TATOEBA_R_CODES, benchmarks=XTREME_BENCHMARKS,
        benchmark_languages={"xtreme": tuple(TATOEBA_CODES)},
        # Hub sentences keep a trailing newline; the loader strips it. google/xtreme holds
        # XTREME's 36: XTREME-R's five others come from LASER's files.
        hub=HubSource("google/xtreme", "tatoeba.{code}",
                      splits={"test": "validation"},
                      columns={"other": "source_sentence", "english": "target_sentence"},
                      languages=tuple(TATOEBA_CODES)),
        local=LocalSource("laser_tatoeba", "tatoeba", {"test": "tatoeba.{code}-eng"}),
    ),
    Task(
        # Mining needs every sentence, which hub copies lack (they hold the gold pairs only):
        # the original BUCC 2018 files, where XTREME uses `sample` as dev and `training` as test.
        name="bucc2018", family="retrieval", languages=BUCC_LANGUAGES, metric="f1",
        scorer="bucc", label_field=None, roles=("retrieval",), benchmarks=("xtreme",),
        local=LocalSource("bucc", "bucc2018", {"dev": "{code}-en.sample",
                                               "test": "{code}-en.training"}),
    ),
)

REGISTRY: dict[str, Task] = {task.name: task for task in _TASKS}


def get_task(name: str) -> Task:
    """The registry entry called `name`; KeyError lists the known names."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown task {name!r}; known tasks: {known}") from None


def tasks_with_role(role: str) -> list[str]:
    """Names of the tasks that can play `role` (intermediate, target or retrieval)."""
    return sorted(name for name, task in REGISTRY.items() if role in task.roles)
