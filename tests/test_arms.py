"""Target arms: what each reads, how the plan multiplies them, what the spec refuses, and the
training loop on an arm's data (run in this process with a stand-in session)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from small import SMALL_DATA, SMALL_MODEL, TINY_MODEL, first_report

from sweep.plan import describe, make_plan
from sweep.rows import arm_facts
from sweep.spec import SpecError, parse_spec
from trainables.arms import ARMS, english_sources, sources
from trainables.offline.benchmark import generate_benchmark
from trainables.tasks import get_task

ALL_ARMS = list(ARMS)


def _spec(**target) -> dict:
    return {"name": "arms", "model": SMALL_MODEL, "data": SMALL_DATA,
            "intermediate_tasks": ["synth_nli"], "target_tasks": ["synth_xnli"],
            "search": {"target": {"num_samples": 2, **target}},
            "evaluation": {"languages": ["en", "de", "sw"], "full_table": True}}


def test_each_arm_reads_its_own_data():
    xnli = get_task("synth_xnli")
    assert sources(ARMS["zero_shot"], xnli, None) == {
        "train": [("synth_xnli", "en")], "dev": [("synth_xnli", "en")]}
    assert sources(ARMS["translate_train"], xnli, "de") == {
        "train": [("synth_xnli_mt", "de")], "dev": [("synth_xnli", "en")]}
    all_languages = sources(ARMS["translate_train_all"], xnli, None)
    assert all_languages["train"][0] == ("synth_xnli", "en")
    assert [lang for _, lang in all_languages["train"][1:]] == list(xnli.languages[1:])
    assert sources(ARMS["in_language"], xnli, "sw") == {
        "train": [("synth_xnli", "sw")], "dev": [("synth_xnli", "sw")]}  # its own dev
    assert sources(ARMS["translate_test"], xnli, None)["test"][0] == ("synth_xnli_mt", "de")
    # XQuAD trains on SQuAD in English, and selects on SQuAD's dev.
    assert english_sources(get_task("synth_xquad"), "train") == [("synth_squad", "en")]
    assert ARMS["translate_train"].languages(get_task("synth_xcopa")) == ()
    assert "en" not in ARMS["in_language"].languages(xnli)


def test_the_plan_has_a_stage_per_arm_and_language_and_shows_the_multiplier():
    plan = make_plan(parse_spec(_spec(arms=ALL_ARMS)))
    names = [stage.name for stage in plan.stages]
    for arm in ("translate_train", "in_language", "few_shot"):
        for language in ("de", "sw"):
            assert f"target/synth_xnli@{arm}-{language}" in names
            evaluation = plan.stage(f"eval/synth_xnli@{arm}-{language}")
            assert evaluation.config["languages"] == [language]
    assert "target/synth_xnli@translate_test" not in names  # it trains nothing
    tested = plan.stage("eval/synth_xnli@translate_test")
    assert tested.depends_on == ("target/synth_xnli",)
    assert tested.config["languages"] == ["de", "sw"] and tested.config["splits"] == ["test"]
    assert plan.stage("target/synth_xnli@few_shot-de").depends_on == ("target/synth_xnli",)
    assert plan.stage("eval/synth_xnli@translate_train_all").config["languages"] == [
        "en", "de", "sw"]
    shown = describe(plan, "results/arms")
    assert ("synth_xnli translate_train (training data machine-translated into L; tested on L): "
            "2 languages (de, sw) x 2 = 4 training trials") in shown
    # The zero-shot stages hash as they did before arms existed.
    plain = make_plan(parse_spec(_spec()))
    assert plain.stage("target/synth_xnli").config_hash == \
        plan.stage("target/synth_xnli").config_hash
    assert plain.stage("eval/synth_xnli").config_hash == plan.stage("eval/synth_xnli").config_hash


@pytest.mark.parametrize("target,evaluation,expected", [
    ({"arms": ["translate_test"]}, {},
     "search.target.arms: got ['translate_test']; allowed: zero_shot among them"),
    ({"arms": ["zero_shot", "few_shot"]}, {"full_table": False},
     "evaluation.full_table: got False; allowed: true for few_shot"),
    ({"arms": ["zero_shot", "few_shot"], "shots": 0.5}, {},
     "search.target.shots: got 0.5; allowed: a whole number >= 1"),
    ({"arms": ["zero_shot", "zero_shot"]}, {},
     "search.target.arms[1]: got 'zero_shot'; allowed: each arm once"),
    ({"arms": ["zero_shot", "translate_tain"]}, {},
     "search.target.arms[1]: got 'translate_tain'; allowed: zero_shot, translate_train"),
])
def test_bad_arms_are_refused_naming_the_field(target, evaluation, expected):
    document = _spec(**target)
    document["evaluation"].update(evaluation)
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert expected in str(caught.value), str(caught.value)


def test_a_task_without_an_arms_data_is_refused_naming_the_missing_source():
    document = _spec(arms=["zero_shot", "translate_train"])
    document["target_tasks"] = ["synth_xnli", "synth_xcopa"]
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert ("search.target.arms[1]: got 'translate_train'; allowed: an arm with data for "
            "target task 'synth_xcopa' (zero_shot); it has no translations source "
            "(Task.translations)") in str(caught.value)


def test_an_evaluated_language_without_the_arms_data_is_named(monkeypatch):
    from trainables.tasks import REGISTRY

    monkeypatch.setitem(REGISTRY, "synth_xnli_mt",
                        replace(get_task("synth_xnli_mt"), languages=("de",)))
    with pytest.raises(SpecError) as caught:
        parse_spec(_spec(arms=["zero_shot", "translate_train"]))
    assert ("search.target.arms[1]: got 'translate_train'; allowed: data for every evaluated "
            "language: 'synth_xnli_mt', the translations source of 'synth_xnli', has no 'sw' "
            "(evaluation.languages)") in str(caught.value)
    assert "'de'" not in str(caught.value)


def _loop_config(root, **extra) -> dict:
    return {"model": TINY_MODEL, "data": {"source": "local", "path": str(root)},
            "tasks": ["synth_xnli"], "group": "synth_xnli", "mixture_cap": None,
            "max_length": 32, "evals_per_epoch": 1, "intermediate": "none",
            "init_checkpoint": None,
            "hparams": {"seed": 0, "batch_size": 16, "epochs": 1, "learning_rate": 1e-3,
                        "warmup_ratio": 0.1}, **extra}


def _arm(arm: str, language: str | None) -> dict:
    pairs = sources(ARMS[arm], get_task("synth_xnli"), language)
    return {"name": arm, "language": language,
            **{split: [list(pair) for pair in found] for split, found in pairs.items()}}


def test_the_loop_trains_on_translations_and_few_shot_starts_from_the_zero_shot_model(
        tmp_path):
    torch.set_num_threads(1)
    root = generate_benchmark(tmp_path / "data", train_size=64, eval_size=10,
                              retrieval_size=10, corpus_size=10)
    translated = first_report(_loop_config(root, arm=_arm("translate_train", "de")),
                           None, tmp_path / "translated")
    assert translated["examples_seen"] == 64  # synth_xnli_mt's German copy of English train
    assert translated["target_train_examples"] == 64
    everything = first_report(_loop_config(root, arm=_arm("translate_train_all", None)),
                           None, tmp_path / "all")
    assert everything["examples_seen"] == 8 * 64
    assert everything["target_train_examples"] == 7 * 64
    in_language = first_report(_loop_config(root, arm=_arm("in_language", "sw")),
                            None, tmp_path / "in_language")
    assert in_language["target_train_examples"] == 64 // 8  # the small gold set
    # Few-shot: the zero-shot model (its head too), then 5 German examples.
    zero_shot = first_report(_loop_config(root), None, tmp_path / "zero_shot")
    few = _loop_config(root, arm=_arm("few_shot", "de"), init_checkpoint=str(
        tmp_path / "zero_shot"), init_heads=True)
    few["hparams"] = {**few["hparams"], "shots": 5, "shot_seed": 1, "batch_size": 5}
    shot = first_report(few, None, tmp_path / "few")
    assert shot["examples_seen"] == 5 and shot["target_train_examples"] == 5
    assert zero_shot["target_train_examples"] == 0
    heads = torch.load(tmp_path / "zero_shot" / "heads.pt")
    assert set(heads) == set(torch.load(tmp_path / "few" / "heads.pt"))
    meta = json.loads((tmp_path / "few" / "meta.json").read_text())
    assert meta["tasks"] == ["synth_xnli"]
    few["hparams"]["shots"] = 10_000
    with pytest.raises(ValueError, match="10000 shots asked of 8 train examples"):
        first_report({**few, "arm": _arm("few_shot", "sw")}, None, tmp_path / "x")


def test_rows_record_the_arm():
    from sweep.manifest import BestCheckpoint

    checkpoint = BestCheckpoint("t", "/c", 1.0, 1, 64, 1.0, 1,
                                {"seed": 0, "shots": 5, "shot_seed": 1}, 5)
    facts = arm_facts(_arm("few_shot", "de"), checkpoint)
    assert facts == {"arm": "few_shot", "train_languages": "de", "n_train_target": 5,
                     "translation_source": None, "selection": "en_dev", "shots": 5,
                     "shot_seed": 1}
    facts = arm_facts(_arm("translate_train", "de"), checkpoint)
    assert facts["translation_source"] == "synth_xnli_mt"
    assert arm_facts(None, checkpoint)["arm"] == "zero_shot"
    assert arm_facts(_arm("in_language", "sw"), checkpoint)["selection"] == "target_dev"
    assert arm_facts(_arm("translate_test", None), checkpoint)["translation_source"] == \
        "synth_xnli_mt"


def test_a_target_task_may_have_arms_of_its_own():
    document = _spec(arms=["zero_shot"])
    document["target_tasks"] = ["synth_xnli", "synth_xcopa"]
    document["search"]["per_task"] = {"synth_xnli": {"arms": ["zero_shot", "translate_train"]}}
    plan = make_plan(parse_spec(document))
    names = [stage.name for stage in plan.stages]
    assert "target/synth_xnli@translate_train-de" in names
    assert not any(name.startswith("target/synth_xcopa@") for name in names)
    document["search"]["per_task"] = {"synth_xcopa": {"arms": ["zero_shot", "in_language"]},
                                      "synth_nli": {"arms": ["zero_shot"]}}
    problems = str(pytest.raises(SpecError, parse_spec, document).value)
    assert ("search.per_task.synth_xcopa.arms[1]: got 'in_language'; allowed: an arm with data "
            "for target task 'synth_xcopa' (zero_shot)") in problems
    assert ("search.per_task.synth_nli.arms: got ['zero_shot']; allowed: arms for a target "
            "task of this spec") in problems


def test_xtremes_translate_test_files_are_read_from_their_bucket_layout(tmp_path):
    """XTREME's translate-test files: no header, the originals first (the bucket's five
    columns) or not (three), XNLI's `contradictory` and PAWS-X's 0/1 in the tasks' labels."""
    from trainables.data import load_examples

    folder = tmp_path / "xtreme_translations" / "XNLI" / "translate-test"
    folder.mkdir(parents=True)
    (folder / "test-de-en-translated.tsv").write_text(
        "Ein Mann\tEine Person\tA man\tA person\tentailment\n"
        "Ein Hund\tEine Katze\tA dog\tA cat\tcontradictory\n", encoding="utf-8")
    folder = tmp_path / "xtreme_translations" / "PAWSX" / "translate-test"
    folder.mkdir(parents=True)
    (folder / "test-fr-en-translated.tsv").write_text("A b\tB a\t1\nC\tD\t0\n", encoding="utf-8")
    data = {"source": "hub", "revisions": {}, "path": str(tmp_path)}
    assert load_examples(data, "xnli_translate_test", "test", "de") == [
        {"premise": "A man", "hypothesis": "A person", "label": "entailment"},
        {"premise": "A dog", "hypothesis": "A cat", "label": "contradiction"}]
    assert [e["label"] for e in load_examples(data, "pawsx_translate_test", "test", "fr")] == [
        "duplicate", "not_duplicate"]
    assert [e["label"] for e in load_examples(data, "xglue_pawsx_translate_test", "test",
                                               "fr")] == ["1", "0"]
    assert sources(ARMS["translate_test"], get_task("xnli"), None)["test"][0] == (
        "xnli_translate_test", "ar")


def test_a_hub_run_needs_data_path_for_an_arms_local_files():
    document = {"name": "x", "model": {"source": "hub", "name": "FacebookAI/xlm-roberta-base",
                                       "revision": "e73636d"},
                "data": {"source": "hub"}, "intermediate_tasks": ["mnli"],
                "target_tasks": ["xnli"],
                "search": {"target": {"arms": ["zero_shot", "translate_test"]}}}
    problems = str(pytest.raises(SpecError, parse_spec, document).value)
    assert ("data.path: got None; allowed: a directory holding xtreme_translations/XNLI/ for "
            "'xnli_translate_test', the test-translations source of 'xnli' (translate_test), "
            "which has no hub copy") in problems
