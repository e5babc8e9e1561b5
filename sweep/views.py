"""The views `sweep results` prints, one entry per view: its option, what it reads of the run
and the tables it makes. A new view is one entry in VIEWS (and its module); the command line
and the README read the rest from here.

Every view's modules are imported inside its functions: `sweep results` of one view loads
neither scipy nor the others' code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sweep.errors import ResultsError

if TYPE_CHECKING:  # `sweep --help` and every other command load no pandas
    import pandas as pd

Tables = dict[str, "pd.DataFrame"]


@dataclass(frozen=True)
class View:
    """One view: `sweep results --<flag>` (`options` as argparse takes them; a plain switch
    by default), the frame it reads (`load(path)`: result rows unless it says otherwise;
    `--format parquet` writes that frame) and its tables by title."""

    flag: str
    help: str
    tables: Callable[[pd.DataFrame, str, argparse.Namespace], Tables]
    load: Callable[[str], pd.DataFrame] | None = None
    options: dict[str, Any] = field(default_factory=lambda: {"action": "store_true"})


def _rows(path: str) -> pd.DataFrame:
    from sweep.results import load

    return load(path)


def _predictions(path: str) -> pd.DataFrame | None:
    from sweep.predictions import load_predictions

    return load_predictions(path)


def _trials(path: str) -> pd.DataFrame:
    from sweep.results import load_trials

    return load_trials(path)


def _costs(path: str) -> pd.DataFrame:
    from sweep.costs import cost_table
    from sweep.report import load_run

    run = load_run(path)
    return cost_table(run.manifest["stages"], run.rows, run.trials, run.efficiency,
                      run.manifest.get("spec", {}).get("resources")).reset_index()


def _efficiency_records(path: str) -> pd.DataFrame:
    from sweep.efficiency import load_efficiency

    return load_efficiency(path)


def _efficiency(frame: pd.DataFrame, path: str, args: argparse.Namespace) -> Tables:
    from sweep.efficiency import named_tables

    return named_tables(frame)  # several fingerprints: ResultsError


def _arms(frame: pd.DataFrame, path: str, args: argparse.Namespace) -> Tables:
    from sweep.direct import has_arms, named_tables
    from sweep.results import by_base_model

    if not has_arms(frame):
        raise ResultsError(f"{path}: no evaluation of a target arm besides zero_shot "
                           "(search.target.arms)")
    return by_base_model(frame, lambda rows, predictions: named_tables(
        rows, predictions, args.test, args.resamples), _predictions(path))


def _vision(frame: pd.DataFrame, path: str, args: argparse.Namespace) -> Tables:
    from sweep.vision import has_images, named_tables

    if not has_images(frame):
        raise ResultsError(f"{path}: no checkpoint trained on image-text data")
    return named_tables(frame, _predictions(path), args.test, args.resamples)


def _compare(frame: pd.DataFrame, path: str, args: argparse.Namespace) -> Tables:
    from sweep.comparisons import comparisons, transfer_gaps
    from sweep.results import by_base_model

    return by_base_model(frame, lambda rows, predictions: {
        f"intermediate task against {args.compare} (mean over seeds, 95% interval; paired "
        f"{args.test} p-values, Holm-adjusted over the table)":
        comparisons(rows, args.compare, predictions, args.test, args.resamples),
        "cross-lingual transfer gap per checkpoint (en - others)": transfer_gaps(rows)},
        _predictions(path))


def _default(frame: pd.DataFrame, path: str, args: argparse.Namespace) -> Tables:
    from sweep.results import by_base_model, tables

    # A task the registry does not know: ResultsError.
    return by_base_model(frame, lambda rows, predictions: tables(rows))


VIEWS: tuple[View, ...] = (
    View("cost", "each stage's elapsed, busy and device time instead, and the run's total",
         lambda frame, path, args: {
             "cost per stage (busy and device time count every trial of each search)":
             frame.set_index("stage")}, load=_costs),
    View("trials", "Tune's per-trial dataframe of every training stage instead",
         lambda frame, path, args: {"trials": frame}, load=_trials),
    View("efficiency", "the efficiency stage's records instead: each encoder's speed with "
         "its noise floor and equivalence test against the base model, and its pools' search "
         "cost, compression and geometry", _efficiency, load=_efficiency_records),
    View("arms", "English intermediate training against direct target-language "
         "fine-tuning: every intermediate task x arm x target task, and per target task and "
         "language the best zero-shot system with an intermediate task against the best "
         "direct arm", _arms),
    View("vision", "image-text intermediate training against text-only training: each "
         "intermediate (modality, image control) x task, against its text-only control and "
         "none, the transfer gap and retrieval forgetting", _vision),
    View("compare", "each intermediate task against BASELINE (e.g. none): mean over seeds "
         "with its 95%% interval and the difference, and the transfer gap of every "
         "checkpoint", _compare, options={"metavar": "BASELINE"}),
)
DEFAULT = View("", "the transfer, per-language, retrieval and benchmark tables", _default)


def chosen(args: argparse.Namespace) -> View:
    """The view the options ask for (the first given, in VIEWS order), else the default."""
    return next((view for view in VIEWS if getattr(args, view.flag, None)), DEFAULT)


def add_options(parser: argparse.ArgumentParser) -> None:
    """Every view's option on `sweep results`."""
    for view in VIEWS:
        parser.add_argument(f"--{view.flag}", help=view.help, **view.options)


def frame_of(view: View, path: str) -> pd.DataFrame:
    """What the view reads of the run at `path`."""
    return (view.load or _rows)(path)
