"""Abstract sentences of the offline benchmark and how each language renders them.

Every example is first built as an abstract sentence (`Clause`: a person, a verb, a number,
an optional adjective, a noun and an optional prepositional phrase) and then rendered into a
language with that language's words (`lexicon`) and syntax (`SYNTAX`).

Languages, scripts and word order (documented because tags and anchors move with it):

==== ========== ===== ================ ============ ======== ===============
code script     order adjective        adposition   articles question word
==== ========== ===== ================ ============ ======== ===============
en   Latin      SVO   before the noun  preposition  yes      fronted, "does"
de   Latin      SVO   before the noun  preposition  yes      fronted
fr   Latin      SVO   after the noun   preposition  yes      fronted
sw   Latin      SVO   after the noun   preposition  no       fronted
ru   Cyrillic   SVO   before the noun  preposition  no       fronted
ar   Arabic     VSO   after the noun   preposition  yes      fronted
hi   Devanagari SOV   before the noun  postposition no       in situ
zh   Han        SVO   before the noun  preposition  no       in situ
==== ========== ===== ================ ============ ======== ===============

The negation word always stands right before the verb; a fronted question word is followed by
the verb, then the subject. Words are separated by spaces in every language (zh included) so
that a whitespace pre-tokenizer sees the same word units as the tagging task; sentences end
with the language's full stop (".", "।" or "。") and questions with its question mark ("?",
"؟" or "？"), attached to the last word.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from trainables.offline.lexicon import (
    ADJECTIVES,
    ENGLISH_SYNONYMS,
    NAMES,
    NOUNS,
    PREPOSITIONS,
    QUESTION_TYPES,
    VERBS,
    Lexicon,
)


@dataclass(frozen=True)
class Syntax:
    """How a language orders and punctuates a clause (a row of the table above)."""

    order: str  # "SVO", "SOV" or "VSO"
    adj_after_noun: bool
    postpositions: bool
    articles: bool
    full_stop: str
    question_mark: str
    wh_in_situ: bool  # the question word takes the asked phrase's place (else it is fronted)


SYNTAX: dict[str, Syntax] = {
    "en": Syntax("SVO", False, False, True, ".", "?", False),
    "de": Syntax("SVO", False, False, True, ".", "?", False),
    "fr": Syntax("SVO", True, False, True, ".", "?", False),
    "sw": Syntax("SVO", True, False, False, ".", "?", False),
    "ru": Syntax("SVO", False, False, False, ".", "?", False),
    "ar": Syntax("VSO", True, False, True, ".", "\u061f", False),
    "hi": Syntax("SOV", False, True, False, "\u0964", "?", True),
    "zh": Syntax("SVO", False, False, False, "\u3002", "\uff1f", True),
}
# Declarative order of a clause's phrases.
_ROLE_ORDER = {
    "SVO": ("subject", "verb", "object", "pp"),
    "SOV": ("subject", "object", "pp", "verb"),
    "VSO": ("verb", "subject", "object", "pp"),
}


@dataclass(frozen=True)
class Clause:
    """An abstract sentence: NAME [never] VERB NUM [ADJ] NOUN [PREP the NOUN]."""

    name: int
    verb: int
    num: int
    noun: int
    adj: int | None = None
    pp: tuple[int, int] | None = None  # (preposition, noun)
    neg: bool = False


def random_clause(
    rng: random.Random, p_adj: float = 0.75, p_pp: float = 0.5, p_neg: float = 0.0
) -> Clause:
    """A random clause; each optional part is there with its probability."""
    return Clause(
        name=rng.randrange(len(NAMES)),
        verb=rng.randrange(len(VERBS)),
        num=rng.randint(2, 99),  # never 1, so English plurals are always right
        noun=rng.randrange(len(NOUNS)),
        adj=rng.randrange(len(ADJECTIVES)) if rng.random() < p_adj else None,
        pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS)))
        if rng.random() < p_pp else None,
        neg=rng.random() < p_neg,
    )  # fmt: skip


def _phrases(clause: Clause, lang: str, lex: Lexicon) -> dict[str, list[tuple[str, str]]]:
    """(word, POS tag) pairs of each phrase of `clause` in `lang` (keys of _ROLE_ORDER)."""
    syn = SYNTAX[lang]
    verb = [(lex.verbs[clause.verb], "VERB")]
    if clause.neg:
        verb.insert(0, (lex.neg, "PART"))
    adj = [(lex.adjectives[clause.adj], "ADJ")] if clause.adj is not None else []
    noun = [(lex.nouns_counted[clause.noun], "NOUN")]
    pp: list[tuple[str, str]] = []
    if clause.pp is not None:
        prep, pp_noun = clause.pp
        pp = ([(lex.det, "DET")] if syn.articles else []) + [(lex.nouns[pp_noun], "NOUN")]
        adp = (lex.prepositions[prep], "ADP")
        pp = pp + [adp] if syn.postpositions else [adp] + pp
    return {
        "subject": [(lex.names[clause.name], "PROPN")],
        "verb": verb,
        "object": [(str(clause.num), "NUM")] + (noun + adj if syn.adj_after_noun else adj + noun),
        "pp": pp,
    }


def render_tagged(clause: Clause, lang: str, lex: Lexicon) -> list[tuple[str, str]]:
    """(word, POS tag) pairs of `clause` in `lang`, in that language's word order."""
    phrases = _phrases(clause, lang, lex)
    return [pair for role in _ROLE_ORDER[SYNTAX[lang].order] for pair in phrases[role]]


def render_tokens(clause: Clause, lang: str, lex: Lexicon) -> list[str]:
    """The words of `clause` in `lang`, in that language's word order."""
    return [word for word, _ in render_tagged(clause, lang, lex)]


def render_with_span(clause: Clause, role: str, lang: str, lex: Lexicon) -> tuple[str, int, str]:
    """The sentence of `clause`, and the character offset and text of one of its phrases.

    `role` is a key of _ROLE_ORDER, or "number" for the number alone (the first word of the
    object in every language).
    """
    phrases = _phrases(clause, lang, lex)
    before: list[str] = []
    for name in _ROLE_ORDER[SYNTAX[lang].order]:
        if name == role or (role == "number" and name == "object"):
            break
        before.extend(word for word, _ in phrases[name])
    answer = str(clause.num) if role == "number" else " ".join(w for w, _ in phrases[role])
    start = len(" ".join(before)) + (1 if before else 0)
    return render_text([clause], lang, lex), start, answer


# The phrase (render_with_span's role) that answers each question type.
ANSWER_ROLES = {"number": "number", "person": "subject", "object": "object", "place": "pp"}


def render_question(clause: Clause, qtype: str, lang: str, lex: Lexicon) -> str:
    """A question about one phrase of `clause` (ANSWER_ROLES[qtype]) that repeats the clause's
    other anchors, so the sentence it asks about can be found: the name unless the person is
    asked for, the number for "person" and "place", the verb always, the noun unless the
    whole object is asked for. Adjectives and prepositional phrases are left out; `clause`
    must not be negated."""
    wh = lex.wh[QUESTION_TYPES.index(qtype)]
    syn = SYNTAX[lang]
    if lang == "en":  # English fronts the question word and needs do-support
        name, verb = NAMES[clause.name], VERBS[clause.verb][0]
        counted = f"{clause.num} {NOUNS[clause.noun][1]}"
        words = {
            "number": f"{wh} {NOUNS[clause.noun][1]} does {name} {verb}",
            "person": f"{wh} {VERBS[clause.verb][1]} {counted}",
            "object": f"{wh} does {name} {verb}",
            "place": f"{wh} does {name} {verb} {counted}",
        }[qtype]
        return words + syn.question_mark
    phrases = {role: [w for w, _ in pairs]
               for role, pairs in _phrases(replace(clause, adj=None), lang, lex).items()}
    # "How many" takes the noun along (phrases["object"] is [number, noun] without adjective).
    asked = "object" if qtype == "number" else ANSWER_ROLES[qtype]
    wh_phrase = [wh, phrases["object"][1]] if qtype == "number" else [wh]
    if qtype != "place":
        phrases["pp"] = []
    if syn.wh_in_situ:
        phrases[asked] = wh_phrase
        order = _ROLE_ORDER[syn.order]
        words = [w for role in order for w in phrases[role]]
    else:  # fronted, with the verb right after it (verb-second inversion)
        rest = [role for role in ("subject", "object", "pp") if role != asked]
        words = wh_phrase + phrases["verb"] + [w for role in rest for w in phrases[role]]
    return " ".join(words) + syn.question_mark


def render_words(clauses: Sequence[Clause], lang: str, lex: Lexicon) -> list[str]:
    """The words of one sentence: the clauses joined by the language's "and" (no full stop)."""
    words: list[str] = []
    for i, clause in enumerate(clauses):
        if i:
            words.append(lex.conj)
        words.extend(render_tokens(clause, lang, lex))
    return words


def render_text(clauses: Sequence[Clause], lang: str, lex: Lexicon) -> str:
    """One sentence: the clauses joined by the language's "and", plus its full stop."""
    return " ".join(render_words(clauses, lang, lex)) + SYNTAX[lang].full_stop


def english_variant(
    clause: Clause, lex: Lexicon, rng: random.Random, front_pp: bool, p_synonym: float
) -> str:
    """English surface variant: synonyms swapped in and/or the PP fronted (same meaning)."""
    words = [
        ENGLISH_SYNONYMS[w] if w in ENGLISH_SYNONYMS and rng.random() < p_synonym else w
        for w in render_tokens(clause, "en", lex)
    ]
    if front_pp and clause.pp is not None:
        pp, core = words[-3:], words[:-3]
        return " ".join([pp[0].capitalize(), *pp[1:-1], pp[-1] + ","] + core) + "."
    return " ".join(words) + "."

