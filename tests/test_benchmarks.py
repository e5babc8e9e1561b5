"""The benchmark scripts that run in seconds here: the makespan simulation prints its ratios
in order (DAG within one stage at a time, both above the bound), and the GPU benchmark
without a GPU says so and exits 0 (CI has none)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_makespan_prints_both_schedules_against_the_bound(capsys):
    assert _script("makespan").main([]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    sequential, dag = (float(x) for x in re.findall(r"bound = (\d+\.\d+)", line))
    assert 1.0 <= dag <= sequential


@pytest.mark.skipif(torch.cuda.is_available(), reason="measures for real on a GPU")
def test_gpu_throughput_without_a_gpu_says_so(capsys):
    assert _script("gpu_throughput").main([]) == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out
