"""Sentence breaks of SQuAD paragraphs, as XTREME-R finds LAReQA's answer sentences.

SQuAD v1.1 has no sentence annotations, so XTREME-R's LAReQA training data takes the sentence
that holds each answer from a rule-based breaker (google-research/xtreme
`third_party/processors/sb_sed.py`, Apache 2.0). The rules below are that breaker's, in its
order: split after sentence-final punctuation before a capital or digit, then rejoin titles,
abbreviations and initials, then re-split before common sentence starts, then SQuAD's own
exceptions. XQuAD-R ships its breaks; only SQuAD goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# (pattern, replacement) applied in order to the paragraph with its newlines made spaces; a
# "\n" in the result is a sentence break.
_RULES: tuple[tuple[str, str], ...] = (
    # Split: [.?!], optional closing quotes/parens/spaces, whitespace, optional opening
    # quote/bracket/paren, then an upper-case letter or digit.
    (r"""([.?!][)'" \u201D]*)\s(\s*[\['"(\u201C]?[A-Z0-9])""", r"\1\n\2"),
    # Split after Wikipedia's editorial scraps (".[citation needed] ", ".[note 1] ").
    (r"""([.?!]['"]?)((\[[a-zA-Z0-9 ?]+\])+)\s(\s*['"(]?[A-Z0-9])""", r"\1\2\n\4"),
    (r"(\[\.\.\.\]\s*)\s(\[?[A-Z])", r"\1\n\2"),
    # Rejoin titles and abbreviations.
    (r"\b(Mrs?|Ms|Dr|Prof|Fr|Rev|Msgr|Sta?)\.\n", r"\1. "),
    (r"\b(Lt|Gen|Col|Maj|Adm|Capt|Sgt|Rep|Gov|Sen|Pres)\.\n", r"\1. "),
    (r"\b(e\.g|i\.?e|vs?|pp?|cf|a\.k\.a|approx|app|es[pt]|tr)\.\n", r"\1. "),
    (r"\b(Jan|Aug|Oct|Nov|Dec)\.\n", r"\1. "),
    (r"\b(Mt|Ft)\.\n", r"\1. "),
    (r"\b([ap]\.m)\.\n(Eastern|EST)\b", r"\1. \2"),
    # Rejoin names with one to three initials.
    (r"""\b([A-Z]\.)[ \n]([A-Z]\.)[ \n]([A-Z]\.)[ \n]("?[A-Z][a-z])""", r"\1 \2 \3 \4"),
    (r"""\b([A-Z]\.)[ \n]([A-Z]\.)[ \n]("?[A-Z][a-z])""", r"\1 \2 \3"),
    (r"""\b([A-Z]\.[A-Z]\.)\n("?[A-Z][a-z])""", r"\1 \2"),
    (r"""\b([A-Z]\.)\n("?[A-Z][a-z])""", r"\1 \2"),
    # Re-split before common sentence starts.
    (r"""([.!?]['")]*) (The|This|That|These|It) """, r"\1\n\2 "),
    (r"(\.) (Meanwhile|However)", r"\1\n\2"),
    (r"(\.) (In|On|By|During|After|Under|Although|Yet|As |Several|According to) ", r"\1\n\2 "),
    # Rejoin numbered parts, born/died/circa, et al. (year), bill numbers.
    (r"\b([Aa]rt|[Nn]o|Opp?|ch|Sec|cl|Rec|Ecl|Cor|Lk|Jn|Vol)\.\n([0-9IVX]+)\b", r"\1. \2"),
    (r"\b([bdrc]|ca|fl)\.\n([A-Z0-9])", r"\1. \2"),
    (r"\b(et al)\.\n(\(?[0-9]{4}\b)", r"\1. \2"),
    (r"\b(H\.R\.)\n([0-9])", r"\1 \2"),
    # SQuAD's own joins and splits.
    (r"(I Am\.\.\.)\n(Sasha Fierce|World Tour)", r"\1 \2"),
    (r"(Warner Bros\.)\n(Records|Entertainment)", r"\1 \2"),
    (r"(U\.S\.)\n(\(?\d\d+)", r"\1 \2"),
    (r"\b(Rs\.)\n(\d)", r"\1 \2"),
    (r"\b(Jay Z\.) ([A-Z])", r"\1\n\2"),
    (r"\b(Washington, D\.C\.) ([A-Z])", r"\1\n\2"),
    (r"\b(for 4\.\)) ([A-Z])", r"\1\n\2"),
    (r"\b(Wii U\.) ([A-Z])", r"\1\n\2"),
    (r"\. (iPod|iTunes)", r".\n\1"),
    (r" (\[\.\.\.\]\n)", r"\n\1"),
    (r"(\.Sc\.)\n", r"\1 "),
    (r" (\u2022 [A-Z])", r"\n\1"),
)
_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _RULES)


def infer_sentence_breaks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) character offsets of each sentence of `text` (end exclusive)."""
    broken = text.replace("\n", " ")  # same length: offsets stay valid
    for pattern, replacement in _COMPILED:
        broken = pattern.sub(replacement, broken)
    # Every rule swaps one character for "\n" or back, so offsets still index `text`.
    starts = [match.end() for match in re.finditer(r"^\s*", broken, re.M)]
    for start, sentence in zip(starts, broken.split("\n"), strict=True):
        yield start, start + len(sentence.strip())
