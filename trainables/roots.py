"""Where a run's task files are: the offline benchmark (generated once per node) or
`data.path`. Its own module because both the example loader (`trainables.data`) and the image
vectors (`trainables.images`) read under it, and the first imports the second."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trainables.offline.benchmark import ensure_benchmark
from trainables.storage import cache_dir


def data_root(data_cfg: Mapping[str, Any]) -> Path:
    """The directory holding task files for the offline or local source."""
    if data_cfg["source"] == "offline":
        offline = data_cfg["offline"]
        return ensure_benchmark(
            cache_dir() / "benchmarks", seed=offline["seed"], train_size=offline["train_size"],
            eval_size=offline["eval_size"], retrieval_size=offline["retrieval_size"],
        )
    if data_cfg.get("path") is None:
        raise FileNotFoundError(f"data.source {data_cfg['source']!r} reads local files under "
                                "data.path, which is not set")
    return Path(data_cfg["path"]).expanduser()
