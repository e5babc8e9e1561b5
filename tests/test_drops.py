"""No silent loss of data: the rows a loader drops are counted per split and reported, a split
that loses too many fails with the count, and a DDP rank never trains on a duplicated example
(a short last batch joins the one before it; uneven slices weigh their share)."""

from __future__ import annotations

import json
import os
import socket
from collections import Counter

import pytest
import torch
import torch.multiprocessing as mp

from trainables.data import hub_examples, load_examples
from trainables.device_loop import train_step
from trainables.drops import DataLossError, counted_drops, drop_metrics
from trainables.tasks import HubSource
from trainables.training import epoch_schedule


def _write_split(root, task: str, split: str, rows: list[dict]) -> None:
    folder = root / task
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}-en.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def _nli_rows(count: int, empty: int = 0) -> list[dict]:
    return [{"premise": f"a cat sat {index}", "hypothesis": "" if index < empty else "a cat",
             "label": "entailment"} for index in range(count)]


def test_empty_texts_are_dropped_counted_and_reported_per_split(tmp_path, caplog):
    _write_split(tmp_path, "synth_nli", "train", _nli_rows(40, empty=1))
    _write_split(tmp_path, "synth_nli", "dev", _nli_rows(10))
    data = {"source": "local", "path": str(tmp_path)}
    with counted_drops() as dropped:
        train = load_examples(data, "synth_nli", "train", "en")
        dev = load_examples(data, "synth_nli", "dev", "en")
    assert len(train) == 39 and all(example["hypothesis"] for example in train)
    assert len(dev) == 10
    assert dropped == {"synth_nli/train/en": 1, "synth_nli/dev/en": 0}
    assert drop_metrics(dropped) == {"dropped_rows": 1, "dropped/synth_nli/train/en": 1}
    assert "synth_nli/train/en: 1 of 40 rows dropped (1 empty text)" in caplog.text


def test_a_split_losing_more_than_the_allowed_share_fails_with_the_count(tmp_path):
    _write_split(tmp_path, "synth_nli", "train", _nli_rows(40, empty=4))
    data = {"source": "local", "path": str(tmp_path)}
    with pytest.raises(DataLossError) as caught:
        load_examples(data, "synth_nli", "train", "en")  # 10% over the default 5%
    message = str(caught.value)
    assert "synth_nli/train/en: 4 of 40 rows dropped (4 empty text), 10.0%" in message
    assert "data.max_dropped_share allows 5.0%" in message
    loosened = {**data, "max_dropped_share": 0.1}
    assert len(load_examples(loosened, "synth_nli", "train", "en")) == 36


def test_test_splits_are_read_whole(tmp_path):
    _write_split(tmp_path, "synth_nli", "test", _nli_rows(10, empty=5))
    with counted_drops() as dropped:
        examples = load_examples({"source": "local", "path": str(tmp_path)}, "synth_nli",
                                 "test", "en")
    assert len(examples) == 10 and dropped == {"synth_nli/test/en": 0}


def test_hub_rows_without_a_gold_label_are_counted():
    source = HubSource(path="snli", columns={"premise": "premise", "hypothesis": "hypothesis",
                                             "label": "label"}, label_values=(0, 1, 2))
    rows = [{"premise": "p", "hypothesis": "h", "label": label} for label in (0, -1, 2, -1)]
    dropped: Counter = Counter()
    examples = hub_examples(source, rows, "en", dropped)
    assert [example["label"] for example in examples] == [0, 2]
    assert dropped == {"no gold label": 2}


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_no_rank_gets_an_empty_slice_and_every_example_is_drawn_once(ranks):
    sizes = {"a": 41, "b": 17}  # last batches of 1 and 1 at batch size 8
    schedule = epoch_schedule(sizes, batch_size=8, cap=None, seed=1, epoch=0, ranks=ranks)
    for task, batch in schedule:
        assert all(batch[rank::ranks] for rank in range(ranks)), (task, batch)
    for task, size in sizes.items():
        drawn = [index for name, batch in schedule if name == task for index in batch]
        assert sorted(drawn) == list(range(size))
    assert epoch_schedule(sizes, 8, None, 1, 0) != schedule  # one rank: the short batch stays


def test_too_few_examples_for_the_workers_is_an_error():
    with pytest.raises(ValueError, match="task 'a': 1 training examples an epoch for 2 workers"):
        epoch_schedule({"a": 1}, batch_size=8, cap=None, seed=0, epoch=0, ranks=2)


# -- uneven slices of a global batch: DDP's step is the global batch's ----------------------


class _Classifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.EmbeddingBag(20, 8)
        self.out = torch.nn.Linear(8, 3)

    def forward(self, task_name, input_ids, attention_mask):
        return self.out(self.embed(input_ids))


def _batch():
    generator = torch.Generator().manual_seed(1)
    return {"input_ids": torch.randint(0, 20, (5, 4), generator=generator),
            "attention_mask": torch.ones(5, 4, dtype=torch.long),
            "labels": torch.tensor([0, 1, 2, 1, 0])}


def _step(model, batch, weight=1.0) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    train_step(model, "t", torch.nn.functional.cross_entropy, batch, optimizer, scheduler,
               None, torch.device("cpu"), "fp32", weight)


def _ddp_worker(rank: int, port: int, results) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        model = torch.nn.parallel.DistributedDataParallel(_Classifier())
        batch = {key: value[rank::2] for key, value in _batch().items()}  # 3 and 2 examples
        _step(model, batch, weight=2 * len(batch["labels"]) / 5)  # as the training loop
        results[rank] = model.module.out.weight.detach().numpy().copy()
    finally:
        dist.destroy_process_group()


def test_uneven_ddp_slices_step_as_the_whole_batch():
    whole = _Classifier()
    _step(whole, _batch())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    results = mp.Manager().dict()
    mp.spawn(_ddp_worker, args=(port, results), nprocs=2, join=True)
    for rank in (0, 1):
        torch.testing.assert_close(torch.from_numpy(results[rank]), whole.out.weight.detach(),
                                   rtol=1e-5, atol=1e-6)
