"""The loop's accelerator settings (`trainables.device_loop`), checked on the CPU: autocast at
bf16 and fp16 (with loss scaling) trains, fp32 is what an unset precision runs, and the precision is
part of what a training stage hashes."""

from __future__ import annotations

import math

import pytest
import torch
from small import SMALL_DATA, SMALL_MODEL, TINY_MODEL, StandInSession

from sweep.plan import make_plan
from sweep.spec import parse_spec
from trainables import training
from trainables.device_loop import autocast, configure_device, grad_scaler
from trainables.offline.benchmark import generate_benchmark


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return generate_benchmark(tmp_path_factory.mktemp("data"), train_size=64, eval_size=10,
                              retrieval_size=10, corpus_size=10)


def _reports(data_root, **extra) -> list[dict]:
    torch.set_num_threads(1)
    config = {"model": TINY_MODEL, "data": {"source": "local", "path": str(data_root)},
              "tasks": ["synth_xnli"], "group": "synth_xnli", "mixture_cap": None,
              "max_length": 32, "evals_per_epoch": 1, "intermediate": "none",
              "init_checkpoint": None, **extra,
              "hparams": {"seed": 0, "batch_size": 16, "epochs": 2, "learning_rate": 1e-3,
                          "warmup_ratio": 0.1}}
    reports: list[dict] = []
    training.train_loop(config, StandInSession(lambda metrics, _: reports.append(metrics)))
    return reports


def test_fp32_is_the_default(data_root):
    unset, fp32 = _reports(data_root), _reports(data_root, precision="fp32")
    assert [r["score"] for r in unset] == [r["score"] for r in fp32]
    assert [r["examples_seen"] for r in fp32] == [64, 128]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_trains(data_root, precision):
    reports = _reports(data_root, precision=precision)
    assert [r["examples_seen"] for r in reports] == [64, 128]
    assert all(math.isfinite(r["score"]) and 0 <= r["score"] <= 100 for r in reports)


def test_autocast_and_scaler_follow_the_precision():
    cpu = torch.device("cpu")
    layer = torch.nn.Linear(4, 4)
    with autocast(cpu, "bf16"):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    with autocast(cpu, "fp32"):
        assert layer(torch.ones(1, 4)).dtype == torch.float32
    assert grad_scaler(cpu, "fp16") is not None
    assert grad_scaler(cpu, "bf16") is None and grad_scaler(cpu, "fp32") is None
    with pytest.raises(ValueError, match=r"resources.precision: 'int8' is not one of"):
        configure_device(cpu, "int8")


@pytest.mark.parametrize(("field", "off", "on"), [("precision", "fp32", "bf16"),
                                                  ("length_grouped", False, True)])
def test_loop_settings_are_hashed_only_where_set(field, off, on):
    base = {"name": "p", "model": SMALL_MODEL, "data": SMALL_DATA,
            "intermediate_tasks": ["synth_nli"], "target_tasks": ["synth_xnli"]}
    default = make_plan(parse_spec(base))
    fp32 = make_plan(parse_spec({**base, "resources": {field: off}}))
    bf16 = make_plan(parse_spec({**base, "resources": {field: on}}))
    assert [s.config_hash for s in default.stages] == [s.config_hash for s in fp32.stages]
    changed = {a.name for a, b in zip(default.stages, bf16.stages, strict=True)
               if a.config_hash != b.config_hash}
    assert {"intermediate/synth_nli", "target/synth_xnli"} <= changed
    with pytest.raises(Exception, match=field):
        parse_spec({**base, "resources": {field: "fp8"}})
