"""The search-space file: its schema, and validation with errors that say what to fix.

`load_spec(path)` returns a `Spec` or raises `SpecError`, whose lines each name the field's
path, the bad value and what is allowed. It never starts Ray.
"""

from __future__ import annotations

import math
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trainables.tasks import REGISTRY, get_task, tasks_with_role
from trainables.trial import NO_INTERMEDIATE

# Object stores whose pyarrow paths are bucket/key (trainables.storage.Location relies on it).
STORAGE_SCHEMES = ("s3", "gs", "gcs", "file")
HYPERPARAMETERS = ("learning_rate", "epochs", "batch_size", "warmup_ratio", "weight_decay", "seed")
DEFAULT_EVALS_PER_EPOCH = 2


class SpecError(ValueError):
    """A search-space file is invalid; `problems` holds one line per bad field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: invalid search space\n{listing}")


class Strict(BaseModel):
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


class Mixture(Strict):
    """A multi-task intermediate task: one encoder, a head per member task."""

    name: str
    mixture: list[str] = Field(min_length=2)
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


class TargetSearch(StageSearch):
    # Intermediate checkpoints to start from; `none` is the no-intermediate baseline.
    # Left out: every intermediate task of the spec and `none`.
    intermediate: list[str] | None = None


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


class Search(Strict):
    intermediate: StageSearch = StageSearch()
    target: TargetSearch = TargetSearch()
    # Task name -> overrides for the stage that trains it (intermediate or target).
    per_task: dict[str, StageOverrides] = {}


class Scheduler(Strict):
    type: Literal["asha", "fifo"] = "asha"
    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(2, gt=1)
    max_t: int | None = Field(None, ge=1)  # evaluation intervals; default: the longest trial's
    # Deprecated: read where a stage sets no search.<stage>.evals_per_epoch of its own.
    evals_per_epoch: int | None = Field(None, ge=1)


class Searcher(Strict):
    type: Literal["optuna", "random", "grid"] = "optuna"
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


class Retrieval(Strict):
    layer: int = -1  # hidden layer; 0 is the embedding layer, negative counts from the top
    pooling: Literal["mean", "cls"] = "mean"
    direction: Literal["en_to_xx", "xx_to_en"] = "en_to_xx"
    max_length: int = Field(128, ge=8)


class Evaluation(Strict):
    languages: Literal["all"] | list[str] = "all"
    splits: list[Literal["dev", "test"]] = Field(["test"], min_length=1)
    full_table: bool = False  # also evaluate the best checkpoint of every target x intermediate
    retrieval: Retrieval = Retrieval()


IntermediateEntry = Annotated[str | Mixture, Field(union_mode="left_to_right")]


class Spec(Strict):
    """The validated content of one search-space file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    intermediate_tasks: list[IntermediateEntry] = []
    target_tasks: list[str] = Field(min_length=1)
    retrieval_tasks: list[str] = []
    search: Search = Search()
    scheduler: Scheduler = Scheduler()
    searcher: Searcher = Searcher()
    resources: Resources = Resources()
    storage: str | None = None
    evaluation: Evaluation = Evaluation()

    # -- derived views the planner uses ---------------------------------------------------
    def intermediate_names(self) -> list[str]:
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
                  **(overrides.model_dump(exclude_none=True) if overrides else {})}
        if merged["evals_per_epoch"] is None:
            merged["evals_per_epoch"] = self.scheduler.evals_per_epoch or DEFAULT_EVALS_PER_EPOCH
        return type(search).model_validate(merged)

    def evals_per_epoch(self, kind: str, task: str) -> int:
        """Evaluations per epoch in the `kind` stage that trains `task`."""
        return self.stage_search(kind, task).evals_per_epoch

    def training_tasks(self, kind: str) -> list[str]:
        """The tasks that get a stage of `kind` (intermediate or target)."""
        return self.intermediate_names() if kind == "intermediate" else list(self.target_tasks)

    def target_intermediates(self) -> list[str]:
        chosen = self.search.target.intermediate
        return list(chosen) if chosen is not None else [NO_INTERMEDIATE, *self.intermediate_names()]


def dimension_values(dimension: Dimension) -> list[Any] | None:
    """The finite values of a fixed or choice dimension; None for a continuous one."""
    if isinstance(dimension, Choice):
        return list(dimension.choice)
    if isinstance(dimension, LogUniform | Uniform):
        return None
    return [dimension]


def _check_semantics(spec: Spec) -> list[str]:
    """Cross-field rules pydantic cannot express; one message per problem."""
    problems = []

    def bad(path: str, value: Any, allowed: str) -> None:
        problems.append(f"{path}: got {value!r}; allowed: {allowed}")

    for role, field_name, names in (
        ("target", "target_tasks", spec.target_tasks),
        ("retrieval", "retrieval_tasks", spec.retrieval_tasks),
    ):
        for index, name in enumerate(names):
            if name not in REGISTRY or role not in REGISTRY[name].roles:
                bad(f"{field_name}[{index}]", name, ", ".join(tasks_with_role(role)))
    seen: set[str] = set()
    for index, entry in enumerate(spec.intermediate_tasks):
        if isinstance(entry, Mixture):
            for member_index, member in enumerate(entry.mixture):
                if member not in REGISTRY or "intermediate" not in REGISTRY[member].roles:
                    bad(f"intermediate_tasks[{index}].mixture[{member_index}]", member,
                        ", ".join(tasks_with_role("intermediate")))
            name, path = entry.name, f"intermediate_tasks[{index}].name"
            if name in REGISTRY or name == NO_INTERMEDIATE:
                bad(path, name, "a new name that is not a registry task or 'none'")
        else:
            name, path = entry, f"intermediate_tasks[{index}]"
            if name not in REGISTRY or "intermediate" not in REGISTRY[name].roles:
                bad(path, name, ", ".join(tasks_with_role("intermediate")) + " or a mixture")
        if name in seen:
            bad(path, name, "each intermediate task once")
        seen.add(name)

    allowed_intermediates = [NO_INTERMEDIATE, *spec.intermediate_names()]
    for index, name in enumerate(spec.search.target.intermediate or []):
        if name not in allowed_intermediates:
            bad(f"search.target.intermediate[{index}]", name, ", ".join(allowed_intermediates))

    trained = spec.training_tasks("intermediate") + spec.training_tasks("target")
    for name in spec.search.per_task:
        if name not in trained:
            bad(f"search.per_task.{name}", name,
                "an intermediate or target task of this spec: " + ", ".join(trained))
    # Only the stages the plan will run, each with its per-task overrides.
    workers = spec.resources.workers_per_trial
    for kind in ("intermediate", "target"):
        for task in spec.training_tasks(kind):
            stage = spec.stage_search(kind, task)
            for key in HYPERPARAMETERS:
                _check_dimension(_field(spec, kind, task, key), key, getattr(stage, key),
                                 spec.searcher.type, bad)
            if kind == "target" and spec.searcher.type != "grid" and \
                    spec.evaluation.full_table:
                needed = len(spec.target_intermediates())
                if stage.num_samples < needed:
                    bad(_field(spec, kind, task, "num_samples"), stage.num_samples, f">= {needed} "
                        "(evaluation.full_table needs a trial per intermediate choice)")
            for value in dimension_values(stage.batch_size) or []:
                if isinstance(value, int) and value % workers:
                    bad(_field(spec, kind, task, "batch_size"), value,
                        f"a multiple of resources.workers_per_trial ({workers}), "
                        "as it is the global batch")

    for index, name in enumerate(spec.evaluation.languages if spec.evaluation.languages != "all"
                                 else []):
        known = sorted({lang for task in spec.target_tasks + spec.retrieval_tasks
                        if task in REGISTRY for lang in get_task(task).languages})
        if name not in known:
            bad(f"evaluation.languages[{index}]", name, "'all' or languages of the tasks: "
                + ", ".join(known))

    reserved = {"CPU", "GPU", "memory", "object_store_memory", "trial_driver"}
    for name, amount in spec.resources.custom_per_worker.items():
        if name in reserved:
            bad(f"resources.custom_per_worker.{name}", amount,
                "custom resource names other than " + ", ".join(sorted(reserved))
                + " (use cpus_per_worker and gpus_per_worker)")
        elif amount <= 0:
            bad(f"resources.custom_per_worker.{name}", amount, "a positive amount")
    if spec.storage and "://" in spec.storage:
        scheme = spec.storage.split("://", 1)[0]
        if scheme not in STORAGE_SCHEMES:
            bad("storage", spec.storage, "a local path or a URI with scheme "
                + ", ".join(f"{s}://" for s in STORAGE_SCHEMES))
    if spec.model.source == "local" and not Path(spec.model.name).expanduser().exists():
        bad("model.name", spec.model.name, "an existing directory when model.source is local")
    if spec.data.source == "local":
        if not spec.data.path:
            bad("data.path", None, "a directory of <task>/<split>-<language>.jsonl files "
                "or of the tasks' original files (see README, Tasks)")
        elif not Path(spec.data.path).expanduser().is_dir():
            bad("data.path", spec.data.path, "an existing directory")
    synthetic_ok = spec.data.source in ("offline", "local")
    for name in [*spec.target_tasks, *spec.retrieval_tasks,
                 *(m for e in spec.intermediate_names() for m in spec.intermediate_members(e)[0])]:
        task = REGISTRY.get(name)
        if task is None:
            continue
        if task.synthetic and not synthetic_ok:
            bad("data.source", spec.data.source, f"offline or local for synthetic task {name!r}")
        if spec.data.source == "offline" and not task.synthetic:
            bad("data.source", "offline", f"hub or local for task {name!r} (not synthetic)")
        chosen = spec.evaluation.languages
        # A hub copy may lack some of the task's languages (Tatoeba's XTREME-R five).
        off_hub = task.hub is None or not all(
            task.reads_hub("hub", language) for language in task.languages
            if chosen == "all" or language in chosen)
        if spec.data.source == "hub" and not task.synthetic and off_hub:
            if task.local is None:
                bad("data.source", "hub", f"local for task {name!r}, which has no hub source")
            elif not spec.data.path:
                holding = f"{task.local.folder}/" if task.local.folder else "its files"
                bad("data.path", None, f"a directory holding {holding} for task {name!r}, "
                    "which has no complete hub copy")
    if spec.model.source == "hub" and not spec.model.revision:
        bad("model.revision", None, "a pinned hub revision (commit sha or tag) for a hub model")
    if spec.scheduler.max_t is not None and spec.scheduler.max_t < spec.scheduler.grace_period:
        bad("scheduler.max_t", spec.scheduler.max_t,
            f">= scheduler.grace_period ({spec.scheduler.grace_period})")
    return list(dict.fromkeys(problems))


def _field(spec: Spec, kind: str, task: str, key: str) -> str:
    """The spec field a stage's `key` came from: the task's override, else the stage's."""
    override = spec.search.per_task.get(task)
    if override is not None and getattr(override, key) is not None:
        return f"search.per_task.{task}.{key}"
    return f"search.{kind}.{key}"


def _check_dimension(path: str, key: str, dimension: Dimension, searcher: str, bad) -> None:
    values = dimension_values(dimension)
    if values is None:
        low, high = dimension.loguniform if isinstance(dimension, LogUniform) else dimension.uniform
        if searcher == "grid":
            bad(path, dimension.model_dump(), "a value or {choice: [...]} with searcher grid")
        if not low < high:
            bad(path, [low, high], "[low, high] with low < high")
        if isinstance(dimension, LogUniform) and low <= 0:
            bad(path, [low, high], "positive bounds for loguniform")
        if key in ("epochs", "batch_size", "seed"):
            bad(path, dimension.model_dump(), "a value or {choice: [...]} of integers")
        return
    for value in values:
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            bad(path, value, "a number")
        elif key in ("epochs", "batch_size") and (not float(number).is_integer() or number < 1):
            bad(path, value, "a positive integer")
        elif key == "learning_rate" and not 0 < number < 1:
            bad(path, value, "a learning rate in (0, 1)")
        elif key == "warmup_ratio" and not 0 <= number < 1:
            bad(path, value, "a ratio in [0, 1)")
        elif key == "weight_decay" and number < 0:
            bad(path, value, "a non-negative number")


_UNION_BRANCHES = ("str", "int", "float", "list[str]", "literal['all']", "tuple[float, float]")


def _format_pydantic(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        # Drop the union-branch labels pydantic adds (e.g. 'str', 'Mixture') from the path.
        location = []
        for part in item["loc"]:
            if isinstance(part, int):
                location.append(f"[{part}]")
            elif part[:1].isupper() or part in _UNION_BRANCHES:
                continue
            else:
                location.append(("." if location else "") + str(part))
        path = "".join(location) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        value = item.get("input")
        shown = "" if item["type"] == "missing" else f"got {value!r}; "
        problems.append(f"{path}: {shown}allowed: {message}")
    return list(dict.fromkeys(problems))


DEPRECATED_EVALS_PER_EPOCH = (
    "scheduler.evals_per_epoch is deprecated; "
    "set search.intermediate.evals_per_epoch and search.target.evals_per_epoch")


def parse_spec(document: Any, source: str = "<spec>") -> Spec:
    """Validate a parsed YAML document; raise SpecError listing every problem."""
    if not isinstance(document, dict):
        raise SpecError(source, [f"(top level): got {type(document).__name__}; allowed: a mapping"])
    try:
        spec = Spec.model_validate(document)
    except ValidationError as error:
        raise SpecError(source, _format_pydantic(error)) from None
    if spec.scheduler.evals_per_epoch is not None:
        print(f"warning: {source}: {DEPRECATED_EVALS_PER_EPOCH}", file=sys.stderr)
    problems = _check_semantics(spec)
    if problems:
        raise SpecError(source, problems)
    return spec


def load_spec(path: str | Path) -> Spec:
    """Read and validate a search-space YAML file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), ["file: does not exist or is not a file"])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SpecError(str(path), [f"file: not valid YAML ({error})"]) from None
    return parse_spec(document, str(path))


def default_spec_path() -> Path:
    """The offline default sweep, shipped as package data of `search_spaces`."""
    return Path(str(files("search_spaces") / "default.yaml"))
