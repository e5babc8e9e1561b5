"""Bad input is refused cleanly: YAML a new user might write (a key twice, an alias bomb),
mutations of the default spec (hypothesis), and malformed lines in the readers' data files."""

from __future__ import annotations

import contextlib
import copy
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sweep.cli import main
from sweep.spec import MAX_NODES, Spec, SpecError, default_spec_path, load_spec, parse_spec
from trainables.readers import read_bucc, read_conllu, read_jsonl

DEFAULT = yaml.safe_load(default_spec_path().read_text())

# The classic "billion laughs": 9 levels of 9 aliases, 9^9 strings from a few hundred bytes.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True))

DUPLICATED = """\
name: twice
target_tasks: [synth_xnli]
search:
  target:
    learning_rate: 1.0e-3
    epochs: 2
    learning_rate: 1.0e-4
intermediate_tasks:
  - {name: mix, mixture: [synth_nli, synth_squad], name: mix2}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_key_given_twice_names_its_path_and_both_lines(tmp_path, capsys):
    path = _write(tmp_path, "twice.yaml", DUPLICATED)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert sorted(caught.value.problems) == [
        "intermediate_tasks[0].name: key given twice (line 9); allowed: each key once",
        "search.target.learning_rate: key given twice (lines 5 and 7); allowed: each key once"]
    assert main(["validate", str(path)]) == 2
    assert f"{path}: invalid search space" in capsys.readouterr().err


def test_billion_laughs_is_refused_in_well_under_a_second(tmp_path):
    path = _write(tmp_path, "laughs.yaml", BILLION_LAUGHS)
    assert len(BILLION_LAUGHS) < 1000
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert time.perf_counter() - started < 0.5
    assert str(path) in str(caught.value)
    assert caught.value.problems == [
        f"file: got more than {MAX_NODES:,} YAML nodes once aliases are expanded; "
        f"allowed: at most {MAX_NODES:,} (a search space has a few hundred)"]


def test_merge_key_bomb_is_refused_before_it_is_built(tmp_path):
    """`<<` copies a mapping's entries when the document is built: 30 doublings would be a
    billion entries, so the bound is checked first."""
    levels = "".join(f"l{n}: &l{n} {{<<: [*l{n - 1}, *l{n - 1}], k{n}: 1}}\n" for n in range(1, 30))
    path = _write(tmp_path, "merge.yaml", "l0: &l0 {a: 1, b: 2}\n" + levels)
    started = time.perf_counter()
    with pytest.raises(SpecError, match="YAML nodes once aliases are expanded"):
        load_spec(path)
    assert time.perf_counter() - started < 0.5


def test_ordinary_anchors_aliases_and_merge_keys_still_work(tmp_path):
    path = _write(tmp_path, "anchors.yaml", """\
name: anchors
target_tasks: [synth_xnli, synth_pos]
search:
  intermediate: &stage {learning_rate: 1.0e-3, epochs: 2, batch_size: 16}
  target:
    <<: *stage
    epochs: 3
    learning_rate: 1.0e-3
evaluation:
  retrieval: {layer: 2}
""")
    spec = load_spec(path)
    assert spec.search.intermediate.batch_size == spec.search.target.batch_size == 16
    assert spec.search.target.epochs == 3  # a key beside `<<` overrides the merged one


def test_nesting_too_deep_for_the_parser_is_a_spec_error(tmp_path):
    path = _write(tmp_path, "deep.yaml", "name: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(SpecError, match="file: nested too deeply"):
        load_spec(path)


def test_the_console_script_refuses_bad_yaml_with_status_2_and_no_traceback(tmp_path):
    for name, text in (("twice.yaml", DUPLICATED), ("laughs.yaml", BILLION_LAUGHS),
                       ("storage.yaml", "name: x\ntarget_tasks: [synth_xnli]\nstorage: s3://\n")):
        completed = subprocess.run(
            [sys.executable, "-m", "sweep", "validate", str(_write(tmp_path, name, text))],
            capture_output=True, text=True, timeout=60)
        assert completed.returncode == 2, completed.stderr
        assert completed.stderr.startswith("error: ") and "Traceback" not in completed.stderr


def test_a_bad_cache_limit_stops_sweep_run_before_ray_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XSTILTS_CACHE_LIMIT_GB", "lots")
    path = _write(tmp_path, "ok.yaml", "name: x\ntarget_tasks: [synth_xnli]\n")
    assert main(["run", str(path), "--storage", str(tmp_path / "run")]) == 2
    assert "XSTILTS_CACHE_LIMIT_GB: got 'lots'; allowed: a positive number" in \
        capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before the storage (and Ray)


# -- mutations of the default spec --------------------------------------------------------


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key and index path of a parsed YAML document."""
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    return [path for key, child in items for path in ((*prefix, key),
                                                      *_paths(child, (*prefix, key)))]


def _resolve(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


PATHS = _paths(DEFAULT)
MAPPINGS = [(), *(path for path in PATHS if isinstance(_resolve(DEFAULT, path), dict))]
# Values of the wrong type for most fields, and values at the edges of the right one.
WRONG = st.one_of(
    st.sampled_from([None, [], [1, "x"], {}, {"nested": {"deeper": [1]}}, 10**400, -10**400,
                     2**63, -1, -0.5, 0, "", True, "x" * 300]),
    st.integers(), st.floats(), st.text(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
MUTATION = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("replace"), st.sampled_from(PATHS), WRONG),
    st.tuples(st.just("add"), st.sampled_from(MAPPINGS), WRONG))


def _mutated(mutations: list[tuple[str, tuple, Any]]) -> dict:
    """The default spec with each mutation applied where its path still leads somewhere
    (an earlier one may have dropped or replaced its parent)."""
    document = copy.deepcopy(DEFAULT)
    for kind, path, value in mutations:
        try:
            if kind == "add":
                target = _resolve(document, path)
                if isinstance(target, dict):
                    target["unknown_field"] = copy.deepcopy(value)
                continue
            parent = _resolve(document, path[:-1])
            if kind == "drop":
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    return document


FAST = settings(max_examples=150, deadline=None, database=None)


@FAST
@given(st.lists(MUTATION, min_size=1, max_size=3))
# Pinned: an int past float's range made the stage dimension rule raise OverflowError.
@example([("replace", ("search", "target", "learning_rate"), 10**400)])
@example([("replace", ("search", "intermediate", "epochs"), {"choice": [-10**400]})])
def test_a_mutated_spec_is_a_spec_or_a_spec_error(mutations):
    try:
        assert isinstance(parse_spec(_mutated(mutations), "mutated.yaml"), Spec)
    except SpecError as error:
        assert error.problems and all(": " in line for line in error.problems)


@FAST
@given(st.lists(MUTATION, max_size=3), st.none() | st.integers(0, 200))
def test_validate_on_a_mutated_file_exits_0_or_2_without_a_traceback(
        tmp_path_factory, mutations, repeated_line):
    """Through the command, on the YAML text, with one of its lines optionally repeated
    (a key given twice, or a list item)."""
    lines = yaml.safe_dump(_mutated(mutations), sort_keys=False).splitlines(keepends=True)
    if repeated_line is not None and lines:
        index = repeated_line % len(lines)
        lines.insert(index, lines[index])
    path = tmp_path_factory.getbasetemp() / "mutated.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", str(path)])
    assert status in (0, 2)
    assert "Traceback" not in err.getvalue()
    if status == 2:
        assert err.getvalue().startswith(f"error: {path}: invalid search space")


# -- data files: a malformed line names its file and line -----------------------------------


def _error(read, path: Path) -> str:
    with pytest.raises(ValueError) as caught:
        read(path)
    return str(caught.value)


def test_jsonl_names_the_file_and_line(tmp_path):
    path = _write(tmp_path, "train-en.jsonl", '{"text": "a"}\n\n{"text": "b",}\n')
    assert _error(read_jsonl, path) == (f"{path}:3: not valid JSON (Expecting property name "
                                        "enclosed in double quotes at column 14)")
    path.write_text('{"text": "a"}\n["text", "b"]\n', encoding="utf-8")
    assert _error(read_jsonl, path) == (f"{path}:2: got a JSON list; allowed: one JSON object "
                                        "per line")


def test_conllu_names_the_file_and_line(tmp_path):
    good = "1\tMaa\tmaa\tPRON\t_\t_\t0\troot\t_\t_\n"
    path = _write(tmp_path, "wo-ud-test.conllu",
                  f"# sent_id = 1\n{good}\n# sent_id = 2\n1 Maa maa PRON _ _ 0 root _ _\n")
    assert _error(read_conllu, path) == (
        f"{path}:5: got 1 tab-separated columns; allowed: CoNLL-U's 10 (ID FORM LEMMA UPOS "
        "XPOS FEATS HEAD DEPREL DEPS MISC), or a comment or blank line")
    path.write_text(good, encoding="utf-8")
    assert read_conllu(path) == [{"tokens": ["Maa"], "tags": ["PRON"]}]


def test_bucc_tsv_names_the_file_and_line(tmp_path):
    stem = tmp_path / "de-en.test"
    _write(tmp_path, "de-en.test.de", "de-1\tHallo\n")
    english = _write(tmp_path, "de-en.test.en", "en-1\tHello\nen-2 Bye\n")
    assert _error(read_bucc, stem) == f"{english}:2: no tab; allowed: id<TAB>sentence"
    english.write_text("en-1\tHello\n", encoding="utf-8")
    gold = _write(tmp_path, "de-en.test.gold", "de-1\ten-1\nde-1\ten-1\tx\n")
    assert _error(read_bucc, stem) == (f"{gold}:2: got 3 tab-separated columns; allowed: "
                                       "de id<TAB>en id")
    gold.write_text("de-1\ten-1\n", encoding="utf-8")
    assert read_bucc(stem)[-1] == {"side": "gold", "other_id": "de-1", "english_id": "en-1"}
