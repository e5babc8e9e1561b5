"""What a task entry is: its typed fields (the checks a registry of them must pass are in
`trainables.tasks.checks`).

A task says where its data comes from, which fields hold the text and the label, which
languages it has, where its English training data comes from and how it is scored. What a
task *does* with that (featurisation, head, metric) belongs to its family
(`trainables.families`). Family, scorer and file format are enums, so a typo such as
`seqevel` fails when the registry is built, not minutes into a run inside a Ray worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property


class Name(str, Enum):
    """A string enum that prints as its value, in messages, file names and JSON alike."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)


class Family(Name):
    """Who featurises, heads and scores a task (`trainables.families`; retrieval has no
    head: `trainables.evaluation` embeds and searches)."""

    CLASSIFICATION = "classification"
    MULTIPLE_CHOICE = "multiple_choice"
    TAGGING = "tagging"
    SPAN_QA = "span_qa"
    RELEVANCE = "relevance"
    DUAL_ENCODER = "dual_encoder"
    IMAGE_TEXT_CONTRASTIVE = "image_text_contrastive"  # captions against frozen image vectors
    VL_LATE_FUSION = "vl_late_fusion"  # labels from a sentence and one or two image vectors
    RETRIEVAL = "retrieval"


class Scorer(Name):
    """The reference scorer a task's numbers must agree with (`trainables.metrics`)."""

    ACCURACY = "accuracy"
    SEQEVAL = "seqeval"  # seqeval 0.0.12 chunk F1, XTREME's POS and NER
    SQUAD_V1 = "squad_v1"
    SQUAD_V2 = "squad_v2"
    MLQA = "mlqa"
    TATOEBA = "tatoeba"
    BUCC = "bucc"
    LAREQA = "lareqa"
    MEWSLI_X = "mewsli_x"
    XGLUE_NDCG = "xglue_ndcg"  # XGLUE's WPR: nDCG over runs of the same query, no cutoff
    IGLUE_RECALL = "iglue_recall"  # IGLUE's image and text retrieval recall@1/5/10 (volta)


class FileFormat(Name):
    """An original file format a reader in `trainables.readers` understands."""

    JSONL = "jsonl"  # the offline benchmark's layout
    SQUAD_JSON = "squad_json"
    CONLLU = "conllu"
    LASER_TATOEBA = "laser_tatoeba"
    BUCC = "bucc"
    CCGBANK_AUTO = "ccgbank_auto"
    LAREQA_JSON = "lareqa_json"
    MEWSLI_X = "mewsli_x"
    TSV = "tsv"  # tab-separated, label last: XGLUE's files, XTREME's translations
    XGLUE_CONLL = "xglue_conll"  # XGLUE's NER and POS: `word label` lines, blank between
    KARPATHY_JSON = "karpathy_json"  # COCO's and Flickr30k's dataset_<name>.json, every split
    IGLUE_CAPTIONS = "iglue_captions"  # IGLUE's retrieval JSONL: {sentences, id, img_path}
    SNLI_VE = "snli_ve"  # SNLI-VE's and XVNLI's JSONL: {gold_label, sentence2, Flikr30kID, ...}
    NLVR2 = "nlvr2"  # NLVR2's JSONL: {sentence, label "True"/"False", identifier, ...}
    MARVL = "marvl"  # MaRVL's JSONL: {caption, left_img, right_img, label: bool, ...}

    @property
    def multi_file(self) -> bool:
        """Whether one example set spans several files sharing a stem (its reader takes the
        stem: LASER's `.eng` and `.xxx`, BUCC's `.en`, `.xx` and `.gold`)."""
        return self in (FileFormat.LASER_TATOEBA, FileFormat.BUCC)


class PredictionFormat(Name):
    """How google-research/xtreme lays out one language's predictions (`sweep score`)."""

    LABELS = "tsv"  # one label (or retrieved index) per line
    TAGS = "tsv-tags"  # one tag per line, a blank line after each sentence
    PAIRS = "tsv-pairs"  # BUCC: one `source-id<TAB>target-id` pair per line
    ANSWERS = "json"  # QA: {question id: answer text}
    RANKINGS = "json-rankings"  # {query id: [candidate ids, best first]}

    @property
    def suffix(self) -> str:
        return "json" if self.value.startswith("json") else "tsv"


# The scorers each family implements; a task naming another fails the registry check.
FAMILY_SCORERS: dict[Family, frozenset[Scorer]] = {
    Family.CLASSIFICATION: frozenset({Scorer.ACCURACY}),
    Family.MULTIPLE_CHOICE: frozenset({Scorer.ACCURACY}),
    Family.TAGGING: frozenset({Scorer.ACCURACY, Scorer.SEQEVAL}),
    Family.SPAN_QA: frozenset({Scorer.SQUAD_V1, Scorer.SQUAD_V2, Scorer.MLQA}),
    Family.RELEVANCE: frozenset({Scorer.XGLUE_NDCG}),
    Family.DUAL_ENCODER: frozenset({Scorer.LAREQA, Scorer.MEWSLI_X}),
    Family.IMAGE_TEXT_CONTRASTIVE: frozenset({Scorer.IGLUE_RECALL}),
    Family.VL_LATE_FUSION: frozenset({Scorer.ACCURACY}),
    Family.RETRIEVAL: frozenset({Scorer.TATOEBA, Scorer.BUCC}),
}
# The families whose tasks read image vectors (`Task.images`).
IMAGED_FAMILIES = frozenset({Family.IMAGE_TEXT_CONTRASTIVE, Family.VL_LATE_FUSION})
ROLES = ("intermediate", "target", "retrieval")
XTREME_BENCHMARKS = ("xtreme", "xtreme-r")
BENCHMARKS = (*XTREME_BENCHMARKS, "xglue")  # the aggregate scores a task can count in

# The hub's parquet conversion of a dataset: the revision that loads with datasets >= 4 even
# for script-based datasets. A branch, not a commit: a run resolves it to the commit it names
# when the run starts and reads that commit throughout (sweep.preflight.pin_revisions).
PARQUET = "refs/convert/parquet"


@dataclass(frozen=True)
class HubSource:
    """Where a task lives on the Hugging Face hub, and how its rows become examples.

    `config` may contain `{code}`, the language's code on the hub (`language_codes`, else the
    language itself). `splits` maps our split names (train, dev, test) to the hub's, which may
    contain `{code}` too (XGLUE's `validation.de`); a tuple concatenates several. `columns`
    maps our field names to hub columns (`a.b` reads a nested field; a tuple names the
    spellings versions of a dataset use, the first one a row has wins), `lists` gathers
    several hub columns into one list field (answer0..answer3 -> choices), and
    `label_values` lists the raw hub labels in our label order: rows with any other label
    (SNLI's -1, no gold label) are dropped. `id_prefix` picks a language's rows by their id
    (TyDiQA keeps every language in one config).
    """

    path: str
    config: str | None = None
    revision: str = PARQUET
    splits: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    columns: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    label_values: tuple | None = None
    id_prefix: Mapping[str, str] = field(default_factory=dict)
    # The task's languages this copy holds, where it lacks some (google/xtreme's Tatoeba has
    # XTREME's 36 of XTREME-R's 41): the others are read from the task's local files.
    languages: tuple[str, ...] | None = None
    # List columns of equal length whose items, zipped, are one example each, the row's other
    # columns repeated (one image's captions and their ids in COCO's Karpathy copy).
    explode: tuple[str, ...] = ()

    def config_for(self, code: str) -> str | None:
        return self.config.format(code=code) if self.config else None

    def splits_for(self, split: str, code: str) -> tuple[str, ...]:
        """The hub splits that hold our `split` in the language with hub code `code`."""
        names = self.splits[split]
        return tuple(name.format(code=code) for name in ((names,) if isinstance(names, str)
                                                         else names))


@dataclass(frozen=True)
class LocalSource:
    """A task's files in their original format under `<data.path>/<folder>/`.

    `files` maps each split to a glob (with `{language}` and `{code}`) relative to the folder,
    or a tuple of globs read in order; every match is read with the `format`'s reader
    (`trainables.readers`) and concatenated. Tasks without one use the offline benchmark's
    layout, `<task>/<split>-<language>.jsonl`. A tabular format's `columns` name its last
    columns (the label last), `label_aliases` map a file's label spellings to the task's, and
    `header` says whether its first line is a header.
    """

    format: FileFormat
    folder: str
    files: Mapping[str, str | tuple[str, ...]]
    # Where one file holds every language (Mewsli-X's mentions): the example field that names
    # the language; examples of other languages are dropped, examples without it kept.
    language_field: str | None = None
    columns: tuple[str, ...] = ()
    label_aliases: Mapping[str, str] = field(default_factory=dict)
    header: bool | None = None  # a tabular file's first line; None: `.tsv` files have one
    # Where one file holds every split (Karpathy's JSON): our split -> the values of the
    # examples' `split` field it keeps (train: Karpathy's train and restval).
    split_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", FileFormat(self.format))

    @property
    def reader_options(self) -> dict:
        """What this source's reader takes besides the path (a tabular file's columns)."""
        return ({"columns": self.columns, "label_aliases": dict(self.label_aliases),
                 "header": self.header} if self.columns else {})


@dataclass(frozen=True)
class DevSlice:
    """A dev set held out of the training split, for a task whose only other split is the one
    it is tested on (TyDiQA-GoldP): the examples whose sha256 of `key` is 0 modulo `every`
    form dev and are left out of train. Hashing the id keeps the slice fixed whatever order
    the rows come in."""

    every: int = 10
    key: str = "id"

    def holds(self, example: Mapping) -> bool:
        digest = hashlib.sha256(str(example[self.key]).encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.every == 0


class EmbeddingFormat(Name):
    """How a file of precomputed image vectors is laid out (`trainables.images`)."""

    NPY = "npy"  # <stem>.npy (rows x dim) and <stem>.txt, the image id of each row
    PARQUET = "parquet"  # one row per image: an id column and a list-of-floats column
    # clip-retrieval's output: img_emb/img_emb_<i>.npy with metadata/metadata_<i>.parquet,
    # whose rows are the vectors' rows in order
    CLIP_RETRIEVAL = "clip_retrieval"


class ImageControl(Name):
    """What a caption's image is in an image-text task: the control arms of the answer."""

    REAL = "real"  # the caption's own image
    SCRAMBLED = "scrambled"  # another image, a fixed permutation of the image ids
    RANDOM = "random"  # a Gaussian vector per image id, seeded by the id: no vision
    TEXT_ONLY = "text_only"  # no image: another caption of the same image is the positive


@dataclass(frozen=True)
class ImageEmbeddings:
    """Frozen image vectors keyed by image id, made by the image encoder `encoder` (a hub
    model id; the rows record it, and a precompute must use the same one).

    `files` is a file stem, file or folder (by `format`) under `<data.path>/`, or in the hub
    dataset `hub` at `revision` (pinned like every dataset). `id_column` holds the image id
    (parquet and clip-retrieval metadata); `id_pattern`, a regular expression, takes the id
    from it as its first group (`.*?0*(\\d+)\\.jpg` for COCO's file names). Ids are strings.
    """

    encoder: str
    format: EmbeddingFormat
    files: str
    id_column: str = "image_id"
    vector_column: str = "embedding"
    id_pattern: str | None = None
    hub: str | None = None
    revision: str | None = None
    dim: int | None = None  # the vectors' size, which the text side is projected to
    # The images themselves under data.path, for a precompute stage where no vectors are
    # published; their ids are the files' stems, or (`image_ids: path`) their paths under
    # the folder without the suffix (MaRVL's `id/39-0`), before `id_pattern`.
    image_folder: str | None = None
    image_ids: str = "stem"

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", EmbeddingFormat(self.format))


@dataclass(frozen=True)
class XtremeFiles:
    """How `sweep score` reads the task's prediction files as google-research/xtreme lays
    them out: the format, xtreme's folder name where it differs from the task's (its root
    layout), and the order its `evaluate.py` sums languages in where it spans more languages
    than the task (XTREME-R's UD-POS languages after XTREME's)."""

    format: PredictionFormat
    folder: str | None = None
    languages: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Task:
    """One task: data, fields, languages and metric. Families interpret the rest."""

    name: str
    family: Family
    languages: tuple[str, ...]  # in the order XTREME's evaluate.py averages them
    metric: str  # the metric model selection and the tables use
    scorer: Scorer
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
    dev_slice: DevSlice | None = None  # English dev data held out of the training split
    max_length: int = 256  # X-STILTs: 256, 384 for QA (the span-QA default)
    train_examples: int | None = None  # its English train split's size (sweep plan --estimate)
    eval_examples: int | None = None  # what one language's evaluation reads, typically
    query_length: int | None = None  # dual encoders: the queries' own limit (else max_length)
    # Splits whose candidate pool is every language's candidates (LAReQA's test).
    pooled_splits: tuple[str, ...] = ()
    # The splits one retrieval evaluation reads (BUCC tunes its threshold on dev).
    retrieval_splits: tuple[str, ...] = ("test",)
    synthetic: bool = False
    hub: HubSource | None = None
    local: LocalSource | None = None
    language_codes: Mapping[str, str] = field(default_factory=dict)  # ours -> hub/file code
    benchmarks: tuple[str, ...] = ()  # xtreme, xtreme-r, xglue: the aggregates it counts in
    # The metrics whose mean is its benchmark score, where not the default (`headline_metrics`).
    headline_from: tuple[str, ...] = ()
    # The languages a benchmark averages over, where it counts fewer than `languages`
    # (XTREME's 40 PAN-X languages of WikiANN's 48 in XTREME-R).
    benchmark_languages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    xtreme_files: XtremeFiles | None = None  # set for the tasks `sweep score` reads
    # Target-language data the direct arms read (`trainables.arms`), each a registered task
    # of the same family and labels: whose train split in language L is the English training
    # data machine-translated into L (XNLI-MT), whose test split in L is L's test set
    # translated into English, and whose train split in L is gold training data of L (the
    # task itself where it has its own, as WikiANN; its dev split selects the model).
    translations: str | None = None
    test_translations: str | None = None
    in_language: str | None = None
    # Image-text tasks: the captions' image vectors, what stands in for them (a control), the
    # encoder layer the caption vector is mean-pooled from (-1: the last), and whether the
    # workers of a trial gather each other's batches as negatives.
    images: ImageEmbeddings | None = None
    image_control: ImageControl = ImageControl.REAL
    files_of: str | None = None  # the task whose files it reads (a control: its real task)
    pool_layer: int = -1
    gather_negatives: bool = True
    # The example fields holding image ids, each joined to its vector (`trainables.images`):
    # one (a caption's or a premise's image), or two (NLVR2's left and right images).
    image_fields: tuple[str, ...] = ("image_id",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", Family(self.family))
        object.__setattr__(self, "scorer", Scorer(self.scorer))
        object.__setattr__(self, "image_control", ImageControl(self.image_control))

    @property
    def modality(self) -> str:
        """What its training sees: `image_text` (image vectors, real or a control's) or
        `text` (every other task, the text-only control included)."""
        return ("image_text" if self.images is not None
                and self.image_control is not ImageControl.TEXT_ONLY else "text")

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def headline_metrics(self) -> tuple[str, ...]:
        """The metrics whose mean is the task's benchmark score: XTREME counts a QA task as
        (F1 + EM) / 2, every other task by its own metric; `headline_from` where set (XGLUE
        counts MLQA by F1 alone)."""
        if self.headline_from:
            return self.headline_from
        return ("exact_match", "f1") if self.family is Family.SPAN_QA else (self.metric,)

    def headline(self, scores: Mapping[str, float]) -> float:
        """The benchmark score from one set of scores (a language's, or their averages)."""
        return sum(scores[name] for name in self.headline_metrics) / len(self.headline_metrics)

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


CONTROL_SUFFIXES = {ImageControl.SCRAMBLED: "_scrambled", ImageControl.RANDOM: "_random",
                   ImageControl.TEXT_ONLY: "_text_only"}


def with_controls(task: Task) -> tuple[Task, ...]:
    """An image-text task and its controls, each its own entry (`<name>_scrambled`,
    `_random`, `_text_only`): the same captions, splits and objective, with the images a
    control says."""
    return (task, *(replace(task, name=task.name + suffix, image_control=control,
                            files_of=task.name)
                    for control, suffix in CONTROL_SUFFIXES.items()))
