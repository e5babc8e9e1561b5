"""One real reduced sweep on local Ray: every stage, ASHA, the manifest, rows and --resume."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from small import SMALL_DATA, SMALL_MODEL

from sweep.cli import main
from sweep.export import checkpoint_name, export_task
from sweep.manifest import Manifest
from sweep.plan import make_plan
from sweep.predictions import headline, load_predictions
from sweep.results import load, load_curves, load_trials
from sweep.rows import COLUMNS
from sweep.runner import run_sweep
from sweep.scoring import score_directory
from sweep.spec import parse_spec
from trainables.tasks import get_task

pytestmark = pytest.mark.slow

REDUCED = {
    "name": "reduced",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    # A mixture too: it trains (and feeds retrieval) but is no target starting point here.
    # Its CCG member reads CCGbank's file format and takes its label set from the data.
    "intermediate_tasks": [
        "synth_nli",
        {"name": "mixture", "mixture": ["synth_nli", "synth_para", "synth_ccg"], "cap": 200},
    ],
    "target_tasks": ["synth_xnli", "synth_pos"],
    "retrieval_tasks": ["synth_tatoeba"],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 32,
                         "evals_per_epoch": 2},
        # Grid order puts the good learning rate first; the useless one then reaches ASHA's
        # first rung behind it and is stopped.
        "target": {"intermediate": ["none", "synth_nli"], "epochs": 2, "batch_size": 32,
                   "learning_rate": {"choice": [3e-3, 1e-8]}, "evals_per_epoch": 2},
    },
    "scheduler": {"type": "asha", "grace_period": 1, "reduction_factor": 2},
    "searcher": {"type": "grid"},
    "resources": {"workers_per_trial": 1, "max_concurrent_trials": 1},
    # Efficiency too: every retrieval encoder measured in three processes of its own.
    "evaluation": {"full_table": True, "splits": ["test"],
                   "efficiency": {"batch_sizes": [1, 8], "length_buckets": [8, 16],
                                  "max_sentences": 16, "warmup_batches": 1, "repeats": 2,
                                  "index": {"hnsw": {"M": [8], "efSearch": [8]}},
                                  "compression": ["int8", {"pq": [4]}]}},
}


@pytest.fixture(scope="module")
def finished_run(ray_session, tmp_path_factory):
    spec = parse_spec(REDUCED)
    storage = tmp_path_factory.mktemp("run")
    outcome = run_sweep(spec, storage=str(storage), quiet=True)
    return spec, storage, outcome


def test_every_stage_finished(finished_run):
    spec, storage, outcome = finished_run
    manifest = Manifest.read(storage)
    expected = [stage.name for stage in make_plan(spec).stages]
    assert outcome.ran == expected
    for name in expected:
        assert manifest.stages[name]["status"] == "finished"


def test_stages_overlap_and_share_one_trial_slot(finished_run):
    """The stage trace: evaluation and retrieval run while other stages train, and the one
    slot (`max_concurrent_trials: 1`) holds one trial at a time across every stage."""
    _, storage, _ = finished_run
    stages = Manifest.read(storage).stages

    def span(name: str) -> tuple[float, float]:
        return stages[name]["started_at"], stages[name]["recorded_at"]

    assert span("retrieval/synth_tatoeba")[0] < span("intermediate/mixture")[1]
    assert span("eval/synth_xnli")[0] < span("target/synth_pos")[1]
    assert span("eval/synth_xnli")[0] >= span("target/synth_xnli")[1]
    trials = load_trials(storage)
    assert trials["trial_id"].is_unique  # across stages, which made their searches at once
    runs = sorted(zip(trials["timestamp"] - trials["time_total_s"], trials["timestamp"],
                      strict=True))
    for (_, first_end), (second_start, _) in zip(runs, runs[1:], strict=False):
        assert second_start >= first_end - 1.0  # Tune's clock: whole seconds


def _trial_folders(storage: Path) -> list[str]:
    """The trials' folders of every training stage's Tune experiment (one-worker trials keep
    their checkpoints there)."""
    return sorted(path.name for experiment in (storage / "tune").iterdir()
                  for path in experiment.iterdir() if path.is_dir())


def test_intermediate_trained_once_and_shared(finished_run):
    _, storage, _ = finished_run
    trials = load_trials(storage)
    assert (trials["stage"] == "intermediate/synth_nli").sum() == 1
    # Trial folders on disk: one per Tune trial, none extra for the second target task.
    assert len(_trial_folders(storage)) == len(trials) == 2 + 2 * 4
    manifest = Manifest.read(storage)
    intermediate = manifest.best("intermediate/synth_nli").checkpoint
    for target in ("target/synth_xnli", "target/synth_pos"):
        trained_from = manifest.best(target, "synth_nli")
        assert trained_from.config["intermediate"] == "synth_nli"
    rows = load(storage)
    from_nli = rows[(rows["stage"] == "retrieval/synth_tatoeba")
                    & (rows["intermediate_task"] == "synth_nli")]
    assert set(from_nli["checkpoint_uri"]) == {intermediate}


def test_mixture_trains_one_encoder_with_a_head_per_task(finished_run):
    from trainables.model import read_meta

    _, storage, _ = finished_run
    best = Manifest.read(storage).best("intermediate/mixture")
    meta = read_meta(best.checkpoint)
    assert meta["tasks"] == ["synth_nli", "synth_para", "synth_ccg"]
    assert len(meta["labels"]["synth_ccg"]) == 7  # the categories in its files
    history = load_trials(storage)
    mixture = history[history["stage"] == "intermediate/mixture"].iloc[0]
    members = ["synth_nli/accuracy", "synth_para/accuracy", "synth_ccg/accuracy"]
    assert all(0 <= mixture[metric] <= 100 for metric in members)
    assert mixture["score"] == pytest.approx(sum(mixture[metric] for metric in members) / 3)
    # Capped at 200 examples per task and epoch: 3 tasks x 200 = 600 examples in one epoch.
    assert best.examples_seen <= 600


def test_asha_stopped_a_trial(finished_run):
    _, storage, _ = finished_run
    trials = load_trials(storage)
    assert trials["stopped_early"].sum() >= 1
    stopped = trials[trials["stopped_early"]]
    assert (stopped["evaluations"] < 2 * 2).all()  # epochs x evals_per_epoch
    assert Manifest.read(storage).stages["target/synth_pos"]["stopped_early"] >= 1


def test_rows_cover_every_checkpoint_and_language(finished_run):
    spec, storage, _ = finished_run
    rows = load(storage)
    assert list(rows.columns) == COLUMNS
    manifest = Manifest.read(storage)
    for task in ("synth_xnli", "synth_pos"):
        stage_rows = rows[rows["stage"] == f"eval/{task}"]
        checkpoints = {c.checkpoint for c in manifest.by_intermediate(f"target/{task}").values()}
        assert len(checkpoints) == 2
        expected = {(c, lang) for c in checkpoints
                    for lang in ("en", "de", "fr", "sw", "ru", "ar", "hi", "zh")}
        pairs = zip(stage_rows["checkpoint_uri"], stage_rows["language"], strict=True)
        assert set(pairs) == expected
        assert stage_rows["value"].between(0, 100).all()
        assert (stage_rows["device_hours"] > 0).all()
        assert (stage_rows["train_examples_seen"] > 0).all()
    retrieval = rows[rows["stage"] == "retrieval/synth_tatoeba"]
    assert set(retrieval["intermediate_task"]) == {"none", "synth_nli", "mixture"}
    assert len(retrieval) == 3 * 7
    assert set(retrieval["retrieval_pooling"]) == {"mean"}
    assert rows["synthetic"].all()
    assert not rows[["experiment", "stage", "task", "language", "split", "metric", "value",
                     "checkpoint_uri"]].isna().any().any()


def test_kept_predictions_add_up_to_the_rows_and_export_scores_back(finished_run, tmp_path):
    _, storage, _ = finished_run
    rows, kept = load(storage), load_predictions(storage)
    for task in ("synth_xnli", "synth_pos", "synth_tatoeba"):
        metric = get_task(task).metric
        task_rows = rows[(rows["task"] == task) & (rows["metric"] == metric)]
        expected = {(checkpoint_name(row.intermediate_task, row.seed), row.language): row.value
                    for row in task_rows.itertuples()}
        examples = kept[kept["task"] == task]
        added_up = examples.groupby(["intermediate_task", "seed", "language"],
                                    dropna=False).apply(headline, include_groups=False)
        assert {(checkpoint_name(i, s), lang): v for (i, s, lang), v in added_up.items()} \
            == pytest.approx(expected, abs=1e-9)
        scored = {}
        for folder in export_task(storage, task, tmp_path / task):
            result = score_directory(task, folder / "predictions", folder / "labels")
            scored.update({(folder.name, lang): scores[metric]
                           for lang, scores in result["scores"].items()})
        assert scored == pytest.approx(expected, abs=1e-9)


def test_learning_curves_hold_every_reported_result(finished_run):
    _, storage, _ = finished_run
    curves, trials = load_curves(storage), load_trials(storage)
    assert set(curves["trial_id"]) == set(trials["trial_id"])
    last = curves.groupby("trial_id")["evaluations"].max()
    assert last.to_dict() == trials.set_index("trial_id")["evaluations"].to_dict()
    assert curves.loc[curves["stopped_early"], "trial_id"].nunique() \
        == trials["stopped_early"].sum()


def test_results_cli_reads_finished_run(finished_run, capsys, tmp_path):
    _, storage, _ = finished_run
    assert main(["results", str(storage)]) == 0
    out = capsys.readouterr().out
    assert "intermediate task x target task" in out and "synth_nli" in out
    assert main(["results", str(storage), "--format", "markdown"]) == 0
    assert "| target_task |" in capsys.readouterr().out
    assert main(["results", str(storage), "--trials", "--format", "csv"]) == 0
    assert "stopped_early" in capsys.readouterr().out
    target = tmp_path / "rows.parquet"
    assert main(["results", str(storage), "--format", "parquet", "--output", str(target)]) == 0
    assert len(pd.read_parquet(target)) == len(load(storage))


def test_resume_of_finished_run_trains_nothing(finished_run):
    spec, storage, _ = finished_run
    runs_before = _trial_folders(storage)
    rows_before = load(storage)
    outcome = run_sweep(spec, storage=str(storage), resume=True, quiet=True)
    assert outcome.ran == []
    assert outcome.skipped == [stage.name for stage in make_plan(spec).stages]
    assert _trial_folders(storage) == runs_before
    pd.testing.assert_frame_equal(load(storage), rows_before)


def test_second_run_without_resume_is_refused(finished_run, capsys):
    _, storage, _ = finished_run
    from sweep.manifest import RunExistsError

    with pytest.raises(RunExistsError, match="--resume"):
        run_sweep(parse_spec(REDUCED), storage=str(storage), quiet=True)


def _pool_files() -> list[Path]:
    return list((Path(os.environ["XSTILTS_CACHE"]) / "evaluations").glob("*/*/pool.npy"))


def test_qa_multiple_choice_retrieval_and_mining_run_end_to_end(ray_session, tmp_path):
    """The span-QA, multiple-choice, dual-encoder, image-text, late-fusion and BUCC families
    through Tune, Train and the fan-out, and retrieval after target fine-tuning."""
    spec = parse_spec({
        "name": "families", "model": SMALL_MODEL, "data": SMALL_DATA,
        "intermediate_tasks": ["synth_squad", "synth_caption"],
        "target_tasks": ["synth_xquad", "synth_xcopa", "synth_lareqa", "synth_xflickrco",
                         "synth_xvnli"],
        "retrieval_tasks": ["synth_bucc"],
        "search": {"intermediate": {"learning_rate": 3e-3, "epochs": 1, "batch_size": 32,
                                    "evals_per_epoch": 1},
                   "target": {"intermediate": ["synth_squad"], "learning_rate": 3e-3,
                              "epochs": 1, "batch_size": 32, "evals_per_epoch": 1}},
        "scheduler": {"type": "fifo"}, "searcher": {"type": "grid"},
        "resources": {"max_concurrent_trials": 2},
        "evaluation": {"languages": ["en", "de", "zh"], "retrieval_after_target": True},
    })
    pools_before = set(_pool_files())
    outcome = run_sweep(spec, storage=str(tmp_path / "run"), quiet=True)
    assert len(outcome.ran) == len(make_plan(spec).stages)
    rows = load(outcome.storage)
    qa = rows[rows["stage"] == "eval/synth_xquad"]
    assert set(qa["metric"]) == {"exact_match", "f1"} and set(qa["language"]) == {"en", "de", "zh"}
    assert (qa["value"].between(0, 100)).all()
    assert (qa.set_index(["language", "metric"])["value"].unstack()["f1"]
            >= qa.set_index(["language", "metric"])["value"].unstack()["exact_match"]).all()
    choice = rows[rows["stage"] == "eval/synth_xcopa"]
    assert set(choice["metric"]) == {"accuracy"} and len(choice) == 3
    ranking = rows[rows["stage"] == "eval/synth_lareqa"]
    assert set(ranking["metric"]) == {"map@20"} and set(ranking["language"]) == {"en", "de", "zh"}
    assert ranking["value"].between(0, 100).all()
    # Every language's queries ranked the same pool: its vectors were computed once.
    assert len(set(_pool_files()) - pools_before) == 1
    mining = rows[rows["stage"] == "retrieval/synth_bucc"]
    assert set(mining["metric"]) == {"f1", "precision", "recall", "threshold"}
    assert set(mining["language"]) == {"de", "zh"}  # English is the other side of every pair
    assert set(mining["intermediate_task"]) == {"none", "synth_squad", "synth_caption"}
    aligned = rows[rows["stage"] == "eval/synth_xflickrco"]
    assert set(aligned["metric"]) == {f"{side}_r@{k}" for side in ("ir", "tr")
                                      for k in (1, 5, 10)}
    assert set(aligned["language"]) == {"en", "de", "zh"} and aligned["value"].between(0, 100).all()
    # The image-text intermediate is recorded as such; the target and retrieval rows of the
    # text intermediate are not.
    kinds = rows.drop_duplicates("intermediate_task").set_index("intermediate_task")
    assert kinds.loc["synth_caption", ["modality", "image_control", "image_encoder"]].tolist() \
        == ["image_text", "real", "synthetic-image-encoder"]
    assert kinds.loc["synth_squad", "modality"] == "text"
    fused = rows[rows["stage"] == "eval/synth_xvnli"]
    assert set(fused["metric"]) == {"accuracy"} and set(fused["language"]) == {"en", "de", "zh"}
    forgetting = rows[rows["stage"] == "after-target/synth_bucc"]
    assert set(forgetting["target_task"]) == set(spec.target_tasks)
    assert set(forgetting["language"]) == {"de", "zh"}
    assert forgetting["trial_id"].notna().all()  # target checkpoints, not the base model


def test_efficiency_measures_every_encoder_in_separate_processes(finished_run, capsys,
                                                                 tmp_path):
    spec, storage, _ = finished_run
    from sweep.efficiency import load_efficiency

    records = load_efficiency(storage)
    timing = records[records["kind"] == "timing"]
    encoders = timing.groupby(["intermediate_task", "seed"], dropna=False)["repeat"].nunique()
    assert (encoders == 3).all() and len(encoders) == 3  # the base model, synth_nli, mixture
    # A process of its own per repeat: Ray started a worker for each (max_calls=1).
    assert records.groupby(["intermediate_task", "repeat"])["worker_pid"].nunique().max() == 1
    assert records.drop_duplicates(["intermediate_task", "repeat"])["worker_pid"].is_unique
    assert records.loc[records["intermediate_task"] == "mixture", "mixture_tasks"].iloc[0] == 3
    assert main(["results", str(storage), "--efficiency"]) == 0
    shown = capsys.readouterr().out
    assert "speed per encoder" in shown and "search cost per index" in shown
    assert main(["report", str(storage), "--out", str(tmp_path / "report.html")]) == 0
    assert 'id="efficiency"' in (tmp_path / "report.html").read_text()


def test_the_offline_default_benchmark_reads_a_finished_run(finished_run):
    """`benchmarks/offline_default.py --run`: the run's work fits in its wall time."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "offline_default.py"
    spec = importlib.util.spec_from_file_location("offline_default", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, storage, _ = finished_run
    result = module.measure(storage)
    assert result["trials"] == len(load_trials(storage))
    assert 0 < result["floor"] <= result["wall"] and 0 < result["share"] <= 1
    assert result["training"] <= result["trial_time"]  # the loop runs inside the trial


# -- disk (issue 16, part 7): a finished run keeps only the checkpoints its manifest names --


def _checkpoint_folders(storage: Path) -> list[Path]:
    """The checkpoint folders left in the run's trial folders: one-worker trials' in their
    Tune folders, DDP trials' in their Train runs."""
    root = storage.resolve()
    return [*root.glob("tune/*/*/checkpoint_*"), *root.glob("train/*/checkpoint_*")]


def test_a_finished_run_keeps_only_the_checkpoints_its_manifest_names(finished_run):
    _, storage, _ = finished_run
    manifest = Manifest.read(storage)
    training = {name: entry for name, entry in manifest.stages.items()
                if entry["kind"] in ("intermediate", "target")}
    left = _checkpoint_folders(storage)
    measured = sum(path.stat().st_size for folder in left for path in folder.rglob("*")
                   if path.is_file())
    kept = sum(entry["bytes_kept"] for entry in training.values())
    freed = sum(entry["bytes_freed"] for entry in training.values())
    # Before: every checkpoint the trials left; after: what is on disk, what the manifest says.
    assert measured == kept < kept + freed
    assert {str(folder) for folder in left} == manifest.named_checkpoints()
    for name, entry in training.items():
        assert "cleanup_error" not in entry, name
        if entry["trials"] > 1:  # trials not chosen (ASHA stopped some) freed theirs
            assert entry["bytes_freed"] > 0, name
    # Downstream stages found theirs: each stage finished, and every checkpoint a row was
    # measured on is still there.
    assert all(entry["status"] == "finished" for entry in manifest.stages.values())
    measured_on = {uri for uri in load(storage)["checkpoint_uri"].dropna()
                   if uri.startswith(str(storage.resolve()))}
    assert measured_on and measured_on <= manifest.named_checkpoints()
