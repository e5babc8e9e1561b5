"""Readers for the original file formats the XTREME tasks are distributed in.

Each returns examples with the field names the task families use, so real files (for
example `../shared/data/`, an LDC copy of CCGbank, or BUCC's own archives) and the offline
benchmark's JSONL go through the same code after this point.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from trainables.sentence_breaks import infer_sentence_breaks


def read_jsonl(path: Path) -> list[dict]:
    """One JSON object per line (blank lines skipped); a bad line is named by number."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg} at column "
                                 f"{error.colno})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: got a JSON {type(record).__name__}; "
                                 "allowed: one JSON object per line")
            records.append(record)
    return records


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


# -- image captions (the image_text_contrastive family) ---------------------------------------
# Every reader below returns one example per caption: {id, caption, image_id}, the image id
# being what the task's image embeddings are keyed by (`trainables.images`).


def read_karpathy_json(path: Path) -> list[dict]:
    """Karpathy's split file (`dataset_coco.json`, `dataset_flickr30k.json`: every split in
    one file) -> {id, caption, image_id, split} per sentence: the sentence's `sentid`, its
    `raw` text stripped, the image's `cocoid` (COCO) or its file name's stem (Flickr30k's
    `1000092795.jpg` -> `1000092795`), and the image's split (train, restval, val, test)."""
    try:
        images = json.loads(path.read_text(encoding="utf-8"))["images"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not Karpathy's split JSON ({error!r}); expected "
                         '{"images": [...], "dataset": ...}') from error
    examples = []
    for index, image in enumerate(images):
        try:
            image_id = (str(image["cocoid"]) if "cocoid" in image
                        else PurePosixPath(image["filename"]).stem)
            examples += [{"id": str(sentence["sentid"]), "caption": sentence["raw"].strip(),
                          "image_id": image_id, "split": image["split"]}
                         for sentence in image["sentences"]]
        except (KeyError, TypeError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}: image {index}: {problem}; expected Karpathy's "
                             "{filename, split, sentences: [{raw, sentid}]}") from error
    return examples


def read_iglue_captions(path: Path) -> list[dict]:
    """IGLUE's retrieval annotations (xFlickr&CO's `annotations/<lang>/test.jsonl` and
    `train_<n>.jsonl`, Flickr30k's `*_ann.jsonl`): one JSON object per image,
    {sentences: [caption, ...], id, img_path} -> {id: `<image id>#<i>`, caption, image_id}
    per sentence.

    The image id is `img_path`'s file stem: `1007129816` for Flickr's `1007129816.jpg`,
    `COCO_val2014_000000391895` for COCO's. IGLUE keys xFlickr&CO's image features by
    `img_path` too; `id` is not used: it is a string for Flickr images and COCO's bare
    number (an int) for COCO images, which can collide with a Flickr photo id.
    """
    records = read_jsonl(path)  # names a line that is not a JSON object
    # read_jsonl skips blank lines: each record's line number, for the messages below
    numbers = [number for number, line in enumerate(path.open(encoding="utf-8"), 1)
               if line.strip()]
    examples = []
    for number, record in zip(numbers, records, strict=True):
        try:
            image_id = PurePosixPath(record["img_path"]).stem
            sentences = record["sentences"]
            if not isinstance(sentences, list) or not image_id:
                raise TypeError("sentences must be a list of captions and img_path a file name")
            examples += [{"id": f"{image_id}#{index}", "caption": sentence.strip(),
                          "image_id": image_id} for index, sentence in enumerate(sentences)]
        except (KeyError, TypeError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise ValueError(f"{path}:{number}: {problem}; expected IGLUE's "
                             "{sentences: [...], id, img_path}") from error
    return examples


# -- visual entailment and visual reasoning (the vl_late_fusion family) -------------------------
# One example per line, with the ids of its images (`Task.image_fields`) as the task's image
# embeddings key them: each image's file stem, qualified by the language where images of
# several languages share stems (MaRVL's).


def _numbered(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) of each JSON object of a JSONL file (read_jsonl's checks)."""
    records = read_jsonl(path)
    numbers = [number for number, line in enumerate(path.open(encoding="utf-8"), 1)
               if line.strip()]
    return list(zip(numbers, records, strict=True))


def read_snli_ve(path: Path) -> list[dict]:
    """SNLI-VE's `snli_ve_<split>.jsonl` and IGLUE's XVNLI `annotations/<lang>/<split>.jsonl`:
    {gold_label, sentence1, sentence2, captionID, pairID, Flikr30kID} (the spelling
    `Flikr30kID` is the files' own) -> {id: pairID, hypothesis: sentence2, premise: sentence1
    (the Flickr30k caption the hypothesis was written for; the image is the premise), label,
    image_id, caption_id}.

    The image id is Flikr30kID's file stem: `759822302` for SNLI-VE's `759822302.jpg` and for
    XVNLI's `759822302`, as Flickr30k's file names and Karpathy's split say it. Pairs whose
    gold label is `-` (no majority; 14 of each XVNLI test set's 1,164) are dropped: they have
    no label to learn or score (IGLUE's volta counts them wrong for every model, so its
    accuracy is ours times 1,150 / 1,164 on XVNLI's test sets).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            label = record["gold_label"]
            image_id = PurePosixPath(str(record["Flikr30kID"])).stem
            example = {"id": str(record["pairID"]), "hypothesis": record["sentence2"].strip(),
                       "premise": record["sentence1"].strip(), "label": label,
                       "image_id": image_id, "caption_id": str(record["captionID"])}
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected SNLI-VE's {{gold_label, "
                             "sentence1, sentence2, captionID, pairID, Flikr30kID}") from error
        if not image_id:
            raise ValueError(f"{path}:{number}: an empty Flikr30kID")
        if label != "-":
            examples.append(example)
    return examples


_NLVR2_LABELS = {"True": "True", "False": "False", True: "True", False: "False"}


def _nlvr2_label(value, path: Path, number: int) -> str:
    try:
        return _NLVR2_LABELS[value]
    except (KeyError, TypeError):
        raise ValueError(f"{path}:{number}: label {value!r}; allowed: True, False") from None


def read_nlvr2(path: Path) -> list[dict]:
    """NLVR2's `{train,dev,test1}.json` (JSON lines; IGLUE ships them as
    `nlvr2/annotations/{train,dev,test}.jsonl`): {sentence, label "True"/"False", identifier,
    left_url, right_url, writer, synset, query, validation, extra_validations} -> {id:
    identifier, sentence, label ("True"/"False"), left_image, right_image}.

    The image ids are the stems of NLVR2's image files, which the identifier names: pair
    `dev-850-0-0` (sentence 0 of image pair `dev-850-0`) shows `dev-850-0-img0.png` on the
    left and `dev-850-0-img1.png` on the right (as volta's NLVR2 loader keys its features).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            identifier = str(record["identifier"])
            pair = identifier.rsplit("-", 1)[0]
            if pair == identifier:
                raise ValueError(f"{path}:{number}: identifier {identifier!r} is not "
                                 "<split>-<set>-<pair>-<sentence>")
            examples.append({"id": identifier, "sentence": record["sentence"].strip(),
                             "label": _nlvr2_label(record["label"], path, number),
                             "left_image": f"{pair}-img0", "right_image": f"{pair}-img1"})
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected NLVR2's {{sentence, label, "
                             "identifier, ...}") from error
    return examples


def read_marvl(path: Path) -> list[dict]:
    """MaRVL's `marvl-<lang>.jsonl` (IGLUE's `marvl/zero_shot/annotations/`): {concept,
    language, caption, left_img, right_img, annotator_info, chapter, id, label: bool} ->
    {id, sentence: caption, label ("True"/"False"), left_image, right_image, language,
    concept, chapter}.

    Image ids are `<language>/<file stem>` (`id/39-0` for Indonesian's `39-0.jpg`): MaRVL
    numbers each language's concepts on its own, so the same file names hold other pictures
    in another language (IGLUE extracts features per language, keyed by the stem).
    """
    examples = []
    for number, record in _numbered(path):
        try:
            language = str(record["language"])
            images = [f"{language}/{PurePosixPath(str(record[side])).stem}"
                      for side in ("left_img", "right_img")]
            examples.append({"id": str(record["id"]), "sentence": record["caption"].strip(),
                             "label": _nlvr2_label(record["label"], path, number),
                             "left_image": images[0], "right_image": images[1],
                             "language": language, "concept": record.get("concept"),
                             "chapter": record.get("chapter")})
        except (KeyError, AttributeError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else repr(error)
            raise ValueError(f"{path}:{number}: {problem}; expected MaRVL's {{caption, "
                             "language, left_img, right_img, id, label, ...}") from error
    return examples


READERS = {"jsonl": read_jsonl, "squad_json": read_squad_json, "conllu": read_conllu,
           "laser_tatoeba": read_laser_tatoeba, "bucc": read_bucc,
           "ccgbank_auto": read_ccgbank_auto, "lareqa_json": read_lareqa_json,
           "mewsli_x": read_mewsli_x, "tsv": read_tsv,
           "xglue_conll": read_xglue_conll, "karpathy_json": read_karpathy_json,
           "iglue_captions": read_iglue_captions, "snli_ve": read_snli_ve,
           "nlvr2": read_nlvr2, "marvl": read_marvl}
