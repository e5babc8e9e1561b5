"""Seeds as repeats: each configuration trained once per seed, chosen by its mean over the
seeds, every seed's checkpoint evaluated."""

from __future__ import annotations

import json

import pytest
import yaml
from ray.tune.search import BasicVariantGenerator, Repeater
from ray.tune.search.variant_generator import generate_variants
from small import SMALL_DATA, SMALL_MODEL

from sweep.manifest import BestCheckpoint, Manifest
from sweep.plan import describe, make_plan
from sweep.search import build_search
from sweep.spec import default_spec_path, parse_spec
from sweep.stages.checkpoints import best_seed, chosen_configuration, chosen_per_intermediate
from trainables.trial import TRIAL_INDEX, with_seed


def spec_with(searcher: str = "optuna", **target):
    document = yaml.safe_load(default_spec_path().read_text())
    document["searcher"] = {"type": searcher, "seed": 0}
    if searcher == "grid":  # finite values only
        document["search"]["intermediate"]["learning_rate"] = 1e-3
    document["search"]["target"] = {**document["search"]["target"], **target}
    return parse_spec(document)


def checkpoint(score: float, seed: int, learning_rate: float, intermediate: str = "none"):
    return BestCheckpoint(trial_id=f"t{seed}-{learning_rate}", checkpoint="/c", score=score,
                          step=1, examples_seen=1, train_seconds=1.0, devices=1,
                          config={"seed": seed, "learning_rate": learning_rate,
                                  "intermediate": intermediate})


def test_a_configuration_is_chosen_by_its_mean_over_seeds_not_its_best_seed():
    lucky = [checkpoint(90.0, 0, 1e-3), checkpoint(50.0, 1, 1e-3)]  # mean 70, best seed 90
    steady = [checkpoint(75.0, 1, 1e-4), checkpoint(80.0, 0, 1e-4)]  # mean 77.5
    chosen = chosen_configuration([*lucky, *steady], seeds=[0, 1])
    assert [c.config["seed"] for c in chosen] == [0, 1]
    assert {c.config["learning_rate"] for c in chosen} == {1e-4}
    assert best_seed(chosen).score == 80.0
    per_choice = chosen_per_intermediate(
        [*lucky, checkpoint(10.0, 0, 1e-3, "mnli"), checkpoint(20.0, 0, 1e-4, "mnli")],
        seeds=[0, 1])
    assert [c.score for c in per_choice["none"]] == [90.0, 50.0]
    assert [c.config["learning_rate"] for c in per_choice["mnli"]] == [1e-4]
    # Without seeds every trial stands alone: the best one, even among equal configurations.
    assert chosen_configuration([*lucky, *steady], seeds=None) == [lucky[0]]


def test_a_repeat_index_names_its_seed():
    assert with_seed({"seed": 0, "learning_rate": 1e-3, TRIAL_INDEX: 2}, [5, 6, 7]) == {
        "seed": 7, "learning_rate": 1e-3}
    assert with_seed({"seed": 3}, None) == {"seed": 3}


def test_each_searcher_repeats_a_configuration_per_seed():
    choices = ["none", "synth_nli", "synth_squad"]
    _, algorithm, num_samples = build_search(spec_with(seeds=[0, 1]), "target", "synth_xnli",
                                             choices)
    assert isinstance(algorithm, Repeater) and algorithm.repeat == 2 and num_samples == 3 * 2
    space, algorithm, num_samples = build_search(spec_with("random", seeds=[0, 1]), "target",
                                                 "synth_xnli", choices)
    assert isinstance(algorithm, BasicVariantGenerator) and num_samples == 3
    assert space["seed"] == {"grid_search": [0, 1]}
    # Tune keeps each sample's values across the seed grid (constant_grid_search).
    variants = [config for _, config in generate_variants(space, constant_grid_search=True)]
    assert [v["seed"] for v in variants] == [0, 1]
    assert variants[0]["learning_rate"] == variants[1]["learning_rate"]
    assert "seed" not in algorithm._points_to_evaluate[0]  # the seeds expand each point
    space, _, num_samples = build_search(spec_with("grid", seeds=[3, 4]), "target",
                                         "synth_xnli", choices)
    assert space["seed"] == {"grid_search": [3, 4]} and num_samples == 3


def test_the_plan_shows_the_seed_multiplier():
    spec = spec_with(seeds=[0, 1])
    plan, unseeded = make_plan(spec), make_plan(spec_with(seeds=None))
    target, base = plan.stage("target/synth_xnli"), unseeded.stage("target/synth_xnli")
    assert target.trials == 2 * base.trials and target.repeats == 2
    assert plan.stage("eval/synth_xnli").trials == 2 * unseeded.stage("eval/synth_xnli").trials
    assert f"{target.trials} ({base.trials} x 2 seeds)" in describe(plan, "s")


def test_a_manifest_without_seeds_chooses_its_best_checkpoint(tmp_path):
    best = checkpoint(70.0, 0, 1e-3, "synth_nli").to_dict()
    (tmp_path / "manifest.json").write_text(json.dumps({"experiment": "e", "stages": {
        "target/x": {"status": "finished", "best": best, "by_intermediate": {"synth_nli": best}}}}))
    manifest = Manifest.read(tmp_path)
    assert manifest.chosen("target/x") == [BestCheckpoint.from_dict(best)]
    assert manifest.chosen_by_intermediate("target/x") == {
        "synth_nli": [BestCheckpoint.from_dict(best)]}


@pytest.mark.slow
def test_seeds_are_repeats_of_one_configuration_end_to_end(ray_session, tmp_path):
    """Optuna suggests two configurations, each trained with seeds 0 and 1 (Tune's Repeater);
    the one with the better mean is chosen and both its seeds are evaluated."""
    from sweep.comparisons import comparisons
    from sweep.results import load, load_trials
    from sweep.runner import run_sweep

    spec = parse_spec({
        "name": "seeds", "model": SMALL_MODEL, "data": SMALL_DATA, "target_tasks": ["synth_pos"],
        "search": {"target": {"learning_rate": {"loguniform": [1e-4, 3e-3]}, "epochs": 1,
                              "batch_size": 32, "evals_per_epoch": 1, "num_samples": 2,
                              "seeds": [0, 1]}},
        "scheduler": {"type": "fifo"}, "evaluation": {"languages": ["en", "de"]},
    })
    outcome = run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    trials = load_trials(outcome.storage)
    assert len(trials) == 4 and sorted(trials["config/seed"]) == [0, 0, 1, 1]
    assert "config/__trial_index__" not in trials
    means = trials.groupby("config/learning_rate")["best_score"].mean()
    assert len(means) == 2  # two configurations, each repeated
    chosen = Manifest.read(outcome.storage).chosen("target/synth_pos")
    assert [c.config["seed"] for c in chosen] == [0, 1]
    assert {c.config["learning_rate"] for c in chosen} == {means.idxmax()}
    rows = load(outcome.storage)
    assert set(rows["seed"]) == {0, 1} and set(rows["trial_id"]) == {c.trial_id for c in chosen}
    table = comparisons(rows)
    assert (table["seeds"] == 2).all()
