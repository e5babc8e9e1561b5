"""`sweep`: run, plan, validate and read X-STILTs sweeps.

Exit status (`sweep.errors`): 0 success, 1 a stage failed (finished stages are kept; rerun
with --resume), 2 bad input (spec, storage or arguments), before any Ray work starts, 130
interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, SweepError

# Commands import their modules when they run: `sweep validate` and `sweep plan` never load
# Ray, torch or pandas.


def _load(path: str | None):
    from sweep.spec import default_spec_path, load_spec

    return load_spec(path or default_spec_path())


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _load(args.file)
    print(f"{args.file}: valid ({spec.name}: {len(spec.intermediate_tasks)} intermediate, "
          f"{len(spec.target_tasks)} target, {len(spec.retrieval_tasks)} retrieval tasks)")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from sweep.plan import describe, make_plan
    from sweep.runner import resolve_storage

    if not args.estimate and (args.gpus is not None or args.tokens_per_second is not None):
        print("error: --gpus and --tokens-per-second go with --estimate", file=sys.stderr)
        return EXIT_BAD_INPUT
    spec = _load(args.file)
    plan = make_plan(spec)
    text = describe(plan, str(resolve_storage(spec, args.storage)))
    if args.estimate:
        try:
            from sweep.estimate import estimate_text

            text += "\n\n" + estimate_text(plan, args.gpus, args.tokens_per_second)
        except ValueError as error:  # no throughput, too few GPUs, a malformed benchmark file
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    print(text)
    return 0


def _positive(kind: type, allowed: str) -> Callable[[str], Any]:
    """An argparse type: a finite number of `kind` above zero, else a message naming what is
    allowed (argparse names the flag and exits 2)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not (0 < value < math.inf):
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: {allowed}")
        return value
    return parse


def cmd_run(args: argparse.Namespace) -> int:
    from sweep.results import by_base_model, load, tables
    from sweep.runner import run_sweep

    spec = _load(args.file)
    try:
        outcome = run_sweep(spec, storage=args.storage, resume=args.resume)
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept; rerun with --resume to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"\nsweep {spec.name!r} done in {outcome.seconds:.0f}s: ran {len(outcome.ran)} stages, "
          f"skipped {len(outcome.skipped)} finished earlier; results in {outcome.storage}")
    try:
        rows = load(outcome.storage)
        for title, table in by_base_model(rows, lambda part, _: tables(part)).items():
            print(f"\n{title}\n{table.round(4).to_string()}")
    except FileNotFoundError:
        return 0  # no result rows: nothing to report
    if outcome.storage.is_local:
        from sweep.report import write_reports

        try:
            for path in write_reports(outcome.storage):
                print(f"\nreport: {path}")
        except SweepError as error:  # e.g. no `none` checkpoint to compare against
            print(f"no report: {error}", file=sys.stderr)
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from sweep.results import to_latex, to_markdown
    from sweep.views import chosen, frame_of

    if args.format == "parquet" and not args.output:
        print("error: --format parquet needs --output FILE", file=sys.stderr)
        return EXIT_BAD_INPUT
    view = chosen(args)
    try:
        frame = frame_of(view, args.path)
    except (OSError, ValueError) as error:  # missing run, unreachable or misnamed storage
        print(f"error: {args.path}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.format == "parquet":
        frame.to_parquet(args.output, index=False)
        print(f"wrote {len(frame)} rows to {args.output}")
        return 0
    named = view.tables(frame, args.path, args)  # what it cannot answer: ResultsError, exit 2
    chunks = []
    for title, table in named.items():
        if args.format == "csv":
            chunks.append(f"# {title}\n{table.to_csv()}")
        elif args.format == "markdown":
            chunks.append(f"### {title}\n\n{to_markdown(table)}\n")
        elif args.format == "latex":
            chunks.append(f"% {title}\n{to_latex(table)}\n")
        else:
            chunks.append(f"{title}\n{table.round(4).to_string()}\n")
    text = "\n".join(chunks)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from sweep.export import export_task

    try:
        folders = export_task(args.path, args.task, Path(args.out))
    except OSError as error:  # missing run, unreachable storage
        print(f"error: {args.path}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for folder in folders:
        print(f"{folder}  (sweep score --task {args.task} --predictions {folder}/predictions "
              f"--labels {folder}/labels)")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from sweep.figures import save_figures
    from sweep.report import base_model_runs, load_run, run_figures

    run = load_run(args.path)  # no run or no result rows: ResultsError, exit 2
    for model, part in base_model_runs(run).items():  # a folder a base model, of several
        out = Path(args.out) / model if model else args.out
        for path in save_figures(run_figures(part, args.compare), out, tuple(args.format)):
            print(path)
    if run.curves is None:
        print("note: no learning curves (the run was made before training stages wrote "
              "curves/)", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sweep.report import write_reports

    for path in write_reports(args.path, args.out, args.compare):
        print(path)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from sweep.jobs import submit

    spec = _load(args.file)  # a bad spec exits 2 here, before anything is sent
    job_id, address = submit(args.address, args.file, spec, args.storage, args.resume)
    print(job_id)  # alone on stdout, for JOB=$(sweep submit ...)
    print(f"submitted sweep {spec.name!r} to {address}\n"
          f"  sweep logs {job_id} --follow --address {address}\n"
          f"  sweep status {job_id} --address {address}", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from sweep.jobs import details, status_exit_code

    info = details(args.address, args.job)
    print(f"{args.job}: {info.status}")
    meta = info.metadata or {}
    if meta.get("sweep"):
        print(f"sweep {meta['sweep']!r}, storage {meta.get('storage')}")
    if info.status.is_terminal() and info.message:
        print(info.message)
    if str(info.status) == "SUCCEEDED" and meta.get("storage"):
        print(f"results: sweep results {meta['storage']}")
    return status_exit_code(info.status)


def cmd_logs(args: argparse.Namespace) -> int:
    from sweep.jobs import follow, logs, status_exit_code

    if not args.follow:
        sys.stdout.write(logs(args.address, args.job))
        return 0
    try:
        status = follow(args.address, args.job)
    except KeyboardInterrupt:
        print(f"\nstopped following; the job keeps running (sweep stop {args.job})",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{args.job}: {status}", file=sys.stderr)
    return status_exit_code(status)


def cmd_stop(args: argparse.Namespace) -> int:
    from sweep.jobs import stop

    if stop(args.address, args.job):
        print(f"{args.job}: stop requested")
    else:
        print(f"{args.job}: not running; nothing to stop")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from sweep import scoring, xglue_scoring

    try:
        if args.task in (*xglue_scoring.TASKS, xglue_scoring.ALL):
            result = xglue_scoring.score(args.task, Path(args.predictions), Path(args.labels),
                                         args.split or "test")
            text = xglue_scoring.format_scores(result)
        else:
            if args.split not in (None, "test"):
                raise ValueError(f"--split {args.split}: xtreme's layout holds test files "
                                 "only; --split is for XGLUE's tasks")
            result = scoring.score_directory(args.task, Path(args.predictions),
                                             Path(args.labels))
            text = scoring.format_scores(result)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2) if args.format == "json" else text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sweep", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a sweep (no FILE: the offline default)")
    run.add_argument("file", nargs="?",
                     help="search-space YAML (default: search_spaces/default.yaml)")
    run.add_argument("--storage", help="where results go (overrides the file's storage)")
    run.add_argument("--resume", action="store_true",
                     help="continue an interrupted or finished run; finished stages are skipped")
    run.set_defaults(handler=cmd_run)

    plan = commands.add_parser("plan", help="print the stages, trials and resources; no Ray")
    plan.add_argument("file")
    plan.add_argument("--storage")
    plan.add_argument("--estimate", action="store_true",
                      help="also print each stage's GPU-hours and the sweep's makespan, one "
                           "stage at a time and as a DAG")
    plan.add_argument("--gpus", type=_positive(int, "a whole number of GPUs, at least 1"),
                      metavar="N", help="with --estimate: the cluster's GPUs (default 8)")
    plan.add_argument("--tokens-per-second", type=_positive(float, "a number above 0"),
                      metavar="X", help="with --estimate: training tokens/s on one GPU "
                      "(default: what the GPU benchmark measured)")
    plan.set_defaults(handler=cmd_plan)

    validate = commands.add_parser("validate", help="check a search-space file")
    validate.add_argument("file")
    validate.set_defaults(handler=cmd_validate)

    results = commands.add_parser("results", help="print the results of a run as tables")
    results.add_argument("path", help="the run's storage path")
    results.add_argument("--format", choices=["table", "csv", "parquet", "markdown", "latex"],
                         default="table")
    from sweep.views import add_options  # no view's own module: each loads it when asked

    add_options(results)
    # Not `choices`: the tests are sweep.comparisons.TESTS, which loads scipy.
    results.add_argument("--test", default="bootstrap",
                         help="with --compare, --arms or --vision: the paired test of each "
                              "difference on the kept predictions over test examples and "
                              "seeds: bootstrap (default) or permutation")
    results.add_argument("--resamples", type=int, default=10_000,
                         help="with --compare, --arms or --vision: the test's resamples "
                              "(default 10000)")
    results.add_argument("--output", help="write to this file instead of standard output")
    results.set_defaults(handler=cmd_results)

    from sweep import xglue_scoring
    from sweep.scoring import TASKS

    score = commands.add_parser(
        "score", help="score prediction files laid out as google-research/xtreme lays them "
                      "out, or for an XGLUE task (xglue_*) as microsoft/XGLUE's "
                      "xglue_evaluate.py reads them")
    score.add_argument("--task", required=True,
                       choices=[*TASKS, *xglue_scoring.TASKS, xglue_scoring.ALL],
                       help="the task; xglue: XGLUE's nine tasks and their average")
    score.add_argument("--predictions", required=True,
                       help="directory of test-<lang>.tsv / .json predictions (or its parent); "
                            "XGLUE: the directory of <TASK>/<lang>.prediction")
    score.add_argument("--labels", required=True,
                       help="directory of the gold files, same layout; XGLUE: the ground truth "
                            "as its archive lays it out (xglue_full_dataset/)")
    # Not `choices`: a wrong split is bad input that exits 2 through main, with the message.
    score.add_argument("--split", metavar="test|dev",
                       help="XGLUE only: the split the ground truth is read from (default test)")
    score.add_argument("--format", choices=["table", "json"], default="table")
    score.set_defaults(handler=cmd_score)

    export = commands.add_parser(
        "export", help="a task's kept test predictions in google-research/xtreme's layout "
                       "(XGLUE's for xglue_* tasks), one folder per checkpoint, with the "
                       "labels `sweep score` reads")
    export.add_argument("path", help="the run's storage path")
    export.add_argument("--task", required=True, choices=[*TASKS, *xglue_scoring.TASKS])
    export.add_argument("--out", required=True, help="directory to write the folders in")
    export.set_defaults(handler=cmd_export)

    from trainables.trial import NO_INTERMEDIATE

    compare = {"metavar": "BASELINE", "default": NO_INTERMEDIATE,
               "help": "the intermediate choice gains are measured against (default: %(default)s)"}
    plot = commands.add_parser("plot", help="a run's figures as PNG and SVG files")
    plot.add_argument("path", help="the run's storage path")
    plot.add_argument("--out", required=True, metavar="DIR", help="directory for the figures")
    plot.add_argument("--compare", **compare)
    plot.add_argument("--format", nargs="+", choices=["png", "svg"], default=["png", "svg"])
    plot.set_defaults(handler=cmd_plot)

    report = commands.add_parser("report", help="a run as one self-contained HTML page")
    report.add_argument("path", help="the run's storage path")
    report.add_argument("--out", metavar="FILE",
                        help="where to write it (default: report.html in a local run's folder)")
    report.add_argument("--compare", **compare)
    report.set_defaults(handler=cmd_report)

    address = {"help": "the cluster's dashboard URL, e.g. http://HOST:8265 "
                       "(default: $RAY_ADDRESS)"}
    submit = commands.add_parser("submit", help="run a sweep on a cluster as a Ray job")
    submit.add_argument("file", help="search-space YAML (validated here, sent as text)")
    submit.add_argument("--address", **address)
    submit.add_argument("--storage", help="where results go, on the cluster: an absolute "
                        "path or a URI (overrides the file's storage)")
    submit.add_argument("--resume", action="store_true", help="as for run")
    submit.set_defaults(handler=cmd_submit)

    for name, helptext, handler in (
        ("status", "a submitted sweep's job status (exit 1 if it failed or was stopped)",
         cmd_status),
        ("logs", "a submitted sweep's output", cmd_logs),
        ("stop", "stop a submitted sweep", cmd_stop),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("job", help="the job id `sweep submit` printed")
        command.add_argument("--address", **address)
        if name == "logs":
            command.add_argument("--follow", action="store_true",
                                 help="stream until the job ends; exit status as for status")
        command.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SweepError as error:
        print(f"{error.prefix}: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
