"""The efficiency stage's answer (issue 15), from its records (`sweep.stages.efficiency`):
per encoder, its speed with the noise floor of its repeats (with every layer, and stopped at
its best retrieval layer), the equivalence test against the base model, its best layer, and
what its pools cost to search and compress and look like.

Records measured on different hardware (fingerprints) are never compared: each table is of
one fingerprint. Speed is the natural-length bucket's (every sentence as it comes). The base
model's seed is -1 (it was not trained).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sweep.errors import ResultsError
from sweep.results import read_folder
from sweep.statistics import tost
from trainables.efficiency.compression import bytes_at_95
from trainables.efficiency.timing import NATURAL
from trainables.storage import Location
from trainables.trial import NO_INTERMEDIATE

EFFICIENCY_DIR = "efficiency"
ENCODER = ["task", "intermediate_task", "seed"]
DIVERSITY = ["mixture_tasks", "mixture_families", "mixture_examples", "mixture_entropy"]


def load_efficiency(storage: str | Path | Location) -> pd.DataFrame:
    """Every efficiency record of a run; FileNotFoundError without an efficiency stage."""
    return read_folder(storage, EFFICIENCY_DIR, "efficiency records")


def _encoders(records: pd.DataFrame) -> pd.DataFrame:
    keys = records[[*ENCODER, *(c for c in DIVERSITY if c in records)]].drop_duplicates(ENCODER)
    return keys.set_index(ENCODER)


def _speed(timing: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Per encoder, dtype, batch size and layers run: sentences/s over repeats (mean,
    coefficient of variation), p95 latency, and TOST against the base model's repeats."""
    natural = timing[timing["length_bucket"] == NATURAL]
    if "layers_run" not in natural:
        natural = natural.assign(layers_run=np.nan)
    rows = []
    for (dtype, batch, layers), cell in natural.groupby(["dtype", "batch_size", "layers_run"],
                                                        dropna=False):
        per_encoder = cell.groupby(ENCODER, dropna=False)
        base = cell[cell["intermediate_task"] == NO_INTERMEDIATE]["sentences_per_second"]
        for encoder, measured in per_encoder:
            speed = measured["sentences_per_second"]
            row = dict(zip(ENCODER, encoder, strict=True))
            row.update(dtype=dtype, batch_size=int(batch), layers_run=layers,
                       repeats=len(speed),
                       sentences_per_second=float(speed.mean()),
                       cv=float(speed.std(ddof=1) / speed.mean()) if len(speed) > 1 else np.nan,
                       p95_ms=float(measured["p95_ms"].mean()))
            if encoder[1] != NO_INTERMEDIATE and len(base) >= 2 and len(speed) >= 2:
                test = tost(speed.tolist(), base.tolist(), margin)
                row.update(vs_base=test.difference, vs_base_low=test.low, vs_base_high=test.high,
                           tost_p=test.p_value, equivalent=test.equivalent)
            rows.append(row)
    return pd.DataFrame(rows)


def efficiency_table(records: pd.DataFrame, margin: float = 0.02) -> dict[str, pd.DataFrame]:
    """The named tables of one fingerprint's records: speed (per dtype and batch), and per
    encoder its pools' search cost, compression and geometry (means over languages and
    repeats). Records of several fingerprints are an error naming them."""
    # The base model has no seed: -1 keeps it a key that joins and groups like the others.
    records = records.assign(seed=records["seed"].fillna(-1).astype(int))
    hardware = sorted(set(records["hardware"]))
    if len(hardware) > 1:
        raise ResultsError(f"efficiency records of {len(hardware)} fingerprints "
                           f"({', '.join(hardware)}): numbers from different hardware are "
                           "not compared; select one (the `hardware` column)")
    by_kind = {kind: group.dropna(axis=1, how="all")
               for kind, group in records.groupby("kind")}
    tables = {"speed": _speed(by_kind["timing"], margin).set_index(
        [*ENCODER, "dtype", "batch_size", "layers_run"])}
    encoders = _encoders(records)
    per_encoder = []
    if "query" in by_kind:
        per_encoder.append(by_kind["query"].groupby(ENCODER, dropna=False)[
            ["query_p50_ms", "query_p95_ms", "queries_per_second"]].mean())
    if "depth" in by_kind:  # the layer that retrieves best, on each repeat (the same)
        per_encoder.append(by_kind["depth"].groupby(ENCODER, dropna=False)[
            ["best_layer", "layers"]].agg(lambda values: values.mode().iloc[0]))
    if "geometry" in by_kind:
        per_encoder.append(by_kind["geometry"].groupby(ENCODER, dropna=False)[
            ["anisotropy", "hubness", "lid", "effective_rank"]].mean())
    tables["encoders"] = encoders.join(per_encoder) if per_encoder else encoders
    for kind in ("search", "compression"):
        if kind in by_kind:
            frame = by_kind[kind]
            setting = [column for column in ("index", "method", "params") if column in frame]
            numbers = frame.select_dtypes("number").columns.difference(
                ["seed", "repeat", "mixture_tasks", "mixture_families", "seconds", "threads"])
            tables[kind] = frame.groupby([*ENCODER, *setting], dropna=False)[
                list(numbers)].mean()
    return tables


def summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per encoder, the columns of arms.md's Q3 template that the records hold: its
    diversity, exact-search accuracy, best layer, fp32 speed at the largest batch with every
    layer (and its difference to the base model, with the interval), p95 latency of one
    sentence, bytes per vector at 95% of full accuracy, int8's and binary's accuracy kept,
    the best HNSW recall@10, exact search's queries/s, and the pools' LID and hubness."""
    out = tables["encoders"].copy()
    speed = tables["speed"].reset_index()
    full = speed[(speed["dtype"] == "fp32") & (
        speed["layers_run"].isna() | (speed["layers_run"] == speed["layers_run"].max()))]
    largest = full[full["batch_size"] == full["batch_size"].max()].set_index(ENCODER)
    shown = [c for c in ("sentences_per_second", "vs_base", "vs_base_low", "vs_base_high",
                         "equivalent") if c in largest]
    out = out.join(largest[shown])
    single = full[full["batch_size"] == full["batch_size"].min()].set_index(ENCODER)
    out = out.join(single[["p95_ms"]].rename(columns={"p95_ms": "p95_ms_smallest_batch"}))
    if "compression" in tables:
        kept = tables["compression"].reset_index()
        out["bytes_at_95"] = kept.groupby(ENCODER, dropna=False).apply(
            lambda group: bytes_at_95(group.to_dict("records")), include_groups=False)
        for method in ("int8", "binary"):
            chosen = kept[kept["method"] == method]
            out[f"{method}_kept"] = chosen.groupby(ENCODER, dropna=False)["accuracy_kept"].mean()
    if "search" in tables:
        found = tables["search"].reset_index()
        out["accuracy"] = found[found["index"] == "flat"].groupby(
            ENCODER, dropna=False)["accuracy"].mean()
        out["exact_qps"] = found[found["index"] == "flat"].groupby(
            ENCODER, dropna=False)["queries_per_second"].mean()
        out["hnsw_best_recall_at_10"] = found[found["index"] == "hnsw"].groupby(
            ENCODER, dropna=False)["recall_at_10"].max()
    return out


def verdict(speed: pd.DataFrame, margin: float) -> str:
    """One sentence for the top of the report: whether every encoder's throughput is within
    the margin of the base model's (equivalence shown), or which are not."""
    if "equivalent" not in speed or speed["equivalent"].isna().all():
        return "No equivalence test: too few repeats of the base model or the encoders."
    tested = speed.dropna(subset=["equivalent"])
    if tested["equivalent"].astype(bool).all():
        return (f"No difference in throughput: every encoder is within ±{margin:.0%} of the "
                f"base model's in every dtype and batch size (TOST, p < 0.05).")
    shown = tested[~tested["equivalent"].astype(bool)].reset_index()
    cells = ", ".join(f"{row.intermediate_task} ({row.dtype}, batch {row.batch_size}"
                      + (f", {int(row.layers_run)} layers" if pd.notna(row.layers_run) else "")
                      + ")" for row in shown.itertuples())
    return (f"Not shown within ±{margin:.0%} of the base model's throughput: {cells}; "
            "the others are.")


def named_tables(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`sweep results --efficiency`: the tables by title, the verdict in the speed one's."""
    margin = float(records["equivalence_margin"].iloc[0])
    tables = efficiency_table(records, margin)
    tables = {"summary": summary(tables), **tables}
    titles = {"summary": f"per encoder ({verdict(tables['speed'], margin)})",
              "speed": "speed per encoder, dtype, batch and layers run (natural lengths; cv: "
                       "over the repeats, the noise floor)",
              "encoders": "per encoder: whole queries and pool geometry (means over languages "
                          "and repeats)",
              "search": "search cost per index (means over languages and repeats)",
              "compression": "compression: accuracy kept and bytes per vector"}
    return {titles[name]: table for name, table in tables.items()}
