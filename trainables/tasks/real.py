"""The real tasks: X-STILTs' intermediate tasks, XTREME's and XTREME-R's targets and
retrieval tasks. One entry per task; its family (`trainables.families`) does the rest."""

from __future__ import annotations

from dataclasses import replace

from trainables.tasks import languages as lang
from trainables.tasks.schema import (
    XTREME_BENCHMARKS,
    DevSlice,
    Family,
    FileFormat,
    HubSource,
    LocalSource,
    PredictionFormat,
    Scorer,
    Task,
    XtremeFiles,
)
from trainables.tasks.synthetic import NLI_LABELS, PARAPHRASE_LABELS

UD_POS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
    "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

_NLI_COLUMNS = {"premise": "premise", "hypothesis": "hypothesis", "label": "label"}
_TRAIN_DEV = {"train": "train", "dev": "validation"}
_TRAIN_DEV_TEST = {"train": "train", "dev": "validation", "test": "test"}
_COPA_LISTS = {"choices": ("choice1", "choice2")}
_COPA_COLUMNS = {"context": "premise", "question": "question", "label": "label"}
# Every treebank of the language, as XTREME concatenates them.
_UD_FILES = {split: f"UD_{{code}}-*/*-ud-{split}.conllu" for split in ("train", "dev", "test")}
_QA_FILES = XtremeFiles(PredictionFormat.ANSWERS)
# The original PAWS-X (google/xtreme's PAWS-X configs lose rows); its train split in a
# language other than English is the English one machine-translated by PAWS-X's makers.
PAWSX_HUB = HubSource("google-research-datasets/paws-x", "{code}", splits=_TRAIN_DEV_TEST)


def _classification(**kwargs) -> Task:
    return Task(family=Family.CLASSIFICATION, metric="accuracy", scorer=Scorer.ACCURACY,
                **kwargs)


def _multiple_choice(**kwargs) -> Task:
    return Task(family=Family.MULTIPLE_CHOICE, metric="accuracy", scorer=Scorer.ACCURACY,
                **kwargs)


def _tagging(**kwargs) -> Task:
    """XTREME's POS and NER: chunk F1 over the tags (seqeval 0.0.12, POS included)."""
    return Task(family=Family.TAGGING, metric="f1", scorer=Scorer.SEQEVAL,
                text_fields=("tokens",), label_field="tags", **kwargs)


def _span_qa(scorer: Scorer = Scorer.SQUAD_V1, **kwargs) -> Task:
    return Task(family=Family.SPAN_QA, metric="f1", scorer=scorer, label_field=None,
                max_length=384, **kwargs)


def data_entry(task: Task, name: str, languages: tuple[str, ...], *,
               hub: HubSource | None = None, local: LocalSource | None = None,
               dev_slice: DevSlice | None = None) -> Task:
    """An entry holding target-language data of `task` for the direct arms
    (`trainables.arms`): `task`'s family, fields, labels and lengths, so that the registry
    accepts it as the task's `translations` or `in_language`; its own languages and
    sources; no role or benchmark, so it is never a target or scored by itself."""
    return Task(name=name, family=task.family, languages=languages, metric=task.metric,
                scorer=task.scorer, text_fields=task.text_fields, labels=task.labels,
                labels_from_data=task.labels_from_data, label_field=task.label_field,
                roles=(), dev_slice=dev_slice, max_length=task.max_length,
                query_length=task.query_length, hub=hub, local=local,
                language_codes=task.language_codes)


def translations_entry(task: Task, hub: HubSource | None = None) -> Task:
    """`task.translations`: the `train` split of a hub dataset (`hub`, else the task's own)
    in each of the task's languages but English, where the dataset's makers ship the English
    training data machine-translated into that language."""
    source = hub or task.hub
    return data_entry(task, task.translations, tuple(
        language for language in task.languages if language != "en"),
        hub=replace(source, splits={"train": "train"}))


# XTREME's translations (its bucket gs://xtreme_translations), copied under data.path.
XTREME_TRANSLATIONS = "xtreme_translations"


def translate_test_entry(task: Task, folder: str, name: str | None = None,
                         label_aliases: dict[str, str] | None = None) -> Task:
    """`task.test_translations`: XTREME's translate-test files, each language's test set
    machine-translated into English, as its bucket lays them out under
    `<data.path>/xtreme_translations/<folder>/translate-test/test-<lang>-en-translated.tsv`:
    no header, the English pair and the label last (the bucket's five columns put the
    originals first, the files xtreme's processors read have three: both read the same)."""
    return data_entry(task, name or task.test_translations, tuple(
        language for language in task.languages if language != "en"),
        local=LocalSource(FileFormat.TSV, f"{XTREME_TRANSLATIONS}/{folder}",
                          {"test": "translate-test/test-{code}-en-translated.tsv"},
                          columns=(*task.text_fields, task.label_field),
                          label_aliases=label_aliases or {}, header=False))


_TASKS: tuple[Task, ...] = (
    # --- sentence and sentence-pair classification ---
    _classification(
        name="mnli", text_fields=("premise", "hypothesis"), languages=("en",), labels=NLI_LABELS,
        roles=("intermediate",), train_examples=392_702,
        hub=HubSource("nyu-mll/glue", "mnli", splits={"train": "train",
                                                      "dev": "validation_matched"}),
    ),
    _classification(
        name="snli", text_fields=("premise", "hypothesis"), languages=("en",), labels=NLI_LABELS,
        roles=(),  # only part of ANLI+
        train_examples=549_367,  # of 550,152: those with a gold label
        hub=HubSource("stanfordnlp/snli", "plain_text", splits=_TRAIN_DEV,
                      columns=_NLI_COLUMNS, label_values=(0, 1, 2)),
    ),
    _classification(
        # ANLI+ (X-STILTs): ANLI rounds 1-3 with MNLI and SNLI, gold labels only.
        name="anli_plus", text_fields=("premise", "hypothesis"), languages=("en",),
        labels=NLI_LABELS, roles=("intermediate",), train_also=("mnli", "snli"),
        train_examples=16_946 + 45_460 + 100_459,  # rounds 1-3; MNLI's and SNLI's are theirs
        hub=HubSource("facebook/anli", "plain_text",
                      splits={"train": ("train_r1", "train_r2", "train_r3"),
                              "dev": ("dev_r1", "dev_r2", "dev_r3")},
                      label_values=(0, 1, 2)),
    ),
    _classification(
        name="qqp", text_fields=("question1", "question2"), languages=("en",),
        labels=PARAPHRASE_LABELS, roles=("intermediate",), train_examples=363_846,
        hub=HubSource("nyu-mll/glue", "qqp", splits=_TRAIN_DEV),
    ),
    _classification(
        name="xnli", text_fields=("premise", "hypothesis"), languages=lang.XNLI,
        labels=NLI_LABELS, train_task="mnli", benchmarks=XTREME_BENCHMARKS, eval_examples=5_010,
        translations="xnli_mt", test_translations="xnli_translate_test",
        hub=HubSource("facebook/xnli", "{code}", splits={"dev": "validation", "test": "test"}),
        xtreme_files=XtremeFiles(PredictionFormat.LABELS),
    ),
    _classification(
        name="pawsx", text_fields=("sentence1", "sentence2"), languages=lang.PAWSX,
        labels=PARAPHRASE_LABELS, benchmarks=("xtreme",),  # XTREME-R dropped PAWS-X
        train_examples=49_401, eval_examples=2_000,
        translations="pawsx_mt", test_translations="pawsx_translate_test", hub=PAWSX_HUB,
        xtreme_files=XtremeFiles(PredictionFormat.LABELS),
    ),
    # --- multiple choice ---
    _multiple_choice(
        name="hellaswag", languages=("en",), roles=("intermediate",), train_examples=39_905,
        hub=HubSource("Rowan/hellaswag", splits=_TRAIN_DEV,
                      columns={"context": "ctx", "choices": "endings", "label": "label"},
                      label_values=("0", "1", "2", "3")),
    ),
    _multiple_choice(
        name="cosmosqa", languages=("en",), roles=("intermediate",), train_examples=25_262,
        hub=HubSource("allenai/cosmos_qa", splits=_TRAIN_DEV,
                      columns={"context": "context", "question": "question", "label": "label"},
                      lists={"choices": ("answer0", "answer1", "answer2", "answer3")}),
    ),
    _multiple_choice(
        name="commonsenseqa", languages=("en",), roles=("intermediate",), train_examples=9_741,
        hub=HubSource("tau/commonsense_qa", splits=_TRAIN_DEV,
                      columns={"context": "question", "choices": "choices.text",
                               "label": "answerKey"},
                      label_values=("A", "B", "C", "D", "E")),
    ),
    _multiple_choice(
        name="socialiqa", languages=("en",), roles=("intermediate",), train_examples=33_410,
        hub=HubSource("allenai/social_i_qa", splits=_TRAIN_DEV,
                      columns={"context": "context", "question": "question", "label": "label"},
                      lists={"choices": ("answerA", "answerB", "answerC")},
                      label_values=("1", "2", "3")),
    ),
    _multiple_choice(
        name="copa", languages=("en",), roles=("intermediate",), train_examples=400,
        hub=HubSource("aps/super_glue", "copa", splits=_TRAIN_DEV,
                      columns=_COPA_COLUMNS, lists=_COPA_LISTS),
    ),
    _multiple_choice(
        # XTREME-R: trained on COPA (optionally after SocialIQA as the intermediate task).
        name="xcopa", languages=lang.XCOPA, train_task="copa", dev_task="copa",
        benchmarks=("xtreme-r",), eval_examples=500,
        hub=HubSource("cambridgeltl/xcopa", "{code}",
                      splits={"dev": "validation", "test": "test"},
                      columns=_COPA_COLUMNS, lists=_COPA_LISTS),
    ),
    # --- tagging ---
    _tagging(
        # XTREME's: UD 2.5. `sweep score` sums in XTREME-R's order, which extends XTREME's.
        name="udpos", languages=lang.UDPOS, language_codes=lang.UDPOS_NAMES,
        labels=UD_POS_TAGS, benchmarks=("xtreme",), in_language="udpos_gold",
        # XTREME's table: 21,253 English sentences; test sets of 47 to 20,436 sentences, so
        # the typical language's is a guess [approximate, unverified].
        train_examples=21_253, eval_examples=2_000,
        hub=HubSource("google/xtreme", "udpos.{code}", splits=_TRAIN_DEV_TEST,
                      columns={"tokens": "tokens", "tags": "pos_tags"}),
        local=LocalSource(FileFormat.CONLLU, "ud", _UD_FILES),
        xtreme_files=XtremeFiles(PredictionFormat.TAGS, languages=lang.UDPOS_R),
    ),
    _tagging(
        # XTREME-R's: UD 2.7, 38 languages; no hub copy of every treebank, so its files.
        name="udpos_r", languages=lang.UDPOS_R, language_codes=lang.UDPOS_R_NAMES,
        labels=UD_POS_TAGS, benchmarks=("xtreme-r",),
        # UD 2.5's counts (udpos'); UD 2.7's English treebanks are somewhat larger [unverified].
        train_examples=21_253, eval_examples=2_000,
        local=LocalSource(FileFormat.CONLLU, "ud-2.7", _UD_FILES),
    ),
    _tagging(
        # WikiANN with Rahimi et al.'s splits (PAN-X): XTREME counts 40 of its languages.
        # Rahimi et al.'s splits have train and dev in every language: its own in-language data.
        name="panx", languages=lang.PANX_R, labels=NER_TAGS, in_language="panx",
        benchmarks=XTREME_BENCHMARKS, benchmark_languages={"xtreme": lang.PANX},
        # English's splits; most languages test on 10,000 sentences, some on 1,000 or 100.
        train_examples=20_000, eval_examples=10_000,
        hub=HubSource("unimelb-nlp/wikiann", "{code}", splits=_TRAIN_DEV_TEST,
                      columns={"tokens": "tokens", "tags": "ner_tags"}),
        xtreme_files=XtremeFiles(PredictionFormat.TAGS),
    ),
    Task(
        # CCGbank 1.1 (LDC2005T13), the unpacked release under <data.path>/ccgbank/, read from
        # its AUTO derivations with the standard split: sections 02-21 train, 00 dev, 23 test.
        name="ccg", family=Family.TAGGING, languages=("en",), metric="accuracy",
        scorer=Scorer.ACCURACY, text_fields=("tokens",), label_field="tags",
        labels_from_data=True, roles=("intermediate",),
        train_examples=39_604,  # sentences of sections 02-21, as commonly cited [unverified]
        local=LocalSource(FileFormat.CCGBANK_AUTO, "ccgbank", {
            "train": tuple(f"data/AUTO/{section:02d}/*.auto" for section in range(2, 22)),
            "dev": "data/AUTO/00/*.auto", "test": "data/AUTO/23/*.auto"}),
    ),
    # --- span QA ---
    _span_qa(name="squad", languages=("en",), roles=("intermediate",), train_examples=87_599,
             hub=HubSource("rajpurkar/squad", "plain_text", splits=_TRAIN_DEV)),
    _span_qa(name="squad_v2", scorer=Scorer.SQUAD_V2, languages=("en",),
             roles=("intermediate",), train_examples=130_319,
             hub=HubSource("rajpurkar/squad_v2", "squad_v2", splits=_TRAIN_DEV)),
    _span_qa(
        name="xquad", languages=lang.XQUAD_R, train_task="squad", dev_task="squad",
        benchmarks=XTREME_BENCHMARKS, benchmark_languages={"xtreme": lang.XQUAD},
        eval_examples=1_190,
        hub=HubSource("google/xquad", "xquad.{code}", splits={"test": "validation"}),
        local=LocalSource(FileFormat.SQUAD_JSON, "xquad", {"test": "xquad.{code}.json"}),
        xtreme_files=_QA_FILES,
    ),
    _span_qa(
        # Context and question in the same language (MLQA's cross-language pairs are not used).
        name="mlqa", scorer=Scorer.MLQA, languages=lang.MLQA, train_task="squad",
        benchmarks=XTREME_BENCHMARKS,
        # The mean of MLQA's seven test sets (4,517 to 11,590 questions) [approximate].
        eval_examples=6_035,
        hub=HubSource("facebook/mlqa", "mlqa.{code}.{code}",
                      splits={"dev": "validation", "test": "test"}),
        xtreme_files=_QA_FILES,
    ),
    _span_qa(
        # GoldP; every language in one config, told apart by id ("english-..."). Its only
        # other split, validation, is the test set XTREME reports, so English model selection
        # reads a fixed tenth of the English training data held out of training.
        name="tydiqa", languages=lang.TYDIQA, benchmarks=XTREME_BENCHMARKS,
        dev_slice=DevSlice(every=10, key="id"),
        # English's 3,696 (the dev slice comes out of them); the mean test set, 5,077
        # questions over nine languages [approximate, unverified].
        train_examples=3_696, eval_examples=564,
        hub=HubSource("google-research-datasets/tydiqa", "secondary_task",
                      splits={"train": "train", "test": "validation"},
                      id_prefix=lang.TYDIQA_PREFIXES),
        xtreme_files=_QA_FILES,
    ),
    # --- retrieval trained as a dual encoder (XTREME-R) ---
    Task(
        # XQuAD-R: a question retrieves its answer sentence (with its paragraph) in all 11
        # languages from one pool of every sentence of every language; trained on SQuAD v1.1
        # with the answer sentences XTREME-R's sentence breaker finds. XTREME's download
        # layout under <data.path>: squad/*-v1.1.json and lareqa/xquad-r/<lang>.json.
        name="lareqa", family=Family.DUAL_ENCODER, languages=lang.LAREQA, metric="map@20",
        scorer=Scorer.LAREQA, label_field=None, max_length=256, query_length=96,
        benchmarks=("xtreme-r",), pooled_splits=("test",),
        # SQuAD v1.1's questions; a language's 1,190 questions and the pool of every
        # language's sentences, about 13,000 [approximate, unverified].
        train_examples=87_599, eval_examples=14_000,
        local=LocalSource(FileFormat.LAREQA_JSON, "", {
            "train": "squad/train-v1.1.json", "dev": "squad/dev-v1.1.json",
            "test": "lareqa/xquad-r/{code}.json"}),
        # XTREME-R's evaluate.py has no LAReQA reader: its files take Mewsli-X's shape.
        xtreme_files=XtremeFiles(PredictionFormat.RANKINGS),
    ),
    Task(
        # WikiNews mentions retrieve their WikiData entity from a million entity descriptions
        # in 50 languages; trained on English Wikipedia mention-entity pairs. The dataset as
        # google-research's get-mewsli-x.sh builds it (text restored, test labels kept),
        # copied to <data.path>/mewsli-x/.
        name="mewsli_x", family=Family.DUAL_ENCODER, languages=lang.MEWSLI_X,
        metric="map@20", scorer=Scorer.MEWSLI_X, label_field=None, max_length=64,
        benchmarks=("xtreme-r",),
        # About 117,000 English pairs; a language's mentions and the million candidate
        # entities every language's test reads [approximate, unverified].
        train_examples=117_000, eval_examples=1_000_000,
        local=LocalSource(FileFormat.MEWSLI_X, "mewsli-x", {
            "train": "wikipedia_pairs-train.jsonl", "dev": "wikipedia_pairs-dev.jsonl",
            "test": ("wikinews_mentions-test.jsonl", "candidate_set_entities.jsonl")},
            language_field="language"),
        xtreme_files=XtremeFiles(PredictionFormat.RANKINGS, folder="mewslix"),
    ),
    # --- retrieval (no training) ---
    Task(
        name="tatoeba", family=Family.RETRIEVAL, languages=lang.TATOEBA_R,
        metric="accuracy", scorer=Scorer.TATOEBA, label_field=None, roles=("retrieval",),
        language_codes=lang.TATOEBA_R_CODES, benchmarks=XTREME_BENCHMARKS,
        eval_examples=2 * 1_000,  # 1,000 pairs a language (a few have fewer), both sides
        benchmark_languages={"xtreme": lang.TATOEBA},
        # Hub sentences keep a trailing newline; the loader strips it. google/xtreme holds
        # XTREME's 36: XTREME-R's five others come from LASER's files.
        hub=HubSource("google/xtreme", "tatoeba.{code}",
                      splits={"test": "validation"},
                      columns={"other": "source_sentence", "english": "target_sentence"},
                      languages=lang.TATOEBA),
        local=LocalSource(FileFormat.LASER_TATOEBA, "tatoeba", {"test": "tatoeba.{code}-eng"}),
        xtreme_files=XtremeFiles(PredictionFormat.LABELS),
    ),
    Task(
        # Mining needs every sentence, which hub copies lack (they hold the gold pairs only):
        # the original BUCC 2018 files, where XTREME uses `sample` as dev and `training` as test.
        name="bucc2018", family=Family.RETRIEVAL, languages=lang.BUCC, metric="f1",
        scorer=Scorer.BUCC, label_field=None, roles=("retrieval",), benchmarks=("xtreme",),
        retrieval_splits=("dev", "test"),
        # Every sentence of both sides, the mean over its four languages of `training`
        # (about 660,000) and `sample` (about a tenth as many) [approximate, unverified].
        eval_examples=730_000,
        local=LocalSource(FileFormat.BUCC, "bucc2018", {"dev": "{code}-en.sample",
                                                        "test": "{code}-en.training"}),
        xtreme_files=XtremeFiles(PredictionFormat.PAIRS),
    ),
)
_BY_NAME = {task.name: task for task in _TASKS}
_UDPOS = _BY_NAME["udpos"]

REAL_TASKS: tuple[Task, ...] = (
    *_TASKS,
    # Target-language data of the direct arms (`trainables.arms`), each named by the task
    # field that reads it. XNLI-MT: facebook/xnli's train split of each language, MNLI
    # machine-translated by XNLI's makers (392,702 rows a language).
    translations_entry(_BY_NAME["xnli"]),
    translations_entry(_BY_NAME["pawsx"]),  # PAWS-X's own machine-translated train
    # XNLI's and PAWS-X's labels as XTREME's files spell them.
    translate_test_entry(_BY_NAME["xnli"], "XNLI", label_aliases={
        "contradictory": "contradiction"}),
    translate_test_entry(_BY_NAME["pawsx"], "PAWSX", label_aliases=dict(
        zip(("0", "1"), PARAPHRASE_LABELS, strict=True))),
    # UD-POS's gold training data: its train and dev treebanks, in the languages that have
    # both (the test sets stay the task's own).
    data_entry(_UDPOS, _UDPOS.in_language, tuple(
        language for language in _UDPOS.languages if language not in lang.UDPOS_NO_TRAIN_DEV),
        hub=replace(_UDPOS.hub, splits=_TRAIN_DEV),
        local=replace(_UDPOS.local, files={split: _UD_FILES[split] for split in _TRAIN_DEV})),
)
