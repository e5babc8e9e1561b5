"""Readers for the original file formats the XTREME tasks are distributed in.

Each returns examples with the field names the task families use, so real files (for
example `../shared/data/`, an LDC copy of CCGbank, or BUCC's own archives) and the offline
benchmark's JSONL go through the same code after this point. The vision-language datasets'
readers live in `trainables.vision_readers`; READERS holds every reader by format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from trainables.jsonl import read_jsonl
from trainables.sentence_breaks import infer_sentence_breaks
from trainables.vision_readers import VISION_READERS


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


CONLLU_COLUMNS = 10


def read_conllu(path: Path) -> list[dict]:
    """CoNLL-U -> {tokens, tags} per sentence: FORM and UPOS of the ordinary token lines, as
    XTREME reads them (multi-word token ranges like 3-4 and empty nodes like 5.1 skipped)."""
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if tokens:
                sentences.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != CONLLU_COLUMNS:
            raise ValueError(f"{path}:{number}: got {len(columns)} tab-separated columns; "
                             f"allowed: CoNLL-U's {CONLLU_COLUMNS} (ID FORM LEMMA UPOS XPOS "
                             "FEATS HEAD DEPREL DEPS MISC), or a comment or blank line")
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
        path = stem.with_name(f"{stem.name}.{suffix}")
        for number, line in enumerate(_lines(path), 1):
            if line:
                if "\t" not in line:
                    raise ValueError(f"{path}:{number}: no tab; allowed: id<TAB>sentence")
                identifier, sentence = line.split("\t", 1)
                records.append({"side": side, "id": identifier, "sentence": sentence})
    gold = stem.with_name(f"{stem.name}.gold")
    for number, line in enumerate(_lines(gold) if gold.exists() else [], 1):
        if line:
            columns = line.split("\t")
            if len(columns) != 2:
                raise ValueError(f"{gold}:{number}: got {len(columns)} tab-separated columns; "
                                 f"allowed: {language} id<TAB>en id")
            other_id, english_id = columns
            records.append({"side": "gold", "other_id": other_id, "english_id": english_id})
    return records


def read_tsv(path: Path, columns: tuple[str, ...], label_aliases: dict[str, str] | None = None,
             header: bool | None = None) -> list[dict]:
    """A tab-separated file -> one example per line, its last `len(columns)` fields named by
    `columns` (label last), as XGLUE's scorer reads the label from the last field: XGLUE's
    NC files come with and without a leading query column, PAWS-X's with a leading id, and
    XTREME's translations with the English originals first. `header`: whether the first
    line is a header; None: a `.tsv` file's is (XGLUE's PAWS-X and MNLI files, as the
    datasets script reads them). A blank line inside the file is an error: XGLUE's scorer
    pairs line i of a prediction file with line i of the labels."""
    lines = _lines(path)
    first = 2 if (path.suffix == ".tsv" if header is None else header) else 1
    while lines and not lines[-1].strip():
        lines.pop()
    examples = []
    for number, line in enumerate(lines[first - 1:], first):
        fields = line.split("\t")
        if not line.strip() or len(fields) < len(columns):
            got = "a blank line" if not line.strip() else f"{len(fields)} tab-separated fields"
            raise ValueError(f"{path}:{number}: got {got}; expected {len(columns)} "
                             f"({', '.join(columns)}); XGLUE test files released before their "
                             "labels (2020-11-26) lack the label column")
        example = dict(zip(columns, (field.strip() for field in fields[-len(columns):]),
                           strict=True))
        label = example[columns[-1]]
        example[columns[-1]] = (label_aliases or {}).get(label, label)
        examples.append(example)
    return examples


def read_xglue_conll(path: Path) -> list[dict]:
    """XGLUE's NER and POS files (`word label` per line, a blank line between sentences,
    CoNLL-2003's `-DOCSTART-` lines as breaks) -> {tokens, tags}: the first field the word,
    the last the tag, as XGLUE's scorer reads them."""
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(_lines(path), 1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: got {line!r}; expected `word label`")
        tokens.append(fields[0])
        tags.append(fields[-1])
    if tokens:
        sentences.append({"tokens": tokens, "tags": tags})
    return sentences


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


# -- retrieval with relevance judgements (the dual_encoder family) ----------------------------
# Every reader below returns queries {side: query, id, query, match} and candidates
# {side: candidate, key, candidate, matches}: a candidate is relevant to a query when the
# query's `match` is one of the candidate's `matches`.


def read_lareqa_json(path: Path) -> list[dict]:
    """SQuAD-format JSON as LAReQA reads it (XQuAD-R's `xquad-r/<lang>.json`; SQuAD v1.1 for
    training) -> a query per question and a candidate per sentence: the sentence followed by
    its paragraph, newlines removed.

    Sentences are the paragraph's `sentence_breaks` (XQuAD-R), else XTREME-R's breaker's
    (SQuAD). A question's answer sentence holds its first answer's start; the question
    matches every sentence of its paragraph with that text (and, by its id, the answer
    sentences of the other languages). Questions without an answer, or whose answer starts
    between sentences, are skipped, as in XTREME-R.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        paragraphs = [paragraph for article in document["data"]
                      for paragraph in article["paragraphs"]]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not SQuAD-format JSON ({error!r})") from error
    queries, candidates = [], []
    for number, paragraph in enumerate(paragraphs):
        try:
            context = paragraph["context"]
            breaks = paragraph.get("sentence_breaks") or list(infer_sentence_breaks(context))
            sentences = [context[start:end] for start, end in breaks]
            matches: list[list[str]] = [[] for _ in sentences]
            for qa in paragraph["qas"]:
                if not qa["answers"]:
                    continue
                answer_start = int(qa["answers"][0]["answer_start"])
                answer = next((context[start:end] for start, end in breaks
                               if start <= answer_start < end), None)
                if answer is None:
                    continue
                for position, sentence in enumerate(sentences):
                    if sentence == answer:
                        matches[position].append(qa["id"])
                queries.append({"side": "query", "id": qa["id"], "query": qa["question"],
                                "match": qa["id"]})
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: paragraph {number}: not SQuAD-format ({error!r})") \
                from error
        candidates += [
            {"side": "candidate", "key": f"{path.stem}_{number}_{position}",
             "candidate": (sentence + context).replace("\n", ""), "matches": matches[position]}
            for position, sentence in enumerate(sentences)]
    return queries + candidates


_MEWSLI_MARKERS = re.compile(r"\{(.*?)\}")


def _single_spaced(text: str) -> str:
    # Mewsli-X's normalisation: lines joined by spaces, one pass of "  " -> " ", stripped.
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mewsli_mention_text(context: dict, mention: dict) -> str | None:
    """XTREME-R's query for a Mewsli-X mention: the mention, ": ", and the one sentence that
    holds it with the mention in braces (braces already there become parentheses). None where
    the mention lies in no single sentence."""
    start, end = mention["mention_span"]["start"], mention["mention_span"]["end"]
    sentence = next((span for span in context["sentence_spans"]
                     if span["start"] <= start < span["end"]
                     and span["start"] < end <= span["end"]), None)
    if sentence is None:
        return None
    text = context["text"]
    left = _MEWSLI_MARKERS.sub(r"(\1)", text[sentence["start"]:start])
    right = _MEWSLI_MARKERS.sub(r"(\1)", text[end:sentence["end"]])
    surface = mention["mention_span"]["text"]
    return _single_spaced(f"{surface}: {left} {{ {surface} }} {right}")


def mewsli_entity_text(entity: dict) -> str:
    """XTREME-R's candidate for a Mewsli-X entity: its description sentences, space-joined
    (not its title)."""
    description = entity["description"]
    return _single_spaced(" ".join(description[span["start"]:span["end"]]
                                   for span in entity["sentence_spans"]))


def read_mewsli_x(path: Path) -> list[dict]:
    """Mewsli-X JSONL, any of its three files: WikiNews articles with their mentions
    (`wikinews_mentions-<split>.jsonl`: one query per mention, with the article's `language`),
    Wikipedia mention-entity pairs (`wikipedia_pairs-<split>.jsonl`: a query and its entity)
    or the entities (`candidate_set_entities.jsonl`). An entity's key is its WikiData QID."""
    records = []

    def candidate(entity: dict) -> dict:
        return {"side": "candidate", "key": entity["entity_id"],
                "candidate": mewsli_entity_text(entity), "matches": [entity["entity_id"]]}

    def query(context: dict, mention: dict) -> dict:
        span = mention["mention_span"]
        if context["text"][span["start"]:span["end"]] != span["text"]:
            raise ValueError(f"mention {mention['example_id']}: its span does not match its "
                             "context's text (WikiNews text not restored?)")
        text = mewsli_mention_text(context, mention)
        if text is None:
            raise ValueError(f"mention {mention['example_id']} lies in no single sentence")
        return {"side": "query", "id": mention["example_id"], "query": text,
                "match": mention["entity_id"], "language": context["language"]}

    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "mentions" in record:
                records += [query(record["context"], mention) for mention in record["mentions"]]
            elif "contextual_mention" in record:
                pair = record["contextual_mention"]
                records += [query(pair["context"], pair["mention"]),
                            candidate(record["entity"])]
            elif "entity_id" in record:
                records.append(candidate(record))
            else:
                raise ValueError("neither an article with mentions, a mention-entity pair nor "
                                 "an entity")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise ValueError(f"{path}:{number}: {problem}; expected Mewsli-X JSONL") from error
    return records


READERS = {"jsonl": read_jsonl, "squad_json": read_squad_json, "conllu": read_conllu,
           "laser_tatoeba": read_laser_tatoeba, "bucc": read_bucc,
           "ccgbank_auto": read_ccgbank_auto, "lareqa_json": read_lareqa_json,
           "mewsli_x": read_mewsli_x, "tsv": read_tsv,
           "xglue_conll": read_xglue_conll, **VISION_READERS}
