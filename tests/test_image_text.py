"""The image-text contrastive family: IGLUE's recall, the masked symmetric InfoNCE, the
text-only control's pairs, and negatives gathered across workers."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from small import TINY_MODEL

from trainables.families import get_family
from trainables.families.base import SplitContext
from trainables.families.image_text import ProjectionHead
from trainables.metrics import iglue_recall, recall_from_rankings
from trainables.tasks import ImageControl, get_task

DIM = 8


# -- a copy of volta's eval_retrieval.py ranking (e-bug/volta, MIT), the reference ----------

def volta_recalls(score_matrix: np.ndarray, target_matrix: np.ndarray) -> dict[str, float]:
    """Image then text retrieval R@1/5/10 as volta's eval_retrieval.py computes them."""
    num_captions, num_images = score_matrix.shape
    rank_vector = np.ones(num_captions) * num_images
    for caption_idx in range(num_captions):
        rank = np.where((np.argsort(-score_matrix[caption_idx])
                         == np.where(target_matrix[caption_idx] == 1)[0][0]) == 1)[0][0]
        rank_vector[caption_idx] = rank
    out = {}
    for k in (1, 5, 10):
        out[f"ir_r@{k}"] = 100.0 * np.sum(rank_vector < k) / len(rank_vector)
    rank_vector = np.zeros(num_images)
    for image_idx in range(num_images):
        ranks = []
        tgt_captions = np.where(target_matrix[:, image_idx] == 1)[0]
        sorted_scores = np.argsort(-score_matrix[:, image_idx])
        for tgt_caption in tgt_captions:
            ranks.append(np.where((sorted_scores == tgt_caption) == 1)[0][0])
        rank_vector[image_idx] = min(ranks)
    for k in (1, 5, 10):
        out[f"tr_r@{k}"] = 100.0 * np.sum(rank_vector < k) / len(rank_vector)
    return out


@pytest.mark.parametrize("captions_per_image,images", [(5, 40), (1, 30), (3, 12)])
def test_recall_equals_voltas_on_the_same_scores(captions_per_image, images):
    rng = np.random.default_rng(captions_per_image)
    caption_image = np.repeat(np.arange(images), captions_per_image)
    rng.shuffle(caption_image)
    # Scores correlated with the truth, so recalls are neither 0 nor 100.
    scores = rng.normal(size=(len(caption_image), images))
    scores[np.arange(len(caption_image)), caption_image] += 1.5
    targets = np.zeros_like(scores)
    targets[np.arange(len(caption_image)), caption_image] = 1
    ours = iglue_recall(scores, caption_image)
    assert ours == volta_recalls(scores, targets)
    assert 0 < ours["ir_r@1"] < 100


def test_ties_with_a_wrong_image_count_against_the_caption():
    # A collapsed encoder scores everything alike: it must get no credit.
    assert iglue_recall(np.zeros((6, 3)), [0, 0, 1, 1, 2, 2]) == {
        "ir_r@1": 0.0, "ir_r@5": 100.0, "ir_r@10": 100.0,
        "tr_r@1": 0.0, "tr_r@5": 100.0, "tr_r@10": 100.0}  # 4 wrong captions tie


def test_a_diverged_model_scores_nothing():
    # NaN scores (an fp16 overflow) tie with every candidate: ranked last, never first.
    assert set(iglue_recall(np.full((3, 3), np.nan), [0, 1, 2]).values()) == {0.0, 100.0}
    assert iglue_recall(np.full((3, 3), np.nan), [0, 1, 2])["ir_r@1"] == 0.0
    assert iglue_recall(np.full((12, 12), np.nan), list(range(12)))["tr_r@10"] == 0.0


def test_recall_from_kept_rankings():
    assert recall_from_rankings([["a", "b"], ["a", "b"], ["c"]], ["a", "b", "b"],
                                ks=(1, 2)) == {"ir_r@1": 100 / 3, "ir_r@2": 200 / 3}


# -- the family on the tiny model ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    from trainables.model import MultiTaskModel, load_encoder, load_tokenizer

    torch.manual_seed(0)
    tasks = [_task(control) for control in ImageControl]
    return MultiTaskModel(load_encoder(TINY_MODEL), tasks), load_tokenizer(TINY_MODEL)


def _task(control: ImageControl):
    base = get_task("synth_caption")
    return replace(base, name=f"caption_{control.value}", image_control=control,
                   images=replace(base.images, dim=DIM))


def _examples(images: int = 4, per_image: int = 2, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(images, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [{"id": f"c{image}-{k}", "caption": f"a dog number {image} runs {k}",
             "image_id": f"img{image}", "image": vectors[image]}
            for image in range(images) for k in range(per_image)]


def test_captions_of_one_image_are_not_each_others_negatives(tiny):
    model, tokenizer = tiny
    task = _task(ImageControl.REAL)
    family = get_family(task.family)
    features = family.featurize(task, _examples(), tokenizer, 32)
    batch = family.collate(features, tokenizer.pad_token_id)
    assert batch["images"].shape == (8, DIM)
    logits = model(task.name, batch["input_ids"], batch["attention_mask"],
                   images=batch["images"], image_keys=batch["image_keys"])
    keys = batch["image_keys"]
    masked = torch.isinf(logits)
    expected = (keys[:, None] == keys[None, :]) & ~torch.eye(8, dtype=torch.bool)
    assert torch.equal(masked, expected) and masked.sum() == 8
    loss = family.loss(logits, batch["labels"])
    loss.backward()
    head = model.heads[task.name]
    assert torch.isfinite(loss) and head.logit_scale.grad is not None
    assert head.projection.weight.grad.abs().sum() > 0


def test_text_only_pairs_captions_of_one_image_and_sees_no_vector(tiny):
    model, tokenizer = tiny
    task = _task(ImageControl.TEXT_ONLY)
    family = get_family(task.family)
    examples = [{key: value for key, value in example.items() if key != "image"}
                for example in _examples(images=3, per_image=2)]
    examples.append({"id": "alone", "caption": "a cat alone", "image_id": "img9"})
    features = family.featurize(task, examples, tokenizer, 32)
    assert len(features) == 6  # the caption alone with its image has no partner
    for feature in features:
        index = feature["example_index"]
        partner = next(i for i, e in enumerate(examples) if i != index
                       and e["image_id"] == examples[index]["image_id"])
        assert feature["input_ids"][1] == tokenizer(examples[partner]["caption"])["input_ids"]
    batch = family.collate(features, tokenizer.pad_token_id)
    assert "images" not in batch and batch["input_ids"].shape[:2] == (6, 2)
    logits = model(task.name, batch["input_ids"], batch["attention_mask"],
                   image_keys=batch["image_keys"])
    assert logits.shape == (6, 6) and torch.isfinite(family.loss(logits, batch["labels"]))


@pytest.mark.parametrize("control", [ImageControl.REAL, ImageControl.TEXT_ONLY])
def test_evaluation_records_add_up_to_image_retrieval_at_one(tiny, control):
    model, tokenizer = tiny
    task = _task(control)
    family = get_family(task.family)
    examples = _examples(images=12, per_image=3)
    if control is ImageControl.TEXT_ONLY:
        examples = [{k: v for k, v in e.items() if k != "image"} for e in examples]
    context = SplitContext(tokenizer, 32, 5, torch.device("cpu"), "en")
    metrics, records = family.evaluate_split(model, task, examples, [], context)
    assert set(metrics) == {f"{side}_r@{k}" for side in ("ir", "tr") for k in (1, 5, 10)}
    queries = 36 if control is ImageControl.REAL else 24  # text-only: the first caption
    assert len(records) == queries                         # of each image is its candidate
    assert np.isclose(np.mean([r["score"] for r in records]), metrics["ir_r@1"])
    rescored = family.score(task, [r["prediction"] for r in records],
                            [r["gold"] for r in records], "en")
    assert rescored == {key: metrics[key] for key in rescored}


def test_evaluation_equals_the_reference_on_the_models_own_scores(tiny):
    model, tokenizer = tiny
    task = _task(ImageControl.REAL)
    family = get_family(task.family)
    examples = _examples(images=20, per_image=2, seed=3)
    context = SplitContext(tokenizer, 32, 7, torch.device("cpu"), "en")
    metrics, _ = family.evaluate_split(model, task, examples, [], context)
    with torch.no_grad():
        ids = tokenizer([e["caption"] for e in examples], padding=True, return_tensors="pt")
        texts = model(task.name, ids["input_ids"], ids["attention_mask"]).numpy()
    images = np.stack([examples[2 * i]["image"] for i in range(20)])
    caption_image = [int(e["image_id"][3:]) for e in examples]
    targets = np.zeros((40, 20))
    targets[np.arange(40), caption_image] = 1
    expected = volta_recalls(texts @ images.T, targets)
    assert metrics == pytest.approx(expected)


# -- negatives gathered across two workers equal one worker's whole batch -------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    encoder = torch.nn.Embedding(50, 16)
    head = ProjectionHead(16, DIM, -1, gather=True)
    ids = torch.randint(1, 50, (5, 6))
    mask = torch.ones_like(ids)
    images = torch.nn.functional.normalize(torch.randn(5, DIM), dim=-1)
    keys = torch.tensor([0, 1, 1, 2, 3])  # captions 1 and 2 share an image

    def encode(input_ids, attention_mask, layer=-1):
        return encoder(input_ids)

    return encoder, head, encode, ids, mask, images, keys


def _gathered_worker(rank: int, port: int, results) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        family = get_family("image_text_contrastive")
        encoder, head, encode, ids, mask, images, keys = _setup()
        mine = slice(rank, None, 2)  # the training loop's global_batch[rank::world_size]
        logits = family.forward(encode, head, ids[mine], mask[mine], images=images[mine],
                                image_keys=keys[mine])
        loss = family.loss(logits, torch.arange(len(logits)))
        loss.backward()
        grad = head.projection.weight.grad.clone()
        dist.all_reduce(grad)  # DDP's average
        results[rank] = (float(loss), (grad / 2).numpy())
    finally:
        dist.destroy_process_group()


def test_gathered_negatives_give_the_whole_batchs_loss_and_gradient():
    family = get_family("image_text_contrastive")
    encoder, head, encode, ids, mask, images, keys = _setup()
    order = torch.tensor([0, 2, 4, 1, 3])  # rank 0's rows, then rank 1's
    logits = family.forward(encode, head, ids[order], mask[order], images=images[order],
                            image_keys=keys[order])
    loss = family.loss(logits, torch.arange(5))
    loss.backward()
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_gathered_worker, args=(_free_port(), results), nprocs=2, join=True)
    for rank in (0, 1):
        gathered_loss, gradient = results[rank]
        assert gathered_loss == pytest.approx(loss.item(), rel=1e-6)
        np.testing.assert_allclose(gradient, head.projection.weight.grad.numpy(),
                                   rtol=1e-5, atol=1e-7)


def test_a_pooling_layer_set_by_the_spec_survives_the_checkpoint(tmp_path):
    from trainables.model import MultiTaskModel, load_checkpoint, load_encoder, save_checkpoint

    task = replace(get_task("synth_caption"), pool_layer=0)  # the embeddings, not the top
    model = MultiTaskModel(load_encoder(TINY_MODEL), [task])
    assert model.heads["synth_caption"].layer == 0
    save_checkpoint(model, tmp_path / "checkpoint", {"group": "synth_caption"})
    loaded = load_checkpoint(TINY_MODEL, tmp_path / "checkpoint")
    assert loaded.tasks["synth_caption"].pool_layer == 0
    assert loaded.heads["synth_caption"].layer == 0
    ids = torch.tensor([[0, 5, 6, 2]])
    mask = torch.ones_like(ids)
    with torch.no_grad():  # pooled at the embeddings: the encoder's layers play no part
        pooled = loaded.heads["synth_caption"](loaded.encode(ids, mask, layer=0), mask)
        assert torch.allclose(loaded("synth_caption", ids, mask), pooled)
