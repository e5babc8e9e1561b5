"""The shipped offline diversity series (`search_spaces/diversity_offline.yaml`) end to end on
the session's Ray, on the tests' smaller model and with its efficiency grid narrowed to one
dtype and batch size to fit the suite (its data and mixtures as shipped): one encoder per
mixture of growing diversity at one budget, plus the single-task control and the base model,
each measured in separate processes, and the answer table."""

from __future__ import annotations

import pytest
import yaml
from small import SMALL_MODEL

from sweep.efficiency import efficiency_table, load_efficiency, summary
from sweep.runner import run_sweep
from sweep.spec import default_spec_path, parse_spec

pytestmark = pytest.mark.slow

SERIES = {"div1_nli": 1, "div2": 2, "div3": 3, "div5": 5, "control_squad": 1}


def test_the_diversity_series_answers_with_one_row_per_encoder(ray_session, tmp_path):
    path = default_spec_path().with_name("diversity_offline.yaml")
    document = yaml.safe_load(path.read_text())
    document["model"] = SMALL_MODEL
    document["evaluation"]["efficiency"].update(dtypes=["fp32"], batch_sizes=[32],
                                                max_sentences=64)
    outcome = run_sweep(parse_spec(document, str(path)), storage=str(tmp_path / "run"),
                        quiet=True)
    assert "efficiency/synth_tatoeba" in outcome.ran

    records = load_efficiency(outcome.storage)
    encoders = records.groupby("intermediate_task")
    assert set(encoders.groups) == {*SERIES, "none"}
    # The diversity index, at one budget of examples an epoch (a cap per mixture member).
    for name, tasks in SERIES.items():
        first = encoders.get_group(name).iloc[0]
        assert first["mixture_tasks"] == tasks
        assert abs(first["mixture_examples"] - 2000) <= 2
    assert encoders.get_group("div5").iloc[0]["mixture_entropy"] > encoders.get_group(
        "div2").iloc[0]["mixture_entropy"] > 0
    # Every encoder's speed repeated in separate processes: the noise floor and the TOST.
    speed = records[records["kind"] == "timing"]
    assert speed.groupby("intermediate_task")["worker_pid"].nunique().min() >= 3
    answer = summary(efficiency_table(records, float(records["equivalence_margin"].iloc[0])))
    assert set(answer.index.get_level_values("intermediate_task")) == {*SERIES, "none"}
    tested = answer.drop(index="none", level="intermediate_task")
    assert tested["equivalent"].notna().all() and tested["vs_base"].notna().all()
    assert (answer["accuracy"] >= 0).all() and (answer["exact_qps"] > 0).all()
