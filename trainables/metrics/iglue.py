"""Image-text retrieval recall (IGLUE's xFlickr&CO and WIT), as e-bug/volta's
``eval_retrieval.py`` computes it from a caption x image score matrix:

- image retrieval (IR): for each caption, the 0-based rank of its image among all images;
- text retrieval (TR): for each image, the best rank among its captions of all captions;
- R@k = 100 * (number of ranks < k) / (number of ranks).

volta ranks with ``np.argsort(-scores)``, which orders ties arbitrarily; here a tie with a
wrong candidate counts against the query (rank = candidates scoring higher, plus wrong ones
scoring the same), so that a collapsed model that scores everything alike gets no credit.
Without ties the ranks are volta's. Scores may come in blocks of rows (IR) or of columns (TR),
so that a 25,000 x 5,000 matrix never has to be held whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

RECALL_KS = (1, 5, 10)


def _finite(scores: Any) -> Any:
    """The scores with NaN and infinities as -inf: a diverged model's NaN ties with every
    candidate, ranking its query last instead of first."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    return np.where(np.isfinite(scores), scores, -np.inf)


def image_ranks(scores: Any, caption_image: Sequence[int]) -> Any:
    """Each caption's image rank: `scores` (captions, images), `caption_image[i]` the column
    of caption i's image."""
    import numpy as np

    scores = _finite(scores)
    gold = np.asarray(caption_image, dtype=np.int64)
    gold_scores = scores[np.arange(len(gold)), gold][:, None]
    higher = (scores > gold_scores).sum(axis=1)
    tied = (scores == gold_scores).sum(axis=1) - 1  # the gold image ties with itself
    return higher + tied


def caption_ranks(scores: Any, caption_image: Sequence[int], images: Sequence[int]) -> Any:
    """Each image's best caption rank: `scores` (captions, len(images)) holds the columns of
    `images` (image indices, in order), `caption_image[i]` the image of caption i; every
    image needs a caption."""
    import numpy as np

    scores = _finite(scores)
    gold = np.asarray(caption_image, dtype=np.int64)[:, None] == np.asarray(images)[None, :]
    if not gold.any(axis=0).all():
        raise ValueError("text retrieval needs at least one caption of every image")
    best = np.where(gold, scores, -np.inf).max(axis=0)[None, :]
    return ((scores > best) | ((scores == best) & ~gold)).sum(axis=0)


def recall_at(ranks: Any, prefix: str, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """`<prefix>_r@k` for each k: the percentage of ranks below k."""
    import numpy as np

    ranks = np.asarray(ranks)
    if not len(ranks):
        raise ValueError("recall of no queries is undefined")
    return {f"{prefix}_r@{k}": 100.0 * float(np.sum(ranks < k)) / len(ranks) for k in ks}


def iglue_recall(scores: Any, caption_image: Sequence[int]) -> dict[str, float]:
    """IR and TR recall@1/5/10 of a whole caption x image score matrix."""
    import numpy as np

    columns = np.arange(np.asarray(scores).shape[1])
    return {**recall_at(image_ranks(scores, caption_image), "ir"),
            **recall_at(caption_ranks(scores, caption_image, columns), "tr")}


def recall_from_rankings(rankings: Sequence[Sequence[Any]], gold: Sequence[Any],
                         ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """IR recall@k from each caption's ranked image ids (at least max(ks) of them) and its
    gold image id: what kept predictions score back to."""
    if len(rankings) != len(gold):
        raise ValueError(f"{len(rankings)} rankings for {len(gold)} gold images")
    ranks = [list(ranking).index(image) if image in ranking else max(ks)
             for ranking, image in zip(rankings, gold, strict=True)]
    return recall_at(ranks, "ir", ks)

