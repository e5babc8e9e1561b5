"""Reading task examples from the offline benchmark, a local directory or the hub.

- offline and local: `<root>/<task>/<split>-<language>.jsonl`, one example per line with the
  task's field names; a task with a `LocalSource` reads its original files instead (SQuAD
  JSON, CoNLL-U, LASER Tatoeba, BUCC, CCGbank AUTO), under `<root>/<folder>/`;
- hub: `datasets.load_dataset` at the pinned revision, each row turned into an example by the
  task's `HubSource` (column mapping, gathered lists, label values, rows picked by id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from trainables.drops import (
    COUNTED_SPLITS,
    DEFAULT_MAX_SHARE,
    EMPTY_TEXT,
    NO_GOLD_LABEL,
    empty_text,
    record,
)
from trainables.images import attach_images
from trainables.readers import READERS
from trainables.roots import data_root
from trainables.tasks import FileFormat, HubSource, Task, get_task


def load_examples(
    data_cfg: Mapping[str, Any], task_name: str, split: str, language: str
) -> list[dict]:
    """Examples of one task, split and language, with the task's field names. A task whose
    dev set is held out of its training split (`Task.dev_slice`) reads both from train. Rows
    that are not examples are dropped and counted (`trainables.drops`)."""
    task = get_task(task_name)
    dropped: Counter = Counter()
    sliced = task.dev_slice is not None and split in ("train", "dev")
    examples = _load_split(data_cfg, task, "train" if sliced else split, language, dropped)
    rows = len(examples) + sum(dropped.values())
    if sliced:
        held_out = split == "dev"
        examples = [example for example in examples
                    if task.dev_slice.holds(example) == held_out]
    if split in COUNTED_SPLITS and task.text_fields:
        kept = [example for example in examples if not empty_text(example, task.text_fields)]
        if len(kept) < len(examples):
            dropped[EMPTY_TEXT] += len(examples) - len(kept)
        examples = kept
    record(f"{task.name}/{split}/{language}", rows, dropped,
           float(data_cfg.get("max_dropped_share", DEFAULT_MAX_SHARE)))
    if task.images is not None:
        examples = attach_images(data_cfg, task, examples, f"{task.name} {split} {language}")
    return examples


def _load_split(data_cfg: Mapping[str, Any], task: Task, split: str, language: str,
                dropped: Counter) -> list:
    if task.reads_hub(data_cfg["source"], language):
        revisions = data_cfg.get("revisions", {})  # a control's: its real task's
        revision = (revisions.get(task.name) or revisions.get(task.files_of or task.name)
                    or task.hub.revision)
        return _load_from_hub(task, split, language, revision, dropped)
    files = local_files(data_cfg, task.name, split, language)
    reader = READERS[task.local.format if task.local else FileFormat.JSONL]
    options = task.local.reader_options if task.local else {}
    examples = [example for file in files for example in reader(file, **options)]
    if task.local and task.local.split_values:
        kept = task.local.split_values[split]
        examples = [example for example in examples if example["split"] in kept]
    field = task.local.language_field if task.local else None
    if field is None:
        return examples
    return [example for example in examples
            if example.get(field, task.code(language)) == task.code(language)]


def local_files(
    data_cfg: Mapping[str, Any], task_name: str, split: str, language: str
) -> list[Path]:
    """The files (or, for multi-file formats, their shared stems) that hold one task split
    and language in the offline or local source; FileNotFoundError names what is missing."""
    task = get_task(task_name)
    root = data_root(data_cfg)
    if task.local is None:
        path = root / (task.files_of or task.name) / f"{split}-{language}.jsonl"
        if not path.exists():
            raise FileNotFoundError(
                f"task {task.name!r}: no {split} data for language {language!r} ({path})")
        return [path]
    local = task.local
    if split not in local.files:
        raise FileNotFoundError(f"task {task.name!r} has no {split} split in its local files "
                                f"(it has {', '.join(local.files)})")
    globs = (local.files[split],) if isinstance(local.files[split], str) else local.files[split]
    if (language != "en" and local.language_field is None
            and not any("{" in glob for glob in globs)):
        # No language in the file names and none in the records: English only (SQuAD's dev
        # for LAReQA), not data of `language`.
        raise FileNotFoundError(f"task {task.name!r} has no {split} data for language "
                                f"{language!r}: its {split} files hold English only")
    folder = root / local.folder
    files = []
    for glob in globs:
        pattern = glob.format(language=language, code=task.code(language))
        # The readers of multi-file formats take the stem their files share.
        matches = sorted({path.with_suffix("") for path in folder.glob(pattern + ".*")}) \
            if local.format.multi_file else sorted(folder.glob(pattern))
        if not matches:
            raise FileNotFoundError(
                f"task {task.name!r}: no {split} data for language {language!r} "
                f"({folder / pattern} matches nothing)"
            )
        files += matches
    return files


def task_with_labels(data_cfg: Mapping[str, Any], task_name: str) -> Task:
    """The registry entry, with its label set read from the data where the registry leaves
    it to the data (`labels_from_data`): every label in every split and language the task
    has, sorted, so each worker of a trial derives the same label order."""
    task = get_task(task_name)
    if not task.labels_from_data:
        return task
    labels = set()
    for split in task.source_splits:
        for language in task.languages:
            for example in load_examples(data_cfg, task.name, split, language):
                value = example[task.label_field]  # a tag sequence, or one label
                labels.update(value if isinstance(value, list) else [value])
    return replace(task, labels=tuple(sorted(labels)))


def _load_from_hub(task: Task, split: str, language: str, revision: str | None,
                   dropped: Counter) -> list[dict]:
    import datasets  # lazy: slow to import, and only hub runs need it

    source = task.hub
    assert source is not None
    if split not in source.splits:
        raise ValueError(f"task {task.name!r} has no {split!r} split on the hub "
                         f"(it has {', '.join(source.splits)})")
    code = task.code(language)
    rows: list[dict] = []
    for hub_split in source.splits_for(split, code):
        rows += datasets.load_dataset(source.path, source.config_for(code), split=hub_split,
                                      revision=revision)
    return hub_examples(source, rows, language, dropped)


def hub_examples(source: HubSource, rows: Iterable[Mapping[str, Any]], language: str,
                 dropped: Counter | None = None) -> list:
    """Hub rows -> examples with the task's field names (see HubSource); the rows without a
    gold label are counted in `dropped`."""
    prefix = source.id_prefix.get(language)
    examples = []
    if source.explode:
        rows = [{**row, **dict(zip(source.explode, items, strict=True))} for row in rows
                for items in zip(*(row[column] for column in source.explode), strict=True)]
    for row in rows:
        if prefix is not None and not str(row["id"]).startswith(prefix + "-"):
            continue
        example = dict(row) if not source.columns else {
            ours: _column(row, theirs) for ours, theirs in source.columns.items()}
        for ours, theirs in source.lists.items():
            example[ours] = [row[column] for column in theirs]
        if source.label_values is not None:
            if example["label"] not in source.label_values:
                if dropped is not None:  # no gold label (SNLI's -1): not an example
                    dropped[NO_GOLD_LABEL] += 1
                continue
            example["label"] = source.label_values.index(example["label"])
        # Hub Tatoeba keeps each sentence's trailing newline; no field should.
        examples.append({key: value.rstrip("\r\n") if isinstance(value, str) else value
                         for key, value in example.items()})
    return examples


def _column(row: Mapping[str, Any], column: str | tuple[str, ...]) -> Any:
    """A row's value of `column`, or of the first of its spellings the row has."""
    if isinstance(column, str):
        return _nested(row, column)
    for spelling in column:
        if spelling.split(".")[0] in row:
            return _nested(row, spelling)
    raise KeyError(f"none of the columns {', '.join(column)} in a row with "
                   f"{', '.join(row)}")


def _nested(row: Mapping[str, Any], column: str) -> Any:
    value: Any = row
    for part in column.split("."):
        value = value[part]
    return value
