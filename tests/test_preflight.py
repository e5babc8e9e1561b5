"""Pre-flight placement rules on made-up cluster shapes (no Ray), and the source checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.preflight import NodeShape, PreflightError, check_placement, check_sources
from sweep.spec import parse_spec

HEAD = NodeShape({"CPU": 0, "trial_driver": 4})


def gpu_nodes(gpus: int, count: int = 1) -> NodeShape:
    return NodeShape({"CPU": 8 * gpus, "GPU": gpus}, count)


def spec_with(**resources) -> object:
    return parse_spec({"name": "p", "model": SMALL_MODEL, "data": SMALL_DATA,
                       "target_tasks": ["synth_pos"], "search": {"target": {"batch_size": 32}},
                       "resources": resources})


def test_strict_pack_needs_one_node_with_every_gpu():
    spec = spec_with(workers_per_trial=4, gpus_per_worker=1, placement_strategy="STRICT_PACK")
    with pytest.raises(PreflightError,
                       match=r"a trial needs 4 GPU on one node .*; the largest node has 1"):
        check_placement(spec, [HEAD, gpu_nodes(1, count=4)])
    check_placement(spec, [HEAD, gpu_nodes(4)])


def test_pack_may_use_several_nodes_but_not_more_than_exist():
    spec = spec_with(workers_per_trial=4, gpus_per_worker=1)
    check_placement(spec, [HEAD, gpu_nodes(1), gpu_nodes(1), gpu_nodes(2)])
    with pytest.raises(PreflightError, match="needs 4 Train workers of 1 CPU, 1 GPU; "
                                             "the cluster's nodes hold 3"):
        check_placement(spec, [HEAD, gpu_nodes(1), gpu_nodes(2)])


def test_strict_spread_counts_one_worker_per_node():
    spec = spec_with(workers_per_trial=2, placement_strategy="STRICT_SPREAD")
    with pytest.raises(PreflightError, match="on different nodes; the cluster's nodes hold 1"):
        check_placement(spec, [NodeShape({"CPU": 8, "trial_driver": 1})])
    check_placement(spec, [NodeShape({"CPU": 8, "trial_driver": 1}), NodeShape({"CPU": 1})])


def test_nodes_the_autoscaler_can_start_count():
    spec = spec_with(workers_per_trial=4, gpus_per_worker=1, placement_strategy="STRICT_PACK")
    check_placement(spec, [HEAD, gpu_nodes(4, count=2)])


def test_every_missing_resource_is_named():
    spec = spec_with(workers_per_trial=2, gpus_per_worker=2,
                     custom_per_worker={"fake_accelerator": 1})
    with pytest.raises(PreflightError) as refused:
        check_placement(spec, [NodeShape({"CPU": 4, "GPU": 1})])
    message = str(refused.value)
    assert "a trial driver needs 1 trial_driver" in message
    assert "a Train worker needs 2 GPU; the largest node has 1" in message
    assert "a Train worker needs 1 fake_accelerator; the largest node has 0" in message


def test_a_one_worker_trial_needs_no_driver_slot():
    """It trains in its own process: a node with its worker's bundle is enough."""
    check_placement(spec_with(gpus_per_worker=1), [NodeShape({"CPU": 4, "GPU": 1})])
    with pytest.raises(PreflightError) as refused:
        check_placement(spec_with(gpus_per_worker=2), [NodeShape({"CPU": 4, "GPU": 1})])
    message = str(refused.value)
    assert "a trial needs 2 GPU; the largest node has 1" in message
    assert "trial_driver" not in message


def test_an_evaluation_task_must_fit_too():
    spec = spec_with(cpus_per_worker=1, eval_cpus=16)
    with pytest.raises(PreflightError, match="an evaluation task needs 16 CPU"):
        check_placement(spec, [NodeShape({"CPU": 4, "trial_driver": 1})])


def test_local_data_must_hold_every_split_the_plan_reads(tmp_path):
    import shutil

    from trainables.data import data_root

    (tmp_path / "synth_pos").mkdir()
    spec = parse_spec({"name": "p", "model": SMALL_MODEL, "target_tasks": ["synth_pos"],
                       "data": {"source": "local", "path": str(tmp_path)},
                       "evaluation": {"languages": ["en", "zh"]}})
    with pytest.raises(PreflightError) as refused:
        check_sources(spec)
    message = str(refused.value)
    for missing in ("train-en", "dev-en", "test-en", "test-zh"):
        assert f"synth_pos/{missing}.jsonl" in message
    assert "test-de" not in message  # not evaluated
    shutil.rmtree(tmp_path / "synth_pos")
    offline = spec_with().data.model_dump()  # the generated benchmark at SMALL_DATA's sizes
    shutil.copytree(data_root(offline) / "synth_pos", tmp_path / "synth_pos")
    check_sources(spec)


def test_local_image_vectors_must_exist_for_every_image_text_task(tmp_path):
    import shutil

    from trainables.data import data_root

    offline = data_root(spec_with().data.model_dump())
    shutil.copytree(offline / "synth_caption", tmp_path / "synth_caption")
    shutil.copytree(offline / "synth_pos", tmp_path / "synth_pos")
    (tmp_path / "synth_caption" / "images.npy").unlink()
    spec = parse_spec({"name": "p", "model": SMALL_MODEL, "target_tasks": ["synth_pos"],
                       "intermediate_tasks": ["synth_caption", "synth_caption_text_only"],
                       "data": {"source": "local", "path": str(tmp_path)},
                       "evaluation": {"languages": ["en"]}})
    with pytest.raises(PreflightError) as refused:
        check_sources(spec)
    message = str(refused.value)
    assert "image embeddings 'synth_caption/images' (npy)" in message
    assert message.count("images.npy does not exist") == 1  # the control shares its files
    shutil.copy(offline / "synth_caption" / "images.npy", tmp_path / "synth_caption")
    check_sources(spec)


def test_an_uncached_hub_model_is_refused_when_the_hub_is_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = parse_spec({"name": "p", "data": SMALL_DATA, "target_tasks": ["synth_pos"],
                       "model": {"source": "hub", "name": "FacebookAI/xlm-roberta-large",
                                 "revision": "c23d21b0620b635a76227c604d44e43a9f0ee389"}})
    with pytest.raises(PreflightError, match="model.name 'FacebookAI/xlm-roberta-large': not "
                                             "in the local Hugging Face cache"):
        check_sources(spec)


def test_a_dashboard_url_in_ray_address_is_refused_by_run(monkeypatch, tmp_path, capsys):
    from sweep.cli import main

    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:8265")
    assert main(["run", "--storage", str(tmp_path / "run")]) == 2
    assert "is a dashboard URL" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resources_split_over_nodes_do_not_make_a_worker():
    spec = spec_with(cpus_per_worker=4, gpus_per_worker=1)
    split = [NodeShape({"CPU": 16, "trial_driver": 1}), NodeShape({"CPU": 2, "GPU": 4})]
    with pytest.raises(PreflightError, match="a trial needs 4 CPU, 1 GPU on one node; "
                                             "no node has all of them"):
        check_placement(spec, split)


def cache_snapshot(cache: Path, repo_type: str, repo_id: str, ref: str, commit: str) -> None:
    """A repo in the Hugging Face cache layout: refs/<ref> names snapshots/<commit>/."""
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (repo / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")


def test_branches_resolve_to_the_commits_they_name_and_pin_the_run(tmp_path, monkeypatch):
    import huggingface_hub

    from sweep.preflight import pin_revisions

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    model_commit, xnli_commit, mnli_commit = "a" * 40, "b" * 40, "c" * 40
    cache_snapshot(tmp_path, "model", "FacebookAI/xlm-roberta-large", "main", model_commit)
    cache_snapshot(tmp_path, "dataset", "facebook/xnli", "refs/convert/parquet", xnli_commit)
    cache_snapshot(tmp_path, "dataset", "nyu-mll/glue", "refs/convert/parquet", mnli_commit)
    spec = parse_spec({"name": "p", "target_tasks": ["xnli"], "data": {"source": "hub"},
                       "evaluation": {"languages": ["en", "de"]},
                       "model": {"source": "hub", "name": "FacebookAI/xlm-roberta-large",
                                 "revision": "main"}})
    commits = check_sources(spec)
    assert commits == {"model": model_commit,
                       "datasets": {"mnli": mnli_commit, "xnli": xnli_commit}}
    pinned = pin_revisions(spec, commits)
    assert pinned.model.revision == model_commit
    assert pinned.data.revisions == {"mnli": mnli_commit, "xnli": xnli_commit}
    assert spec.model.revision == "main"  # the spec as written is left alone


def test_a_resumed_run_reads_the_commits_it_began_with():
    from sweep.manifest import Manifest
    from sweep.runner import run_commits

    def hub_spec(model_name: str, xnli_revision: str | None = None):
        revisions = {"xnli": xnli_revision} if xnli_revision else {}
        return parse_spec({"name": "p", "target_tasks": ["xnli"],
                           "data": {"source": "hub", "revisions": revisions},
                           "model": {"source": "hub", "name": model_name, "revision": "main"}})

    spec = hub_spec("FacebookAI/xlm-roberta-large")
    now = {"model": "n" * 40, "datasets": {"xnli": "m" * 40}}
    began = {"model": "b" * 40, "datasets": {"xnli": "x" * 40}}
    recorded = Manifest(None, {"revisions": began, "stages": {"intermediate/mnli": {}},
                               "spec": spec.model_dump(mode="json")})
    assert run_commits(recorded, spec, resume=False, resolved=now) == now
    assert run_commits(recorded, spec, resume=True, resolved=now) == began
    # Begun before commits were recorded: it resumes unpinned rather than re-running stages.
    older = Manifest(None, {"stages": {"intermediate/mnli": {}}})
    assert run_commits(older, spec, resume=True, resolved=now) == {}
    # What the spec now asks for differently is resolved afresh, never the old commit.
    changed = hub_spec("FacebookAI/xlm-roberta-base", xnli_revision="refs/pr/1")
    assert run_commits(recorded, changed, resume=True, resolved=now) == now


def test_a_resumed_run_of_several_base_models_reads_each_ones_commits():
    from sweep.manifest import Manifest
    from sweep.runner import run_commits

    def models(clip_revision: str):
        return parse_spec({"name": "p", "target_tasks": ["xnli"], "data": {"source": "hub"},
                           "model": [{"source": "hub", "name": "FacebookAI/xlm-roberta-large",
                                      "revision": "main", "tag": "xlmr"},
                                     {"source": "hub", "name": "M-CLIP/x", "tag": "mclip",
                                      "revision": clip_revision}]})

    spec = models("main")
    now = {"model": "n" * 40, "datasets": {}, "base_models": {"xlmr": "n" * 40,
                                                              "mclip": "c" * 40}}
    began = {"model": "b" * 40, "datasets": {}, "base_models": {"xlmr": "b" * 40,
                                                                "mclip": "d" * 40}}
    recorded = Manifest(None, {"revisions": began, "stages": {"intermediate/mnli~xlmr": {}},
                               "spec": spec.model_dump(mode="json")})
    assert run_commits(recorded, spec, resume=True, resolved=now) == began
    # One model asks for another revision now: it alone is resolved afresh.
    mixed = run_commits(recorded, models("v2"), resume=True, resolved=now)
    assert mixed["base_models"] == {"xlmr": "b" * 40, "mclip": "c" * 40}
    assert mixed["model"] == "b" * 40


def test_a_pooled_split_needs_every_languages_files(tmp_path):
    """LAReQA ranks one pool of every language's sentences, whichever languages it scores."""
    spec = parse_spec({"name": "p", "model": SMALL_MODEL, "target_tasks": ["lareqa"],
                       "data": {"source": "local", "path": str(tmp_path)},
                       "evaluation": {"languages": ["en"]}})
    with pytest.raises(PreflightError) as refused:
        check_sources(spec)
    message = str(refused.value)
    for missing in ("squad/train-v1.1.json", "squad/dev-v1.1.json",
                    "lareqa/xquad-r/en.json", "lareqa/xquad-r/zh.json"):
        assert missing in message


def test_a_split_the_hub_copy_lacks_is_refused_before_the_run(tmp_path, monkeypatch):
    """XQuAD's hub copy has test only: evaluating dev in Arabic is refused by the pre-flight,
    not by an evaluation task after training. TyDiQA's dev is held out of its training
    split (`DevSlice`), so it has one in every language."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    for repo in ("google/xquad", "google-research-datasets/tydiqa", "rajpurkar/squad"):
        cache_snapshot(tmp_path, "dataset", repo, "refs/convert/parquet", "d" * 40)

    def spec(target: str, splits: list[str]):
        return parse_spec({"name": "p", "model": SMALL_MODEL, "target_tasks": [target],
                           "intermediate_tasks": ["squad"], "data": {"source": "hub"},
                           "evaluation": {"languages": ["en", "ar"], "splits": splits}})

    assert check_sources(spec("xquad", ["test"]))["datasets"]["xquad"] == "d" * 40
    assert check_sources(spec("tydiqa", ["dev", "test"]))["datasets"]["tydiqa"] == "d" * 40
    with pytest.raises(PreflightError, match="'xquad' has no dev split on the hub "
                                             r"\(it has test\): evaluation.splits"):
        check_sources(spec("xquad", ["dev", "test"]))


def test_each_arms_missing_source_is_named_per_language(tmp_path):
    """A target arm's translations, gold sets and translated test sets are read before any
    trial starts: the pre-flight names each missing file, per language."""
    import shutil

    from trainables.data import data_root

    offline = data_root(spec_with().data.model_dump())
    shutil.copytree(offline / "synth_xnli", tmp_path / "synth_xnli")
    shutil.copytree(offline / "synth_nli", tmp_path / "synth_nli")
    (tmp_path / "synth_xnli_mt").mkdir()
    shutil.copy(offline / "synth_xnli_mt" / "train-de.jsonl", tmp_path / "synth_xnli_mt")
    (tmp_path / "synth_xnli" / "train-sw.jsonl").unlink()
    spec = parse_spec({
        "name": "p", "model": SMALL_MODEL, "intermediate_tasks": ["synth_nli"],
        "target_tasks": ["synth_xnli"], "data": {"source": "local", "path": str(tmp_path)},
        "search": {"target": {"arms": ["zero_shot", "translate_train", "in_language",
                                       "translate_test"], "num_samples": 2}},
        "evaluation": {"languages": ["en", "de", "sw"], "full_table": True}})
    with pytest.raises(PreflightError) as refused:
        check_sources(spec)
    message = str(refused.value)
    for missing in ("synth_xnli_mt/train-sw.jsonl", "synth_xnli_mt/test-de.jsonl",
                    "synth_xnli_mt/test-sw.jsonl", "synth_xnli/train-sw.jsonl"):
        assert missing in message, missing
    assert "synth_xnli_mt/train-de.jsonl" not in message
    assert "synth_xnli/train-de.jsonl" not in message
