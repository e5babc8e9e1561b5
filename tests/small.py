"""Model and data sections for the small sweeps the Ray tests run (seconds per trial), and
the tiny model's full config for tests that load it without a spec."""

SMALL_MODEL = {"source": "offline", "tiny": {"hidden_size": 32, "num_layers": 1, "num_heads": 2,
                                             "intermediate_size": 64}}
SMALL_DATA = {"source": "offline",
              "offline": {"train_size": 300, "eval_size": 60, "retrieval_size": 40}}
TINY_MODEL = {"source": "offline", "name": "tiny-xlmr",
              "tiny": {"vocab_size": 4000, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
                       "intermediate_size": 64, "max_position_embeddings": 130, "seed": 0,
                       "corpus_seed": 13}}
