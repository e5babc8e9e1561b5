"""A check several scorers share: paired inputs must be the same length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _check_lengths(a: Sequence[Any], b: Sequence[Any], name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} differ in length: {len(a)} vs {len(b)}")
