"""A SYNTHETIC, XTREME-shaped multilingual benchmark, generated deterministically from a seed.

Nothing here is real XTREME data. The generator exists so the sweep engine can run end to end
offline (CI, laptops, air-gapped clusters) on data with a real, learnable signal: a tiny
transformer trained on the English tasks should transfer zero-shot to the other languages.

How transfer is made possible
-----------------------------
Every example is first built as an *abstract* sentence (`Clause`: a person, a verb, a number,
an optional adjective, a noun and an optional prepositional phrase) and then rendered into a
language. English uses real English words; the seven other languages get a lexicon of
made-up words in their own script, drawn from the seed. Languages share anchors, as real
languages do: numbers are always Arabic digits, person names stay in Latin script in
Latin-script languages (half of them are transliterated in the others), and about 20% of the
content words of de/fr/sw are cognates of English (identical or one letter changed).

Languages, scripts and word order (documented because tags and anchors move with it):

==== ========== ===== ================ ============ ========
code script     order adjective        adposition   articles
==== ========== ===== ================ ============ ========
en   Latin      SVO   before the noun  preposition  yes
de   Latin      SVO   before the noun  preposition  yes
fr   Latin      SVO   after the noun   preposition  yes
sw   Latin      SVO   after the noun   preposition  no
ru   Cyrillic   SVO   before the noun  preposition  no
ar   Arabic     VSO   after the noun   preposition  yes
hi   Devanagari SOV   before the noun  postposition no
zh   Han        SVO   before the noun  preposition  no
==== ========== ===== ================ ============ ========

The negation word always stands right before the verb. Words are separated by spaces in
every language (zh included) so that a whitespace pre-tokenizer sees the same word units as
the tagging task; text fields end with the language's full stop (".", "।" or "。").

Layout written by `generate_benchmark` (UTF-8 JSONL, one example per line):

- ``synth_nli/{train,dev}-en.jsonl``: premise, hypothesis, label (intermediate, MNLI-like)
- ``synth_para/{train,dev}-en.jsonl``: sentence1, sentence2, label (intermediate, QQP-like)
- ``synth_xnli/{train-en,dev-*,test-*}.jsonl``: premise, hypothesis, label (target, XNLI-like;
  dev/test are parallel across languages, line i is the same abstract example)
- ``synth_pos/{train-en,dev-*,test-*}.jsonl``: tokens, tags (target, UD-POS-like)
- ``synth_tatoeba/test-<lang>.jsonl`` for every non-English language: english, other
- ``corpus/<lang>.txt``: one sentence per line, for training a tokenizer
- ``benchmark.json``: metadata, ``"synthetic": true``; written last, so it marks completion
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

GENERATOR_VERSION = 2
DEFAULT_SIZES = {"train_size": 2000, "eval_size": 300, "retrieval_size": 200, "corpus_size": 1500}

LANGUAGES: dict[str, str] = {
    "en": "Latin",
    "de": "Latin",
    "fr": "Latin",
    "sw": "Latin",
    "ru": "Cyrillic",
    "ar": "Arabic",
    "hi": "Devanagari",
    "zh": "Han",
}

NLI_LABELS = ["entailment", "neutral", "contradiction"]
PARA_LABELS = ["not_duplicate", "duplicate"]
POS_TAGS = ["PROPN", "NUM", "VERB", "ADJ", "NOUN", "ADP", "DET", "PART"]

# Person names: an anchor shared by all languages (Latin script, or transliterated).
NAMES = [
    "Anna", "Tom", "Maria", "Omar", "Lena", "Ivan", "Sara", "David", "Nora", "Ali",
    "Emma", "Leo", "Mia", "Hugo", "Ines", "Karl", "Lara", "Nils", "Olga", "Paul",
    "Rosa", "Sami", "Tina", "Yuri", "Zara", "Amir", "Bruno", "Clara", "Dina", "Felix",
    "Greta", "Hana", "Igor", "Jana", "Kofi", "Luca", "Mina", "Noah", "Otto", "Rita",
]  # fmt: skip

# English concepts. Nouns are (singular, plural); verbs are (base, third person singular).
NOUNS = [
    ("apple", "apples"), ("book", "books"), ("car", "cars"), ("house", "houses"),
    ("river", "rivers"), ("dog", "dogs"), ("cat", "cats"), ("bird", "birds"),
    ("tree", "trees"), ("chair", "chairs"), ("table", "tables"), ("window", "windows"),
    ("door", "doors"), ("letter", "letters"), ("cup", "cups"), ("bottle", "bottles"),
    ("flower", "flowers"), ("horse", "horses"), ("boat", "boats"), ("train", "trains"),
    ("city", "cities"), ("village", "villages"), ("garden", "gardens"), ("school", "schools"),
    ("shop", "shops"), ("street", "streets"), ("bridge", "bridges"), ("mountain", "mountains"),
    ("lake", "lakes"), ("forest", "forests"), ("key", "keys"), ("phone", "phones"),
    ("computer", "computers"), ("picture", "pictures"), ("song", "songs"), ("ship", "ships"),
    ("coin", "coins"), ("shoe", "shoes"), ("hat", "hats"), ("box", "boxes"), ("bag", "bags"),
    ("bed", "beds"), ("lamp", "lamps"), ("pen", "pens"), ("ticket", "tickets"), ("egg", "eggs"),
    ("fish", "fish"), ("cake", "cakes"), ("stone", "stones"), ("card", "cards"),
    ("clock", "clocks"), ("rope", "ropes"), ("basket", "baskets"), ("candle", "candles"),
    ("mirror", "mirrors"), ("plate", "plates"), ("coat", "coats"), ("glove", "gloves"),
    ("bicycle", "bicycles"), ("umbrella", "umbrellas"),
]  # fmt: skip
VERBS = [
    ("buy", "buys"), ("see", "sees"), ("sell", "sells"), ("find", "finds"),
    ("carry", "carries"), ("paint", "paints"), ("want", "wants"), ("lose", "loses"),
    ("need", "needs"), ("bring", "brings"), ("take", "takes"), ("hold", "holds"),
    ("clean", "cleans"), ("draw", "draws"), ("count", "counts"), ("hide", "hides"),
    ("keep", "keeps"), ("move", "moves"), ("wash", "washes"), ("open", "opens"),
    ("break", "breaks"), ("fix", "fixes"), ("like", "likes"), ("throw", "throws"),
    ("make", "makes"),
]  # fmt: skip
ADJECTIVES = [
    "red", "green", "blue", "big", "small", "old", "new", "heavy", "cheap", "dirty",
    "broken", "white", "black", "yellow", "round", "long", "short", "soft", "warm", "tiny",
]  # fmt: skip
PREPOSITIONS = ["near", "behind", "under", "beside", "above"]
FUNCTION_WORDS = {"det": "the", "neg": "never", "conj": "and"}

# English-only synonyms (surface form -> synonym) for the paraphrase task.
ENGLISH_SYNONYMS = {
    "buys": "purchases", "sees": "notices", "finds": "discovers", "fixes": "repairs",
    "likes": "enjoys", "takes": "grabs", "carries": "transports", "big": "large",
    "small": "little", "cars": "automobiles", "car": "automobile", "shop": "store",
    "shops": "stores", "picture": "photo", "pictures": "photos", "stone": "rock",
    "stones": "rocks", "cup": "mug", "cups": "mugs", "near": "by", "beside": "alongside",
}  # fmt: skip

@dataclass(frozen=True)
class _Syntax:
    order: str  # "SVO", "SOV" or "VSO"
    adj_after_noun: bool
    postpositions: bool
    articles: bool
    full_stop: str


_SYNTAX: dict[str, _Syntax] = {
    "en": _Syntax("SVO", False, False, True, "."),
    "de": _Syntax("SVO", False, False, True, "."),
    "fr": _Syntax("SVO", True, False, True, "."),
    "sw": _Syntax("SVO", True, False, False, "."),
    "ru": _Syntax("SVO", False, False, False, "."),
    "ar": _Syntax("VSO", True, False, True, "."),
    "hi": _Syntax("SOV", False, True, False, "\u0964"),
    "zh": _Syntax("SVO", False, False, False, "\u3002"),
}


# --- word-form inventories per language (real Unicode blocks of each script) ----------------

def _chars(first: int, last: int, skip: str = "") -> list[str]:
    return [chr(c) for c in range(first, last + 1) if chr(c) not in skip]


_HI_CONSONANTS = _chars(0x0915, 0x0939)
_HI_MATRAS = ["", "", "\u093e", "\u093f", "\u0940", "\u0941", "\u0942", "\u0947", "\u0948",
              "\u094b", "\u094c"]  # fmt: skip
_AR_CONSONANTS = list("بتثجحخدذرزسشصضطظعغفقكلمنه")

# (onsets, nuclei, codas, syllables per word) per language; Han (zh) is handled separately.
_PHONOTACTICS: dict[str, tuple[list[str], list[str], list[str], tuple[int, ...]]] = {
    "de": (
        ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "w", "z", "sch", "st",
         "br", "gr", "kr", "pf"],
        ["a", "e", "i", "o", "u", "ei", "au", "ie", "ä", "ö", "ü"],
        ["", "", "n", "r", "l", "t", "ch", "ng", "ss"], (2, 2, 3),
    ),
    "fr": (
        ["b", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "gr", "pl", "tr"],
        ["a", "e", "i", "o", "u", "ou", "au", "eau", "é", "è", "oi", "ai"],
        ["", "", "", "n", "r", "s", "t", "x"], (2, 2, 3),
    ),
    "sw": (
        ["b", "ch", "d", "f", "g", "h", "j", "k", "l", "m", "mb", "n", "nd", "ng", "ny", "p", "s",
         "sh", "t", "w", "y", "z"],
        ["a", "e", "i", "o", "u"], [""], (2, 3, 3, 4),
    ),
    "ru": (
        list("бвгджзклмнпрстфхцчш"), list("аеиоуыяю"), ["", "", "", "н", "к", "т", "р", "й", "ль"],
        (2, 2, 3),
    ),
    "ar": (_AR_CONSONANTS, ["", "", "ا", "و", "ي"], ["", ""] + _AR_CONSONANTS[:8], (2, 2, 3)),
    "hi": (_HI_CONSONANTS, _HI_MATRAS, ["", "", "", "\u0902"], (2, 2, 3)),
}

# Letter-by-letter transliteration of Latin names (deterministic char maps).
_TRANSLIT = {
    "ru": dict(zip("abcdefghijklmnopqrstuvwxyz",
                   ["а", "б", "к", "д", "е", "ф", "г", "х", "и", "й", "к", "л", "м", "н", "о",
                    "п", "к", "р", "с", "т", "у", "в", "в", "кс", "ы", "з"], strict=True)),
    "ar": dict(zip("abcdefghijklmnopqrstuvwxyz",
                   ["ا", "ب", "ك", "د", "ي", "ف", "غ", "ه", "ي", "ج", "ك", "ل", "م", "ن", "و",
                    "ب", "ق", "ر", "س", "ت", "و", "ف", "و", "كس", "ي", "ز"], strict=True)),
    "hi": dict(zip("abcdefghijklmnopqrstuvwxyz",
                   ["अ", "ब", "क", "द", "ए", "फ", "ग", "ह", "इ", "ज", "क", "ल", "म", "न", "ओ",
                    "प", "क", "र", "स", "त", "उ", "व", "व", "क्स", "य", "ज़"], strict=True)),
    "zh": dict(zip("abcdefghijklmnopqrstuvwxyz",
                   "阿布克德厄夫格赫伊杰卡尔姆恩奥普奇鲁斯特乌维沃克尤兹", strict=True)),
}  # fmt: skip
_HI_VOWEL_SIGNS = {"अ": "\u093e", "ए": "\u0947", "इ": "\u093f", "ओ": "\u094b", "उ": "\u0941"}


def _transliterate(name: str, lang: str) -> str:
    """Map a Latin name letter by letter into `lang`'s script (doubled letters collapsed)."""
    letters = [c for i, c in enumerate(name.lower()) if i == 0 or c != name.lower()[i - 1]]
    table = _TRANSLIT[lang]
    out: list[str] = []
    for i, letter in enumerate(letters):
        char = table[letter]
        # Devanagari writes a vowel after a consonant as a vowel sign, not a full letter.
        if lang == "hi" and char in _HI_VOWEL_SIGNS and i > 0 and letters[i - 1] not in "aeiou":
            char = _HI_VOWEL_SIGNS[char]
        out.append(char)
    word = "".join(out)
    return word[:1].upper() + word[1:] if lang == "ru" else word


# --- lexicons -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Lexicon:
    """Word forms of one language, indexed like NAMES, NOUNS, VERBS, ADJECTIVES, PREPOSITIONS.

    Only English inflects: `nouns_counted`/`verbs` hold plurals and third-person forms, while
    `nouns` holds the singular used after the article. Synthetic languages are isolating, so
    both noun tuples are the same there.
    """

    names: tuple[str, ...]
    nouns: tuple[str, ...]
    nouns_counted: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    prepositions: tuple[str, ...]
    det: str
    neg: str
    conj: str

    def words(self) -> set[str]:
        """Every word form of the language (names included)."""
        return {
            *self.names, *self.nouns, *self.nouns_counted, *self.verbs, *self.adjectives,
            *self.prepositions, self.det, self.neg, self.conj,
        }


def _rng(seed: int, *purpose: str) -> random.Random:
    # random.Random(str) hashes the string with SHA-512, so this is stable across processes
    # (unlike hash(), which is salted per process).
    return random.Random(f"synthetic-xtreme/v{GENERATOR_VERSION}/{seed}/" + "/".join(purpose))


def _english_lexicon() -> Lexicon:
    return Lexicon(
        names=tuple(NAMES),
        nouns=tuple(sg for sg, _ in NOUNS),
        nouns_counted=tuple(pl for _, pl in NOUNS),
        verbs=tuple(third for _, third in VERBS),
        adjectives=tuple(ADJECTIVES),
        prepositions=tuple(PREPOSITIONS),
        **FUNCTION_WORDS,
    )


def _random_word(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        # One or two CJK Unified Ideographs (U+4E00..U+9FA5).
        return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.choice((1, 2, 2))))
    onsets, nuclei, codas, lengths = _PHONOTACTICS[lang]
    syllables = rng.choice(lengths)
    word = "".join(rng.choice(onsets) + rng.choice(nuclei) for _ in range(syllables))
    return word + rng.choice(codas)


def _cognate(rng: random.Random, english: str, lang: str) -> str:
    """The English word itself, or with one letter replaced by one of `lang`'s letters."""
    if rng.random() < 0.5:
        return english
    vowels = "aeiou"
    pos = rng.randrange(len(english))
    pool = vowels if english[pos] in vowels else "bcdfgklmnprstvz"
    letter = rng.choice([c for c in pool if c != english[pos]])
    return english[:pos] + letter + english[pos + 1 :]


def _synthetic_lexicon(seed: int, lang: str) -> Lexicon:
    rng = _rng(seed, "lexicon", lang)
    if LANGUAGES[lang] == "Latin":
        names = list(NAMES)
    else:
        # Half of the names keep their Latin spelling (a shared anchor), half are transliterated.
        transliterated = set(rng.sample(range(len(NAMES)), len(NAMES) // 2))
        names = [_transliterate(n, lang) if i in transliterated else n for i, n in enumerate(NAMES)]
        if len(set(names)) != len(names):  # a collision would merge two people; keep Latin
            names = [n if names.count(n) == 1 else NAMES[i] for i, n in enumerate(names)]
    used = set(names)

    content = [sg for sg, _ in NOUNS] + [base for base, _ in VERBS] + ADJECTIVES
    cognates: set[str] = set()
    if LANGUAGES[lang] == "Latin":
        cognates = set(rng.sample(content, round(0.2 * len(content))))

    def new_word(english: str | None) -> str:
        for _ in range(1000):
            if english is not None and english in cognates:
                form = _cognate(rng, english, lang)
                if form in used:  # fall back to a fresh word rather than merge two concepts
                    cognates.discard(english)
                    continue
            else:
                form = _random_word(rng, lang)
            if form not in used:
                used.add(form)
                return form
        raise RuntimeError(f"could not draw a unique word for {lang}")  # pragma: no cover

    nouns = tuple(new_word(sg) for sg, _ in NOUNS)
    verbs = tuple(new_word(base) for base, _ in VERBS)
    adjectives = tuple(new_word(adj) for adj in ADJECTIVES)
    prepositions = tuple(new_word(None) for _ in PREPOSITIONS)
    return Lexicon(
        names=tuple(names), nouns=nouns, nouns_counted=nouns, verbs=verbs,
        adjectives=adjectives, prepositions=prepositions,
        det=new_word(None), conj=new_word(None),
        # A shared word: the Latin-script languages borrow English "never".
        neg=FUNCTION_WORDS["neg"] if LANGUAGES[lang] == "Latin" else new_word(None),
    )


def build_lexicons(seed: int) -> dict[str, Lexicon]:
    """The lexicon of every language in LANGUAGES for this seed (English is fixed)."""
    return {
        lang: _english_lexicon() if lang == "en" else _synthetic_lexicon(seed, lang)
        for lang in LANGUAGES
    }


# --- abstract sentences and rendering -------------------------------------------------------

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


def _random_clause(
    rng: random.Random, p_adj: float = 0.75, p_pp: float = 0.5, p_neg: float = 0.0
) -> Clause:
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


def render_tagged(clause: Clause, lang: str, lex: Lexicon) -> list[tuple[str, str]]:
    """(word, POS tag) pairs of `clause` in `lang`, in that language's word order."""
    syn = _SYNTAX[lang]
    subject = [(lex.names[clause.name], "PROPN")]
    verb = [(lex.verbs[clause.verb], "VERB")]
    if clause.neg:
        verb.insert(0, (lex.neg, "PART"))
    adj = [(lex.adjectives[clause.adj], "ADJ")] if clause.adj is not None else []
    noun = [(lex.nouns_counted[clause.noun], "NOUN")]
    obj = [(str(clause.num), "NUM")] + (noun + adj if syn.adj_after_noun else adj + noun)
    pp: list[tuple[str, str]] = []
    if clause.pp is not None:
        prep, pp_noun = clause.pp
        pp = ([(lex.det, "DET")] if syn.articles else []) + [(lex.nouns[pp_noun], "NOUN")]
        adp = (lex.prepositions[prep], "ADP")
        pp = pp + [adp] if syn.postpositions else [adp] + pp
    if syn.order == "SOV":
        return subject + obj + pp + verb
    if syn.order == "VSO":
        return verb + subject + obj + pp
    return subject + verb + obj + pp


def render_tokens(clause: Clause, lang: str, lex: Lexicon) -> list[str]:
    return [word for word, _ in render_tagged(clause, lang, lex)]


def render_text(clauses: Sequence[Clause], lang: str, lex: Lexicon) -> str:
    """One sentence: the clauses joined by the language's "and", plus its full stop."""
    words: list[str] = []
    for i, clause in enumerate(clauses):
        if i:
            words.append(lex.conj)
        words.extend(render_tokens(clause, lang, lex))
    return " ".join(words) + _SYNTAX[lang].full_stop


def _english_variant(
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


# --- task builders --------------------------------------------------------------------------

def _balanced_labels(rng: random.Random, n: int, k: int) -> list[int]:
    labels = [i % k for i in range(n)]
    rng.shuffle(labels)
    return labels


def _other(rng: random.Random, size: int, avoid: Iterable[int]) -> int:
    avoid = set(avoid)
    return rng.choice([i for i in range(size) if i not in avoid])


def _other_num(rng: random.Random, avoid: Iterable[int]) -> int:
    avoid = set(avoid)
    while True:
        num = rng.randint(2, 99)
        if num not in avoid:
            return num


Example = tuple[tuple[Clause, ...], tuple[Clause, ...], int]


def _nli_example(rng: random.Random, label: int) -> Example:
    """Intermediate NLI: single-clause premise; hypothesis derived from it (MNLI-like)."""
    p = _random_clause(rng, p_adj=0.8, p_pp=0.6)
    if label == 0:  # entailment: same facts, maybe with an adjective / phrase dropped
        h = p
        if p.adj is not None and rng.random() < 0.5:
            h = replace(h, adj=None)
        if p.pp is not None and rng.random() < 0.5:
            h = replace(h, pp=None)
    elif label == 2:  # contradiction: same person, different number or negated
        flip = rng.random() < 0.5
        h = replace(p, num=_other_num(rng, [p.num])) if flip else replace(p, neg=True)
    else:  # neutral: another person, or an unrelated fact added
        r = rng.random()
        if r < 0.25 and p.adj is None:
            h = replace(p, adj=rng.randrange(len(ADJECTIVES)))
        elif r < 0.5 and p.pp is None:
            h = replace(p, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS))))
        else:
            h = replace(p, name=_other(rng, len(NAMES), [p.name]))
    return (p,), (h,), label


def _xnli_example(rng: random.Random, label: int) -> Example:
    """Target NLI: two-clause premise ("A ... and B ..."), hypothesis about one of the clauses.

    The twist versus `_nli_example`: facts must be matched to the right person, because the
    hypothesis may borrow the other clause's number, verb or object.
    """
    c1 = _random_clause(rng, p_adj=0.6, p_pp=0.4)
    c2 = _random_clause(rng, p_adj=0.6, p_pp=0.4)
    c2 = replace(
        c2, name=_other(rng, len(NAMES), [c1.name]), num=_other_num(rng, [c1.num]),
        verb=_other(rng, len(VERBS), [c1.verb]), noun=_other(rng, len(NOUNS), [c1.noun]),
    )
    # Most premises have one clause, so the task stays learnable for a tiny model trained
    # from scratch; the two-clause ones still require matching facts to the right person.
    premise = (c1, c2) if rng.random() < 0.3 else (c1,)
    k = rng.randrange(len(premise))
    ck = premise[k]
    # A tiny model trained from scratch cannot learn to compare premise and hypothesis in a
    # few hundred steps, so contradiction carries a surface cue (the negation word, shared by
    # the Latin-script languages); neutral and entailment need the comparison.
    r = rng.random()
    if label == 0:  # entailment: the same facts, maybe fewer of them
        if r < 0.2 and len(premise) == 2:
            return premise, (c2, c1), label  # conjuncts swapped
        h = ck
        if ck.adj is not None and rng.random() < 0.5:
            h = replace(h, adj=None)
        if ck.pp is not None and rng.random() < 0.5:
            h = replace(h, pp=None)
    elif label == 2:  # contradiction: negated, sometimes with another number as well
        h = replace(ck, neg=True)
        if r < 0.3:
            h = replace(h, num=_other_num(rng, [c1.num, c2.num]))
    else:  # neutral: a fact the premise does not state, or someone it does not mention
        if r < 0.6 and ck.pp is None:
            h = replace(ck, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS))))
        elif r < 0.6 and ck.adj is None:
            h = replace(ck, adj=rng.randrange(len(ADJECTIVES)))
        else:
            h = replace(ck, name=_other(rng, len(NAMES), [c1.name, c2.name]))
    return premise, (h,), label


def _unique_examples(make, rng: random.Random, labels: list[int], seen: set) -> list[Example]:
    """Examples for `labels`, skipping any already in `seen` (so splits never overlap)."""
    out = []
    for label in labels:
        while True:
            example = make(rng, label)
            if example not in seen:
                seen.add(example)
                out.append(example)
                break
    return out


def _nli_records(examples: list[Example], lang: str, lex: Lexicon) -> list[dict]:
    return [
        {"premise": render_text(p, lang, lex), "hypothesis": render_text(h, lang, lex),
         "label": label}
        for p, h, label in examples
    ]  # fmt: skip


def _para_records(rng: random.Random, n: int, lex: Lexicon) -> list[dict]:
    """QQP-like pairs: duplicates differ only in surface form, non-duplicates in one anchor."""
    records = []
    for label in _balanced_labels(rng, n, 2):
        # Only clauses that have a paraphrase (a phrase to front or a word with a synonym), for
        # both labels alike, so that "identical strings" is not a shortcut to the label.
        while True:
            c = _random_clause(rng, p_adj=0.7, p_pp=0.6, p_neg=0.1)
            if c.pp is not None or any(w in ENGLISH_SYNONYMS for w in render_tokens(c, "en", lex)):
                break
        s1 = _english_variant(c, lex, rng, front_pp=rng.random() < 0.3, p_synonym=0.3)
        if label == 1:
            # Retry a few times so a duplicate is (almost always) a different surface string.
            for _ in range(8):
                s2 = _english_variant(c, lex, rng, front_pp=rng.random() < 0.5, p_synonym=0.5)
                if s2 != s1:
                    break
        else:
            which = rng.randrange(3)
            if which == 0:
                c2 = replace(c, name=_other(rng, len(NAMES), [c.name]))
            elif which == 1:
                c2 = replace(c, num=_other_num(rng, [c.num]))
            else:
                c2 = replace(c, noun=_other(rng, len(NOUNS), [c.noun]))
            s2 = _english_variant(c2, lex, rng, front_pp=rng.random() < 0.5, p_synonym=0.5)
        records.append({"sentence1": s1, "sentence2": s2, "label": label})
    return records


def _pos_clause(rng: random.Random) -> Clause:
    return _random_clause(rng, p_adj=0.7, p_pp=0.5, p_neg=0.2)


def _tatoeba_clauses(rng: random.Random, n: int) -> list[Clause]:
    """Unique clauses; half are minimal pairs of an earlier one (same name and number), so
    matching digits and names alone cannot solve retrieval."""
    clauses: list[Clause] = []
    seen: set[Clause] = set()
    while len(clauses) < n:
        if clauses and rng.random() < 0.5:
            base = rng.choice(clauses)
            which = rng.randrange(3)
            if which == 0:
                c = replace(base, verb=_other(rng, len(VERBS), [base.verb]))
            elif which == 1:
                c = replace(base, noun=_other(rng, len(NOUNS), [base.noun]))
            else:
                c = replace(base, adj=_other(rng, len(ADJECTIVES), [base.adj or 0]))
        else:
            c = _random_clause(rng, p_adj=0.7, p_pp=0.5, p_neg=0.15)
        if c not in seen:
            seen.add(c)
            clauses.append(c)
    rng.shuffle(clauses)  # keep minimal pairs from sitting next to each other
    return clauses


def _corpus_lines(rng: random.Random, n: int, lang: str, lex: Lexicon) -> list[str]:
    lines = []
    for _ in range(n):
        clauses = [_random_clause(rng, p_neg=0.15) for _ in range(1 + (rng.random() < 0.25))]
        if lang == "en" and rng.random() < 0.3:  # let the tokenizer see the synonyms too
            lines.append(_english_variant(clauses[0], lex, rng, rng.random() < 0.2, 0.5))
        else:
            lines.append(render_text(clauses, lang, lex))
    return lines


# --- writing --------------------------------------------------------------------------------

def _write_jsonl(path: Path, records: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


def generate_benchmark(
    root: str | Path,
    seed: int = 13,
    train_size: int = DEFAULT_SIZES["train_size"],
    eval_size: int = DEFAULT_SIZES["eval_size"],
    retrieval_size: int = DEFAULT_SIZES["retrieval_size"],
    corpus_size: int = DEFAULT_SIZES["corpus_size"],
) -> Path:
    """Write every task, the corpus and benchmark.json under root; returns root.

    Sizes: `train_size` examples per English training split, `eval_size` per dev and per test
    split per language, `retrieval_size` pairs per Tatoeba language, `corpus_size` corpus lines
    per language. The same arguments always give byte-identical files.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lexicons = build_lexicons(seed)
    en = lexicons["en"]
    others = [lang for lang in LANGUAGES if lang != "en"]
    files: dict[str, int] = {}

    def write(rel: str, records: list[dict]) -> None:
        files[rel] = _write_jsonl(root / rel, records)

    # Intermediate tasks: English only.
    rng = _rng(seed, "synth_nli")
    seen: set = set()
    for split, n in (("train", train_size), ("dev", eval_size)):
        examples = _unique_examples(_nli_example, rng, _balanced_labels(rng, n, 3), seen)
        write(f"synth_nli/{split}-en.jsonl", _nli_records(examples, "en", en))
    rng = _rng(seed, "synth_para")
    for split, n in (("train", train_size), ("dev", eval_size)):
        write(f"synth_para/{split}-en.jsonl", _para_records(rng, n, en))

    # Target tasks: English train; dev/test rendered in every language from the same
    # abstract examples, so they are parallel (like XNLI).
    rng = _rng(seed, "synth_xnli")
    seen = set()
    for split, n in (("train", train_size), ("dev", eval_size), ("test", eval_size)):
        examples = _unique_examples(_xnli_example, rng, _balanced_labels(rng, n, 3), seen)
        for lang in ["en"] if split == "train" else list(LANGUAGES):
            write(f"synth_xnli/{split}-{lang}.jsonl", _nli_records(examples, lang, lexicons[lang]))
    rng = _rng(seed, "synth_pos")
    seen_clauses: set[Clause] = set()
    for split, n in (("train", train_size), ("dev", eval_size), ("test", eval_size)):
        clauses: list[Clause] = []
        while len(clauses) < n:
            clause = _pos_clause(rng)
            if clause not in seen_clauses:
                seen_clauses.add(clause)
                clauses.append(clause)
        for lang in ["en"] if split == "train" else list(LANGUAGES):
            records = []
            for clause in clauses:
                pairs = render_tagged(clause, lang, lexicons[lang])
                records.append({"tokens": [w for w, _ in pairs], "tags": [t for _, t in pairs]})
            write(f"synth_pos/{split}-{lang}.jsonl", records)

    # Retrieval: a different set of sentences per language, like Tatoeba.
    for lang in others:
        clauses = _tatoeba_clauses(_rng(seed, "synth_tatoeba", lang), retrieval_size)
        write(f"synth_tatoeba/test-{lang}.jsonl", [
            {"english": render_text([c], "en", en), "other": render_text([c], lang, lexicons[lang])}
            for c in clauses
        ])  # fmt: skip

    corpus_dir = root / "corpus"
    corpus_dir.mkdir(exist_ok=True)
    for lang in LANGUAGES:
        lines = _corpus_lines(_rng(seed, "corpus", lang), corpus_size, lang, lexicons[lang])
        (corpus_dir / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def task_meta(family: str, role: str, labels: list[str], fields: list[str],
                  splits: dict[str, list[str]], label_field: str | None = "label") -> dict:
        languages = sorted({lang for langs in splits.values() for lang in langs},
                           key=list(LANGUAGES).index)
        return {"family": family, "role": role, "label_names": labels,
                "label_field": label_field, "text_fields": fields, "languages": languages,
                "splits": splits}  # fmt: skip

    every = list(LANGUAGES)
    meta = {
        "name": "synthetic-xtreme",
        "synthetic": True,
        "description": "SYNTHETIC XTREME-shaped benchmark generated by "
        "trainables.offline.benchmark; not real data.",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "sizes": {"train_size": train_size, "eval_size": eval_size,
                  "retrieval_size": retrieval_size, "corpus_size": corpus_size},
        "languages": dict(LANGUAGES),
        "word_order": {lang: _SYNTAX[lang].order for lang in LANGUAGES},
        "tasks": {
            "synth_nli": task_meta("classification", "intermediate", NLI_LABELS,
                                   ["premise", "hypothesis"], {"train": ["en"], "dev": ["en"]}),
            "synth_para": task_meta("classification", "intermediate", PARA_LABELS,
                                    ["sentence1", "sentence2"], {"train": ["en"], "dev": ["en"]}),
            "synth_xnli": task_meta("classification", "target", NLI_LABELS,
                                    ["premise", "hypothesis"],
                                    {"train": ["en"], "dev": every, "test": every}),
            "synth_pos": task_meta("tagging", "target", POS_TAGS, ["tokens"],
                                   {"train": ["en"], "dev": every, "test": every},
                                   label_field="tags"),
            "synth_tatoeba": task_meta("retrieval", "retrieval", [], ["english", "other"],
                                       {"test": others}, label_field=None),
        },
        "corpus": {"dir": "corpus", "languages": every, "lines_per_language": corpus_size},
        "files": files,
    }  # fmt: skip
    # Written last: its presence means the directory is complete.
    (root / "benchmark.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    return root


def _sizes_with_defaults(sizes: dict) -> dict:
    unknown = set(sizes) - set(DEFAULT_SIZES)
    if unknown:
        raise TypeError(f"unknown benchmark size(s): {sorted(unknown)}")
    return {name: int(sizes.get(name, default)) for name, default in DEFAULT_SIZES.items()}


def ensure_benchmark(cache_dir: str | Path, seed: int = 13, **sizes: int) -> Path:
    """Return <cache_dir>/synthetic-xtreme-<hash>/, generating it once.

    The hash covers (GENERATOR_VERSION, seed, sizes with defaults filled in). Generation goes
    to a temp dir that is renamed into place, so concurrent callers never see a half-written
    directory; if another process wins the rename, its (identical) copy is used.
    """
    full = _sizes_with_defaults(sizes)
    key = json.dumps({"version": GENERATOR_VERSION, "seed": seed, "sizes": full}, sort_keys=True)
    target = Path(cache_dir) / f"synthetic-xtreme-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if (target / "benchmark.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        generate_benchmark(staging, seed=seed, **full)
        try:
            os.rename(staging, target)
        except OSError:
            # Lost the race: the target exists (rename onto a non-empty dir fails).
            if not (target / "benchmark.json").exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
