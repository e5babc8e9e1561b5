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
