"""Model and data sections for the small sweeps the Ray tests run (seconds per trial), the
tiny model's full config for tests that load it without a spec, and file writers the reader
tests share."""

import json

SMALL_MODEL = {"source": "offline", "tiny": {"hidden_size": 32, "num_layers": 1, "num_heads": 2,
                                             "intermediate_size": 64}}
SMALL_DATA = {"source": "offline",
              "offline": {"train_size": 300, "eval_size": 60, "retrieval_size": 40}}
TINY_MODEL = {"source": "offline", "name": "tiny-xlmr",
              "tiny": {"vocab_size": 4000, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
                       "intermediate_size": 64, "max_position_embeddings": 130, "seed": 0,
                       "corpus_seed": 13}}


def write_jsonl(path, records, blank_after: int | None = None) -> None:
    """`records` as JSON Lines (UTF-8), with a blank line at `blank_after` if given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    if blank_after is not None:
        lines.insert(blank_after, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class StandInSession:
    """A training loop's session (`trainables.session.LoopSession`) without Ray: rank 0 of 1
    on the CPU, resuming from `resume_from`, handing each report to `on_report`."""

    rank, world_size = 0, 1

    def __init__(self, on_report, resume_from=None) -> None:
        import torch

        self.device = torch.device("cpu")
        self.on_report, self.resume_from = on_report, resume_from

    def prepare_model(self, model, find_unused: bool):
        return model

    def resumed(self):
        import contextlib

        return contextlib.nullcontext(self.resume_from)

    def report(self, metrics: dict, checkpoint) -> None:
        self.on_report(metrics, checkpoint)

    def node_ids(self) -> str:
        return "this-node"


class FirstReport(Exception):
    """Ends a loop at its first report, as a worker lost just after it would."""


def first_report(config: dict, resume_from, kept) -> dict:
    """Run the training loop (`trainables.training.train_loop`) with a stand-in session until
    its first report; return that report's metrics and keep its checkpoint in `kept`."""
    import shutil

    import pytest

    from trainables import training

    def report(metrics: dict, checkpoint) -> None:
        shutil.copytree(checkpoint, kept, dirs_exist_ok=True)
        raise FirstReport(metrics)

    with pytest.raises(FirstReport) as reported:
        training.train_loop(config, StandInSession(report, resume_from))
    return reported.value.args[0]
