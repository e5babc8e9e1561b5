"""Plan expansion: stages, trial counts, dependencies and hashes, all without Ray."""

from __future__ import annotations

import copy

import pytest
import yaml

from sweep.cli import main
from sweep.plan import count_training_trials, make_plan, max_iterations, stage_name
from sweep.spec import SpecError, default_spec_path, load_spec, parse_spec
from trainables.arms import ARMS
from trainables.tasks import get_task


def spec_from(**changes):
    document = yaml.safe_load(default_spec_path().read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return parse_spec(copy.deepcopy(document))


def test_default_plan_stages_and_order():
    plan = make_plan(spec_from())
    names = [stage.name for stage in plan.stages]
    targets = ["synth_xnli", "synth_pos", "synth_xquad", "synth_xcopa", "synth_lareqa"]
    assert names == [
        "intermediate/synth_nli", "intermediate/synth_squad",
        *(f"target/{task}" for task in targets), *(f"eval/{task}" for task in targets),
        "retrieval/synth_tatoeba", "retrieval/synth_bucc",
    ]
    target = plan.stage("target/synth_xnli")
    assert target.depends_on == ("intermediate/synth_nli", "intermediate/synth_squad")
    # full_table: one checkpoint per intermediate choice (none included) x 8 languages x test
    assert plan.stage("eval/synth_xnli").trials == 3 * 2 * 8  # choices x seeds x languages
    # retrieval: the base model and each intermediate encoder x 7 non-English languages
    assert plan.stage("retrieval/synth_tatoeba").trials == 3 * 7
    assert target.resources == "1 process {CPU: 1}"


def test_grid_counts_every_combination():
    spec = spec_from(searcher__type="grid",
                     search__intermediate__learning_rate={"choice": [1e-3, 3e-4, 1e-4]},
                     search__intermediate__num_samples=2,
                     search__target__learning_rate={"choice": [1e-3, 1e-5]},
                     search__target__seed={"choice": [0, 1]},
                     search__target__seeds=None, search__target__num_samples=1)
    assert count_training_trials(spec, "intermediate", "synth_nli") == 3 * 2
    # lr x seed x intermediates
    assert count_training_trials(spec, "target", "synth_xnli") == 2 * 2 * 3


def test_partial_languages_and_single_checkpoint():
    spec = spec_from(evaluation__languages=["en", "de", "zh"], evaluation__full_table=False,
                     evaluation__splits=["dev", "test"])
    plan = make_plan(spec)
    assert plan.stage("eval/synth_pos").trials == 1 * 2 * 3 * 2  # 2 seeds, 3 languages, 2 splits
    assert plan.stage("retrieval/synth_tatoeba").trials == 3 * 2  # en is the query side


def test_hash_changes_flow_downstream_only():
    base = {s.name: s.config_hash for s in make_plan(spec_from()).stages}
    changed = {s.name: s.config_hash for s in make_plan(spec_from(
        search__target__epochs=5)).stages}
    assert changed["intermediate/synth_nli"] == base["intermediate/synth_nli"]
    assert changed["target/synth_xnli"] != base["target/synth_xnli"]
    assert changed["eval/synth_xnli"] != base["eval/synth_xnli"]
    assert changed["retrieval/synth_tatoeba"] == base["retrieval/synth_tatoeba"]
    upstream = {s.name: s.config_hash for s in make_plan(spec_from(
        search__intermediate__epochs=1)).stages}
    assert all(upstream[name] != base[name] for name in base)


def test_max_t_defaults_to_longest_trial():
    spec = spec_from(search__target__epochs={"choice": [2, 5]})
    assert max_iterations(spec, "target", "synth_pos") == 5 * 2


def test_evals_per_epoch_per_stage_and_task():
    spec = spec_from(search__intermediate__evals_per_epoch=1, search__target__evals_per_epoch=3,
                     search__per_task={"synth_pos": {"evals_per_epoch": 4}})
    assert spec.evals_per_epoch("intermediate", "synth_nli") == 1
    assert spec.evals_per_epoch("target", "synth_xnli") == 3
    assert spec.evals_per_epoch("target", "synth_pos") == 4
    assert max_iterations(spec, "target", "synth_pos") == 3 * 4  # epochs x evals_per_epoch
    plan = make_plan(spec)
    assert plan.stage("target/synth_pos").config["search"]["evals_per_epoch"] == 4
    base = {s.name: s.config_hash for s in make_plan(spec_from(
        search__intermediate__evals_per_epoch=1, search__target__evals_per_epoch=3)).stages}
    assert plan.stage("target/synth_pos").config_hash != base["target/synth_pos"]
    assert plan.stage("target/synth_xnli").config_hash == base["target/synth_xnli"]


def test_evals_per_epoch_defaults_to_two():
    document = yaml.safe_load(default_spec_path().read_text())
    for stage in ("intermediate", "target"):
        document["search"][stage].pop("evals_per_epoch", None)
    spec = parse_spec(document)
    assert spec.evals_per_epoch("intermediate", "synth_nli") == 2
    assert spec.evals_per_epoch("target", "synth_pos") == 2


def test_deprecated_scheduler_evals_per_epoch_fills_unset_stages(capsys):
    document = yaml.safe_load(default_spec_path().read_text())
    document["search"]["intermediate"].pop("evals_per_epoch", None)
    document["search"]["target"]["evals_per_epoch"] = 2
    document["scheduler"]["evals_per_epoch"] = 5
    spec = parse_spec(document, "old.yaml")
    assert spec.evals_per_epoch("intermediate", "synth_nli") == 5  # the stage sets none
    assert spec.evals_per_epoch("target", "synth_xnli") == 2  # the stage's own wins
    assert capsys.readouterr().err == (
        "warning: old.yaml: scheduler.evals_per_epoch is deprecated; set "
        "search.intermediate.evals_per_epoch and search.target.evals_per_epoch\n")
    # The old and the new spelling of one sweep plan the same stages.
    del document["scheduler"]["evals_per_epoch"]
    document["search"]["intermediate"]["evals_per_epoch"] = 5
    new = parse_spec(document)
    assert capsys.readouterr().err == ""
    assert [s.config_hash for s in make_plan(spec).stages] == \
        [s.config_hash for s in make_plan(new).stages]


def test_per_task_overrides_change_only_their_stage():
    rates = {"choice": [1e-3, 3e-4, 1e-4]}
    spec = spec_from(searcher__type="grid", search__intermediate__learning_rate=1e-3,
                     search__per_task={"synth_pos": {"epochs": 7, "batch_size": 16,
                                                     "learning_rate": rates}})
    pos, xnli = spec.stage_search("target", "synth_pos"), spec.stage_search("target", "synth_xnli")
    assert (pos.epochs, pos.batch_size) == (7, 16) and xnli.epochs == spec.search.target.epochs
    assert pos.intermediate == spec.search.target.intermediate  # the rest is inherited
    assert max_iterations(spec, "target", "synth_pos") == 7 * 2
    plan = make_plan(spec)
    # Three learning rates instead of the target search's two.
    assert 2 * plan.stage("target/synth_pos").trials == 3 * plan.stage("target/synth_xnli").trials
    base = {s.name: s.config_hash for s in make_plan(spec_from(
        searcher__type="grid", search__intermediate__learning_rate=1e-3)).stages}
    assert plan.stage("target/synth_xnli").config_hash == base["target/synth_xnli"]
    assert plan.stage("target/synth_pos").config_hash != base["target/synth_pos"]


def test_per_task_overrides_are_validated():
    with pytest.raises(SpecError) as caught:
        spec_from(search__per_task={"xnli": {"epochs": 2},
                                    "synth_pos": {"batch_size": 30, "epochs": "many"}},
                  resources__workers_per_trial=4)
    message = str(caught.value)
    assert "search.per_task.xnli: got 'xnli'; allowed: an intermediate or target task" in message
    assert "search.per_task.synth_pos.batch_size: got 30; allowed: a multiple of" in message


def test_an_error_names_the_field_the_value_came_from():
    with pytest.raises(SpecError) as caught:
        spec_from(search__target__learning_rate=-1.0,
                  search__per_task={"synth_pos": {"epochs": 1}})
    message = str(caught.value)
    assert "search.target.learning_rate: got -1.0" in message
    assert "search.per_task.synth_pos.learning_rate" not in message  # not written there


def test_plan_command_prints_stage_graph(capsys):
    assert main(["plan", str(default_spec_path())]) == 0
    out = capsys.readouterr().out
    assert "target/synth_xnli" in out and "retrieval/synth_tatoeba" in out
    assert "each trial asks for" in out


def test_the_paper_grid_plans_every_pair(capsys):
    path = default_spec_path().with_name("xstilts.yaml")
    assert main(["plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "35 stages, 143 training trials" in out
    spec = parse_spec(yaml.safe_load(path.read_text()))
    plan = make_plan(spec)
    intermediates = spec.intermediate_names()
    assert len(intermediates) == 11  # the paper's nine, SocialIQA (XTREME-R), the mixture
    assert "ccg" in intermediates and "ccg" in spec.intermediate_members("multitask")[0]
    for task in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "xcopa", "udpos_r",
                 "lareqa", "mewsli_x"):
        assert plan.stage(f"target/{task}").trials == len(intermediates) + 1  # + none
    # Paper settings per task: POS/NER 10 epochs, QA batch 16, retrieval layer 14 mean.
    assert max_iterations(spec, "target", "udpos") == 10 * 2
    assert spec.stage_search("target", "xquad").batch_size == 16
    assert spec.stage_search("target", "xnli").learning_rate == 1e-5
    assert (spec.evaluation.retrieval.layer, spec.evaluation.retrieval.pooling) == (14, "mean")
    # XTREME-R's 41 Tatoeba languages (XTREME counts 36 of them).
    assert plan.stage("retrieval/tatoeba").trials == (len(intermediates) + 1) * 41


def test_the_xglue_grid_plans_every_pair(capsys):
    path = default_spec_path().with_name("xglue.yaml")
    assert main(["validate", str(path)]) == 0
    assert main(["plan", str(path)]) == 0
    assert "133 stages, 5051 training trials" in capsys.readouterr().out
    spec = parse_spec(yaml.safe_load(path.read_text()))
    plan = make_plan(spec)
    intermediates = spec.intermediate_names()
    assert len(intermediates) == 11  # xstilts.yaml's list, the mixture included
    targets = ["xglue_ner", "xglue_pos", "xglue_mlqa", "xglue_nc", "xglue_xnli", "xglue_pawsx",
               "xglue_qadsm", "xglue_wpr", "xglue_qam"]
    assert spec.target_tasks == targets
    # Each task takes every arm it has data for: POS and MLQA have none but zero-shot.
    for task in targets:
        having = [name for name, arm in ARMS.items() if arm.languages(get_task(task))]
        assert spec.arms(task) == having, task
    zero_shot = [s.name for s in plan.stages if "@" not in s.name]
    assert zero_shot == [
        *(f"intermediate/{name}" for name in intermediates),
        *(f"target/{task}" for task in targets), *(f"eval/{task}" for task in targets)]
    assert "target/xglue_xnli@translate_train-sw" in [s.name for s in plan.stages]
    assert plan.stage("target/xglue_ner@in_language-nl").config["arm"]["train"] == [
        ["xglue_ner_conll2002", "nl"]]
    # Few-shot: shots (10, 100) x shot seeds (0-2) x 12 starting points x 3 seeds.
    assert plan.stage("target/xglue_wpr@few_shot-de").trials == 2 * 3 * 12 * 3
    for task in targets:  # every intermediate choice (+ none), each with seeds 0, 1, 2
        assert plan.stage(f"target/{task}").trials == (len(intermediates) + 1) * 3
        assert plan.stage(f"eval/{task}").trials == \
            (len(intermediates) + 1) * 3 * len(get_task(task).languages)
    assert plan.stage("eval/xglue_pos").trials == 12 * 3 * 18  # Portuguese included
    # Unicoder's recipe: 5e-6, 10 epochs, batch 32, no warm-up; NER and POS 20 epochs (POS
    # at 2e-5), MLQA 2 epochs at 3e-5 with batch 12; one dev evaluation per epoch.
    xnli = spec.stage_search("target", "xglue_xnli")
    assert (xnli.learning_rate, xnli.epochs, xnli.batch_size, xnli.warmup_ratio) == \
        (5e-6, 10, 32, 0.0)
    assert max_iterations(spec, "target", "xglue_ner") == 20 * 1
    assert spec.stage_search("target", "xglue_pos").learning_rate == 2e-5
    mlqa = spec.stage_search("target", "xglue_mlqa")
    assert (mlqa.learning_rate, mlqa.epochs, mlqa.batch_size) == (3e-5, 2, 12)
    assert spec.stage_search("intermediate", "mnli").learning_rate == 1e-5  # X-STILTs'
    assert (spec.evaluation.languages, spec.evaluation.splits, spec.evaluation.full_table) == \
        ("all", ["test"], True)


def test_the_offline_arms_sweep_plans_every_arm_and_language(capsys):
    path = default_spec_path().with_name("direct.yaml")
    assert main(["plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "47 stages, 89 training trials" in out
    assert ("synth_xnli translate_train (training data machine-translated into L; tested on L): "
            "3 languages (de, sw, zh) x 4 = 12 training trials") in out
    plan = make_plan(parse_spec(yaml.safe_load(path.read_text())))
    per_language = ["translate_train", "in_language", "few_shot"]
    for task in ("synth_xnli", "synth_pos"):
        zero_shot = stage_name("target", task)
        # In the spec's arm order: a per-language arm once per language with data.
        trained = [zero_shot, *(stage_name("target", task, arm, language)
                                for arm in ("translate_train", "translate_train_all",
                                            "in_language", "few_shot")
                                for language in ((None,) if arm == "translate_train_all"
                                                 else ("de", "sw", "zh")))]
        assert [s.name for s in plan.stages if s.kind == "target" and s.task == task] == trained
        for name in trained:  # 2 configurations (none, synth_nli) x seeds 0 and 1
            assert (plan.stage(name).trials, plan.stage(name).repeats) == (4, 2)
        for language in ("de", "sw", "zh"):
            assert plan.stage(stage_name("target", task, "few_shot", language)).depends_on == \
                (zero_shot,)  # few-shot starts from the zero-shot models
            for arm in per_language:  # one model per language, tested on it alone
                assert plan.stage(stage_name("eval", task, arm, language)).trials == 2 * 2
        # Translate-test trains nothing: it tests the zero-shot models on translated sets.
        assert not any(s.name == stage_name("target", task, "translate_test")
                       for s in plan.stages)
        translate_test = plan.stage(stage_name("eval", task, "translate_test"))
        assert translate_test.depends_on == (zero_shot,)
        assert translate_test.config["languages"] == ["de", "sw", "zh"]  # translated test sets
        assert translate_test.trials == 2 * 2 * 3
        # The all-language arms are tested in every evaluated language (en de sw zh).
        assert plan.stage(stage_name("eval", task)).trials == 2 * 2 * 4
        assert plan.stage(stage_name("eval", task, "translate_train_all")).trials == 2 * 2 * 4
    assert sum(s.trials for s in plan.stages if s.kind in ("intermediate", "target")) == \
        1 + 2 * (2 + 3 * 3) * 4


@pytest.mark.parametrize("name,budget", [("diversity.yaml", 87600),
                                         ("diversity_offline.yaml", 2000)])
def test_the_diversity_series_holds_one_budget_and_measures_every_encoder(name, budget):
    """Mixtures of growing diversity at one budget an epoch (each member capped at the
    budget's share), a single-task control at the same budget, and the efficiency stage."""
    spec = parse_spec(yaml.safe_load(default_spec_path().with_name(name).read_text()))
    sizes = []
    for entry in spec.intermediate_tasks:
        assert abs(entry.cap * len(entry.mixture) - budget) < len(entry.mixture)
        sizes.append(len(entry.mixture))
    assert sizes[:-1] == sorted(sizes[:-1]) and sizes[-1] == 1  # growing, then the control
    assert len(set(sizes)) >= 4
    plan = make_plan(spec)
    efficiency = [stage for stage in plan.stages if stage.kind == "efficiency"]
    assert [stage.name for stage in efficiency] == ["efficiency/" + spec.retrieval_tasks[0]]
    encoders = 1 + sum(spec.repeats("intermediate", n) for n in spec.intermediate_names())
    assert efficiency[0].trials == encoders * spec.evaluation.efficiency.noise_repeats
    assert set(efficiency[0].depends_on) == {f"intermediate/{n}"
                                             for n in spec.intermediate_names()}


def test_the_vision_grids_plan_every_control_base_model_and_precompute(capsys):
    for name in ("vision.yaml", "vision_real.yaml"):
        assert main(["validate", str(default_spec_path().with_name(name))]) == 0
    offline = make_plan(load_spec(default_spec_path().with_name("vision.yaml")))
    assert [s.name for s in offline.stages if s.kind == "intermediate"] == [
        f"intermediate/{name}" for name in (
            "synth_caption", "synth_caption_scrambled", "synth_caption_random",
            "synth_caption_text_only", "synth_nli", "nli_caption")]
    assert offline.stage("target/synth_xflickrco").trials == 7 * 2  # none + six, two seeds
    real = make_plan(load_spec(default_spec_path().with_name("vision_real.yaml")))
    precompute = [s.name for s in real.stages if s.kind == "precompute"]
    # Each image set once, whatever the base models: COCO, Flickr30k (SNLI-VE's, XVNLI's
    # and xFlickr&CO's training images), xFlickr&CO's test images, MaRVL's and NLVR2's.
    assert precompute == ["precompute/coco_lit", "precompute/snli_ve", "precompute/xflickrco",
                          "precompute/marvl", "precompute/nlvr2"]
    per_model = [s for s in real.stages if s.kind != "precompute"]
    assert len(per_model) == 2 * 26
    assert {s.name.rsplit("~", 1)[1] for s in per_model} == {"xlmr", "mclip"}
    assert real.stage("target/xflickrco~mclip").trials == 9 * 3  # none + eight, three seeds
    assert real.stage("after-target/bucc2018~xlmr").depends_on == tuple(
        f"target/{task}~xlmr" for task in real.spec.target_tasks)
    assert real.spec.for_model("mclip").model.key_map == {"transformer.": ""}
