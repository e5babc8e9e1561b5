"""The offline base model: a tiny XLM-R with random weights and a tokenizer trained here.

Both are built deterministically from their settings and the offline corpus, then cached, so
every process on every node that asks for the same settings gets the same model without a
shared file system.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from trainables.storage import cache_dir, publish_directory

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..4
TINY_MODEL_VERSION = 2


def train_tokenizer(corpus_files: list[Path], vocab_size: int, output: Path) -> None:
    """Train a SentencePiece-style tokenizer (metaspace BPE) with XLM-R's special tokens.

    BPE rather than unigram: on a corpus this small the unigram trainer splits frequent words
    into single letters, while BPE keeps words and numbers whole, so shared anchors stay
    shared tokens across languages.
    """
    # Lazy, as every tokenizers, torch and transformers import here: a cached model never
    # needs them.
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁")
    tokenizer.decoder = decoders.Metaspace(replacement="▁")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=list("0123456789"),
    )
    tokenizer.train([str(path) for path in corpus_files], trainer)
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    assert (bos, eos) == (0, 2), "XLM-R expects <s>=0 and </s>=2"
    tokenizer.post_processor = processors.TemplateProcessing(  # XLM-R's pair template
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=512,
    ).save_pretrained(output)


def pretrain_mlm(model: Any, tokenizer_dir: Path, corpus_files: list[Path],
                 settings: dict) -> None:
    """Masked-LM training on the corpus of every language (XLM-R's recipe, in miniature).

    Shared anchors (digits, names, loanwords) in otherwise disjoint vocabularies are what lets
    this align the languages, as in XLM-R; seeded, so every node builds the same weights.
    """
    import torch  # lazy: see train_tokenizer
    from transformers import (
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        get_linear_schedule_with_warmup,
    )

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    lines = [line for path in corpus_files
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    encoded = tokenizer(lines, truncation=True, max_length=64)["input_ids"]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    steps, batch_size = settings["pretrain_steps"], settings["pretrain_batch_size"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["pretrain_learning_rate"],
                                  weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, steps // 10, steps)
    sampler = random.Random(settings["seed"])
    model.train()
    for _ in range(steps):
        batch = collator([{"input_ids": encoded[i]}
                          for i in sampler.sample(range(len(encoded)), batch_size)])
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()


def ensure_tiny_model(settings: dict, corpus_dir: Path) -> Path:
    """Return the cached directory holding `tokenizer/` and `encoder/` for these settings."""
    corpus_files = sorted(corpus_dir.glob("*.txt"))
    if not corpus_files:
        raise FileNotFoundError(f"no corpus files (*.txt) in {corpus_dir}")
    digest = hashlib.sha256(
        json.dumps([TINY_MODEL_VERSION, settings], sort_keys=True).encode()
        + b"".join(hashlib.sha256(path.read_bytes()).digest() for path in corpus_files)
    ).hexdigest()[:16]

    def build(staging: Path) -> None:
        import torch  # lazy: see train_tokenizer
        from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

        train_tokenizer(corpus_files, settings["vocab_size"], staging / "tokenizer")
        config = XLMRobertaConfig(
            vocab_size=settings["vocab_size"],
            hidden_size=settings["hidden_size"],
            num_hidden_layers=settings["num_layers"],
            num_attention_heads=settings["num_heads"],
            intermediate_size=settings["intermediate_size"],
            max_position_embeddings=settings["max_position_embeddings"],
            pad_token_id=1, bos_token_id=0, eos_token_id=2,
        )
        torch.manual_seed(settings["seed"])
        model = XLMRobertaForMaskedLM(config)
        if settings.get("pretrain_steps"):
            pretrain_mlm(model, staging / "tokenizer", corpus_files, settings)
        model.roberta.save_pretrained(staging / "encoder")
        (staging / "settings.json").write_text(json.dumps(settings, indent=2, sort_keys=True))

    return publish_directory(build, cache_dir() / "models" / f"tiny-xlmr-{digest}")
