"""search_spaces/direct.yaml, reduced (one target task, two languages, one starting point,
one seed, one epoch) on local Ray: every target arm trains or evaluates, its rows say what
it trained on, and the answer (`sweep results --arms`, the report) is read back from the
run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from small import SMALL_DATA, SMALL_MODEL

from sweep.cli import main
from sweep.manifest import Manifest
from sweep.plan import make_plan
from sweep.results import load
from sweep.runner import run_sweep
from sweep.spec import parse_spec
from trainables.arms import ARMS

pytestmark = pytest.mark.slow

DIRECT = Path(__file__).parent.parent / "search_spaces" / "direct.yaml"
SHOTS = 16


def _reduced() -> dict:
    document = yaml.safe_load(DIRECT.read_text())
    document.update(model=SMALL_MODEL, data=SMALL_DATA, target_tasks=["synth_xnli"])
    document["search"]["intermediate"].update(epochs=1, evals_per_epoch=1)
    # One starting point (the intermediate task's: the answer compares zero-shot with an
    # intermediate task against the direct arms), one seed: every arm trains once.
    document["search"]["target"].update(epochs=1, evals_per_epoch=1, seeds=[0], shots=SHOTS,
                                        intermediate=["synth_nli"], num_samples=1)
    document["search"].pop("per_task")
    document["evaluation"]["languages"] = ["en", "de"]
    return document


@pytest.fixture(scope="module")
def direct_run(ray_session, tmp_path_factory):
    spec = parse_spec(_reduced())
    storage = tmp_path_factory.mktemp("direct")
    run_sweep(spec, storage=str(storage), quiet=True)
    return spec, storage


def test_every_arm_trains_or_evaluates(direct_run):
    spec, storage = direct_run
    manifest = Manifest.read(storage)
    stages = make_plan(spec).stages
    assert all(manifest.is_finished(stage.name, stage.config_hash) for stage in stages)
    rows = load(storage)
    evaluated = rows[rows["stage"].str.startswith("eval/")]
    assert set(evaluated["arm"]) == set(ARMS)
    by_arm = evaluated.groupby("arm")
    assert set(by_arm.get_group("translate_train")["language"]) == {"de"}
    assert set(by_arm.get_group("translate_train_all")["language"]) == {"en", "de"}
    assert set(by_arm.get_group("translate_test")["language"]) == {"de"}


def test_rows_say_what_each_arm_trained_on(direct_run):
    _, storage = direct_run
    rows = load(storage)
    first = rows[rows["stage"].str.startswith("eval/")].groupby("arm").first()
    train_size = SMALL_DATA["offline"]["train_size"]
    assert first.loc["zero_shot", "train_languages"] == "en"
    assert first.loc["zero_shot", "n_train_target"] == 0
    assert first.loc["translate_train", "n_train_target"] == train_size
    assert first.loc["translate_train", "translation_source"] == "synth_xnli_mt"
    assert first.loc["translate_train_all", "train_languages"].startswith("en,de,")
    assert first.loc["in_language", "selection"] == "target_dev"
    assert first.loc["in_language", "n_train_target"] == train_size // 8
    assert first.loc["few_shot", "shots"] == SHOTS
    assert first.loc["few_shot", "n_train_target"] == SHOTS
    assert first.loc["translate_test", "translation_source"] == "synth_xnli_mt"


def test_the_answer_reads_back_from_the_run(direct_run, capsys, tmp_path):
    _, storage = direct_run
    assert main(["results", str(storage), "--arms", "--resamples", "500"]) == 0
    shown = capsys.readouterr().out
    assert "best zero-shot with an intermediate task against the best direct arm" in shown
    assert main(["report", str(storage), "--out", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    assert 'id="direct"' in page and "translate_train_all" in page
