"""The search-space file: load it and validate it, with errors that say what to fix.

`load_spec(path)` returns a `Spec` or raises `SpecError`, whose lines each name the field's
path, the bad value and what is allowed: first the YAML itself (each key once, at most
`MAX_NODES` nodes with aliases expanded), then the schema's field checks (`sweep.schema`),
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
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sweep.errors import SpecError
from sweep.rules import check_semantics
from sweep.schema import Spec

__all__ = ["MAX_NODES", "Spec", "SpecError", "default_spec_path", "load_spec", "parse_spec"]

# A search space has a few hundred YAML nodes; a few hundred bytes of nested aliases can
# expand to a billion ("billion laughs"), which would hang the schema's checks.
MAX_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"

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


def _node_problems(root: Node) -> list[str]:
    """Keys given twice in one mapping, or a document larger than MAX_NODES once aliases are
    expanded. Walks the composed graph, where an alias is the very node it names, so that
    counting stops at the bound instead of expanding a billion nodes."""
    problems, count, checked = [], 0, set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        count += 1
        if count > MAX_NODES:
            return [f"file: got more than {MAX_NODES:,} YAML nodes once aliases are expanded; "
                    f"allowed: at most {MAX_NODES:,} (a search space has a few hundred)"]
        if isinstance(node, SequenceNode):
            stack += [(item, f"{path}[{index}]") for index, item in enumerate(node.value)]
        elif isinstance(node, MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                named = key.value if isinstance(key, ScalarNode) else "?"
                child = f"{path}.{named}" if path else named
                stack += [(key, child), (value, child)]
                # An aliased mapping is reported once; a merge key (<<) may repeat.
                if id(node) in checked or not isinstance(key, ScalarNode) \
                        or key.tag == _MERGE_TAG:
                    continue
                line, earlier = key.start_mark.line + 1, first_line.get((key.tag, key.value))
                if earlier is None:
                    first_line[key.tag, key.value] = line
                else:
                    where = f"lines {earlier} and {line}" if earlier != line else f"line {line}"
                    problems.append(f"{child}: key given twice ({where}); allowed: each key once")
            checked.add(id(node))
    return problems


def _read_yaml(text: str, source: str) -> Any:
    """The one YAML document in `text`, checked by `_node_problems` before it is built."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        problems = _node_problems(root)
        if problems:
            raise SpecError(source, problems)
        return loader.construct_document(root)
    except yaml.YAMLError as error:
        raise SpecError(source, [f"file: not valid YAML ({error})"]) from None
    except RecursionError:  # the composer recurses once per level of nesting
        raise SpecError(source, ["file: nested too deeply; allowed: a search space's "
                                 "few levels of mappings and lists"]) from None
    finally:
        loader.dispose()


def load_spec(path: str | Path) -> Spec:
    """Read and validate a search-space YAML file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), ["file: does not exist or is not a file"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(str(path), [f"file: not UTF-8 text ({error.reason} at byte "
                                    f"{error.start})"]) from None
    return parse_spec(_read_yaml(text, str(path)), str(path))


def default_spec_path() -> Path:
    """The offline default sweep, shipped as package data of `search_spaces`."""
    return Path(str(files("search_spaces") / "default.yaml"))
