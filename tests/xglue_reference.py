"""A COPY of microsoft/XGLUE's evaluation/xglue_evaluate.py, its loaders and scoring calls,
which the XGLUE metric and scorer tests compare with (tests/test_metrics.py,
tests/test_xglue_scoring.py). It needs seqeval 0.0.12 and scikit-learn (the dev extra)."""

import json
import os

import numpy as np

from trainables import metrics

# --- A COPY of microsoft/XGLUE evaluation/xglue_evaluate.py: its loaders and scoring calls ------
# Line for line (ruff's style rules waived where the script's lines break them; f-strings for
# its `.format` calls), its argparse globals made arguments and `open` given utf-8, the nine
# understanding tasks only (QG and NTG need sacrebleu). Two changes, both forced: MLQA's
# `mlqa_evaluation_v1.evaluate` is not installed, so `metrics.mlqa_scores` stands in for it
# (tests/test_metrics.py checks it against that script); and NER/POS keep their sentences as
# lists where the script calls np.array, which numpy >= 1.24 refuses for sentences of different
# lengths (older numpy made an object array of the same lists, which seqeval flattens alike).

task2lg = {
    "NER": "de en es nl",
    "POS": "pl ar ru bg de el en es fr hi it nl pt th tr ur vi zh",  # pl
    "NC": "de en es fr ru",
    "MLQA": "ar de en es hi vi zh",
    "XNLI": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "PAWSX": "de en es fr",
    "QADSM": "de en fr",
    "WPR": "de en es fr it pt zh",
    "QAM": "de en fr",
}


def ref_open(path):
    return open(path, encoding="utf-8")  # noqa: SIM115 (the script's `for item in open(...)`)


def simple_accuracy(preds, labels):
    return (preds == labels).mean()


def simple_ndcg(preds, labels, guids):
    from sklearn.metrics import ndcg_score

    ndcgs = []
    query2content = {}
    for guid, pred, label in zip(guids, preds, labels, strict=False):
        query = guid
        if query not in query2content:
            query2content[query] = [[float(pred)], [float(label)]]
        else:
            query2content[query][0].append(float(pred))
            query2content[query][1].append(float(label))

    for key in query2content.keys():  # noqa: SIM118
        if len(query2content[key][1]) < 2 or len(query2content[key][0]) < 2:
            continue
        ndcgs.append(ndcg_score(np.asarray([query2content[key][1]]),
                                np.asarray([query2content[key][0]])))
    return np.array(ndcgs).mean()


def load_mlqa_data(prediction_dir, ground_truth_dir, split, task, lg):
    dataset_file = os.path.join(
        ground_truth_dir, f"{task}/MLQA_V1/{split}/{split}-context-{lg}-question-{lg}.json")
    pred_file = os.path.join(prediction_dir, f"{task}/{lg}.prediction")
    dataset = json.load(ref_open(dataset_file))
    preds = json.load(ref_open(pred_file))
    return dataset, preds


def load_pawsx_data(prediction_dir, ground_truth_dir, split, task, lg):
    pred_file = os.path.join(prediction_dir, f"{task}/{lg}.prediction")
    label_file = os.path.join(ground_truth_dir, f"{task}/{lg}/{split}_2k.tsv")
    preds = []
    labels = []
    for item in ref_open(pred_file):
        preds.append(item.strip())
    count = 0
    for item in ref_open(label_file):
        if count == 0:
            count += 1
            continue
        if not len(item.strip()) == 0:  # noqa: SIM201
            labels.append(item.split("\t")[-1].strip())
    return np.array(labels), np.array(preds)


def load_xnli_data(prediction_dir, ground_truth_dir, split, task, lg):
    pred_file = os.path.join(prediction_dir, f"{task}/{lg}.prediction")
    label_file = os.path.join(ground_truth_dir, f"{task}/{lg}.{split}")
    labels = []
    preds = []
    for item in ref_open(pred_file):
        preds.append(item.strip())
    for line in ref_open(label_file):
        label = line.split("\t")[-1]
        labels.append(label.strip())
    return np.array(preds), np.array(labels)


def load_ner_pos_data(prediction_dir, ground_truth_dir, split, task, lg):
    pred_file = os.path.join(prediction_dir, f"{task}/{lg}.prediction")
    label_file = os.path.join(ground_truth_dir, f"{task}/{lg}.{split}")

    preds, labels = [], []
    pred = []
    label = []
    for item in ref_open(pred_file):
        if len(item.strip()) == 0 and len(pred) > 0:
            preds.append(pred)
            pred = []
            continue
        pred.append(item.strip())

    if len(pred) > 0:
        preds.append(pred)

    for item in ref_open(label_file):
        if not (len(item.strip()) == 0 or item.startswith("-DOCSTART-")):
            label.append(item.split()[-1].strip())
        elif len(label) > 0:
            labels.append(label)
            label = []
    if len(label) > 0:
        labels.append(label)

    for i in range(len(labels)):
        while len(labels[i]) > len(preds[i]):
            preds[i].append("O")
    return preds, labels  # the script: np.array(preds), np.array(labels)


def load_data(prediction_dir, ground_truth_dir, split, task, lg):
    pred_file = os.path.join(prediction_dir, f"{task}/{lg}.prediction")
    label_file = os.path.join(ground_truth_dir, f"{task}/xglue.{task.lower()}.{lg}.{split}")
    preds, labels, guids = [], [], []
    last_query = ""
    for item in ref_open(pred_file):
        preds.append(item.strip())

    guid = 0
    for item in ref_open(label_file):
        if task == "WPR" and (not item.split("\t")[0] == last_query) and len(last_query) > 0:  # noqa: SIM201, E501
            guid += 1
        last_query = item.split("\t")[0]
        labels.append(item.split("\t")[-1].strip())
        guids.append(guid)

    return np.array(preds), np.array(labels), np.array(guids)


def mlqa_evaluate(data, preds, lg):  # our stand-in for mlqa_evaluation_v1.evaluate
    answers = {qa["id"]: [answer["text"] for answer in qa["answers"]]
               for article in data for paragraph in article["paragraphs"]
               for qa in paragraph["qas"]}
    return metrics.mlqa_scores(preds, answers, lg)


def get_score_by_task(task, prediction_dir, ground_truth_dir, split):
    from seqeval.metrics import f1_score, precision_score

    dirs = (prediction_dir, ground_truth_dir, split)
    results = {}
    for lg in task2lg[task].split():
        preds = []
        labels = []
        guids = []
        if task == "MLQA":
            datasets, preds = load_mlqa_data(*dirs, task, lg)
        elif task in ["NC", "QADSM", "QAM", "WPR"]:
            preds, labels, guids = load_data(*dirs, task, lg)
        elif task in ["NER", "POS"]:
            preds, labels = load_ner_pos_data(*dirs, task, lg)
        elif task == "XNLI":
            labels, preds = load_xnli_data(*dirs, task, lg)
        elif task == "PAWSX":
            labels, preds = load_pawsx_data(*dirs, task, lg)

        if task == "MLQA":
            results[lg] = mlqa_evaluate(datasets["data"], preds, lg)["f1"]/100  # Normalize
        elif task == "NER":
            results[lg] = f1_score(labels, preds)
        elif task == "POS":
            results[lg] = precision_score(labels, preds)
        elif task in ["NC", "XNLI", "PAWSX", "QADSM", "QAM"]:
            results[lg] = simple_accuracy(preds, labels)
        elif task == "WPR":
            results[lg] = simple_ndcg(preds, labels, guids)
    avg = 0
    count = 0
    for key in results.keys():  # noqa: SIM118
        avg += results[key]
        count += 1
    avg /= count
    results["avg"] = avg
    return results

# --- end of the copy --------------------------------------------------------------------------
