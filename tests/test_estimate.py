"""`sweep plan --estimate` and the schedule policy it reads (`sweep.schedule`): small DAGs
with known answers, then the paper grid's estimate; no Ray."""

from __future__ import annotations

import json

import pytest

from sweep import estimate as estimate_module
from sweep.cli import main
from sweep.estimate import estimate, read_throughput, training_examples, trial_waits
from sweep.plan import make_plan
from sweep.schedule import Work, critical_path, lower_bound, simulate
from sweep.spec import default_spec_path, load_spec
from trainables.tasks import get_task

XSTILTS = default_spec_path().with_name("xstilts.yaml")
TRIAL = {"gpu": 1, "trial": 1}  # a one-GPU training trial
EVAL = {"gpu": 1}


def test_one_stage_at_a_time_waits_for_the_stage_before_and_the_dag_does_not():
    work = [Work("a", 10, EVAL), Work("b", 10, EVAL)]  # independent stages
    assert simulate(work, {"gpu": 2}).makespan == 10
    sequential = simulate(work, {"gpu": 2}, one_stage_at_a_time=True)
    assert sequential.starts == (0, 10) and sequential.makespan == 20


def test_a_none_target_trial_starts_at_once_and_an_intermediate_one_when_its_stage_is_done():
    work = [Work("intermediate/x", 10, TRIAL),
            Work("target/t", 5, TRIAL, ("intermediate/x",)),
            Work("target/t", 5, TRIAL)]  # from `none`
    pools = {"gpu": 2, "trial": 2}
    dag = simulate(work, pools)
    assert dag.starts == (0, 10, 0) and dag.makespan == 15
    assert dag.stage_spans["target/t"] == (0, 15)
    assert simulate(work, pools, one_stage_at_a_time=True).starts == (0, 10, 10)


def test_a_finished_targets_evaluation_runs_while_another_target_trains():
    work = [Work("target/t1", 5, TRIAL), Work("target/t2", 20, TRIAL),
            Work("eval/t1", 3, EVAL, ("target/t1",)), Work("eval/t2", 3, EVAL, ("target/t2",))]
    pools = {"gpu": 3, "trial": 2}
    dag = simulate(work, pools)
    assert dag.starts == (0, 0, 5, 20) and dag.makespan == 23
    # One stage at a time, the second target waits for the first, each evaluation for both.
    assert simulate(work, pools, one_stage_at_a_time=True).starts == (0, 5, 25, 28)


def test_trial_slots_are_the_whole_sweeps_and_go_in_plan_order():
    work = [*(Work("a", 10, TRIAL) for _ in range(3)), *(Work("b", 10, TRIAL) for _ in range(3))]
    dag = simulate(work, {"gpu": 100, "trial": 2})
    assert dag.starts == (0, 0, 10, 10, 20, 20) and dag.makespan == 30


def test_an_item_that_does_not_fit_is_passed_over_for_one_that_does():
    work = [Work("a", 10, {"gpu": 1}), Work("b", 10, {"gpu": 2}), Work("c", 10, {"gpu": 1})]
    assert simulate(work, {"gpu": 2}).starts == (0, 10, 0)


def test_the_lower_bound_is_the_critical_path_or_the_busiest_pools_work():
    chain = [Work("a", 10, EVAL), Work("b", 10, EVAL, ("a",))]
    assert critical_path(chain) == 20 and lower_bound(chain, {"gpu": 10}) == 20
    wide = [Work("a", 10, EVAL) for _ in range(4)]
    assert critical_path(wide) == 10 and lower_bound(wide, {"gpu": 2}) == 20
    # Two-GPU items on three GPUs: the bound says 20 s, one at a time takes 40.
    lumpy = [Work("a", 10, {"gpu": 2}) for _ in range(4)]
    assert lower_bound(lumpy, {"gpu": 3}) == pytest.approx(80 / 3)
    assert simulate(lumpy, {"gpu": 3}).makespan == 40


def test_impossible_work_is_refused():
    with pytest.raises(ValueError, match="could never start"):
        simulate([Work("a", 1, {"gpu": 4})], {"gpu": 2})
    with pytest.raises(ValueError, match="has no work"):
        simulate([Work("a", 1, EVAL, ("ghost",))], {"gpu": 1})
    with pytest.raises(ValueError, match="wait for each other"):
        simulate([Work("a", 1, EVAL, ("b",)), Work("b", 1, EVAL, ("a",))], {"gpu": 1})


@pytest.fixture(scope="module")
def xstilts():
    plan = make_plan(load_spec(XSTILTS))
    return plan, estimate(plan, 8, 20_000, "--tokens-per-second")


def test_the_paper_grid_has_a_positive_row_per_stage_and_consistent_makespans(xstilts):
    plan, result = xstilts
    assert [row.stage.name for row in result.rows] == [stage.name for stage in plan.stages]
    assert all(row.gpu_hours > 0 and not row.missing for row in result.rows)
    assert result.concurrent_trials == 2  # 8 GPUs, 4 a trial (max_concurrent_trials 8)
    assert result.bound - 1e-6 <= result.dag.makespan <= result.sequential.makespan
    assert result.bound >= result.critical_path > 0


def test_training_rows_read_the_registry_through_each_stages_sources(xstilts):
    plan, result = xstilts
    rows = {row.stage.name: row for row in result.rows}
    # XNLI trains on MNLI; ANLI+ adds MNLI and SNLI; TyDiQA leaves its dev slice out.
    assert rows["target/xnli"].examples == get_task("mnli").train_examples
    assert rows["intermediate/anli_plus"].examples == sum(
        get_task(name).train_examples for name in ("anli_plus", "mnli", "snli"))
    assert rows["target/tydiqa"].examples == 3_696 - 3_696 // 10
    # The mixture: each member at most `cap`.
    members, cap = plan.spec.intermediate_members("multitask")
    assert rows["intermediate/multitask"].examples == sum(
        min(rows[f"intermediate/{name}"].examples, cap) for name in members)
    # Tokens: examples x epochs x length, a sequence per choice (HellaSwag has four).
    assert rows["target/pawsx"].tokens == 49_401 * 5 * 256
    assert rows["intermediate/hellaswag"].tokens == 39_905 * 2 * 4 * 256
    xnli = rows["target/xnli"]
    assert xnli.seconds == pytest.approx(xnli.tokens / (20_000 * 4))
    assert xnli.gpu_hours == pytest.approx(xnli.seconds * 4 * 12 / 3600)


def test_target_trials_wait_for_their_own_intermediate_and_retrieval_for_its_encoder(xstilts):
    plan, _ = xstilts
    waits = trial_waits(plan, plan.stage("target/xnli"))
    assert len(waits) == 12 and waits.count(()) == 1  # the `none` trial
    assert waits.count(("intermediate/mnli",)) == 1
    retrieval = plan.stage("retrieval/tatoeba")
    waits = trial_waits(plan, retrieval)
    languages = len(retrieval.config["languages"])
    assert waits[:languages] == [()] * languages  # the base model's
    assert waits.count(("intermediate/ccg",)) == languages


def test_synthetic_sizes_come_from_the_spec():
    spec = load_spec(default_spec_path())
    size = spec.data.offline.train_size
    assert training_examples(spec, "synth_nli", "en") == size
    assert training_examples(spec, "synth_xnli_mt", "de") == size  # translated English
    assert training_examples(spec, "synth_xnli", "de") < size  # a small gold set


def test_a_stage_without_a_size_is_named_not_counted(monkeypatch):
    plan = make_plan(load_spec(XSTILTS))
    real = estimate_module.training_examples  # registry entries are frozen: patch the lookup
    monkeypatch.setattr(estimate_module, "training_examples",
                        lambda spec, name, language: None if name == "qqp"
                        else real(spec, name, language))
    result = estimate(plan, 8, 20_000, "test")
    rows = {row.stage.name: row for row in result.rows}
    assert rows["intermediate/qqp"].seconds is None and rows["intermediate/qqp"].gpu_hours == 0
    assert rows["intermediate/multitask"].missing  # qqp is one of its members
    assert any("qqp" in note and "intermediate/qqp" in note for note in result.notes)


def test_the_benchmarks_throughput_file(tmp_path):
    path = tmp_path / "gpu_throughput.json"
    assert read_throughput(path) is None
    path.write_text(json.dumps({"tokens_per_second": 31_000, "precision": "bf16"}))
    assert read_throughput(path) == 31_000
    path.write_text(json.dumps({"tokens_per_second": -1}))
    with pytest.raises(ValueError, match="tokens_per_second"):
        read_throughput(path)


def test_the_cli_prints_the_table_after_the_plan(capsys):
    assert main(["plan", str(XSTILTS), "--estimate", "--gpus", "8",
                 "--tokens-per-second", "20000"]) == 0
    out = capsys.readouterr().out
    assert out.index("each trial asks for") < out.index("GPU-hours")
    for text in ("makespan on 8 GPUs", "one stage at a time", "DAG", "lower bound",
                 "eval/mewsli_x", "retrieval/bucc2018"):
        assert text in out


def test_the_plan_alone_prints_no_estimate(capsys):
    assert main(["plan", str(XSTILTS)]) == 0
    assert "makespan" not in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--estimate", "--gpus", "0"], ["--estimate", "--gpus", "x"],
                                  ["--estimate", "--tokens-per-second", "-5"]])
def test_bad_values_exit_2_naming_the_flag(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(XSTILTS), *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[1]}: got" in capsys.readouterr().err


def test_a_missing_throughput_or_too_few_gpus_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(estimate_module, "THROUGHPUT_FILE", tmp_path / "absent.json")
    assert main(["plan", str(XSTILTS), "--estimate"]) == 2
    captured = capsys.readouterr()
    assert "--tokens-per-second" in captured.err and captured.out == ""
    assert main(["plan", str(XSTILTS), "--estimate", "--gpus", "2",
                 "--tokens-per-second", "1000"]) == 2
    assert "--gpus 2" in capsys.readouterr().err
    assert main(["plan", str(XSTILTS), "--gpus", "8"]) == 2  # without --estimate
    measured = tmp_path / "gpu_throughput.json"
    measured.write_text(json.dumps({"tokens_per_second": 25_000}))
    monkeypatch.setattr(estimate_module, "THROUGHPUT_FILE", measured)
    assert main(["plan", str(XSTILTS), "--estimate"]) == 0
    assert f"25,000 training tokens/s a GPU ({measured})" in capsys.readouterr().out
