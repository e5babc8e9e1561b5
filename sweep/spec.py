"""The search-space file: load it and validate it, with errors that say what to fix.

`load_spec(path)` returns a `Spec` or raises `SpecError`, whose lines each name the field's
path, the bad value and what is allowed: first the schema's field checks (`sweep.schema`),
then, on a spec that passes them, the cross-field rules (`sweep.rules.RULES`). It never
starts Ray.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sweep.errors import SpecError
from sweep.rules import check_semantics
from sweep.schema import Spec

__all__ = ["Spec", "SpecError", "default_spec_path", "load_spec", "parse_spec"]

DEPRECATED_EVALS_PER_EPOCH = (
    "scheduler.evals_per_epoch is deprecated; "
    "set search.intermediate.evals_per_epoch and search.target.evals_per_epoch")


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
    problems = check_semantics(spec)
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
