"""The non-offline sources, exercised with local files: a model directory and a data directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sweep.spec import SpecError, default_spec_path, parse_spec
from trainables.data import data_root, load_examples
from trainables.model import base_model_reference, load_encoder, load_tokenizer

OFFLINE = {"source": "offline", "name": "tiny-xlmr",
           "tiny": {"vocab_size": 1000, "hidden_size": 32, "num_layers": 1, "num_heads": 2,
                    "intermediate_size": 64, "max_position_embeddings": 130, "seed": 0,
                    "corpus_seed": 13}}
OFFLINE_DATA = {"source": "offline",
                "offline": {"seed": 13, "train_size": 50, "eval_size": 20, "retrieval_size": 20}}


def _local_model(folder: Path) -> Path:
    """The tiny model's encoder and tokenizer in one folder, as a hub checkout has them."""
    tokenizer_dir, encoder_dir, _ = base_model_reference(OFFLINE)
    shutil.copytree(encoder_dir, folder)
    for item in Path(tokenizer_dir).iterdir():
        shutil.copy(item, folder / item.name)
    return folder


def test_local_model_directory_loads_like_a_hub_checkout(tmp_path):
    local = _local_model(tmp_path / "my-model")
    model_cfg = {"source": "local", "name": str(local), "revision": None}
    tokenizer = load_tokenizer(model_cfg)
    encoder = load_encoder(model_cfg)
    assert tokenizer("Anna sees 3 hats.")["input_ids"][0] == tokenizer.cls_token_id
    assert encoder.config.hidden_size == 32


def test_a_wrapped_checkpoint_loads_its_encoder_through_the_key_map(tmp_path):
    import torch

    architecture = _local_model(tmp_path / "xlmr")
    # M-CLIP's layout: the encoder under `transformer.`, a linear map beside it.
    encoder = load_encoder({"source": "local", "name": str(architecture)})
    torch.manual_seed(1)
    for parameter in encoder.parameters():  # weights the architecture's own do not have
        parameter.data.normal_()
    wrapped = tmp_path / "mclip"
    wrapped.mkdir()
    state = {f"transformer.{key}": value for key, value in encoder.state_dict().items()}
    state["LinearTransformation.weight"] = torch.zeros(8, 32)
    torch.save(state, wrapped / "pytorch_model.bin")
    (wrapped / "config.json").write_text('{"model_type": "M-CLIP"}')
    model_cfg = {"source": "local", "name": str(wrapped), "architecture": str(architecture),
                 "key_map": {"transformer.": ""}}
    loaded = load_encoder(model_cfg)
    for key, value in encoder.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert load_tokenizer(model_cfg)("Anna")["input_ids"][0] == \
        load_tokenizer({"source": "local", "name": str(architecture)})("Anna")["input_ids"][0]
    with pytest.raises(ValueError, match=r"leaves \d+ weight\(s\) .* unset"):
        load_encoder({**model_cfg, "key_map": {"encoder.": ""}})


def test_local_data_directory_uses_the_benchmark_layout(tmp_path):
    root = data_root(OFFLINE_DATA)
    local = tmp_path / "data"
    shutil.copytree(root / "synth_pos", local / "synth_pos")
    examples = load_examples({"source": "local", "path": str(local)}, "synth_pos", "test", "de")
    assert examples == load_examples(OFFLINE_DATA, "synth_pos", "test", "de")
    with pytest.raises(FileNotFoundError, match="task 'synth_pos': no test data for language 'xx'"):
        load_examples({"source": "local", "path": str(local)}, "synth_pos", "test", "xx")


def test_hub_models_need_pinned_revisions_and_datasets_default_to_parquet():
    document = yaml.safe_load(default_spec_path().read_text())
    document.update(intermediate_tasks=["mnli"], target_tasks=["xnli"],
                    retrieval_tasks=["bucc2018"], data={"source": "hub"},
                    model={"source": "hub", "name": "FacebookAI/xlm-roberta-large"})
    document["search"]["target"]["intermediate"] = ["none", "mnli"]
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    message = str(caught.value)
    assert "model.revision: got None; allowed: a pinned hub revision" in message
    # BUCC's hub copies hold only the gold pairs: mining reads the original files.
    assert "data.path: got None; allowed: a directory holding bucc2018/" in message
    assert "data.revisions" not in message  # datasets default to the parquet conversion
    document["model"]["revision"] = "main"
    document["data"] = {"source": "hub", "path": "/data/xtreme", "revisions": {"xnli": "d4c2"}}
    spec = parse_spec(document)
    assert spec.data.revisions["xnli"] == "d4c2"


def test_languages_a_hub_copy_lacks_need_the_local_files():
    """google/xtreme's Tatoeba has XTREME's 36 languages; XTREME-R's Polish is LASER's file."""
    document = {"name": "t", "model": {"source": "hub", "name": "x/y", "revision": "abc"},
                "data": {"source": "hub"}, "target_tasks": ["xnli"],
                "retrieval_tasks": ["tatoeba"], "evaluation": {"languages": ["de", "pl"]}}
    with pytest.raises(SpecError) as caught:
        parse_spec(document)
    assert "data.path: got None; allowed: a directory holding tatoeba/ for task 'tatoeba'" \
        in str(caught.value)
    document["evaluation"]["languages"] = ["de", "fr"]  # both on the hub
    parse_spec(document)
