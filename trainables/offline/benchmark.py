"""A SYNTHETIC, XTREME-shaped multilingual benchmark, generated deterministically from a seed.

Nothing here is real XTREME data. The generator exists so the sweep engine can run end to end
offline (CI, laptops, air-gapped clusters) on data with a real, learnable signal: a tiny
transformer trained on the English tasks should transfer zero-shot to the other languages.

Where its parts live:

- `trainables.offline.lexicon`: the languages, their words, and the anchors they share
  (digits, names, cognates, loanwords) that carry what is learnt in English to the others;
- `trainables.offline.grammar`: the abstract sentence (`Clause`) every example is built from
  and each language's word order and punctuation;
- `trainables.offline.builders`: one module per task family; each builder writes its task's
  files (UTF-8; JSONL has one example per line) and declares their layout, and its docstring
  says where the task's signal lies; `builders.translation` holds what the target-language
  data (translations with noise, small in-language training sets) of synth_xnli and
  synth_pos share; `builders.corpus` writes the pretraining corpus.

`generate_benchmark` runs the builders of `BUILDERS`, then writes ``benchmark.json``
(metadata, ``"synthetic": true``) last, so that its presence marks a complete directory.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from trainables.offline.builders import (
    classification,
    dual_encoder,
    image_text,
    late_fusion,
    multiple_choice,
    retrieval,
    span_qa,
    tagging,
)
from trainables.offline.builders.common import BenchmarkWriter, Builder, Inputs, Layout
from trainables.offline.builders.corpus import build_corpus
from trainables.offline.grammar import SYNTAX
from trainables.offline.lexicon import LANGUAGES, build_lexicons
from trainables.offline.streams import GENERATOR_VERSION
from trainables.storage import publish_directory
from trainables.tasks import get_task
from trainables.tasks.schema import CONTROL_SUFFIXES

DEFAULT_SIZES = {"train_size": 2000, "eval_size": 300, "retrieval_size": 200, "corpus_size": 1500}

# One builder per synthetic task of the registry, in generation order. Each task draws from
# its own random streams, so the order decides only which files are written first.
BUILDERS: dict[str, Builder] = {
    "synth_nli": classification.build_synth_nli,
    "synth_para": classification.build_synth_para,
    "synth_swag": multiple_choice.build_synth_swag,
    "synth_squad": span_qa.build_synth_squad,
    "synth_xnli": classification.build_synth_xnli,
    "synth_xnli_mt": classification.build_synth_xnli_mt,
    "synth_pos": tagging.build_synth_pos,
    "synth_pos_mt": tagging.build_synth_pos_mt,
    "synth_ccg": tagging.build_synth_ccg,
    "synth_xcopa": multiple_choice.build_synth_xcopa,
    "synth_xquad": span_qa.build_synth_xquad,
    "synth_lareqa": dual_encoder.build_synth_lareqa,
    "synth_tatoeba": retrieval.build_synth_tatoeba,
    "synth_bucc": retrieval.build_synth_bucc,
    "synth_caption": image_text.build_synth_caption,
    # The controls have no files of their own: they read synth_caption's.
    **{f"synth_caption{suffix}": image_text.build_synth_caption_control
       for suffix in CONTROL_SUFFIXES.values()},
    "synth_xflickrco": image_text.build_synth_xflickrco,
    "synth_ve": late_fusion.build_synth_ve,
    **{f"synth_ve{suffix}": late_fusion.build_synth_ve_control
       for suffix in CONTROL_SUFFIXES.values()},
    "synth_xvnli": late_fusion.build_synth_xvnli,
    "synth_nlvr": late_fusion.build_synth_nlvr,
    "synth_marvl": late_fusion.build_synth_marvl,
}

# benchmark.json names BUCC's files after the shared task they imitate: family
# "bitext_mining", format "bucc2018", where the registry names its reader (local format
# "bucc") and the family that scores it ("retrieval"). Keyed by the registry's local format.
_METADATA_NAMES = {"bucc": {"family": "bitext_mining", "format": "bucc2018"}}


def _plain(value: object) -> object:
    # The registry's vocabularies may be str-mixin Enums; benchmark.json holds their values.
    return getattr(value, "value", value)


def _task_entry(name: str, layout: Layout) -> dict:
    """benchmark.json's entry for one task: the registry's facts and the builder's layout."""
    task = get_task(name)
    entry = {
        "family": _plain(task.family),
        "role": task.roles[-1] if task.roles else None,  # none: a translation task
        "label_names": list(task.labels),
        "label_field": layout.label_field,
        "text_fields": list(layout.text_fields),
        "languages": [lang for lang in LANGUAGES
                      if any(lang in langs for langs in layout.splits.values())],
        "splits": {split: list(langs) for split, langs in layout.splits.items()},
    }  # fmt: skip
    if task.local is not None:
        entry["format"] = _plain(task.local.format)
    if task.train_task is not None:
        entry["train_task"] = task.train_task
    if layout.file_pattern is not None:
        entry["file_pattern"] = layout.file_pattern
    entry.update(_METADATA_NAMES.get(entry.get("format"), {}))
    return entry


def generate_benchmark(
    root: str | Path,
    seed: int = 13,
    train_size: int = DEFAULT_SIZES["train_size"],
    eval_size: int = DEFAULT_SIZES["eval_size"],
    retrieval_size: int = DEFAULT_SIZES["retrieval_size"],
    corpus_size: int = DEFAULT_SIZES["corpus_size"],
) -> Path:
    """Write every task, the corpus and benchmark.json under root; returns root.

    Sizes: `train_size` examples per English training split and per translation of one
    (`train_size // 8`, at least one, per in-language training split), `eval_size` per dev and
    per test split per language (and per translation of a test split), `retrieval_size` pairs
    per Tatoeba language and sentences per side of each BUCC split, `corpus_size` corpus lines
    per language. The same arguments always give byte-identical files.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sizes = {"train_size": train_size, "eval_size": eval_size,
             "retrieval_size": retrieval_size, "corpus_size": corpus_size}  # fmt: skip
    inputs = Inputs(seed=seed, lexicons=build_lexicons(seed), **sizes)
    files = BenchmarkWriter(root)
    tasks = {name: _task_entry(name, build(inputs, files)) for name, build in BUILDERS.items()}
    meta = {
        "name": "synthetic-xtreme",
        "synthetic": True,
        "description": "SYNTHETIC XTREME-shaped benchmark generated by "
        "trainables.offline.benchmark; not real data.",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "sizes": sizes,
        "languages": dict(LANGUAGES),
        "word_order": {lang: SYNTAX[lang].order for lang in LANGUAGES},
        "tasks": tasks,
        "corpus": build_corpus(inputs, files),
        "files": files.counts,
    }
    # Written last: its presence means the directory is complete.
    files.write_text("benchmark.json",
                     json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return root


def _sizes_with_defaults(sizes: dict) -> dict:
    unknown = set(sizes) - set(DEFAULT_SIZES)
    if unknown:
        raise TypeError(f"unknown benchmark size(s): {sorted(unknown)}")
    return {name: int(sizes.get(name, default)) for name, default in DEFAULT_SIZES.items()}


def ensure_benchmark(cache_dir: str | Path, seed: int = 13, **sizes: int) -> Path:
    """Return <cache_dir>/synthetic-xtreme-<hash>/, generating it once per node.

    The hash covers (GENERATOR_VERSION, seed, sizes with defaults filled in).
    """
    full = _sizes_with_defaults(sizes)
    key = json.dumps({"version": GENERATOR_VERSION, "seed": seed, "sizes": full}, sort_keys=True)
    target = Path(cache_dir) / f"synthetic-xtreme-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    # Caches published before publish_directory have no DONE marker, only benchmark.json.
    if (target / "benchmark.json").exists():
        return target
    return publish_directory(lambda staging: generate_benchmark(staging, seed=seed, **full),
                             target)
