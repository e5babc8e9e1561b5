"""The offline default sweep's wall time against the floor of its own work, and how busy its
slots were.

Runs `search_spaces/default.yaml` into a temporary storage (or reads a finished run with
`--run PATH`, e.g. `results/offline-default` after `make sweep`), then from that run:
  work   = every trial's training-loop time (`train_seconds`: loading, tokenising, steps,
           evaluations, checkpoints; `trial_overhead.py` puts it within 1.2x of a bare
           PyTorch loop) + every evaluation task's own time (`wall_seconds`);
  floor  = work / slots (`resources.max_concurrent_trials`; evaluations share the same CPUs);
  wall   = manifest created -> last stage recorded (the sweep, with Ray's start-up);
  share  = work / (wall x slots): the slots' compute share (the floor over the wall: with
           the floor made of the engine's own loop time the two goals are one test);
  busy   = (Tune's trial time + evaluations) / (wall x slots): how long the slots held a
           trial or an evaluation at all (what one-stage-at-a-time scheduling leaves idle).
Goals (issue 11): wall at most 2 x the floor, share at least 70%.

Run: .venv/bin/python benchmarks/offline_default.py [--run PATH]   (about 7 minutes here)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from sweep.manifest import Manifest  # noqa: E402
from sweep.results import load, load_trials  # noqa: E402
from sweep.spec import default_spec_path, load_spec  # noqa: E402

EVALUATION_KEYS = ["stage", "checkpoint_uri", "task", "language", "split"]


def measure(run: Path) -> dict[str, float]:
    """Wall, work, floor and share of a finished run."""
    manifest = Manifest.read(run)
    stages = manifest.stages.values()
    wall = max(entry["recorded_at"] for entry in stages) - manifest.data["created"]
    trials = load_trials(run)
    rows = load(run)
    evaluations = rows.drop_duplicates(EVALUATION_KEYS)["wall_seconds"].sum()
    slots = manifest.data["spec"]["resources"]["max_concurrent_trials"]
    work = float(trials["train_seconds"].sum() + evaluations)
    return {"wall": wall, "work": work, "training": float(trials["train_seconds"].sum()),
            "trial_time": float(trials["time_total_s"].sum()), "evaluations": evaluations,
            "slots": slots, "floor": work / slots, "share": work / (wall * slots),
            "busy": float(trials["time_total_s"].sum() + evaluations) / (wall * slots),
            "trials": len(trials)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished run of the default sweep")
    args = parser.parse_args(argv)
    work_dir = None
    run = args.run
    if run is None:
        from sweep.runner import run_sweep

        work_dir = Path(tempfile.mkdtemp(prefix="offline-default-"))
        run = work_dir / "run"
        run_sweep(load_spec(default_spec_path()), storage=str(run), quiet=True)
    try:
        result = measure(run)
    finally:
        if work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(f"{result['trials']} trials: loop time {result['training']:.0f} s "
          f"(Tune's trial time {result['trial_time']:.0f} s); evaluations "
          f"{result['evaluations']:.0f} s; {result['slots']} slots")
    print(f"wall {result['wall']:.0f} s, floor {result['floor']:.0f} s")
    print(f"offline_default: wall / floor = {result['wall'] / result['floor']:.2f} (goal <= 2), "
          f"compute share = {100 * result['share']:.0f}% (goal >= 70%), "
          f"slots busy = {100 * result['busy']:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
