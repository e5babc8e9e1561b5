"""Readers for the original file formats the XTREME tasks are distributed in.

Each returns examples with the field names the task families use, so real files (for
example `../shared/data/`, an LDC copy of CCGbank, or BUCC's own archives) and the offline
benchmark's JSONL go through the same code after this point.
"""

from __future__ import annotations

import json
import re
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_squad_json(path: Path) -> list[dict]:
    """SQuAD v1.1/v2.0 JSON (XQuAD, MLQA, TyDiQA-GoldP files) -> one example per question,
    shaped like the hub's: id, title, context, question, answers {text, answer_start}."""
    document = json.loads(path.read_text(encoding="utf-8"))
    examples = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                examples.append({
                    "id": qa["id"], "title": article.get("title", ""),
                    "context": paragraph["context"], "question": qa["question"],
                    "answers": {"text": [a["text"] for a in answers],
                                "answer_start": [int(a["answer_start"]) for a in answers]},
                })
    return examples


def read_conllu(path: Path) -> list[dict]:
    """CoNLL-U -> {tokens, tags} per sentence: FORM and UPOS of the ordinary token lines, as
    XTREME reads them (multi-word token ranges like 3-4 and empty nodes like 5.1 skipped)."""
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if tokens:
                sentences.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if "-" in columns[0] or "." in columns[0]:
            continue
        tokens.append(columns[1])
        tags.append(columns[3])
    if tokens:
        sentences.append({"tokens": tokens, "tags": tags})
    return sentences


def _lines(path: Path) -> list[str]:
    # Only the line break goes: the sentences themselves are compared as given.
    return [line.rstrip("\r\n") for line in path.open(encoding="utf-8")]


def read_laser_tatoeba(stem: Path) -> list[dict]:
    """LASER's Tatoeba test files `tatoeba.<code>-eng.<code>` and `tatoeba.<code>-eng.eng`
    (given as the stem `tatoeba.<code>-eng`; line i of one translates line i of the other)
    -> {english, other} pairs."""
    code = stem.name.split(".")[1].split("-")[0]
    other = _lines(stem.with_name(f"{stem.name}.{code}"))
    english = _lines(stem.with_name(f"{stem.name}.eng"))
    if len(other) != len(english):
        raise ValueError(f"{stem}.*: {len(other)} {code} lines but {len(english)} eng lines; "
                         "the files must be parallel")
    return [{"english": e, "other": o} for e, o in zip(english, other, strict=True)]


def read_bucc(stem: Path) -> list[dict]:
    """BUCC 2018 mining files, given as the stem `<lang>-en.<split>`: `.<lang>` and `.en`
    (`id<TAB>sentence`) and `.gold` (`<lang> id<TAB>en id`) -> the sentences of each side and
    the gold pairs: {side: other|english, id, sentence} and {side: gold, other_id, english_id}."""
    language = stem.name.split("-")[0]
    records = []
    for side, suffix in (("other", language), ("english", "en")):
        for line in _lines(stem.with_name(f"{stem.name}.{suffix}")):
            if line:
                identifier, sentence = line.split("\t", 1)
                records.append({"side": side, "id": identifier, "sentence": sentence})
    gold = stem.with_name(f"{stem.name}.gold")
    for line in _lines(gold) if gold.exists() else []:
        if line:
            other_id, english_id = line.split("\t")
            records.append({"side": "gold", "other_id": other_id, "english_id": english_id})
    return records


# A leaf of a CCGbank AUTO derivation: <L category modified-POS original-POS word pred-arg-cat>.
_CCG_LEAF = re.compile(r"<L (\S+) (\S+) (\S+) (\S+) (\S+)>")
# Penn Treebank escapes in CCGbank's words; the encoder's tokenizer knows the characters.
_PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{",
                "-RCB-": "}"}


def read_ccgbank_auto(path: Path) -> list[dict]:
    """A CCGbank AUTO file (`ID=wsj_0001.1 ...` lines, each followed by its derivation) ->
    {id, tokens, tags} per sentence: the words and lexical categories (supertags) of the
    derivation's leaves, in order."""
    sentences, identifier = [], None
    for number, line in enumerate(_lines(path), 1):
        if line.startswith("ID="):
            identifier = line.split()[0][len("ID="):]
        elif line.startswith("("):
            leaves = _CCG_LEAF.findall(line)
            if identifier is None or not leaves:
                raise ValueError(f"{path}:{number}: a derivation without an ID line before it "
                                 "or without <L ...> leaves; expected CCGbank's AUTO format")
            sentences.append({"id": identifier,
                              "tokens": [_PTB_ESCAPES.get(leaf[3], leaf[3]) for leaf in leaves],
                              "tags": [leaf[0] for leaf in leaves]})
            identifier = None
    return sentences


READERS = {"jsonl": read_jsonl, "squad_json": read_squad_json, "conllu": read_conllu,
           "laser_tatoeba": read_laser_tatoeba, "bucc": read_bucc,
           "ccgbank_auto": read_ccgbank_auto}
