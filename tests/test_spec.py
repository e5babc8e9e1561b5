"""Spec validation: the shipped files are valid, and bad files fail with useful messages."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sweep.cli import main
from sweep.spec import SpecError, default_spec_path, load_spec, parse_spec

SPACES = Path(__file__).resolve().parent.parent / "search_spaces"


def good() -> dict:
    return yaml.safe_load(default_spec_path().read_text())


@pytest.mark.parametrize("path", sorted(SPACES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_search_spaces_are_valid(path):
    spec = load_spec(path)
    assert spec.target_tasks


def test_default_spec_content():
    spec = load_spec(default_spec_path())
    assert spec.model.source == "offline" and spec.data.source == "offline"
    assert spec.target_intermediates() == ["none", "synth_nli", "synth_squad"]


def _set(document: dict, path: str, value) -> dict:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return document


BAD = [
    # (field path, value, text expected in the message)
    ("searcher.type", "bayes", "searcher.type: got 'bayes'; allowed: Input should be 'optuna'"),
    ("scheduler.reduction_factor", 1, "scheduler.reduction_factor: got 1"),
    ("target_tasks", ["xnli_typo"],
     "target_tasks[0]: got 'xnli_typo'; allowed: lareqa, mewsli_x, mlqa, panx, pawsx"),
    ("retrieval_tasks", ["synth_xnli"],
     "retrieval_tasks[0]: got 'synth_xnli'; allowed: bucc2018, synth_bucc, synth_tatoeba, tatoeba"),
    ("intermediate_tasks", ["synth_tatoeba"], "intermediate_tasks[0]: got 'synth_tatoeba'"),
    ("search.target.learning_rate", {"loguniform": [1e-3, 1e-5]},
     "search.target.learning_rate: got [0.001, 1e-05]; allowed: [low, high] with low < high"),
    ("search.target.learning_rate", 5,
     "search.target.learning_rate: got 5; allowed: a learning rate"),
    ("search.intermediate.epochs", {"choice": [1, 2.5]}, "search.intermediate.epochs: got 2.5"),
    ("search.target.intermediate", ["none", "mnli"],
     "search.target.intermediate[1]: got 'mnli'; allowed: none, synth_nli, synth_squad"),
    ("resources.workers_per_trial", 0, "resources.workers_per_trial: got 0"),
    ("resources.workers_per_trial", 3,
     "search.intermediate.batch_size: got 32; allowed: a multiple of resources.workers_per_trial"),
    ("model.source", "s3", "model.source: got 's3'"),
    ("data.source", "hub", "data.source: got 'hub'; allowed: offline or local for synthetic task"),
    ("evaluation.retrieval.pooling", "max", "evaluation.retrieval.pooling: got 'max'"),
    ("evaluation.languages", ["en", "xx"], "evaluation.languages[1]: got 'xx'"),
    ("search.target.bogus", 1, "search.target.bogus: got 1; allowed: unknown field"),
    ("scheduler.max_t", 0, "scheduler.max_t: got 0"),
    ("name", "has spaces", "name: got 'has spaces'"),
]


@pytest.mark.parametrize("field,value,expected", BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_values_name_field_value_and_allowed(field, value, expected):
    document = _set(good(), field, value)
    with pytest.raises(SpecError) as caught:
        parse_spec(document, "bad.yaml")
    assert expected in str(caught.value), str(caught.value)


def test_local_data_needs_an_existing_directory():
    document = _set(good(), "data", {"source": "local", "path": "/nonexistent"})
    with pytest.raises(SpecError, match="data.path: got '/nonexistent'; allowed: an existing"):
        parse_spec(document)


def test_searcher_grid_rejects_continuous_dimension():
    document = _set(good(), "searcher.type", "grid")
    with pytest.raises(SpecError, match=r"search.intermediate.learning_rate: got \{'loguniform'"):
        parse_spec(document)


def test_full_table_needs_a_trial_per_intermediate():
    document = _set(good(), "search.target.num_samples", 2)
    with pytest.raises(SpecError, match=r"search.target.num_samples: got 2; allowed: >= 3"):
        parse_spec(document)


def test_every_problem_is_reported_at_once():
    document = _set(_set(good(), "searcher.type", "bayes"), "target_tasks", ["nope"])
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert len(caught.value.problems) == 1  # pydantic errors first; semantics need a model
    document = _set(_set(good(), "target_tasks", ["nope"]), "retrieval_tasks", ["nope2"])
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert len(caught.value.problems) == 2


def test_missing_required_field():
    document = good()
    del document["target_tasks"]
    with pytest.raises(SpecError, match="target_tasks: allowed: required field is missing"):
        parse_spec(document)


def test_not_yaml_and_not_a_mapping(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="got list; allowed: a mapping"):
        load_spec(listing)


@pytest.mark.parametrize("command", ["validate", "plan", "run"])
def test_cli_exits_2_on_bad_spec_before_ray(tmp_path, command, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_set(good(), "searcher.type", "bayes")))
    assert main([command, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "searcher.type: got 'bayes'" in err


def test_console_script_exit_status(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntarget_tasks: [nope]\n")
    completed = subprocess.run([sys.executable, "-m", "sweep", "validate", str(bad)],
                               capture_output=True, text=True)
    assert completed.returncode == 2
    assert "target_tasks[0]: got 'nope'" in completed.stderr
    assert main(["validate", str(default_spec_path())]) == 0
