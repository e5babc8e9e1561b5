"""CCG supertagging: CCGbank's AUTO files, a label set read from the data, checkpoints that
keep the label order their head was trained with."""

from __future__ import annotations

from pathlib import Path

import pytest
from small import TINY_MODEL

from trainables.data import load_examples, local_files, task_with_labels
from trainables.families import get_family
from trainables.families.base import label_index
from trainables.readers import read_ccgbank_auto
from trainables.tasks import get_task

# Two sentences written the way CCGbank 1.1 writes them: an ID line, then the derivation on
# one line, leaves as <L category modified-POS original-POS word predicate-argument-category>.
AUTO = "\n".join([
    "ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1",
    r"(<T S[dcl] 0 2> (<T NP 0 1> (<T N 1 2> (<L N/N NNP NNP Pierre N_73/N_73>) "
    r"(<L N NNP NNP Vinken N>) ) ) (<T S[dcl]\NP 0 2> "
    r"(<L (S[dcl]\NP)/NP VBD VBD joined (S[dcl]\NP_10)/NP_11>) "
    r"(<T NP 0 1> (<L N NNS NNS boards N>) ) ) )",
    "ID=wsj_0001.2 PARSER=GOLD NUMPARSE=1",
    r"(<T S[dcl] 0 2> (<L -LRB- -LRB- -LRB- -LRB- LRB>) (<T S[dcl] 0 2> "
    r"(<T NP 0 1> (<L N NNP NNP Vinken N>) ) (<T S[dcl]\NP 0 2> "
    r"(<L (S[dcl]\NP)/NP VBZ VBZ chairs (S[dcl]\NP_1)/NP_2>) "
    r"(<L -RRB- -RRB- -RRB- -RRB- RRB>) ) ) )",
    "",
])

CCG_DATA = {"source": "local"}


def write_ccgbank(root: Path) -> None:
    """A CCGbank-shaped tree: sections 02-21 (train), 00 (dev), 23 (test), a file each."""
    for section in [f"{number:02d}" for number in range(2, 22)] + ["00", "23"]:
        folder = root / "ccgbank" / "data" / "AUTO" / section
        folder.mkdir(parents=True)
        text = AUTO.replace("wsj_0001", f"wsj_{section}01")
        if section == "21":  # a category seen only in section 21
            text = text.replace("(S[dcl]\\NP)/NP VBZ", "(S[dcl]\\NP)/PP VBZ")
        (folder / f"wsj_{section}01.auto").write_text(text, encoding="utf-8")


def test_auto_reader_reads_leaves_in_order(tmp_path):
    path = tmp_path / "wsj_0001.auto"
    path.write_text(AUTO, encoding="utf-8")
    first, second = read_ccgbank_auto(path)
    assert first == {"id": "wsj_0001.1", "tokens": ["Pierre", "Vinken", "joined", "boards"],
                     "tags": ["N/N", "N", r"(S[dcl]\NP)/NP", "N"]}
    # Penn Treebank bracket escapes become the brackets; their categories stay as written.
    assert second["tokens"] == ["(", "Vinken", "chairs", ")"]
    assert second["tags"] == ["-LRB-", "N", r"(S[dcl]\NP)/NP", "-RRB-"]


def test_auto_reader_names_the_line_of_a_malformed_file(tmp_path):
    path = tmp_path / "broken.auto"
    path.write_text("(<T S 0 2> no leaves here )\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken.auto:1: .*AUTO format"):
        read_ccgbank_auto(path)


def test_ccg_reads_the_standard_sections(tmp_path):
    write_ccgbank(tmp_path)
    data = {**CCG_DATA, "path": str(tmp_path)}
    train = local_files(data, "ccg", "train", "en")
    assert [path.parent.name for path in train] == [f"{n:02d}" for n in range(2, 22)]
    assert [path.parent.name for path in local_files(data, "ccg", "dev", "en")] == ["00"]
    assert len(load_examples(data, "ccg", "train", "en")) == 2 * 20
    # Every training section must be there: an incomplete copy is an error, not less data.
    for path in (tmp_path / "ccgbank" / "data" / "AUTO" / "13").iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match=r"AUTO/13/\*\.auto matches nothing"):
        local_files(data, "ccg", "train", "en")


def test_labels_come_from_every_split_sorted(tmp_path):
    write_ccgbank(tmp_path)
    task = task_with_labels({**CCG_DATA, "path": str(tmp_path)}, "ccg")
    assert get_task("ccg").labels == ()  # the registry leaves them to the data
    assert task.labels == ("(S[dcl]\\NP)/NP", "(S[dcl]\\NP)/PP", "-LRB-", "-RRB-", "N", "N/N")
    assert label_index(task, "N") == 4
    with pytest.raises(ValueError, match=r"label 'S/S' is not one of its 6 labels"):
        label_index(task, "S/S")
    # Tasks with a fixed label list are returned as registered.
    assert task_with_labels(CCG_DATA, "udpos") is get_task("udpos")


def test_checkpoint_keeps_the_label_order_of_its_head(tmp_path):
    from trainables.model import (
        MultiTaskModel,
        load_checkpoint,
        load_encoder,
        load_tokenizer,
        read_meta,
        save_checkpoint,
    )
    from trainables.offline.benchmark import generate_benchmark

    tiny = TINY_MODEL
    root = generate_benchmark(tmp_path / "bench", train_size=40, eval_size=10,
                              retrieval_size=10, corpus_size=10)
    data = {"source": "local", "path": str(root)}
    task = task_with_labels(data, "synth_ccg")
    assert len(task.labels) == 7 and r"(NP\NP)/NP" in task.labels

    examples = load_examples(data, "synth_ccg", "dev", "en")
    family = get_family(task.family)
    features = family.featurize(task, examples, load_tokenizer(tiny), max_length=64)
    assert all(max(feature["labels"]) < task.num_labels for feature in features)

    model = MultiTaskModel(load_encoder(tiny), [task, get_task("synth_nli")])
    assert model.heads["synth_ccg"].classifier.out_features == 7
    save_checkpoint(model, tmp_path / "checkpoint", {"group": "test"})
    assert read_meta(tmp_path / "checkpoint")["labels"]["synth_ccg"] == list(task.labels)
    restored = load_checkpoint(tiny, tmp_path / "checkpoint")
    assert restored.tasks["synth_ccg"].labels == task.labels
    assert restored.tasks["synth_nli"].labels == get_task("synth_nli").labels


def test_preflight_asks_for_every_split_the_label_set_is_read_from(tmp_path):
    from sweep.preflight import PreflightError, check_sources
    from sweep.spec import parse_spec

    write_ccgbank(tmp_path)
    spec = parse_spec({"name": "ccg", "model": TINY_MODEL, "intermediate_tasks": ["ccg"],
                       "target_tasks": ["udpos"],
                       "data": {"source": "local", "path": str(tmp_path)},
                       "evaluation": {"languages": ["en"]}})
    for path in (tmp_path / "ccgbank" / "data" / "AUTO" / "23").iterdir():
        path.unlink()  # the test section: never trained or evaluated on, but labels come from it
    with pytest.raises(PreflightError) as refused:
        check_sources(spec)
    assert "task 'ccg': no test data for language 'en'" in str(refused.value)
    assert "AUTO/23/*.auto matches nothing" in str(refused.value)
