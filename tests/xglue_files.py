"""A small XGLUE tree in the real archive's layout and formats (`xglue_full_dataset/`), for
the reader, registry and scorer tests: English train files, dev and test files in two
languages of each task, every file format quirk XGLUE's data has (PAWS-X's header and id
column, NC with and without its query column, MNLI's `contradictory`, CoNLL-2003's
`-DOCSTART-`, WPR's queries in runs, one query coming back later)."""

from __future__ import annotations

import json
from pathlib import Path

# (task folder, relative file name) -> text; `{lang}` filled per language.
NER = "-DOCSTART- -X- O O\n\nEU B-ORG\nrejects O\nGerman B-MISC\n\nPeter B-PER\nBlackburn I-PER\n"
POS = "The DET\ncat NOUN\nsat VERB\n\nand CCONJ\nif SCONJ\nwow INTJ\n"
WPR = ("apple\tApple Inc\tThe company\t4\napple\tApple pie\tA recipe\t1\n"
       "apple\tFruit\tA fruit\t2\npear\tPear\tA fruit\t3\napple\tApple TV\tA device\t0\n"
       "plum\tPlum\tA fruit\t2\n")
NC_WITH_QUERY = "q\tTeam wins\tThe match ended\tsports\nq\tNew car\tIt drives\tautos\n"
NC_WITHOUT_QUERY = "Team wins\tThe match ended\tsports\nNew car\tIt drives\tautos\n"


def _squad(language: str) -> dict:
    return {"version": "1.0", "data": [{"title": "t", "paragraphs": [{
        "context": "Anna lives in Bonn.",
        "qas": [{"id": f"{language}-1", "question": "Where does Anna live?",
                 "answers": [{"text": "Bonn", "answer_start": 14}]},
                {"id": f"{language}-2", "question": "Who lives in Bonn?",
                 "answers": [{"text": "Anna", "answer_start": 0}]}]}]}]}


def write_xglue(root: Path, languages: tuple[str, ...] = ("en", "de")) -> Path:
    """Write the tree under `root/xglue_full_dataset`; returns that folder."""
    base = root / "xglue_full_dataset"
    files: dict[str, str] = {
        "NER/en.train": NER, "POS/en.train": POS,
        "XNLI/multinli.train.en.tsv": "premise\thypo\tlabel\nA man\tA person\tentailment\n"
                                      "A dog\tA cat\tcontradictory\n",
        "PAWSX/en/train.tsv": "id\tsentence1\tsentence2\tlabel\n1\tA b\tB a\t0\n2\tC\tC\t1\n",
        "NC/xglue.nc.en.train": NC_WITH_QUERY,
        "QADSM/xglue.qadsm.en.train": "shoes\tBuy shoes\tCheap shoes\tGood\n"
                                      "shoes\tCar\tFast\tBad\n",
        "WPR/xglue.wpr.en.train": WPR,
        "QAM/xglue.qam.en.train": "Who?\tAnna did.\t1\nWho?\tIt rains.\t0\n",
    }
    for language in languages:
        for split in ("dev", "test"):
            files[f"NER/{language}.{split}"] = NER
            files[f"POS/{language}.{split}"] = POS
            files[f"XNLI/{language}.{split}"] = ("A man\tA person\tentailment\n"
                                                  "A dog\tA cat\tcontradiction\n"
                                                  "A cat\tAn animal\tneutral\n")
            files[f"PAWSX/{language}/{split}_2k.tsv"] = (
                "id\tsentence1\tsentence2\tlabel\n1\tA b\tB a\t0\n2\tC\tC\t1\n3\tD\tD e\t0\n")
            files[f"NC/xglue.nc.{language}.{split}"] = (
                NC_WITH_QUERY if language == "en" else NC_WITHOUT_QUERY)
            files[f"QADSM/xglue.qadsm.{language}.{split}"] = (
                "shoes\tBuy shoes\tCheap shoes\tGood\nshoes\tCar\tFast\tBad\n")
            files[f"WPR/xglue.wpr.{language}.{split}"] = WPR
            files[f"QAM/xglue.qam.{language}.{split}"] = "Who?\tAnna did.\t1\nWho?\tIt rains.\t0\n"
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (base / "MLQA/squad1.1").mkdir(parents=True, exist_ok=True)
    (base / "MLQA/squad1.1/train-v1.1.json").write_text(json.dumps(_squad("train")))
    for language in languages:
        for split in ("dev", "test"):
            folder = base / "MLQA/MLQA_V1" / split
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{split}-context-{language}-question-{language}.json").write_text(
                json.dumps(_squad(language)), encoding="utf-8")
    return base
