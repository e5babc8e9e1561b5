"""Task families: each owns featurisation, head and metric once for all its tasks."""

from __future__ import annotations

from trainables.families.base import Family
from trainables.families.classification import ClassificationFamily
from trainables.families.dual_encoder import DualEncoderFamily
from trainables.families.image_text import ImageTextFamily
from trainables.families.late_fusion import LateFusionFamily
from trainables.families.multiple_choice import MultipleChoiceFamily
from trainables.families.relevance import RelevanceFamily
from trainables.families.span_qa import SpanQAFamily
from trainables.families.tagging import TaggingFamily

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (ClassificationFamily(), MultipleChoiceFamily(), TaggingFamily(), SpanQAFamily(),
                   RelevanceFamily(), DualEncoderFamily(), ImageTextFamily(),
                   LateFusionFamily())
}


def get_family(name: str) -> Family:
    """The trainable family called `name` (retrieval has no head and lives apart)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"no trainable family {name!r}; known: {sorted(FAMILIES)}") from None
