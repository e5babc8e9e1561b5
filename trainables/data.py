"""Reading task examples from the offline benchmark, a local directory or the hub.

The offline benchmark and a local directory share one layout:
`<root>/<task>/<split>-<language>.jsonl`, one example per line with the task's field names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trainables.tasks import Task, get_task


def data_root(data_cfg: Mapping[str, Any]) -> Path:
    """The directory holding task files for the offline or local source."""
    if data_cfg["source"] == "offline":
        from trainables.offline.benchmark import ensure_benchmark
        from trainables.storage import cache_dir

        offline = data_cfg["offline"]
        return ensure_benchmark(
            cache_dir() / "benchmarks", seed=offline["seed"], train_size=offline["train_size"],
            eval_size=offline["eval_size"], retrieval_size=offline["retrieval_size"],
        )
    return Path(data_cfg["path"]).expanduser()


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_examples(
    data_cfg: Mapping[str, Any], task_name: str, split: str, language: str
) -> list[dict]:
    """Examples of one task, split and language, with the task's field names."""
    task = get_task(task_name)
    if data_cfg["source"] == "hub":
        return _load_from_hub(data_cfg, task, split, language)
    path = data_root(data_cfg) / task.name / f"{split}-{language}.jsonl"
    if not path.exists():
        raise FileNotFoundError(
            f"task {task.name!r}: no {split} data for language {language!r} ({path})"
        )
    return read_jsonl(path)


def _load_from_hub(data_cfg: Mapping[str, Any], task: Task, split: str, language: str) -> list:
    import datasets

    if task.hub is None:
        raise ValueError(f"task {task.name!r} has no hub source; use data.source offline or local")
    if split not in task.hub.splits:
        raise ValueError(f"task {task.name!r} has no {split!r} split on the hub")
    revision = data_cfg.get("revisions", {}).get(task.name) or task.hub.revision
    dataset = datasets.load_dataset(
        task.hub.path, task.hub.config_for(language), split=task.hub.splits[split],
        revision=revision,
    )
    columns = task.hub.columns
    return [{columns.get(key, key): value for key, value in row.items()} for row in dataset]
