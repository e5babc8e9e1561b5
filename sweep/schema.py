"""The search-space file's schema: its pydantic models and the views the planner reads.

Field-level checks live here (types, ranges, unknown fields); the cross-field rules live in
`sweep.rules`, and `sweep.spec` runs both. Nothing here imports Ray or the registries.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_serializer, model_validator

from trainables.arms import ARMS, ZERO_SHOT
from trainables.drops import DEFAULT_MAX_SHARE
from trainables.trial import NO_INTERMEDIATE

HYPERPARAMETERS = ("learning_rate", "epochs", "batch_size", "warmup_ratio", "weight_decay", "seed")
DEFAULT_EVALS_PER_EPOCH = 2


def problem(path: str, value: Any, allowed: str) -> str:
    """One spec problem, in the form every error takes: field path, bad value, what is allowed."""
    return f"{path}: got {value!r}; allowed: {allowed}"


class Strict(BaseModel):
    """Frozen, and unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TinyModel(Strict):
    """The offline XLM-R-architecture model: random weights, optionally MLM-pretrained."""

    vocab_size: int = Field(4000, ge=100, le=250_002)
    hidden_size: int = Field(64, ge=8)
    num_layers: int = Field(2, ge=1, le=48)
    num_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(128, ge=8)
    max_position_embeddings: int = Field(130, ge=16)
    seed: int = 0
    corpus_seed: int = 13
    # Masked-LM steps on the multilingual offline corpus before any task (the paper's phase 1);
    # 0 keeps the random weights.
    pretrain_steps: int = Field(0, ge=0)
    pretrain_batch_size: int = Field(64, ge=1)
    pretrain_learning_rate: float = Field(1e-3, gt=0, lt=1)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> TinyModel:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} must be a multiple of num_heads {self.num_heads}"
            )
        return self


class ModelSpec(Strict):
    source: Literal["offline", "hub", "local"] = "offline"
    name: str = "tiny-xlmr"
    revision: str | None = None
    tiny: TinyModel = TinyModel()
    max_length: int | None = Field(None, ge=8, le=4096)
    # Its short name in stage names (`intermediate/<task>~<tag>`) where a spec lists several
    # base models; by default the last part of `name`.
    tag: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # A checkpoint that is not a bare encoder (M-CLIP's XLM-R inside a CLIP text model): the
    # architecture and tokenizer come from `architecture` (a hub id or directory, at
    # `architecture_revision`), the weights from `name`, each key renamed by the first prefix
    # of `key_map` it starts with (`transformer.` -> ``); keys no prefix matches are dropped.
    architecture: str | None = None
    architecture_revision: str | None = None
    key_map: dict[str, str] = {}

    @property
    def label(self) -> str:
        """The model's short name: its tag, else the last part of its name."""
        return self.tag or self.name.rstrip("/").split("/")[-1]

    def hashed(self) -> dict[str, Any]:
        """What a stage's hash reads of the model: every field, those added for lists of
        base models only where set, so that stages of earlier runs hash as they did."""
        later = ("tag", "architecture", "architecture_revision", "key_map")
        defaults = type(self).model_fields
        return self.model_dump(exclude={name for name in later
                                        if getattr(self, name) == defaults[name].default})


class OfflineData(Strict):
    seed: int = 13
    train_size: int = Field(2000, ge=10)
    eval_size: int = Field(300, ge=10)
    retrieval_size: int = Field(200, ge=10)


class DataSpec(Strict):
    source: Literal["offline", "hub", "local"] = "offline"
    path: str | None = None
    revisions: dict[str, str] = {}
    offline: OfflineData = OfflineData()
    # The share of a training or dev split's rows a loader may drop (no gold label, no text)
    # before the trial fails with the count (`trainables.drops`).
    max_dropped_share: float = Field(DEFAULT_MAX_SHARE, ge=0.0, le=1.0)

    def hashed(self) -> dict[str, Any]:
        """What a stage's hash reads of the data: all but the drop limit, which changes no
        finished stage's results (a stage that crossed it did not finish)."""
        return self.model_dump(exclude={"max_dropped_share"})


class Mixture(Strict):
    """A multi-task intermediate task: one encoder, a head per member task, each drawing at
    most `cap` examples an epoch (one member with a cap: a task at a fixed budget)."""

    name: str
    mixture: list[str] = Field(min_length=1)
    cap: int | None = Field(None, ge=1)


class Choice(Strict):
    choice: list[Any] = Field(min_length=1)


class LogUniform(Strict):
    loguniform: tuple[float, float]


class Uniform(Strict):
    uniform: tuple[float, float]


Scalar = int | float | str
Dimension = Scalar | Choice | LogUniform | Uniform


class StageSearch(Strict):
    """The hyperparameters of one stage: a fixed value or a distribution for each."""

    learning_rate: Dimension = 1e-3
    epochs: Dimension = 2
    batch_size: Dimension = 32
    warmup_ratio: Dimension = 0.1
    weight_decay: Dimension = 0.0
    seed: Dimension = 0
    num_samples: int = Field(1, ge=1)
    # Evaluations per training epoch (a training setting, not a dimension). Left out: the
    # deprecated scheduler.evals_per_epoch, else DEFAULT_EVALS_PER_EPOCH; see Spec.stage_search.
    evals_per_epoch: int | None = Field(None, ge=1)
    # Repeats: each configuration is trained once per seed (in place of `seed`), chosen by
    # its mean English dev score over them, and every seed's checkpoint is evaluated.
    seeds: list[int] | None = Field(None, min_length=1)


class TargetSearch(StageSearch):
    # Intermediate checkpoints to start from; `none` is the no-intermediate baseline.
    # Left out: every intermediate task of the spec and `none`.
    intermediate: list[str] | None = None
    # Where each target model's training data comes from (`trainables.arms.ARMS`): every
    # arm but zero_shot is a stage of its own, one per language for a per-language arm.
    arms: list[str] = Field([ZERO_SHOT], min_length=1)
    # few_shot: how many examples of the language each model trains on, and the seed that
    # draws them (searched like the hyperparameters).
    shots: Dimension = 10
    shot_seed: Dimension = 0


class StageOverrides(Strict):
    """Per-task changes to a stage's search (the paper's epochs and batch size per task)."""

    learning_rate: Dimension | None = None
    epochs: Dimension | None = None
    batch_size: Dimension | None = None
    warmup_ratio: Dimension | None = None
    weight_decay: Dimension | None = None
    seed: Dimension | None = None
    num_samples: int | None = Field(None, ge=1)
    evals_per_epoch: int | None = Field(None, ge=1)
    seeds: list[int] | None = Field(None, min_length=1)
    arms: list[str] | None = Field(None, min_length=1)  # a target task's own arms
    # An image-text or late-fusion task's layer its text is mean-pooled at (-1: the last;
    # left out: the registry's).
    pool_layer: int | None = None


class Search(Strict):
    intermediate: StageSearch = StageSearch()
    target: TargetSearch = TargetSearch()
    # Task name -> overrides for the stage that trains it (intermediate or target).
    per_task: dict[str, StageOverrides] = {}


class Scheduler(Strict):
    type: str = "asha"  # a key of sweep.schedulers.SCHEDULERS (a rule checks it)
    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(2, gt=1)
    max_t: int | None = Field(None, ge=1)  # evaluation intervals; default: the longest trial's
    # Deprecated: read where a stage sets no search.<stage>.evals_per_epoch of its own.
    evals_per_epoch: int | None = Field(None, ge=1)


class Searcher(Strict):
    type: str = "optuna"  # a key of sweep.searchers.SEARCHERS (a rule checks it)
    seed: int = 0


class Resources(Strict):
    workers_per_trial: int = Field(1, ge=1)
    cpus_per_worker: float = Field(1, ge=0)
    gpus_per_worker: float = Field(0, ge=0)
    max_concurrent_trials: int = Field(2, ge=1)
    max_failures: int = Field(0, ge=0)
    eval_cpus: float = Field(1, gt=0)
    # Extra Ray resources per Train worker (a node label, or an accelerator Ray does not
    # know by name); the trial waits for nodes that advertise them.
    custom_per_worker: dict[str, float] = {}
    # How Ray Train places a trial's workers: PACK fills nodes first, STRICT_PACK keeps
    # every worker on one node (fast NCCL), SPREAD puts them on different nodes.
    placement_strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = "PACK"
    # The training step's precision (`trainables.device_loop`): fp32, bf16 or fp16 autocast.
    # Evaluations are not autocast; on a GPU every matmul, evaluations' too, is TF32.
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    # Batches of examples of similar length (less padding): another order, so hashed when on.
    length_grouped: bool = False


class Retrieval(Strict):
    layer: int = -1  # hidden layer; 0 is the embedding layer, negative counts from the top
    pooling: Literal["mean", "cls"] = "mean"
    direction: Literal["en_to_xx", "xx_to_en"] = "en_to_xx"
    max_length: int = Field(128, ge=8)


class Efficiency(Strict):
    """The efficiency stage (`trainables.efficiency`): encoding speed over real sentences,
    search cost, compression and geometry of every encoder's retrieval pools."""

    dtypes: list[Literal["fp32", "bf16", "fp16"]] = Field(["fp32"], min_length=1)
    batch_sizes: list[Annotated[int, Field(ge=1)]] = Field([1, 32], min_length=1)
    # Token-count upper bounds of the length buckets; every sentence is a bucket too.
    length_buckets: list[Annotated[int, Field(ge=2)]] = [16, 32, 64, 128]
    max_sentences: int = Field(256, ge=1)  # per bucket, and queries timed one at a time
    warmup_batches: int = Field(3, ge=0)
    repeats: int = Field(5, ge=1)  # timed passes over each bucket
    # Measurements of each encoder in processes of their own: the noise floor.
    noise_repeats: int = Field(3, ge=3)
    # Approximate indexes beside exact search, and compressions beside fp32
    # (`trainables.efficiency.search`, `.compression`).
    index: dict[str, dict[str, list[int]]] = {"hnsw": {"M": [16, 32], "efSearch": [16, 64]},
                                              "ivf": {"nlist": [16], "nprobe": [1, 4]}}
    compression: list[str | dict[str, list[int]]] = ["int8", "binary", {"pca": [32]},
                                                      {"pq": [8]}]
    # "No difference": each encoder's throughput within this share of the base model's.
    equivalence_margin: float = Field(0.02, gt=0, lt=1)


class Evaluation(Strict):
    languages: Literal["all"] | list[str] = "all"
    splits: list[Literal["dev", "test"]] = Field(["test"], min_length=1)
    full_table: bool = False  # also evaluate the best checkpoint of every target x intermediate
    retrieval: Retrieval = Retrieval()
    # Also retrieve with every target checkpoint's encoder (`after-target/<task>` stages):
    # what target fine-tuning forgets of what its intermediate encoder retrieved.
    retrieval_after_target: bool = False
    efficiency: Efficiency | None = None  # left out: no efficiency stage


class Precompute(Strict):
    """The precompute stages: the image vectors of each image-text task whose images are a
    local folder (`ImageEmbeddings.image_folder` under data.path), made once with the task's
    own image encoder (`trainables.precompute`) and read in place of its published files."""

    encoder_revision: str | None = None  # the image encoder's pinned commit or tag
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: the GPU where trials have GPUs
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    batch_size: int = Field(64, ge=1)


class MLflowTracking(Strict):
    """Ray's MLflowLoggerCallback: an MLflow experiment per stage, a run per trial."""

    # The callback runs on the driver, so a local store is written where `sweep run` runs.
    # Left out: MLFLOW_TRACKING_URI, else MLflow's own default.
    tracking_uri: str | None = None
    tags: dict[str, str] = {}  # on every run, beside `sweep` and `stage`
    save_artifact: bool = False  # also upload each trial's Tune directory to its run


class WandbTracking(Strict):
    """Ray's WandbLoggerCallback: a W&B run per trial, grouped by stage."""

    project: str = Field(min_length=1)
    entity: str | None = None
    mode: Literal["online", "offline", "disabled"] = "online"
    # W&B's own files (an offline run, for `wandb sync`) go under <dir>/wandb/ on the driver's
    # node. Left out: WANDB_DIR, else the directory `sweep run` starts in (W&B's defaults).
    dir: str | None = None


class Tracking(Strict):
    """Experiment trackers, each a Tune callback (`sweep.tracking.TRACKERS`)."""

    mlflow: MLflowTracking | None = None
    # Event files in every trial directory (Tune's default); false writes none.
    tensorboard: bool = True
    wandb: WandbTracking | None = None


IntermediateEntry = Annotated[str | Mixture, Field(union_mode="left_to_right")]


class Spec(Strict):
    """The validated content of one search-space file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    model: ModelSpec = ModelSpec()
    # Several base models (`model` given as a list): every stage runs once per model. `model`
    # is then the one a stage trains (`for_model`), the first of them outside a stage.
    base_models: tuple[ModelSpec, ...] = ()
    data: DataSpec = DataSpec()
    intermediate_tasks: list[IntermediateEntry] = []
    target_tasks: list[str] = Field(min_length=1)
    retrieval_tasks: list[str] = []
    search: Search = Search()
    scheduler: Scheduler = Scheduler()
    searcher: Searcher = Searcher()
    resources: Resources = Resources()
    # Where the run lives (a local path or URI), and which checkpoints it keeps once a stage
    # has finished (`sweep.cleanup`): `needed`, those the manifest names; `all`. The mapping
    # form `storage: {path, keep_checkpoints}` is lifted into these two fields under its
    # dotted keys (`_storage_mapping`), so that errors name `storage.path`. Neither is hashed.
    storage: str | None = Field(None, validation_alias=AliasChoices("storage", "storage.path"))
    keep_checkpoints: Literal["needed", "all"] = Field(
        "needed", validation_alias="storage.keep_checkpoints")
    evaluation: Evaluation = Evaluation()
    tracking: Tracking | None = None  # left out: Tune's own CSV, JSON and TensorBoard logs
    precompute: Precompute | None = None  # left out: image vectors as the registry names them

    @model_validator(mode="before")
    @classmethod
    def _model_list(cls, data: Any) -> Any:
        """`model: [a, b]` -> model a, base_models (a, b); a list of one is that model."""
        if isinstance(data, dict) and "base_models" in data and not isinstance(
                data.get("model"), list) and data["base_models"]:
            raise ValueError("base_models: got a value; allowed: none (list the base models "
                             "under model)")
        if isinstance(data, dict) and isinstance(data.get("model"), list):
            models = data["model"]
            if not models:
                raise ValueError("model: got an empty list; allowed: a model, or a list of "
                                 "base models to compare")
            data = {**data, "model": models[0], "base_models": models if len(models) > 1
                    else ()}
        return data

    @model_validator(mode="before")
    @classmethod
    def _storage_mapping(cls, data: Any) -> Any:
        """`storage: {path: p, keep_checkpoints: k}` -> the fields under `storage.path` and
        `storage.keep_checkpoints`; any other key stays `storage.<key>`, an unknown field."""
        if isinstance(data, dict) and isinstance(data.get("storage"), dict):
            data = {**data}
            data.update({f"storage.{key}": value for key, value in data.pop("storage").items()})
        return data

    @model_serializer(mode="wrap")
    def _storage_as_written(self, handler: Any) -> dict[str, Any]:
        """The dump reads back as the spec: `keep_checkpoints` under `storage` where set."""
        dumped = handler(self)
        keep = dumped.pop("keep_checkpoints", "needed")
        if keep != "needed":
            dumped["storage"] = {"path": dumped["storage"], "keep_checkpoints": keep}
        return dumped

    # -- derived views the planner uses ---------------------------------------------------
    def models(self) -> tuple[ModelSpec, ...]:
        """The base models every stage runs with: the list, else `model` alone."""
        return self.base_models or (self.model,)

    def for_model(self, label: str | None) -> Spec:
        """This spec with `model` the base model called `label` (None: unchanged)."""
        if label is None:
            return self
        for model in self.models():
            if model.label == label:
                return self.model_copy(update={"model": model})
        raise ValueError(f"base model {label!r}: not one of "
                         f"{', '.join(model.label for model in self.models())}")

    @property
    def model_suffix(self) -> str:
        """What a stage name of `model` ends with: `~<label>` with several base models."""
        return f"~{self.model.label}" if self.base_models else ""

    def stage_path(self, kind: str, task: str) -> str:
        """The name of `model`'s `kind` stage of `task` (zero-shot for a target)."""
        return f"{kind}/{task}{self.model_suffix}"
    def intermediate_names(self) -> list[str]:
        """The intermediate stages' names: each task, or the mixture's name."""
        return [e.name if isinstance(e, Mixture) else e for e in self.intermediate_tasks]

    def intermediate_members(self, name: str) -> tuple[list[str], int | None]:
        """The tasks trained together under intermediate `name`, and the mixture cap."""
        for entry in self.intermediate_tasks:
            if isinstance(entry, Mixture) and entry.name == name:
                return list(entry.mixture), entry.cap
        return [name], None

    def stage_search(self, kind: str, task: str) -> StageSearch:
        """The search of the `kind` stage that trains `task`, with its per-task overrides and
        its evals_per_epoch resolved."""
        search = getattr(self.search, kind)
        overrides = self.search.per_task.get(task)
        merged = {**search.model_dump(),
                  **(overrides.model_dump(exclude_none=True, exclude={"arms", "pool_layer"})
                     if overrides else {})}
        if merged["evals_per_epoch"] is None:
            merged["evals_per_epoch"] = self.scheduler.evals_per_epoch or DEFAULT_EVALS_PER_EPOCH
        return type(search).model_validate(merged)

    def pool_layers(self, tasks: list[str]) -> dict[str, int]:
        """The pooling layers `search.per_task` sets for `tasks` (none: the registry's)."""
        return {task: override.pool_layer for task in tasks
                if (override := self.search.per_task.get(task)) is not None
                and override.pool_layer is not None}

    def arms(self, task: str) -> list[str]:
        """The target arms of target task `task`: its own (search.per_task), else the
        target search's."""
        override = self.search.per_task.get(task)
        return list(override.arms if override and override.arms else self.search.target.arms)

    def seeds(self, kind: str, task: str) -> list[int] | None:
        """The seeds each configuration of the `kind` stage of `task` is trained with (None:
        once, with its `seed`)."""
        return self.stage_search(kind, task).seeds

    def repeats(self, kind: str, task: str) -> int:
        """How many checkpoints each configuration of the stage trains: one per seed."""
        return len(self.seeds(kind, task) or [None])

    def evals_per_epoch(self, kind: str, task: str) -> int:
        """Evaluations per epoch in the `kind` stage that trains `task`."""
        return self.stage_search(kind, task).evals_per_epoch

    def stage_field(self, kind: str, task: str, key: str) -> str:
        """The spec field a stage's `key` came from: the task's override, else the stage's."""
        override = self.search.per_task.get(task)
        if override is not None and getattr(override, key) is not None:
            return f"search.per_task.{task}.{key}"
        return f"search.{kind}.{key}"

    def stage_dimensions(
        self, kind: str, task: str, intermediates: list[str] | None, arm: str = ZERO_SHOT,
    ) -> dict[str, Dimension]:
        """What Tune searches in the `kind` stage of `task`: its hyperparameters and, given
        `intermediates`, the intermediate checkpoint to start from; a few-shot stage also
        searches its shots and their seed."""
        search = self.stage_search(kind, task)
        dims: dict[str, Dimension] = {key: getattr(search, key) for key in HYPERPARAMETERS}
        if intermediates is not None:
            dims["intermediate"] = Choice(choice=intermediates)
        if ARMS[arm].from_zero_shot:
            dims["shots"] = self.search.target.shots
            dims["shot_seed"] = self.search.target.shot_seed
        return dims

    def training_tasks(self, kind: str) -> list[str]:
        """The tasks that get a stage of `kind` (intermediate or target)."""
        return self.intermediate_names() if kind == "intermediate" else list(self.target_tasks)

    def target_intermediates(self) -> list[str]:
        """The intermediate checkpoints target stages start from (`none` included)."""
        chosen = self.search.target.intermediate
        return list(chosen) if chosen is not None else [NO_INTERMEDIATE, *self.intermediate_names()]


def dimension_values(dimension: Dimension) -> list[Any] | None:
    """The finite values of a fixed or choice dimension; None for a continuous one."""
    if isinstance(dimension, Choice):
        return list(dimension.choice)
    if isinstance(dimension, LogUniform | Uniform):
        return None
    return [dimension]
