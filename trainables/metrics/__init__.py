"""XTREME metrics, re-implemented to agree with the reference scorers to the last digit.

One module per reference scorer family: `accuracy` (XNLI, PAWS-X, Tatoeba), `squad` (SQuAD
v1.1 and v2.0), `mlqa`, `seqeval` (PAN-X, UD-POS), `bucc` (BUCC 2018 mining), `ranking`
(LAReQA, Mewsli-X mAP@k), `xglue` (XGLUE Web Page Ranking nDCG) and `iglue` (IGLUE's
image-text retrieval recall). Every public name is
re-exported here.

Unit convention (one for the whole package): every corpus-level score is a **percentage in
[0, 100]**, exactly what google-research/xtreme's ``evaluate.py`` reports. That script multiplies
the fractions of seqeval, of its accuracy and of its BUCC F1 by 100, and the SQuAD and MLQA
scripts return percent themselves; we multiply in the same place and in the same order, so the
floats are bit-identical to the references'. XG-EVAL reports WPR's nDCG as a fraction;
``xglue_ndcg`` multiplies its mean by 100 once, at the end. The only exceptions are named as
such: per-answer helpers (``squad_exact``, ``squad_f1``, ``mlqa_exact``, ``mlqa_f1``,
``squad_v2_f1``) and the per-query ``ndcg`` return the reference's per-example value (0/1 or a
fraction in [0, 1]), and a BUCC threshold or margin score is a similarity ratio, not a
percentage.

References read (not copied): SQuAD ``evaluate-v1.1.py`` (xtreme ``third_party/evaluate_squad.py``),
SQuAD ``evaluate-v2.0.py``, MLQA ``mlqa_evaluation_v1.py`` (xtreme
``third_party/evaluate_mlqa.py``), seqeval 0.0.12 ``seqeval/metrics/sequence_labeling.py``,
xtreme ``evaluate.py`` and ``third_party/utils_retrieve.py`` (``mine_bitext``,
``bucc_optimize``, ``bucc_extract``), ``third_party/utils_lareqa.py``
(``average_precision_at_k``, ``mean_avg_prec_at_k``) and ``third_party/utils_mewslix.py``
(``mean_reciprocal_rank``, ``evaluate``), and XG-EVAL, microsoft/XGLUE
``evaluation/xglue_evaluate.py`` (``load_data``, ``simple_ndcg``), with scikit-learn's
``ndcg_score`` (``_ndcg_sample_scores``, ``_dcg_sample_scores``, ``_tie_averaged_dcg``), which
it calls.

Unicode behaviour (``str.lower``, ``str.split``, ``\\b``, MLQA's punctuation set) comes from the
running Python, as it does for the reference scripts run by the same interpreter.

numpy and faiss are imported inside the functions that need them, so `sweep score` loads this
package without their cost.
"""

from __future__ import annotations

from trainables.metrics.accuracy import accuracy, tatoeba_accuracy
from trainables.metrics.bucc import (
    Pair,
    bucc_best_threshold,
    bucc_extract,
    bucc_scores,
    margin_mine,
)
from trainables.metrics.iglue import (
    RECALL_KS,
    caption_ranks,
    iglue_recall,
    image_ranks,
    recall_at,
    recall_from_rankings,
)
from trainables.metrics.mlqa import (
    mixed_segmentation,
    mlqa_exact,
    mlqa_f1,
    mlqa_normalize_answer,
    mlqa_punctuation,
    mlqa_scores,
)
from trainables.metrics.ranking import average_precision_at_k, lareqa_map_at_k, mewslix_map_at_20
from trainables.metrics.seqeval import get_entities, seqeval_scores
from trainables.metrics.squad import (
    normalize_answer,
    squad_exact,
    squad_f1,
    squad_v1_scores,
    squad_v2_f1,
    squad_v2_scores,
)
from trainables.metrics.xglue import ndcg, query_groups, xglue_ndcg

__all__ = [
    "RECALL_KS", "Pair", "accuracy", "average_precision_at_k", "bucc_best_threshold",
    "bucc_extract", "bucc_scores", "caption_ranks", "get_entities", "iglue_recall", "image_ranks",
    "lareqa_map_at_k", "margin_mine", "mewslix_map_at_20", "mixed_segmentation", "mlqa_exact",
    "mlqa_f1", "mlqa_normalize_answer", "mlqa_punctuation", "mlqa_scores", "ndcg",
    "normalize_answer", "query_groups", "recall_at", "recall_from_rankings", "seqeval_scores",
    "squad_exact", "squad_f1", "squad_v1_scores", "squad_v2_f1", "squad_v2_scores",
    "tatoeba_accuracy", "xglue_ndcg",
]
