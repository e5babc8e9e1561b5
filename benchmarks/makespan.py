"""The paper grid's makespan under the runner's scheduling policy against the lower bound.

`search_spaces/xstilts.yaml` on N GPUs (default 32: eight of its four-GPU trials at once),
its work sized from the registry (`sweep.estimate`) at one training throughput, scheduled
by `sweep/schedule.py`'s policy both ways: as the DAG (how `sweep run` runs stages: a stage
starts when what it needs is done, a target trial when its own intermediate is, and stages
share the sweep's trial slots) and one stage at a time (how it ran them before). The bound
is max(critical path, the busiest pool's work / its size). Goal (issue 11): the runner's
policy at most 1.1 times the bound. The throughput sets the time unit, not the ratios.

Run: .venv/bin/python benchmarks/makespan.py [--gpus N] [--max-concurrent-trials K]
(seconds; on 8 GPUs, where the paper grid's evaluations keep every GPU busy, both
schedules are near the bound)
"""

from __future__ import annotations

import argparse
import sys

from sweep.estimate import estimate
from sweep.plan import make_plan
from sweep.spec import load_spec

TOKENS_PER_SECOND = 20_000.0  # any value: every duration scales with it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="search_spaces/xstilts.yaml")
    parser.add_argument("--gpus", type=int, default=32)
    parser.add_argument("--max-concurrent-trials", type=int, default=8,
                        help="the sweep's trial slots (0: the spec's)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    if args.max_concurrent_trials:
        spec = spec.model_copy(update={"resources": spec.resources.model_copy(
            update={"max_concurrent_trials": args.max_concurrent_trials})})
    result = estimate(make_plan(spec), args.gpus, TOKENS_PER_SECOND, "fixed")
    bound = result.bound
    print(f"{args.spec} on {args.gpus} GPUs, {result.concurrent_trials} training trials at once")
    print(f"lower bound          {bound / 3600:7.1f} h  (critical path "
          f"{result.critical_path / 3600:.1f} h, busiest pool {result.busy / 3600:.1f} h)")
    print(f"one stage at a time  {result.sequential.makespan / 3600:7.1f} h  "
          f"{result.sequential.makespan / bound:.2f}x")
    print(f"DAG                  {result.dag.makespan / 3600:7.1f} h  "
          f"{result.dag.makespan / bound:.2f}x")
    print(f"makespan: one stage at a time (before) / bound = "
          f"{result.sequential.makespan / bound:.2f}; runner's policy (DAG) / bound = "
          f"{result.dag.makespan / bound:.2f} (goal <= 1.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
