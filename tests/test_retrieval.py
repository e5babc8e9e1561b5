"""BUCC mining end to end on files in BUCC 2018's own format, with a stand-in encoder."""

from __future__ import annotations

import numpy as np
import pytest

from trainables.evaluation import bucc_mining


def write_bucc(folder, split, pairs, other_only, english_only):
    """`de-en.<split>.{de,en,gold}`: translation pairs plus sentences with no translation."""
    other, english, gold = [], [], []
    for index, (de, en) in enumerate(pairs):
        other.append((f"de-{split}-{index}", de))
        english.append((f"en-{split}-{index}", en))
        gold.append((f"de-{split}-{index}", f"en-{split}-{index}"))
    other += [(f"de-{split}-x{i}", text) for i, text in enumerate(other_only)]
    english += [(f"en-{split}-x{i}", text) for i, text in enumerate(english_only)]
    stem = folder / f"de-en.{split}"
    for suffix, lines in (("de", other), ("en", english), ("gold", gold)):
        rows = lines if suffix != "gold" else gold
        (folder / f"{stem.name}.{suffix}").write_text(
            "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")


# A sentence's "meaning" is its number; translations share it, so a perfect encoder embeds
# them alike and distractors (unique numbers) have no partner.
def meaning_encoder(dimensions: int = 64):
    def encode(sentences: list[str]) -> np.ndarray:
        vectors = np.zeros((len(sentences), dimensions), dtype="float32")
        for row, sentence in enumerate(sentences):
            number = int("".join(ch for ch in sentence if ch.isdigit()))
            rng = np.random.default_rng(number)
            vectors[row] = rng.normal(size=dimensions)
        return vectors
    return encode


@pytest.fixture
def bucc_data(tmp_path):
    folder = tmp_path / "bucc2018"
    folder.mkdir()
    write_bucc(folder, "sample", [(f"Haus {n}", f"house {n}") for n in range(10)],
               [f"Baum {n}" for n in range(100, 105)], [f"tree {n}" for n in range(200, 206)])
    # Test: one English sentence appears twice (two ids, same text), as in real BUCC.
    write_bucc(folder, "training", [(f"Auto {n}", f"car {n}") for n in range(20, 32)],
               [f"Hund {n}" for n in range(300, 304)], [f"dog {n}" for n in range(400, 403)])
    with (folder / "de-en.training.en").open("a", encoding="utf-8") as handle:
        handle.write("en-training-dup\tcar 20\n")
    with (folder / "de-en.training.gold").open("a", encoding="utf-8") as handle:
        handle.write("de-training-0\ten-training-dup\n")
    return {"source": "local", "path": str(tmp_path)}


def test_perfect_embeddings_mine_every_gold_pair(bucc_data):
    metrics, records = bucc_mining(meaning_encoder(), bucc_data, "bucc2018", "de")
    assert len(records) == 12 + 4  # German sentences of the test split, one record each
    assert all(record["prediction"] == record["gold"] for record in records)
    assert metrics["f1"] == 100.0 and metrics["precision"] == 100.0
    assert metrics["threshold"] > 1.0  # margin ratio: a translation beats its neighbours


def test_a_useless_encoder_mines_little(bucc_data):
    def constant(sentences):
        return np.ones((len(sentences), 8), dtype="float32")

    metrics, _ = bucc_mining(constant, bucc_data, "bucc2018", "de")
    assert metrics["f1"] < 50.0
