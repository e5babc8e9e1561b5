"""seqeval 0.0.12 chunk scores (PAN-X NER, UD-POS): ``seqeval/metrics/sequence_labeling.py``."""

from __future__ import annotations

from collections.abc import Sequence

from trainables.metrics._common import _check_lengths


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``end_of_chunk``: did a chunk end before the current token?"""
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval 0.0.12 ``start_of_chunk``: does a chunk start at the current token?"""
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(seq: Sequence[str] | Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """Chunks ``(type, first, last)`` of a tag sequence, exactly as seqeval 0.0.12 finds them.

    A tag's prefix is its *first character* and its type the part after the last "-": "B-PER"
    is (B, PER), but a plain POS tag "NOUN" is (N, NOUN). So a run of one POS tag is one chunk,
    except for tags starting with S (SCONJ, SYM: "S" = single) or B/E/I/O, which follow the IOBES
    rules of their first letter. A list of sentences is flattened with an "O" after each one,
    and positions count in that flat list.
    """
    if all(isinstance(s, str) for s in seq):
        flat = list(seq)
    elif any(isinstance(s, str) for s in seq):
        raise ValueError("expected a list of tags or a list of sentences, not a mixture")
    else:
        flat = [tag for sentence in seq for tag in [*sentence, "O"]]

    prev_tag, prev_type = "O", ""
    begin = 0
    chunks: list[tuple[str, int, int]] = []
    for i, chunk in enumerate([*flat, "O"]):
        if not isinstance(chunk, str) or not chunk:
            raise ValueError(f"tag {i} must be a non-empty string, got {chunk!r}")
        tag, type_ = chunk[0], chunk.split("-")[-1]
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def seqeval_scores(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """seqeval 0.0.12 micro chunk ``{"f1", "precision", "recall"}`` in percent, as xtreme's
    ``evaluate.f1`` reports them for PAN-X and UD-POS. Both arguments are lists of sentences,
    which must have the same number of sentences and of tags per sentence."""
    _check_lengths(predictions, references, "predicted sentences", "reference sentences")
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        if isinstance(pred, str) or isinstance(ref, str):
            raise ValueError(f"sentence {i}: expected a list of tags, got a string")
        _check_lengths(pred, ref, f"sentence {i}: predicted tags", "reference tags")
    true_entities = set(get_entities(references))
    pred_entities = set(get_entities(predictions))
    nb_correct = len(true_entities & pred_entities)
    nb_pred, nb_true = len(pred_entities), len(true_entities)
    p = nb_correct / nb_pred if nb_pred > 0 else 0
    r = nb_correct / nb_true if nb_true > 0 else 0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0
    return {"f1": float(f1 * 100), "precision": float(p * 100), "recall": float(r * 100)}
