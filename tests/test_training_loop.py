"""The training loop run in this process with a stand-in session: a loop resumed from a
checkpoint goes on counting from it (examples seen, evaluations, training time), and one rank
counts a mixture's examples as a DDP trial's ranks do together."""

from __future__ import annotations

import pytest
import torch
from small import TINY_MODEL, StandInSession, first_report

from trainables import training
from trainables.offline.benchmark import generate_benchmark


def test_a_resumed_loop_counts_on_from_its_checkpoint(tmp_path):
    torch.set_num_threads(1)
    root = generate_benchmark(tmp_path / "data", train_size=64, eval_size=10,
                              retrieval_size=10, corpus_size=10)
    config = {"model": TINY_MODEL, "data": {"source": "local", "path": str(root)},
              "tasks": ["synth_xnli"], "group": "synth_xnli", "mixture_cap": None,
              "max_length": 32, "evals_per_epoch": 1, "intermediate": "none",
              "init_checkpoint": None,
              "hparams": {"seed": 0, "batch_size": 16, "epochs": 3, "learning_rate": 1e-3,
                          "warmup_ratio": 0.1}}
    first = first_report(config, None, tmp_path / "first")
    assert first["evaluations"] == 1 and first["examples_seen"] == 64
    # The time the lost worker had trained, as its checkpoint recorded it, made long enough
    # that a loop counting from zero again cannot reach it.
    state_file = tmp_path / "first" / "training_state.pt"
    saved = torch.load(state_file, weights_only=False)
    saved["state"]["train_seconds"] = 1000.0
    torch.save(saved, state_file)

    second = first_report(config, tmp_path / "first", tmp_path / "second")
    assert second["evaluations"] == 2 and second["examples_seen"] == 2 * 64
    assert 1000.0 < second["train_seconds"] < 1000.0 + 600


@pytest.mark.parametrize("length_grouped", [False, True])
def test_one_rank_sees_a_mixture_as_the_ddp_trial_does(tmp_path, length_grouped):
    """The mixture `test_faults`'s two-worker DDP trial trains (synth_nli + synth_pos,
    capped at 100, an epoch) seen by the one-worker loop: the same 200 examples,
    the same steps, both heads scored; in length-grouped batches too."""
    torch.set_num_threads(1)
    root = generate_benchmark(tmp_path / "data", train_size=300, eval_size=20,
                              retrieval_size=10, corpus_size=10)
    config = {"model": TINY_MODEL, "data": {"source": "local", "path": str(root)},
              "tasks": ["synth_nli", "synth_pos"], "group": "mix", "mixture_cap": 100,
              "max_length": 32, "evals_per_epoch": 1, "intermediate": "none",
              "init_checkpoint": None, "length_grouped": length_grouped,
              "hparams": {"seed": 0, "batch_size": 16, "epochs": 1, "learning_rate": 1e-3,
                          "warmup_ratio": 0.1}}
    reports: list[dict] = []
    training.train_loop(config, StandInSession(lambda metrics, _: reports.append(metrics)))
    assert len(reports) == 1
    assert reports[0]["examples_seen"] == 200
    assert reports[0]["step"] == 2 * 7  # ceil(100 / 16) batches of each task
    assert {"synth_nli/accuracy", "synth_pos/accuracy"} <= set(reports[0])


def test_length_grouped_batches_pad_less_and_keep_every_example():
    import random

    rng = random.Random(0)
    lengths = {"long": [rng.randint(4, 128) for _ in range(3000)],
               "short": [rng.randint(2, 16) for _ in range(700)]}
    sizes = {name: len(values) for name, values in lengths.items()}

    def padding(schedule):
        return sum(max(lengths[task][i] for i in batch) * len(batch)
                   - sum(lengths[task][i] for i in batch) for task, batch in schedule)

    plain = training.epoch_schedule(sizes, 32, 500, seed=3, epoch=1)
    grouped = training.epoch_schedule(sizes, 32, 500, seed=3, epoch=1, lengths=lengths)
    # The same examples (each task's capped draw), in as many batches, the same on every
    # call (every rank), with a fraction of the padding.
    assert sorted((task, i) for task, batch in grouped for i in batch) == \
        sorted((task, i) for task, batch in plain for i in batch)
    assert len(grouped) == len(plain)
    assert grouped == training.epoch_schedule(sizes, 32, 500, seed=3, epoch=1, lengths=lengths)
    assert padding(grouped) < padding(plain) / 4
    # Batches of both tasks are still mixed through the epoch.
    assert {task for task, _ in grouped[:20]} == {"long", "short"}


def test_a_feature_counts_the_tokens_of_each_of_its_sequences():
    assert training.feature_length({"input_ids": [5, 6, 7]}) == 3
    assert training.feature_length({"input_ids": [[5, 6], [7, 8, 9]]}) == 5
