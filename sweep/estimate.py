"""`sweep plan --estimate`: each stage's GPU-hours and the sweep's makespan on N GPUs.

From the registry's sizes (`Task.train_examples`, `Task.eval_examples`; a synthetic task's
are the spec's `data.offline`) and one throughput figure: training tokens a second on one
GPU, given (`--tokens-per-second`) or measured by the GPU benchmark (`THROUGHPUT_FILE`).

- A training trial reads its examples (a mixture's member capped at `cap`, a few-shot model
  its shots, a translate-train model its sources) for the stage's largest epoch count, each
  at the full sequence length; it runs on `workers_per_trial x gpus_per_worker` GPUs, that
  many times as fast (linear scaling assumed).
- An evaluation or retrieval task is forward-only, `FORWARD_SPEEDUP` times the training rate
  a token, over what one language's evaluation reads.
- The makespan is `sweep.schedule`'s, for the DAG and for one stage at a time, with the
  lower bound no schedule beats.

What it leaves out: dev evaluations during training, checkpoint I/O, data loading, and
ASHA's early stops (so the training figures are upper bounds under ASHA).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sweep.plan import Plan, Stage
from sweep.schedule import Schedule, Work, busy_bound, critical_path, lower_bound, simulate
from sweep.schema import Dimension, LogUniform, Spec, Uniform, dimension_values
from trainables.arms import ARMS, english_sources
from trainables.tasks import REGISTRY, Family, Task, get_task
from trainables.trial import evaluation_resources

# Written by the GPU benchmark: {"tokens_per_second": <training tokens/s on one GPU, bf16>}.
THROUGHPUT_FILE = Path(__file__).resolve().parent.parent / "benchmarks" / "results" \
    / "gpu_throughput.json"
# A forward pass costs about a third of a training step (forward, and a backward of about
# two forwards) per token.
FORWARD_SPEEDUP = 3.0
DEFAULT_GPUS = 8
TRAINING_KINDS = ("intermediate", "target")
RETRIEVAL_KINDS = ("retrieval", "after_target", "efficiency")
# A multiple-choice example's sequences where its registry entry does not list its choices
# (the offline benchmark's: four).
DEFAULT_CHOICES = 4
# Not token-bound: image encoding, and timing passes whose count is the spec's, not data's.
UNESTIMATED_KINDS = {"precompute": "image encoding", "efficiency": "timing passes"}
NOTE_WIDTH = 100


@dataclass(frozen=True)
class StageEstimate:
    """One stage's cost: per trial (a training trial, or one evaluation task) and in all."""

    stage: Stage
    examples: int | None  # per trial: an epoch's (training) or one evaluation's
    epochs: float | None  # None: forward only
    tokens: float | None  # per trial, every epoch; None: not estimated
    gpus: float  # per trial
    seconds: float | None  # per trial
    missing: str = ""  # why it is not estimated

    @property
    def gpu_hours(self) -> float:
        return (self.seconds or 0.0) * self.gpus * self.stage.trials / 3600


@dataclass(frozen=True)
class Estimate:
    rows: tuple[StageEstimate, ...]
    gpus: int
    tokens_per_second: float
    source: str  # where the throughput came from
    concurrent_trials: int  # training trials at once
    sequential: Schedule
    dag: Schedule
    bound: float
    critical_path: float
    busy: float  # the busiest pool's total work
    notes: tuple[str, ...]


def read_throughput(path: Path | None = None) -> float | None:
    """The GPU benchmark's training tokens a second on one GPU (`THROUGHPUT_FILE`, read when
    called); None without its file."""
    path = path or THROUGHPUT_FILE
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text())["tokens_per_second"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: no tokens_per_second number ({error})") from None
    if not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{path}: tokens_per_second: got {value!r}; allowed: a number > 0")
    return float(value)


def largest(dimension: Dimension) -> float:
    """The largest value a dimension takes (a range's upper end)."""
    if isinstance(dimension, LogUniform):
        return dimension.loguniform[1]
    if isinstance(dimension, Uniform):
        return dimension.uniform[1]
    return max(float(value) for value in dimension_values(dimension))


@cache
def _translated_from() -> dict[str, str]:
    """Translations entry -> a task whose English training data it translates."""
    return {task.translations: name for name, task in reversed(REGISTRY.items())
            if task.translations}


def training_examples(spec: Spec, name: str, language: str) -> int | None:
    """Examples of `name`'s train split in `language` (a dev slice left out); None where the
    registry has no size. A real task's one size stands for every language."""
    entry = get_task(name)
    if entry.synthetic:
        size = spec.data.offline.train_size
        if language != "en" and name not in _translated_from():
            from trainables.offline.builders.translation import in_language_size

            size = in_language_size(size)  # the generator's small gold in-language sets
    elif entry.train_examples is not None:
        size = entry.train_examples
    elif name in _translated_from():  # the English training data, machine-translated
        english = [training_examples(spec, other, "en") for other, _ in
                   english_sources(get_task(_translated_from()[name]), "train")]
        size = None if None in english else sum(english)
    else:
        return None
    return size - size // entry.dev_slice.every if entry.dev_slice else size


def evaluation_examples(spec: Spec, name: str, kind: str) -> int | None:
    """What one language's evaluation of `name` reads (a retrieval task's both sides)."""
    entry = get_task(name)
    if entry.synthetic:
        offline = spec.data.offline
        return 2 * offline.retrieval_size if kind in RETRIEVAL_KINDS else offline.eval_size
    return entry.eval_examples


def sequences(entry: Task) -> int:
    """Sequences one example of `entry` feeds the model: one, or one per choice."""
    if entry.family is not Family.MULTIPLE_CHOICE:
        return 1
    hub = entry.hub
    listed = (hub.lists.get("choices") or hub.label_values) if hub else None
    return len(listed) if listed else DEFAULT_CHOICES


def training_tokens(entry: Task, length: int) -> int:
    """Tokens one training example of `entry` takes at most: a sequence per choice, a
    dual encoder's query and candidate."""
    if entry.family is Family.DUAL_ENCODER:
        return min(entry.query_length or length, length) + length
    return sequences(entry) * length


def _devices(spec: Spec) -> tuple[float, float]:
    """GPUs of one training trial and of one evaluation task; a spec whose trials ask for
    none counts a worker (an evaluation) as one device of the given throughput."""
    resources = spec.resources.model_dump()
    training = resources["workers_per_trial"] * resources["gpus_per_worker"]
    return (training or resources["workers_per_trial"],
            evaluation_resources(resources).get("GPU", 1))


def _training(plan: Plan, stage: Stage, tokens_per_second: float) -> StageEstimate:
    spec = plan.spec.for_model(stage.config.get("base_model"))
    arm = ARMS[(stage.config.get("arm") or {}).get("name", "zero_shot")]
    if stage.kind == "intermediate":  # each member task, its own sources, capped
        cap = stage.config.get("cap")
        parts = [(member, pairs) for member in stage.config["tasks"]
                 for pairs in [english_sources(get_task(member), "train")]]
    else:
        parts = [(stage.task, stage.config["arm"]["train"] if "arm" in stage.config
                  else english_sources(get_task(stage.task), "train"))]
        cap = int(largest(spec.search.target.shots)) if arm.from_zero_shot else None
    examples, tokens, unknown = 0, 0.0, []
    for task, pairs in parts:
        sizes = {source: training_examples(spec, source, language)
                 for source, language in pairs}
        if arm.from_zero_shot and None in sizes.values():  # k shots, whatever the size
            drawn = cap
        else:
            unknown += [source for source, size in sizes.items() if size is None]
            drawn = min(sum(size or 0 for size in sizes.values()), cap or float("inf"))
        examples += int(drawn)
        tokens += drawn * training_tokens(get_task(task),
                                          spec.model.max_length or get_task(task).max_length)
    epochs = largest(spec.stage_search(stage.kind, stage.task).epochs)
    gpus = _devices(spec)[0]
    if unknown:
        return StageEstimate(stage, None, epochs, None, gpus, None,
                             "no training-set size for " + ", ".join(dict.fromkeys(unknown)))
    tokens *= epochs
    return StageEstimate(stage, examples, epochs, tokens, gpus,
                         tokens / (tokens_per_second * gpus))


def _evaluation(plan: Plan, stage: Stage, tokens_per_second: float) -> StageEstimate:
    spec = plan.spec.for_model(stage.config.get("base_model"))
    gpus = _devices(spec)[1]
    if stage.kind in UNESTIMATED_KINDS:
        return StageEstimate(stage, None, None, None, gpus, None,
                             f"{UNESTIMATED_KINDS[stage.kind]}, not token-bound")
    examples = evaluation_examples(spec, stage.task, stage.kind)
    if examples is None:
        return StageEstimate(stage, None, None, None, gpus, None,
                             f"no evaluation size for {stage.task}")
    length = (spec.evaluation.retrieval.max_length if stage.kind in RETRIEVAL_KINDS
              else spec.model.max_length or get_task(stage.task).max_length)
    tokens = float(examples * length * (sequences(get_task(stage.task))
                                        if stage.kind == "eval" else 1))
    return StageEstimate(stage, examples, None, tokens, gpus,
                         tokens / (tokens_per_second * FORWARD_SPEEDUP * gpus))


def trial_waits(plan: Plan, stage: Stage) -> list[tuple[str, ...]]:
    """What each of a stage's trials waits for under the DAG policy: a target trial for the
    intermediate stage it starts from alone (trials split evenly over the choices, in turn),
    retrieval from an encoder for the stage that trains it, the rest for every upstream."""
    stages = {other.name: other for other in plan.stages}
    after = stage.depends_on
    intermediates = {stages[dep].task: dep for dep in after
                     if stages[dep].kind == "intermediate"}
    if stage.kind == "target" and intermediates:
        choices = stage.config["intermediate"]
        others = tuple(dep for dep in after if dep not in intermediates.values())
        return [others + ((intermediates[choice],) if choice in intermediates else ())
                for choice in (choices[i % len(choices)] for i in range(stage.trials))]
    if stage.kind in ("retrieval", "efficiency"):  # the base model, then every seed's encoder
        encoders = [()] + [(dep,) for dep in after for _ in range(stages[dep].repeats)]
    elif stage.kind == "after_target":  # every seed's checkpoint of each choice
        choices = len(plan.spec.target_intermediates())
        encoders = [(dep,) for dep in after for _ in range(choices * stages[dep].repeats)]
    else:
        return [after] * stage.trials
    each, extra = divmod(stage.trials, len(encoders))
    if extra:  # not the shape the plan makes: wait for every upstream stage
        return [after] * stage.trials
    return [deps for deps in encoders for _ in range(each)]


def work_items(plan: Plan, rows: tuple[StageEstimate, ...]) -> list[Work]:
    """Every trial of every stage as a schedule item (zero seconds where not estimated)."""
    work = []
    for row in rows:
        needs = {"gpu": row.gpus, **({"trial": 1} if row.stage.kind in TRAINING_KINDS else {})}
        waits = trial_waits(plan, row.stage)
        work += [Work(row.stage.name, row.seconds or 0.0, needs, after) for after in waits]
        if not waits:  # a stage of no trials is done once its upstream is
            work.append(Work(row.stage.name, 0.0, {}, row.stage.depends_on))
    return work


def estimate(plan: Plan, gpus: int, tokens_per_second: float, source: str) -> Estimate:
    """The plan's cost on `gpus` GPUs at `tokens_per_second` training tokens/s on one GPU;
    ValueError where a trial needs more GPUs than there are."""
    spec = plan.spec
    rows = tuple((_training if stage.kind in TRAINING_KINDS else _evaluation)(
        plan, stage, tokens_per_second) for stage in plan.stages)
    trial_gpus = _devices(spec)[0]
    if trial_gpus > gpus:
        raise ValueError(f"--gpus {gpus}: a training trial of this spec holds {trial_gpus:g} "
                         f"GPUs; allowed: at least {trial_gpus:g}")
    pools = {"gpu": gpus, "trial": spec.resources.max_concurrent_trials}
    work = work_items(plan, rows)
    return Estimate(
        rows, gpus, tokens_per_second, source,
        min(spec.resources.max_concurrent_trials, int(gpus // trial_gpus)),
        simulate(work, pools, one_stage_at_a_time=True), simulate(work, pools),
        lower_bound(work, pools), critical_path(work), busy_bound(work, pools),
        tuple(_notes(spec, rows)))


def _notes(spec: Spec, rows: tuple[StageEstimate, ...]) -> list[str]:
    notes = []
    missing: dict[str, list[str]] = {}
    for row in rows:
        if row.missing:
            missing.setdefault(row.missing, []).append(row.stage.name)
    notes += [f"counted as 0 GPU-hours and 0 s ({why}): {', '.join(stages)}"
              for why, stages in missing.items()]
    if spec.scheduler.type != "fifo":
        notes.append(f"epochs are each stage's largest: scheduler {spec.scheduler.type} stops "
                     "some trials early, so training is an upper bound")
    if not spec.resources.gpus_per_worker:
        notes.append("the trials ask for no GPU: each worker counts as one device at the given "
                     "throughput, and GPUs below are devices")
    notes.append("tokens are examples x the full sequence length (fewer where batches pad "
                 "to their longest); dev evaluations during training are not counted; a "
                 "trial's GPUs scale linearly; evaluation runs forward only, "
                 f"{FORWARD_SPEEDUP:g}x the training rate; a real task's evaluation size is "
                 "a typical language's, and target trials split evenly over the intermediate "
                 "choices")
    return notes


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:,.1f} h" + (f" ({hours / 24:,.1f} days)" if hours >= 48 else "")


def _count(value: float | None, unit: str = "") -> str:
    if value is None:
        return "?"
    for size, suffix in ((1e9, "G"), (1e6, "M")):
        if value >= size:
            return f"{value / size:,.1f}{suffix}{unit}"
    return f"{value:,.0f}{unit}"


def describe_estimate(result: Estimate) -> str:
    """The estimate as a text table and its makespans, for `sweep plan --estimate`."""
    header = ("stage", "trials", "examples", "epochs", "tokens/trial", "GPUs/trial",
              "h/trial", "GPU-h", "DAG done (h)")
    rows = [header]
    for row in result.rows:
        done = result.dag.stage_spans[row.stage.name][1] / 3600
        rows.append((row.stage.name, str(row.stage.trials), _count(row.examples),
                     "fwd" if row.epochs is None else f"{row.epochs:g}", _count(row.tokens),
                     f"{row.gpus:g}", "?" if row.seconds is None else f"{row.seconds / 3600:,.2f}",
                     "?" if row.seconds is None else f"{row.gpu_hours:,.1f}", f"{done:,.1f}"))
    training = sum(row.gpu_hours for row in result.rows if row.stage.kind in TRAINING_KINDS)
    total = sum(row.gpu_hours for row in result.rows)
    rows.append(("total", str(sum(row.stage.trials for row in result.rows)), "", "", "", "",
                 "", f"{total:,.1f}", f"{result.dag.makespan / 3600:,.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"estimate on {result.gpus} GPUs at {result.tokens_per_second:,.0f} training "
             f"tokens/s a GPU ({result.source}); at most {result.concurrent_trials} training "
             "trials at once", ""]
    for index, row in enumerate(rows):
        if index == len(rows) - 1:
            lines.append("  ".join("-" * width for width in widths))
        lines.append("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                               for column, (cell, width) in enumerate(zip(row, widths,
                                                                          strict=True))))
    lines += [
        "",
        f"GPU-hours: {total:,.1f} (training {training:,.1f}, evaluation and retrieval "
        f"{total - training:,.1f})",
        f"makespan on {result.gpus} GPUs:",
        f"  one stage at a time  {_hours(result.sequential.makespan)}",
        f"  DAG                  {_hours(result.dag.makespan)}",
        f"  lower bound          {_hours(result.bound)} (critical path "
        f"{_hours(result.critical_path)}; busiest pool's work {_hours(result.busy)})",
        "",
        *(textwrap.fill(note, NOTE_WIDTH, initial_indent="note: ", subsequent_indent="  ",
                        break_on_hyphens=False)
          for note in result.notes),
    ]
    return "\n".join(lines)


def estimate_text(plan: Plan, gpus: int | None, tokens_per_second: float | None) -> str:
    """`sweep plan --estimate`'s table, at the throughput given or else the GPU benchmark's;
    ValueError naming what to pass where there is neither."""
    source = "--tokens-per-second"
    if tokens_per_second is None:
        tokens_per_second, source = read_throughput(), str(THROUGHPUT_FILE)
    if tokens_per_second is None:
        raise ValueError(f"--estimate needs a throughput: pass --tokens-per-second X "
                         f"(training tokens/s on one GPU), or run the GPU benchmark to write "
                         f"{THROUGHPUT_FILE}")
    return describe_estimate(estimate(plan, gpus or DEFAULT_GPUS, tokens_per_second, source))
