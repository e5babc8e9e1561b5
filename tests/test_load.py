"""Under load: a search of 64 two-step trials on two trial slots, ASHA stopping some. Every
trial ends (none PENDING forever), and the sweep leaves no placement group and no trial or
Train actor behind (Tune's failure mode of resources kept after ASHA stops a trial)."""

from __future__ import annotations

import time

import pytest
from small import SMALL_MODEL

from sweep.results import load, load_trials
from sweep.runner import run_sweep
from sweep.spec import parse_spec

pytestmark = pytest.mark.slow

TRIALS = 64


def _leftovers() -> tuple[list, list]:
    """Placement groups not removed, and live actors."""
    from ray.util.state import list_actors, list_placement_groups

    groups = [group for group in list_placement_groups(limit=10_000)
              if group.state != "REMOVED"]
    actors = list_actors(filters=[("state", "=", "ALIVE")], limit=10_000)
    return groups, actors


def test_many_more_trials_than_slots_all_end_and_leave_nothing_allocated(ray_session, tmp_path):
    spec = parse_spec({
        "name": "load", "model": SMALL_MODEL,
        # Ten examples at batch size 32: one step an epoch.
        "data": {"source": "offline",
                 "offline": {"train_size": 10, "eval_size": 10, "retrieval_size": 10}},
        "target_tasks": ["synth_pos"],
        "search": {"target": {"intermediate": ["none"], "epochs": 2, "evals_per_epoch": 1,
                              "learning_rate": {"loguniform": [1e-4, 1e-2]},
                              "num_samples": TRIALS}},
        "scheduler": {"type": "asha", "grace_period": 1, "reduction_factor": 2},
        "searcher": {"type": "random"},
        "resources": {"max_concurrent_trials": 2},
        "evaluation": {"languages": ["en"]},
    })
    already = {actor.actor_id for actor in _leftovers()[1]}  # Ray's own, other tests'
    outcome = run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    assert outcome.ran == ["target/synth_pos", "eval/synth_pos"]

    trials = load_trials(outcome.storage)
    assert len(trials) == TRIALS and trials["trial_id"].is_unique
    assert (trials["evaluations"] >= 1).all()  # every trial started and reported
    assert trials["stopped_early"].any() and not trials["stopped_early"].all()
    assert set(load(outcome.storage)["language"]) == {"en"}

    # Ray's bookkeeping of removed groups and dead actors lags a little behind the fit.
    deadline = time.time() + 30
    while True:
        groups, actors = _leftovers()
        actors = [actor for actor in actors if actor.actor_id not in already]
        if (groups, actors) == ([], []) or time.time() > deadline:
            break
        time.sleep(1)
    assert groups == [], [(group.placement_group_id, group.state) for group in groups]
    assert actors == [], [(actor.class_name, actor.pid) for actor in actors]
