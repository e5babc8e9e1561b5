"""Frozen image vectors keyed by image id, and their join with caption examples.

(Being written: see the helper's task.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainables.tasks.schema import Task


def attach_images(data_cfg: Mapping[str, Any], task: Task, examples: list[dict],
                  where: str) -> list[dict]:
    """Each caption example with its `image` vector as the task's control says."""
    raise NotImplementedError
