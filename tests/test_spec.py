"""Spec validation: the shipped files are valid, and bad files fail with useful messages."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sweep import model_rules, rules
from sweep.cli import main
from sweep.schema import Spec
from sweep.spec import SpecError, default_spec_path, load_spec, parse_spec
from trainables.tasks import REGISTRY, tasks_with_role

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
    ("searcher.type", "bayes", "searcher.type: got 'bayes'; allowed: optuna, random, grid"),
    ("scheduler.type", "hyperband", "scheduler.type: got 'hyperband'; allowed: asha, fifo"),
    ("scheduler.reduction_factor", 1, "scheduler.reduction_factor: got 1"),
    ("target_tasks", ["xnli_typo"],
     "target_tasks[0]: got 'xnli_typo'; allowed: lareqa, marvl, mewsli_x, mlqa, panx"),
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
    ("storage", "s3://", "storage: got 's3://'; allowed: a bucket after s3://"),
    ("keep_checkpoints", "all", "keep_checkpoints: got 'all'; allowed: unknown field"),
    ("evaluation.retrieval.layer", 99,
     "evaluation.retrieval.layer: got 99; allowed: -3 to 2 for a model of 2 layers"),
]


@pytest.mark.parametrize("field,value,expected", BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_bad_values_name_field_value_and_allowed(field, value, expected):
    document = _set(good(), field, value)
    with pytest.raises(SpecError) as caught:
        parse_spec(document, "bad.yaml")
    assert expected in str(caught.value), str(caught.value)


def test_every_problem_is_reported_at_once():
    document = _set(_set(good(), "scheduler.reduction_factor", 1), "target_tasks", ["nope"])
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert len(caught.value.problems) == 1  # field checks first; the rules need a model
    document = _set(_set(good(), "searcher.type", "bayes"), "target_tasks", ["nope"])
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert caught.value.problems[1] == "searcher.type: got 'bayes'; allowed: optuna, random, grid"
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


# -- the rules, one test each: a rule's problems for the default spec with some changes ------


def _problems(rule, changes: dict) -> list[str]:
    """`rule`'s problems, each once, for the default spec with `changes` (dotted paths),
    validated by the schema only, so that no other rule gets in the way."""
    document = good()
    for path, value in changes.items():
        document = _set(document, path, value)
    return list(dict.fromkeys(rule(Spec.model_validate(document))))


# The default spec's target tasks alone: no intermediate or retrieval tasks to report on.
ONLY_TARGETS = {"intermediate_tasks": [], "retrieval_tasks": [], "search.target.intermediate": None}


def test_every_rule_has_its_test():
    assert [rule for rule in rules.RULES if f"test_{rule.__name__}" not in globals()] == []


@pytest.mark.parametrize("changes,expected", [
    ({"retrieval_tasks": ["synth_xnli"]},
     ["retrieval_tasks[0]: got 'synth_xnli'; allowed: bucc2018, synth_bucc, synth_tatoeba, "
      "tatoeba"]),
    ({"target_tasks": ["synth_xnli", "synth_nli"]},
     ["target_tasks[1]: got 'synth_nli'; allowed: " + ", ".join(tasks_with_role("target"))]),
    ({"target_tasks": ["xglue_qg"]},
     ["target_tasks[0]: got 'xglue_qg'; allowed: not this task (XGLUE's question generation "
      "is sequence-to-sequence (BLEU of generated text); this engine fine-tunes encoders); "
      + ", ".join(tasks_with_role("target"))]),
    ({}, []),
])
def test_target_and_retrieval_tasks(changes, expected):
    assert _problems(rules.target_and_retrieval_tasks, changes) == expected


INTERMEDIATES = ", ".join(tasks_with_role("intermediate"))


@pytest.mark.parametrize("entries,expected", [
    (["synth_tatoeba"],
     [f"intermediate_tasks[0]: got 'synth_tatoeba'; allowed: {INTERMEDIATES} or a mixture"]),
    ([{"name": "synth_nli", "mixture": ["synth_nli", "synth_tatoeba"]}],
     [f"intermediate_tasks[0].mixture[1]: got 'synth_tatoeba'; allowed: {INTERMEDIATES}",
      "intermediate_tasks[0].name: got 'synth_nli'; allowed: a new name that is not a "
      "registry task or 'none'"]),
    (["synth_nli", {"name": "synth_nli_mix", "mixture": ["synth_nli", "synth_squad"]},
      "synth_nli"],
     ["intermediate_tasks[2]: got 'synth_nli'; allowed: each intermediate task once"]),
])
def test_intermediate_entries(entries, expected):
    assert _problems(rules.intermediate_entries, {"intermediate_tasks": entries}) == expected


def test_target_intermediate_choices():
    assert _problems(rules.target_intermediate_choices,
                     {"search.target.intermediate": ["none", "mnli"]}) == [
        "search.target.intermediate[1]: got 'mnli'; allowed: none, synth_nli, synth_squad"]


@pytest.mark.parametrize("changes,expected", [
    ({"search.target.seeds": [0, 1, 2]}, []),
    ({"search.target.seeds": [0, 1, 0]},
     ["search.target.seeds: got [0, 1, 0]; allowed: distinct seeds"]),
    ({"search.target.seeds": [0, 1], "search.target.seed": {"choice": [3, 4]}},
     ["search.target.seed: got {'choice': [3, 4]}; allowed: a fixed value where "
      "search.target.seeds repeats each configuration"]),
    ({"search.per_task": {"synth_pos": {"seeds": [1, 1]}}},
     ["search.per_task.synth_pos.seeds: got [1, 1]; allowed: distinct seeds"]),
])
def test_seeds_repeat_one_configuration(changes, expected):
    assert _problems(rules.seeds_repeat_one_configuration, changes) == expected


def test_per_task_keys():
    assert _problems(rules.per_task_keys, {"search.per_task": {"xnli": {"epochs": 2},
                                                               "synth_pos": {"epochs": 2}}}) == [
        "search.per_task.xnli: got 'xnli'; allowed: an intermediate or target task of this "
        "spec: synth_nli, synth_squad, synth_xnli, synth_pos, synth_xquad, synth_xcopa, "
        "synth_lareqa"]


@pytest.mark.parametrize("value,expected", [
    ("bayes", ["searcher.type: got 'bayes'; allowed: optuna, random, grid"]),
    ("grid", []),
])
def test_searcher_type(value, expected):
    assert _problems(rules.searcher_type, {"searcher.type": value}) == expected


@pytest.mark.parametrize("value,expected", [
    ("x", ["scheduler.type: got 'x'; allowed: asha, fifo"]),
    ("fifo", []),
])
def test_scheduler_type(value, expected):
    assert _problems(rules.scheduler_type, {"scheduler.type": value}) == expected


@pytest.mark.parametrize("field,value,expected", [
    ("search.target.learning_rate", {"loguniform": [1e-3, 1e-5]},
     "search.target.learning_rate: got [0.001, 1e-05]; allowed: [low, high] with low < high"),
    ("search.target.learning_rate", {"loguniform": [0, 1e-3]},
     "search.target.learning_rate: got [0.0, 0.001]; allowed: positive bounds for loguniform"),
    ("search.target.warmup_ratio", {"uniform": [0, float("inf")]},
     "search.target.warmup_ratio: got [0.0, inf]; allowed: finite bounds"),
    ("search.target.epochs", {"uniform": [1, 3]},
     "search.target.epochs: got {'uniform': (1.0, 3.0)}; allowed: a value or {choice: [...]} "
     "of integers"),
    ("search.target.seed", "x", "search.target.seed: got 'x'; allowed: a number"),
    ("search.intermediate.epochs", {"choice": [1, 2.5]},
     "search.intermediate.epochs: got 2.5; allowed: a positive integer"),
    ("search.target.learning_rate", 5,
     "search.target.learning_rate: got 5; allowed: a learning rate in (0, 1)"),
    ("search.target.warmup_ratio", 1.0,
     "search.target.warmup_ratio: got 1.0; allowed: a ratio in [0, 1)"),
    ("search.target.weight_decay", -0.1,
     "search.target.weight_decay: got -0.1; allowed: a non-negative number"),
    ("search.per_task", {"synth_pos": {"batch_size": 0}},
     "search.per_task.synth_pos.batch_size: got 0; allowed: a positive integer"),
])
def test_stage_dimensions(field, value, expected):
    assert _problems(rules.stage_dimensions, {field: value}) == [expected]


@pytest.mark.parametrize("changes,expected", [
    # grid: finite values only, and the grid covers the full table by itself
    ({"searcher.type": "grid", "search.target.num_samples": 1},
     ["search.intermediate.learning_rate: got {'loguniform': (0.0001, 0.003)}; allowed: "
      "a value or {choice: [...]} with searcher grid"]),
    # sampling searchers: a trial per intermediate choice for the full table
    ({"searcher.type": "random", "search.per_task": {"synth_pos": {"num_samples": 2}}},
     ["search.per_task.synth_pos.num_samples: got 2; allowed: >= 3 (evaluation.full_table "
      "needs a trial per intermediate choice)"]),
    ({"search.target.num_samples": 2},
     ["search.target.num_samples: got 2; allowed: >= 3 (evaluation.full_table needs a trial "
      "per intermediate choice)"]),
    ({"search.target.num_samples": 2, "evaluation.full_table": False}, []),
    ({"searcher.type": "bayes"}, []),  # searcher_type reports it
])
def test_searcher_stages(changes, expected):
    assert _problems(rules.searcher_stages, changes) == expected


@pytest.mark.parametrize("scheduler", ["asha", "fifo", "unknown"])
def test_scheduler_settings(scheduler):
    # Neither ASHA nor FIFO has settings beyond the schema's field checks and the max_t rule.
    assert _problems(rules.scheduler_settings, {"scheduler.type": scheduler}) == []


def test_batch_size_splits_over_workers():
    assert _problems(rules.batch_size_splits_over_workers, {
        "resources.workers_per_trial": 4, "search.intermediate.batch_size": {"choice": [16, 30]},
        "search.per_task": {"synth_pos": {"batch_size": 18}}}) == [
        "search.intermediate.batch_size: got 30; allowed: a multiple of "
        "resources.workers_per_trial (4), as it is the global batch",
        "search.per_task.synth_pos.batch_size: got 18; allowed: a multiple of "
        "resources.workers_per_trial (4), as it is the global batch"]


def test_evaluation_languages():
    assert _problems(rules.evaluation_languages, {"evaluation.languages": ["en", "xx"]}) == [
        "evaluation.languages[1]: got 'xx'; allowed: 'all' or languages of the tasks: "
        "ar, de, en, fr, hi, ru, sw, zh"]


@pytest.mark.parametrize("custom,expected", [
    ({"GPU": 1}, "resources.custom_per_worker.GPU: got 1.0; allowed: custom resource names "
                 "other than CPU, GPU, memory, object_store_memory, trial_driver "
                 "(use cpus_per_worker and gpus_per_worker)"),
    ({"a10g": 0}, "resources.custom_per_worker.a10g: got 0.0; allowed: a positive amount"),
])
def test_custom_resources(custom, expected):
    assert _problems(rules.custom_resources, {"resources.custom_per_worker": custom}) == [expected]


@pytest.mark.parametrize("storage,expected", [
    ("hdfs://host/sweeps", ["storage: got 'hdfs://host/sweeps'; allowed: a local path or a URI "
                            "with scheme s3://, gs://, gcs://, file://"]),
    ("s3://bucket/prefix?endpoint_override=http://127.0.0.1:9000", []),
    ("results/here", []),
    ("file:///srv/sweeps", []),
    ("s3://", ["storage: got 's3://'; allowed: a bucket after s3://, as in s3://bucket/prefix"]),
    ("gs:///prefix", ["storage: got 'gs:///prefix'; allowed: a bucket after gs://, as in "
                      "gs://bucket/prefix"]),
    ("s3://[bucket/x", ["storage: got 's3://[bucket/x'; allowed: a URI urllib can split "
                        "(Invalid IPv6 URL)"]),
])
def test_storage_scheme(storage, expected):
    assert _problems(rules.storage_scheme, {"storage": storage}) == expected


@pytest.mark.parametrize("storage,expected", [
    ({"path": "results/x", "keep_checkpoints": "some"},
     "storage.keep_checkpoints: got 'some'; allowed: Input should be 'needed' or 'all'"),
    ({"path": 3}, "storage.path: got 3; allowed: Input should be a valid string"),
    ({"path": "results/x", "bogus": 1}, "storage.bogus: got 1; allowed: unknown field"),
])
def test_bad_storage_mapping_names_the_key(storage, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec({**good(), "storage": storage}, "bad.yaml")
    assert caught.value.problems == [expected]


def test_storage_mapping_is_the_path_and_which_checkpoints_to_keep_and_hashes_as_before():
    from sweep.plan import make_plan

    plain = parse_spec({**good(), "storage": "/srv/sweeps/run"})
    mapping = parse_spec({**good(), "storage": {"path": "/srv/sweeps/run",
                                                "keep_checkpoints": "all"}})
    assert (plain.storage, plain.keep_checkpoints) == ("/srv/sweeps/run", "needed")
    assert (mapping.storage, mapping.keep_checkpoints) == ("/srv/sweeps/run", "all")
    assert parse_spec({**good(), "storage": {"keep_checkpoints": "all"}}).storage is None
    # Which checkpoints are kept changes no stage's output: no stage is trained again.
    assert [stage.config_hash for stage in make_plan(plain).stages] == \
        [stage.config_hash for stage in make_plan(mapping).stages]
    with pytest.raises(SpecError, match="storage: got 's3://'"):
        parse_spec({**good(), "storage": {"path": "s3://"}})  # the path's rules still apply
    # The manifest's copy of the spec reads back as the spec.
    for spec in (plain, mapping):
        dumped = spec.model_dump(mode="json")
        assert "keep_checkpoints" not in dumped and parse_spec(dumped) == spec
    assert mapping.model_dump()["storage"] == {"path": "/srv/sweeps/run",
                                               "keep_checkpoints": "all"}


def test_local_model_directory(tmp_path):
    model = {"source": "local", "name": "/nonexistent"}
    assert _problems(model_rules.local_model_directory, {"model": model}) == [
        "model.name: got '/nonexistent'; allowed: an existing directory when model.source "
        "is local"]
    assert _problems(model_rules.local_model_directory, {"model.source": "local",
                                                   "model.name": str(tmp_path)}) == []


@pytest.mark.parametrize("changes,expected", [
    ({"evaluation.retrieval.layer": 99},
     ["evaluation.retrieval.layer: got 99; allowed: -3 to 2 for a model of 2 layers "
      "(0 the embeddings, -1 the last layer)"]),
    ({"evaluation.retrieval.layer": -4, "model.tiny.num_layers": 3}, []),
    ({"evaluation.retrieval.layer": -5, "model.tiny.num_layers": 3},
     ["evaluation.retrieval.layer: got -5; allowed: -4 to 3 for a model of 3 layers "
      "(0 the embeddings, -1 the last layer)"]),
    ({"evaluation.retrieval.layer": 2}, []),  # the default spec's 2 layers: the last
    ({"evaluation.retrieval.layer": 0}, []),  # the embeddings
    ({"evaluation.retrieval.layer": -3}, []),  # the embeddings, from the top
    # A hub model's config is not fetched before Ray starts.
    ({"evaluation.retrieval.layer": 99, "model": {"source": "hub", "name": "FacebookAI/x",
                                                   "revision": "main"}}, []),
])
def test_retrieval_layer(changes, expected):
    assert _problems(model_rules.retrieval_layer, changes) == expected


def test_retrieval_layer_reads_the_tiny_default_and_a_local_config(tmp_path):
    """The tiny model's num_layers default (2) where the spec leaves it out; a local model's
    config.json num_hidden_layers where it has one."""
    document = good()
    del document["model"]["tiny"]["num_layers"]
    document["evaluation"]["retrieval"]["layer"] = 3
    assert model_rules.retrieval_layer(Spec.model_validate(document)) == [
        "evaluation.retrieval.layer: got 3; allowed: -3 to 2 for a model of 2 layers "
        "(0 the embeddings, -1 the last layer)"]
    local = {"model": {"source": "local", "name": str(tmp_path)},
             "evaluation.retrieval.layer": 13}
    assert _problems(model_rules.retrieval_layer, local) == []  # no config.json: not known here
    (tmp_path / "config.json").write_text('{"num_hidden_layers": 12}')
    assert _problems(model_rules.retrieval_layer, local) == [
        "evaluation.retrieval.layer: got 13; allowed: -13 to 12 for a model of 12 layers "
        "(0 the embeddings, -1 the last layer)"]


@pytest.mark.parametrize("path,expected", [
    (None, "data.path: got None; allowed: a directory of <task>/<split>-<language>.jsonl "
           "files or of the tasks' original files (see README, Tasks)"),
    ("/nonexistent", "data.path: got '/nonexistent'; allowed: an existing directory"),
])
def test_local_data_path(path, expected):
    assert _problems(rules.local_data_path, {"data": {"source": "local", "path": path}}) == [
        expected]


def _hub_run(target: str, retrieval: list[str], **changes) -> dict:
    return {**ONLY_TARGETS, "data.source": "hub", "target_tasks": [target],
            "retrieval_tasks": retrieval, **changes}


@pytest.mark.parametrize("changes,expected", [
    ({"data.source": "hub", **ONLY_TARGETS, "target_tasks": ["synth_xnli"]},
     ["data.source: got 'hub'; allowed: offline or local for synthetic task 'synth_xnli'"]),
    ({**ONLY_TARGETS, "target_tasks": ["xnli"]},
     ["data.source: got 'offline'; allowed: hub or local for task 'xnli' (not synthetic)"]),
    (_hub_run("lareqa", ["bucc2018"]),
     ["data.path: got None; allowed: a directory holding its files for task 'lareqa', which "
      "has no complete hub copy",
      "data.path: got None; allowed: a directory holding bucc2018/ for task 'bucc2018', which "
      "has no complete hub copy"]),
    # A mixture's members count, and so do languages a hub copy lacks (Tatoeba's Polish).
    (_hub_run("xnli", ["tatoeba"], **{"evaluation.languages": ["de", "pl"],
                                      "intermediate_tasks": [{"name": "mix",
                                                              "mixture": ["mnli", "ccg"]}]}),
     ["data.path: got None; allowed: a directory holding tatoeba/ for task 'tatoeba', which "
      "has no complete hub copy",
      "data.path: got None; allowed: a directory holding ccgbank/ for task 'ccg', which has no "
      "complete hub copy"]),
    (_hub_run("xnli", ["tatoeba"], **{"evaluation.languages": ["de", "fr"]}), []),
    (_hub_run("lareqa", ["bucc2018"], **{"data.path": "/data/xtreme"}), []),
])
def test_data_source_fits_tasks(changes, expected):
    assert _problems(rules.data_source_fits_tasks, changes) == expected


def test_data_source_fits_tasks_with_no_hub_copy_and_no_files(monkeypatch):
    monkeypatch.setitem(REGISTRY, "lareqa", replace(REGISTRY["lareqa"], local=None))
    assert _problems(rules.data_source_fits_tasks, _hub_run("lareqa", [])) == [
        "data.source: got 'hub'; allowed: local for task 'lareqa', which has no hub source"]


@pytest.mark.parametrize("revision,expected", [
    (None, ["model.revision: got None; allowed: a pinned hub revision (commit sha or tag) "
            "for a hub model"]),
    ("main", []),
])
def test_hub_model_revision(revision, expected):
    model = {"source": "hub", "name": "FacebookAI/xlm-roberta-large", "revision": revision}
    assert _problems(model_rules.hub_model_revision, {"model": model}) == expected


def test_hub_model_revision_of_each_listed_base_model():
    pinned = {"source": "hub", "name": "FacebookAI/xlm-roberta-large", "revision": "abc"}
    loose = {"source": "hub", "name": "M-CLIP/XLM-Roberta-Large-Vit-L-14"}
    assert _problems(model_rules.hub_model_revision, {"model": [pinned, loose]}) == [
        "model[1].revision: got None; allowed: a pinned hub revision (commit sha or tag) "
        "for a hub model"]


def test_base_model_labels():
    models = [{"name": "org/xlmr"}, {"name": "other/xlmr"}]
    assert _problems(model_rules.base_model_labels, {"model": models}) == [
        "model[1].tag: got None; allowed: a name no other base model has ('xlmr' is taken: "
        "set tag)"]
    models[1]["tag"] = "xlmr-clip"
    assert _problems(model_rules.base_model_labels, {"model": models}) == []
    odd = [{"name": "org/xlmr"}, {"name": "/models/my model"}]
    assert _problems(model_rules.base_model_labels, {"model": odd}) == [
        "model[1].tag: got None; allowed: a tag: the name's last part 'my model' is not "
        "letters, digits, '.', '_' and '-'"]


def test_key_map_architecture():
    model = {"source": "hub", "name": "M-CLIP/XLM-Roberta-Large-Vit-L-14", "revision": "a",
             "key_map": {"transformer.": ""}}
    assert _problems(model_rules.key_map_architecture, {"model": model}) == [
        "model.architecture: got None; allowed: the hub id or directory of the encoder the "
        "key map loads into"]
    model["architecture"] = "FacebookAI/xlm-roberta-large"
    assert _problems(model_rules.key_map_architecture, {"model": model}) == []


def test_precompute_images():
    vision = {"intermediate_tasks": ["coco_lit", "coco_lit_text_only"],
              "search.target.intermediate": None, "data": {"source": "local", "path": "/d"}}
    assert _problems(model_rules.precompute_images, {**vision, "precompute": {}}) == [
        "precompute.encoder_revision: got None; allowed: a pinned revision (commit sha or "
        "tag) of openai/clip-vit-large-patch14"]
    assert _problems(model_rules.precompute_images, {
        **vision, "precompute": {"encoder_revision": "abc"}}) == []
    assert _problems(model_rules.precompute_images, {"precompute": {"batch_size": 8}}) == [
        "precompute: got {'batch_size': 8}; allowed: left out: no image-text task of this "
        "spec has an image folder to embed (ImageEmbeddings.image_folder)"]


def test_pool_layer_settings():
    trained = {"intermediate_tasks": ["synth_caption", "synth_nli"],
               "search.target.intermediate": None}
    assert _problems(model_rules.pool_layer_settings, {
        **trained, "search.per_task": {"synth_caption": {"pool_layer": 1}}}) == []
    assert _problems(model_rules.pool_layer_settings, {
        **trained, "search.per_task": {"synth_caption": {"pool_layer": 5},
                                       "synth_nli": {"pool_layer": 1}}}) == [
        "search.per_task.synth_caption.pool_layer: got 5; allowed: -3 to 2 for the 2-layer "
        "model (0 the embeddings, -1 the last layer)",
        "search.per_task.synth_nli.pool_layer: got 1; allowed: left out: a pooling layer is "
        "an image-text or late-fusion task's, and synth_nli is classification"]


def test_a_pooling_layer_set_in_the_spec_reaches_the_stage_and_only_it():
    from sweep.plan import make_plan

    document = {**good(), "intermediate_tasks": ["synth_caption", "synth_nli"]}
    document["search"]["target"]["intermediate"] = None  # none and every intermediate
    plain = make_plan(Spec.model_validate(document))
    document["search"] = {**document["search"],
                          "per_task": {"synth_caption": {"pool_layer": 1}}}
    plan = make_plan(Spec.model_validate(document))
    assert plan.stage("intermediate/synth_caption").config["pool_layers"] == {
        "synth_caption": 1}
    assert "pool_layers" not in plan.stage("intermediate/synth_nli").config
    assert plan.stage("intermediate/synth_nli").config_hash == \
        plain.stage("intermediate/synth_nli").config_hash


def test_precompute_stages_come_first_once_per_image_set():
    from sweep.plan import make_plan

    document = {**good(), "intermediate_tasks": ["coco_lit", "coco_lit_scrambled"],
                "target_tasks": ["xflickrco"], "retrieval_tasks": [],
                "data": {"source": "local", "path": "/d"}}
    document["search"] = {**document.get("search", {}), "target": {"intermediate": None}}
    without = make_plan(Spec.model_validate(document))  # the schema alone: no data.path
    plan = make_plan(Spec.model_validate({**document,
                                          "precompute": {"encoder_revision": "abc"}}))
    first = [stage for stage in plan.stages if stage.kind == "precompute"]
    # COCO's images once for both controls; Flickr30k's for xflickrco's training data (its
    # own test images too, read through its own entry).
    assert [stage.name for stage in first] == ["precompute/coco_lit", "precompute/xflickrco",
                                               "precompute/flickr30k_lit"]
    assert plan.stages[:3] == tuple(first)
    assert first[0].config["image_folder"] == "coco/images"
    # Each training stage waits for the vectors it reads, and only those.
    assert plan.stage("intermediate/coco_lit").depends_on == ("precompute/coco_lit",)
    assert plan.stage("intermediate/coco_lit_scrambled").depends_on == ("precompute/coco_lit",)
    assert set(plan.stage("target/xflickrco").depends_on) == {
        "precompute/xflickrco", "precompute/flickr30k_lit", "intermediate/coco_lit",
        "intermediate/coco_lit_scrambled"}
    # The batch size and the device do not change the vectors: nor the stages' hashes.
    faster = make_plan(Spec.model_validate({**document, "precompute": {
        "encoder_revision": "abc", "batch_size": 512, "device": "cuda"}}))
    assert [s.config_hash for s in faster.stages] == [s.config_hash for s in plan.stages]
    # The stages besides are those of the plan without precompute, upstream of them changed.
    assert [stage.name for stage in plan.stages[3:]] == [s.name for s in without.stages]


def test_a_list_of_base_models_runs_every_stage_per_model():
    from sweep.plan import make_plan

    document = good()
    document["model"] = [{**document.get("model", {}), "tag": "plain"},
                         {**document.get("model", {}), "tag": "other",
                          "tiny": {"seed": 1}}]
    spec = parse_spec(document)
    assert [model.label for model in spec.models()] == ["plain", "other"]
    single = make_plan(parse_spec(good()))
    plan = make_plan(spec)
    assert len(plan.stages) == 2 * len(single.stages)
    names = {stage.name for stage in plan.stages}
    for stage in single.stages:
        assert {stage.name + "~plain", stage.name + "~other"} <= names
    for stage in plan.stages:  # each stage reads upstream stages of its own model only
        suffix = stage.name[stage.name.index("~"):]
        assert all(dep.endswith(suffix) for dep in stage.depends_on)
        assert stage.config["base_model"] == suffix[1:]
    from sweep.stages.base import StageContext

    stage = next(s for s in plan.stages if s.name == "intermediate/synth_nli~other")
    context = StageContext(plan, stage, None, None, False, True)
    assert (context.spec.model.label, context.spec.model.tiny.seed) == ("other", 1)
    assert context.spec.stage_path("target", "synth_xnli") == "target/synth_xnli~other"
    with pytest.raises(SpecError, match="model: got an empty list"):
        parse_spec({**good(), "model": []})
    one = parse_spec({**good(), "model": [good().get("model", {})]})
    assert one.base_models == () and make_plan(one).stages == single.stages


@pytest.mark.parametrize("max_t,expected", [
    (2, ["scheduler.max_t: got 2; allowed: >= scheduler.grace_period (3)"]),
    (3, []),
    (None, []),
])
def test_max_t_covers_grace_period(max_t, expected):
    assert _problems(rules.max_t_covers_grace_period,
                     {"scheduler.grace_period": 3, "scheduler.max_t": max_t}) == expected


def test_tracking_settings(monkeypatch):
    """A tracker's package is installed (looked for, not imported), and its own check holds
    (MLflow from 3.13 refuses a file store); more in tests/test_tracking.py."""
    from sweep import tracking

    monkeypatch.setattr(rules, "find_spec", lambda name: None if name == "wandb" else object())
    monkeypatch.setattr(tracking, "_mlflow_version", lambda: (3, 13))
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    section = {"mlflow": {"tracking_uri": "file:///m"}, "wandb": {"project": "p"}}
    assert _problems(rules.tracking_settings, {"tracking": section}) == [
        "tracking.mlflow.tracking_uri: got 'file:///m'; allowed: a database or server URI, "
        "e.g. sqlite:///<dir>/mlflow.db or http://host:5000 (MLflow 3.13 refuses a file "
        "store unless MLFLOW_ALLOW_FILE_STORE=true)",
        "tracking.wandb: got {'project': 'p'}; allowed: a tracker whose package is installed; "
        "wandb is not: pip install wandb, or pip install 'xstilts-sweep[tracking]'"]
    assert _problems(rules.tracking_settings, {"tracking": {"tensorboard": False}}) == []
    assert _problems(rules.tracking_settings, {}) == []


def test_deprecated_scheduler_evals_per_epoch_warns_once(tmp_path, capsys):
    document = good()
    for stage in ("intermediate", "target"):
        document["search"][stage].pop("evals_per_epoch")
    document["scheduler"]["evals_per_epoch"] = 3
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(document))
    assert main(["validate", str(old)]) == 0
    assert capsys.readouterr().err == (
        f"warning: {old}: scheduler.evals_per_epoch is deprecated; "
        "set search.intermediate.evals_per_epoch and search.target.evals_per_epoch\n")
    assert load_spec(old).evals_per_epoch("target", "synth_pos") == 3  # still read
    capsys.readouterr()
    assert main(["validate", str(default_spec_path())]) == 0
    assert capsys.readouterr().err == ""  # the shipped files use the new place


@pytest.mark.parametrize("changes,expected", [
    ({"search.target.arms": ["zero_shot", "translate_train"]}, []),
    ({"search.target.arms": ["translate_test"]},
     ["search.target.arms: got ['translate_test']; allowed: zero_shot among them "
      "(translate_test start from or test the zero-shot models)"]),
])
def test_target_arms(changes, expected):
    """More cases, and the loop on an arm's data, in tests/test_arms.py."""
    assert _problems(rules.target_arms, {**ONLY_TARGETS, "target_tasks": ["synth_xnli"],
                                         **changes}) == expected


def test_efficiency_settings():
    """More cases in tests/test_efficiency.py."""
    assert _problems(rules.efficiency_settings, {"evaluation.efficiency": {}}) == []
    assert _problems(rules.efficiency_settings, {
        "evaluation.efficiency": {"compression": ["int9"]}}) == [
        "evaluation.efficiency.compression: got 'int9'; allowed: fp32, int8, binary, pca, pq"]
