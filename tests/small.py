"""Model and data sections for the small sweeps the Ray tests run (seconds per trial)."""

SMALL_MODEL = {"source": "offline", "tiny": {"hidden_size": 32, "num_layers": 1, "num_heads": 2,
                                             "intermediate_size": 64}}
SMALL_DATA = {"source": "offline",
              "offline": {"train_size": 300, "eval_size": 60, "retrieval_size": 40}}
