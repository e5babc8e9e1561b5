"""The efficiency stage without Ray: one encoder measured in this process on the synthetic
Tatoeba, and the answer built from records (speed with its noise floor, the equivalence test
against the base model, fingerprints kept apart, the spec's rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from small import TINY_MODEL

from sweep.efficiency import efficiency_table, named_tables, verdict
from sweep.errors import ResultsError
from sweep.spec import SpecError, default_spec_path, parse_spec
from sweep.stages.efficiency import KINDS, diversity
from trainables.efficiency.measure import measure_efficiency
from trainables.efficiency.timing import NATURAL, length_buckets
from trainables.offline.benchmark import generate_benchmark
from trainables.trial import NO_INTERMEDIATE

SETTINGS = {"dtypes": ["fp32", "bf16"], "batch_sizes": [1, 8], "length_buckets": [8, 16],
            "max_sentences": 24, "warmup_batches": 1, "repeats": 2,
            "index": {"hnsw": {"M": [8], "efSearch": [4, 64]}, "ivf": {"nlist": [2]}},
            "compression": ["int8", "binary", {"pca": [16]}, {"pq": [4]}]}
RETRIEVAL = {"layer": -1, "pooling": "mean", "direction": "en_to_xx", "max_length": 32}


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    torch.set_num_threads(1)
    root = generate_benchmark(tmp_path_factory.mktemp("data"), train_size=20, eval_size=10,
                              retrieval_size=40, corpus_size=10)
    data = {"source": "local", "path": str(root)}
    return measure_efficiency(TINY_MODEL, data, None, "synth_tatoeba", ["de", "zh"], RETRIEVAL,
                              SETTINGS)


def test_one_encoder_is_measured_on_every_kind(measured):
    assert set(KINDS) <= set(measured)
    assert {"device", "torch", "faiss", "threads", "hardware"} <= set(measured["fingerprint"])
    timing = pd.DataFrame(measured["timing"])
    assert set(zip(timing["dtype"], timing["batch_size"], strict=True)) == {
        (dtype, batch) for dtype in SETTINGS["dtypes"] for batch in SETTINGS["batch_sizes"]}
    assert NATURAL in set(timing["length_bucket"])
    assert (timing["p50_ms"] <= timing["p95_ms"]).all()
    assert (timing["p95_ms"] <= timing["p99_ms"]).all()
    assert (timing["sentences_per_second"] > 0).all() and (timing["tokens_per_second"] > 0).all()
    search = pd.DataFrame(measured["search"])
    assert set(search["language"]) == {"de", "zh"}
    flat = search[search["index"] == "flat"]
    assert (flat["recall_at_1"] == 1.0).all()
    compression = pd.DataFrame(measured["compression"])
    assert (compression[compression["method"] == "fp32"]["accuracy_kept"].dropna() == 1.0).all()
    geometry = pd.DataFrame(measured["geometry"])
    assert np.isfinite(geometry[["anisotropy", "hubness", "lid", "effective_rank"]]).all().all()
    assert measured["query"][0]["queries_per_second"] > 0
    [depth] = measured["depth"]
    layers = depth["layers"]
    assert len(depth["dev_accuracy_by_layer"]) == layers + 1  # the embeddings and each layer
    assert depth["dev_accuracy_by_layer"][depth["best_layer"]] == max(
        depth["dev_accuracy_by_layer"])
    stopped = timing[timing["layers_run"] < layers]
    assert set(stopped["length_bucket"]) <= {NATURAL}
    assert len(stopped) in (0, len(SETTINGS["batch_sizes"]))  # none when it is the top layer


def test_an_encoder_stopped_at_a_layer_gives_that_layers_vectors():
    from trainables.efficiency.measure import layer_vectors, truncated
    from trainables.model import load_encoder, load_tokenizer

    encoder, tokenizer = load_encoder(TINY_MODEL).eval(), load_tokenizer(TINY_MODEL)
    sentences = ["a b c", "d e"]
    every = layer_vectors(encoder, tokenizer, sentences, "mean", 16)
    assert every.shape[0] == encoder.config.num_hidden_layers + 1
    cut = truncated(encoder, 1)
    assert len(cut.encoder.layer) == 1 and len(encoder.encoder.layer) >= 1
    np.testing.assert_allclose(layer_vectors(cut, tokenizer, sentences, "mean", 16)[-1],
                               every[1], rtol=1e-5, atol=1e-6)


def test_length_buckets_hold_real_sentences_by_token_count():
    from trainables.model import load_tokenizer

    tokenizer = load_tokenizer(TINY_MODEL)
    sentences = ["a", "a b c d e f g h i j k l", "a b", "a b c d e f g h i j k l m n o p q"]
    buckets = length_buckets(tokenizer, sentences, [4, 16], per_bucket=10, max_length=32)
    assert buckets[NATURAL] == sentences
    counts = {s: len(tokenizer(s)["input_ids"]) for s in sentences}
    assert all(counts[s] <= 4 for s in buckets[4])
    assert all(4 < counts[s] <= 16 for s in buckets.get(16, []))


def _records(speeds: dict[str, list[float]], hardware: str = "h1") -> pd.DataFrame:
    rows = []
    for encoder, values in speeds.items():
        for repeat, speed in enumerate(values):
            facts = {"task": "synth_tatoeba", "intermediate_task": encoder, "seed": 0,
                     "repeat": repeat, "hardware": hardware, "mixture_tasks": 1,
                     "mixture_families": 1, "equivalence_margin": 0.02}
            rows.append({**facts, "kind": "timing", "dtype": "fp32", "batch_size": 8,
                         "length_bucket": NATURAL, "sentences_per_second": speed,
                         "p95_ms": 1000 / speed})
            rows.append({**facts, "kind": "geometry", "language": "de", "anisotropy": 0.5,
                         "hubness": 1.0, "lid": 7.0, "effective_rank": 20.0})
    return pd.DataFrame(rows)


def test_no_difference_is_a_measured_result():
    rng = np.random.default_rng(0)
    same = {name: list(1000 * (1 + 0.002 * rng.standard_normal(6)))
            for name in (NO_INTERMEDIATE, "synth_nli")}
    tables = efficiency_table(_records(same))
    speed = tables["speed"]
    row = speed.xs("synth_nli", level="intermediate_task").iloc[0]
    assert bool(row["equivalent"]) and row["tost_p"] < 0.05
    assert abs(row["vs_base"]) < 0.02 and row["cv"] < 0.01
    assert verdict(speed, 0.02).startswith("No difference in throughput")
    slower = {NO_INTERMEDIATE: same[NO_INTERMEDIATE],
              "synth_nli": [value * 0.9 for value in same["synth_nli"]]}
    speed = efficiency_table(_records(slower))["speed"]
    assert not bool(speed.xs("synth_nli", level="intermediate_task").iloc[0]["equivalent"])
    assert verdict(speed, 0.02).startswith("Not shown within ±2%")
    named = named_tables(_records(same))
    assert any(title.startswith("speed per encoder") for title in named)


def test_records_of_different_hardware_are_never_compared():
    records = pd.concat([_records({NO_INTERMEDIATE: [1.0, 1.1]}, "h1"),
                         _records({"synth_nli": [1.0, 1.1]}, "h2")])
    with pytest.raises(ResultsError, match="2 fingerprints .h1, h2."):
        efficiency_table(records)


def test_diversity_counts_a_mixtures_tasks_families_and_sampling_entropy(tmp_path):
    import json
    import math

    from trainables.training import mixture_diversity

    document = yaml.safe_load(default_spec_path().read_text())
    document["intermediate_tasks"].append(
        {"name": "mix", "mixture": ["synth_nli", "synth_para", "synth_squad"], "cap": 100})
    spec = parse_spec(document)
    assert diversity(spec, NO_INTERMEDIATE)["mixture_tasks"] == 0
    # The training loop records an epoch's draw in its checkpoints' metrics.
    drawn = mixture_diversity({"synth_nli": 500, "synth_para": 100, "synth_squad": 50}, 100)
    assert drawn == {"mixture_examples": 250, "mixture_entropy": pytest.approx(
        -(0.4 * math.log(0.4) * 2 + 0.2 * math.log(0.2)))}
    assert mixture_diversity({"synth_nli": 500}, None)["mixture_entropy"] == 0.0
    (tmp_path / "meta.json").write_text(json.dumps({"metrics": drawn}))
    assert diversity(spec, "mix", str(tmp_path)) == {
        "mixture_tasks": 3, "mixture_families": 2, **drawn}


def test_the_spec_rule_names_the_bad_entry():
    document = yaml.safe_load(default_spec_path().read_text())
    document["evaluation"]["efficiency"] = {"index": {"hnsw": {"nprobe": [1]}}}
    with pytest.raises(SpecError, match=r"evaluation.efficiency.index.hnsw.nprobe: got "
                                        r"'nprobe'; allowed: M, efConstruction, efSearch"):
        parse_spec(document)
    document["evaluation"]["efficiency"] = {"dtypes": ["fp16"]}
    with pytest.raises(SpecError, match="fp16 is a GPU type"):
        parse_spec(document)
    document["evaluation"]["efficiency"] = {}
    document["retrieval_tasks"] = ["synth_bucc"]
    with pytest.raises(SpecError, match="a Tatoeba-like task"):
        parse_spec(document)


def test_the_cost_table_counts_each_measurement_once():
    from sweep.costs import stage_costs

    records = _records({NO_INTERMEDIATE: [1.0, 1.1], "synth_nli": [1.0, 1.1]})
    records = records.assign(stage="efficiency/synth_tatoeba", seconds=10.0,
                             checkpoint_uri=records["intermediate_task"])
    stages = {"efficiency/synth_tatoeba": {"status": "finished", "recorded_at": 50.0,
                                           "started_at": 10.0}}
    costs = stage_costs(stages, pd.DataFrame(columns=["stage", "checkpoint_uri", "task",
                                                      "language", "split", "wall_seconds"]),
                        efficiency=records)
    # Two encoders x two repeats, each record set counted once (4 x 10 s).
    assert costs.loc["efficiency/synth_tatoeba", "busy_seconds"] == 40.0
    assert costs.loc["efficiency/synth_tatoeba", "wall_seconds"] == 40.0


def test_the_summary_has_a_row_per_encoder_from_real_records(measured):
    """The stage's records from one real measurement, as two encoders x two repeats."""
    from sweep.efficiency import summary

    records = []
    for encoder in (NO_INTERMEDIATE, "synth_nli"):
        for repeat in range(2):
            facts = {"task": "synth_tatoeba", "intermediate_task": encoder, "seed": 0,
                     "repeat": repeat, "mixture_tasks": int(encoder != NO_INTERMEDIATE),
                     "mixture_families": 1, "equivalence_margin": 0.02,
                     **measured["fingerprint"]}
            records += [{**facts, "kind": kind, **row} for kind in KINDS
                        for row in measured[kind]]
    frame = pd.DataFrame(records).map(lambda v: str(v) if isinstance(v, dict | list) else v)
    table = summary(efficiency_table(frame))
    assert len(table) == 2
    row = table.xs("synth_nli", level="intermediate_task").iloc[0]
    assert row["vs_base"] == pytest.approx(0.0)  # the same numbers: no difference
    assert 0 < row["bytes_at_95"] <= 4 * 64 and row["int8_kept"] > 0
    assert 0 <= row["hnsw_best_recall_at_10"] <= 1 and row["exact_qps"] > 0
    assert row["best_layer"] == measured["depth"][0]["best_layer"]


def test_a_pool_too_small_for_a_measure_gets_nan_not_an_error():
    from trainables.efficiency.measure import pool_geometry

    rng = np.random.default_rng(0)
    small = pool_geometry(rng.standard_normal((15, 8)))
    assert np.isnan(small["lid"]) and np.isfinite(small["hubness"])
    assert np.isfinite(small["anisotropy"]) and np.isfinite(small["effective_rank"])
