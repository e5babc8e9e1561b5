"""The searcher and scheduler registries: what each entry checks, counts and builds.

Building imports Ray and Optuna but starts nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
from ray.tune.search import BasicVariantGenerator
from ray.tune.search.optuna import OptunaSearch

from sweep.plan import count_training_trials, make_plan
from sweep.schedulers import SCHEDULERS
from sweep.schema import Choice
from sweep.search import build_scheduler, build_search, expected_iterations
from sweep.searchers import SEARCHERS, SearcherOption
from sweep.spec import SpecError, default_spec_path, parse_spec


def spec_with(**sections):
    """The default spec without its target seeds (tests/test_seeds.py covers them), with
    `sections` merged in."""
    document = yaml.safe_load(default_spec_path().read_text())
    del document["search"]["target"]["seeds"]
    for section, values in sections.items():
        document[section] = {**document.get(section, {}), **values}
    return parse_spec(document)


def test_the_registered_types():
    assert list(SEARCHERS) == ["optuna", "random", "grid"]
    assert list(SCHEDULERS) == ["asha", "fifo"]


def test_validating_and_planning_import_neither_ray_nor_optuna():
    script = ("import sys; from sweep.plan import make_plan; from sweep.spec import load_spec, "
              "default_spec_path; make_plan(load_spec(default_spec_path())); "
              "print(sorted({'ray', 'optuna', 'torch'} & set(sys.modules)))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "[]"


def test_trial_counts():
    dims = {"learning_rate": Choice(choice=[1e-3, 1e-4]), "epochs": 2,
            "intermediate": Choice(choice=["none", "a", "b"])}
    assert SEARCHERS["grid"].count_trials(dims, 2) == 2 * 3 * 2
    assert SEARCHERS["optuna"].count_trials(dims, 5) == 5
    assert SEARCHERS["random"].count_trials(dims, 5) == 5


def test_a_new_searcher_is_one_entry(monkeypatch):
    """A registered type is accepted, checked and counted through its entry alone."""
    def one_trial_per_stage(spec, kind, task):
        if spec.stage_search(kind, task).num_samples == 1:
            return []
        return [f"search.{kind}.num_samples: got more; allowed: 1"]

    monkeypatch.setitem(SEARCHERS, "single", SearcherOption(
        build=lambda dims, settings, metric, cover, seeds: ({}, None, 1),
        check_stage=one_trial_per_stage, count_trials=lambda dims, num_samples: 1))
    with pytest.raises(SpecError, match="search.intermediate.num_samples: got more"):
        spec_with(searcher={"type": "single"})
    spec = spec_with(searcher={"type": "single"},
                     search={"intermediate": {"num_samples": 1}, "target": {"num_samples": 1}})
    assert count_training_trials(spec, "target", "synth_xnli") == 1
    assert {stage.trials for stage in make_plan(spec).stages if stage.kind == "target"} == {1}


def test_build_search_per_searcher():
    choices = ["none", "synth_nli", "synth_squad"]
    spec = spec_with(searcher={"type": "grid"},
                     search={"intermediate": {"learning_rate": {"choice": [1e-3, 1e-4]}}})
    space, algorithm, num_samples = build_search(spec, "target", "synth_xnli", choices)
    assert algorithm is None and num_samples == 3
    assert space["intermediate"] == {"grid_search": choices} and space["epochs"] == 3
    space, algorithm, _ = build_search(spec_with(searcher={"type": "random", "seed": 7}),
                                       "target", "synth_xnli", choices)
    assert isinstance(algorithm, BasicVariantGenerator)
    space, algorithm, num_samples = build_search(spec_with(), "target", "synth_xnli", choices)
    assert space == {} and isinstance(algorithm, OptunaSearch) and num_samples == 3
    # full_table: the first trials take each intermediate choice once
    assert [point["intermediate"] for point in algorithm._points_to_evaluate] == choices


def test_build_scheduler_per_scheduler():
    asha = build_scheduler(spec_with(scheduler={"grace_period": 4, "reduction_factor": 3}),
                           max_t=3)
    assert isinstance(asha, ASHAScheduler) and asha._max_t == 3 and asha._reduction_factor == 3
    assert asha._brackets[0]._rungs == [(3, {})]  # grace_period capped at max_t
    assert isinstance(build_scheduler(spec_with(scheduler={"type": "fifo"}), max_t=3),
                      FIFOScheduler)


def test_expected_iterations_reads_the_stage():
    spec = spec_with(search={"intermediate": {"evals_per_epoch": 3},
                             "per_task": {"synth_pos": {"evals_per_epoch": 5}}})
    assert expected_iterations(spec, "intermediate", "synth_nli", {"epochs": 2}, 100) == 6
    assert expected_iterations(spec, "target", "synth_pos", {"epochs": 2}, 100) == 10
    assert expected_iterations(spec, "target", "synth_pos", {"epochs": 2}, 7) == 7
