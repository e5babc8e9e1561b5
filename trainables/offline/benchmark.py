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
content words of de/fr/sw are cognates of English (identical or one letter changed). The
Latin-script languages also borrow English "never" and the question words.

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

Where each task's signal lies (and what carries it to other languages):

- multiple choice: the SWAG-like continuation repeats the context's person, number and thing;
  each distractor takes two of the three from a decoy, so only comparing choice and context
  works. The COPA-like cause/effect follows fixed verb cycles (CAUSAL_CYCLES); of the wrong
  alternatives, a third reverse the relation, a third change two anchors (which shared
  anchors expose in any language) and a third are negated (the cue a tiny model learns first).
- span QA: the question repeats anchors of the sentence it asks about (its name or number,
  its verb and noun) and its question word (borrowed from English by the Latin-script
  languages) says which phrase is the answer.
- bitext mining: translations share digits and names; 40% of each side has no translation,
  half of it minimal pairs of a gold sentence, so anchors alone are not enough.

Layout written by `generate_benchmark` (UTF-8 JSONL, one example per line):

- ``synth_nli/{train,dev}-en.jsonl``: premise, hypothesis, label (intermediate, MNLI-like)
- ``synth_para/{train,dev}-en.jsonl``: sentence1, sentence2, label (intermediate, QQP-like)
- ``synth_xnli/{train-en,dev-*,test-*}.jsonl``: premise, hypothesis, label (target, XNLI-like;
  dev/test are parallel across languages, line i is the same abstract example)
- ``synth_pos/{train-en,dev-*,test-*}.jsonl``: tokens, tags (target, UD-POS-like)
- ``synth_ccg/data/AUTO/<section>/wsj_<section>00.auto``: English clauses in CCGbank's AUTO
  format and section layout (train in sections 02 and 03, dev 00, test 23), each word a leaf
  with its CCG category; a preposition's category says whether its phrase attaches to the noun
  (the clause has an adjective) or to the verb (intermediate, CCG-supertagging-like)
- ``synth_tatoeba/test-<lang>.jsonl`` for every non-English language: english, other
- ``synth_swag/{train,dev}-en.jsonl``: context, question (""), choices (4), label (the index
  of the right choice) (intermediate, HellaSwag-like)
- ``synth_xcopa/{train-en,dev-*,test-*}.jsonl``: context (the premise), question ("cause" or
  "effect", in English in every language, as in XCOPA), choices (2), label (target,
  XCOPA-like; dev/test parallel across languages)
- ``synth_squad/{train,dev}-en.jsonl``: id, context (2-4 sentences), question, answers
  ({"text": [...], "answer_start": [...]}, character offsets into context) (intermediate,
  SQuAD-like)
- ``synth_xquad/{dev-*,test-*}.jsonl`` in every language, en included: the same fields
  (target, XQuAD-like; trained on synth_squad; parallel, with the same ids in every language)
- ``synth_lareqa/{train-en,dev-en,test-*}.json``: SQuAD-format JSON like LAReQA's inputs;
  the test files (every language, parallel, same question ids) carry XQuAD-R's
  ``sentence_breaks``, the English train and dev files do not, like SQuAD v1.1 (target,
  LAReQA-like: a question retrieves its answer sentence in every language from one pool)
- ``synth_bucc/<lang>-en.{sample,test}.{<lang>,en,gold}`` for every non-English language, in
  BUCC 2018's format: ``<id><TAB><sentence>`` lines (ids like ``de-000001``, ``en-000001``) and
  ``<lang id><TAB><en id>`` gold lines ("sample" is BUCC's dev split)
- ``corpus/<lang>.txt``: one sentence per line (a tenth of them questions), for training a
  tokenizer and masked-LM pretraining
- ``benchmark.json``: metadata, ``"synthetic": true``; written last, so it marks completion
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

GENERATOR_VERSION = 5
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

# Span QA asks for one role of a clause; question words are indexed like QUESTION_TYPES.
QUESTION_TYPES = ("number", "person", "object", "place")
ENGLISH_QUESTION_WORDS = ("How many", "Who", "What", "Where")

# Cause -> effect cycles over English verbs, for the COPA-like task (and the continuations of
# the SWAG-like one). Cycles, so that every verb in them is the effect of one verb and the
# cause of another: a choice's verb alone never tells whether it is a cause or an effect.
CAUSAL_CYCLES = (
    ("need", "buy", "keep", "hide", "lose"),
    ("see", "like", "want", "take", "carry", "bring"),
    ("make", "paint", "sell", "count"),
    ("hold", "throw", "break", "fix"),
)
COPA_QUESTIONS = ("cause", "effect")
BUCC_SPLITS = ("sample", "test")  # BUCC 2018 calls its dev split "sample"

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
    question_mark: str
    wh_in_situ: bool  # the question word takes the asked phrase's place (else it is fronted)


_SYNTAX: dict[str, _Syntax] = {
    "en": _Syntax("SVO", False, False, True, ".", "?", False),
    "de": _Syntax("SVO", False, False, True, ".", "?", False),
    "fr": _Syntax("SVO", True, False, True, ".", "?", False),
    "sw": _Syntax("SVO", True, False, False, ".", "?", False),
    "ru": _Syntax("SVO", False, False, False, ".", "?", False),
    "ar": _Syntax("VSO", True, False, True, ".", "\u061f", False),
    "hi": _Syntax("SOV", False, True, False, "\u0964", "?", True),
    "zh": _Syntax("SVO", False, False, False, "\u3002", "\uff1f", True),
}
# Declarative order of a clause's phrases.
_ROLE_ORDER = {
    "SVO": ("subject", "verb", "object", "pp"),
    "SOV": ("subject", "object", "pp", "verb"),
    "VSO": ("verb", "subject", "object", "pp"),
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
    """Word forms of one language, indexed like NAMES, NOUNS, VERBS, ADJECTIVES, PREPOSITIONS
    and (`wh`, the question words) QUESTION_TYPES.

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
    wh: tuple[str, ...]

    def words(self) -> set[str]:
        """Every word form of the language (names included)."""
        return {
            *self.names, *self.nouns, *self.nouns_counted, *self.verbs, *self.adjectives,
            *self.prepositions, self.det, self.neg, self.conj,
            *(word for phrase in self.wh for word in phrase.split()),
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
        wh=ENGLISH_QUESTION_WORDS,
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
        # Loanwords like "never": a tiny model does not align made-up question words across
        # languages from a small corpus, so without them span QA would not transfer at all.
        wh=ENGLISH_QUESTION_WORDS if LANGUAGES[lang] == "Latin"
        else tuple(new_word(None) for _ in QUESTION_TYPES),
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


def _phrases(clause: Clause, lang: str, lex: Lexicon) -> dict[str, list[tuple[str, str]]]:
    """(word, POS tag) pairs of each phrase of `clause` in `lang` (keys of _ROLE_ORDER)."""
    syn = _SYNTAX[lang]
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
    return [pair for role in _ROLE_ORDER[_SYNTAX[lang].order] for pair in phrases[role]]


def render_tokens(clause: Clause, lang: str, lex: Lexicon) -> list[str]:
    return [word for word, _ in render_tagged(clause, lang, lex)]


def render_with_span(clause: Clause, role: str, lang: str, lex: Lexicon) -> tuple[str, int, str]:
    """The sentence of `clause`, and the character offset and text of one of its phrases.

    `role` is a key of _ROLE_ORDER, or "number" for the number alone (the first word of the
    object in every language).
    """
    phrases = _phrases(clause, lang, lex)
    before: list[str] = []
    for name in _ROLE_ORDER[_SYNTAX[lang].order]:
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
    syn = _SYNTAX[lang]
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


def _unique_examples(make: Callable, rng: random.Random, labels: Sequence, seen: set) -> list:
    """make(rng, label) for each of `labels`, skipping any example already in `seen` (so splits
    never overlap)."""
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


# CCG categories and Penn Treebank tags of the English clause's parts of speech.
_CCG_CATEGORIES = {"PROPN": "N", "PART": r"(S\NP)/(S\NP)", "VERB": r"(S[dcl]\NP)/NP",
                   "NUM": "N/N", "ADJ": "N/N", "NOUN": "N", "DET": "NP[nb]/N"}
_PTB_TAGS = {"PROPN": "NNP", "PART": "RB", "VERB": "VBD", "NUM": "CD", "ADJ": "JJ",
             "NOUN": "NNS", "DET": "DT", "ADP": "IN"}
_NOUN_ATTACHED_PP = r"(NP\NP)/NP"
_VERB_ATTACHED_PP = r"((S\NP)\(S\NP))/NP"


def _ccg_auto_lines(clause: Clause, identifier: str, lex: Lexicon) -> list[str]:
    """One sentence in CCGbank's AUTO format: its ID line and a binary derivation whose leaves
    carry the words and categories (the inner nodes are right-branching placeholders: the
    supertagging task reads only the leaves)."""
    leaves = []
    for word, pos in render_tagged(clause, "en", lex):
        if pos == "ADP":
            category = _NOUN_ATTACHED_PP if clause.adj is not None else _VERB_ATTACHED_PP
        else:
            category = _CCG_CATEGORIES[pos]
        tag = _PTB_TAGS[pos]
        leaves.append(f"(<L {category} {tag} {tag} {word} {category}>)")
    derivation = leaves[-1]
    for leaf in reversed(leaves[:-1]):
        derivation = f"(<T S[dcl] 0 2> {leaf} {derivation} )"
    return [f"ID={identifier} PARSER=GOLD NUMPARSE=1", derivation]


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


_VERB_INDEX = {base: i for i, (base, _) in enumerate(VERBS)}
_EFFECT = {
    _VERB_INDEX[cycle[i]]: _VERB_INDEX[cycle[(i + 1) % len(cycle)]]
    for cycle in CAUSAL_CYCLES for i in range(len(cycle))
}  # fmt: skip
_CAUSE = {effect: cause for cause, effect in _EFFECT.items()}

# context, question, choices, label
ChoiceExample = tuple[Clause, str, tuple[Clause, ...], int]


def _swag_example(rng: random.Random, label: int) -> ChoiceExample:
    """HellaSwag-like: a sentence and four continuations, one by the same person about the
    same number of the same things (name, number, noun); each distractor takes two of those
    three anchors from a decoy instead.

    The distractors keep one true anchor each, so every anchor has two true and two decoy
    values among the choices and every two choices share exactly one anchor: the choices
    alone do not give the answer away, comparing them with the context does.
    """
    context = _random_clause(rng, p_adj=0.6, p_pp=0.5)
    verb = _EFFECT.get(context.verb)  # what the person plausibly does next
    if verb is None:
        verb = _other(rng, len(VERBS), [context.verb])
    pp = (rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS)))
    follow = Clause(
        name=context.name, verb=verb, num=context.num, noun=context.noun,
        adj=context.adj if rng.random() < 0.5 else None, pp=pp if rng.random() < 0.3 else None,
    )
    truth = (context.name, context.num, context.noun)
    decoy = (_other(rng, len(NAMES), [context.name]), _other_num(rng, [context.num]),
             _other(rng, len(NOUNS), [context.noun]))  # fmt: skip
    wrong = []
    for keep in range(3):
        name, num, noun = (truth[k] if k == keep else decoy[k] for k in range(3))
        wrong.append(replace(follow, name=name, num=num, noun=noun))
    rng.shuffle(wrong)
    return context, "", (*wrong[:label], follow, *wrong[label:]), label


def _copa_example(rng: random.Random, label: int, question: str) -> ChoiceExample:
    """COPA-like: the premise's cause or effect (CAUSAL_CYCLES) against an alternative.

    The wrong alternative is one of three kinds, equally often:

    - the premise's effect when its cause is asked (or the other way round), with the same
      person, number and thing: only knowing which verb causes which tells them apart;
    - the right event with two of those three anchors changed, which the anchors shared by
      all languages reveal;
    - the right event negated. As in `_xnli_example`, this surface cue (the negation word,
      shared by the Latin-script languages) is what a tiny model trained from scratch picks
      up in a few hundred steps; the comparisons the other two need take it longer.
    """
    premise = replace(_random_clause(rng, p_adj=0.5, p_pp=0.4), verb=rng.choice(sorted(_EFFECT)))
    causes, effects = _CAUSE[premise.verb], _EFFECT[premise.verb]
    right_verb, reversed_verb = (effects, causes) if question == "effect" else (causes, effects)
    right = Clause(
        name=premise.name, verb=right_verb, num=premise.num, noun=premise.noun,
        adj=premise.adj if rng.random() < 0.5 else None,
    )
    kind = rng.randrange(3)
    if kind == 0:
        wrong = replace(right, verb=reversed_verb)
    elif kind == 1:
        wrong = replace(right, neg=True)
    else:
        keep = rng.randrange(3)
        wrong = replace(
            right,
            name=right.name if keep == 0 else _other(rng, len(NAMES), [right.name]),
            num=right.num if keep == 1 else _other_num(rng, [right.num]),
            noun=right.noun if keep == 2 else _other(rng, len(NOUNS), [right.noun]),
        )
    return premise, question, (wrong, right) if label else (right, wrong), label


def _copa_labels(rng: random.Random, n: int) -> list[tuple[int, str]]:
    """(label, question) pairs, both balanced and independent of each other."""
    pairs = [(i % 2, COPA_QUESTIONS[i // 2 % 2]) for i in range(n)]
    rng.shuffle(pairs)
    return pairs


def _choice_records(examples: list[ChoiceExample], lang: str, lex: Lexicon) -> list[dict]:
    return [
        {"context": render_text([context], lang, lex), "question": question,
         "choices": [render_text([c], lang, lex) for c in choices], "label": label}
        for context, question, choices, label in examples
    ]  # fmt: skip


# sentences, index of the one asked about, question type
QaExample = tuple[tuple[Clause, ...], int, str]


def _qa_example(rng: random.Random, qtype: str) -> QaExample:
    """2-4 sentences about different people and numbers, and a question about one of them.

    The other sentences often share the asked one's verb or noun, so one content word of the
    question does not find the sentence: its name or number does.
    """
    n = rng.randint(2, 4)
    names, nums = rng.sample(range(len(NAMES)), n), rng.sample(range(2, 100), n)
    clauses = [
        replace(_random_clause(rng, p_adj=0.5, p_pp=0.5), name=name, num=num)
        for name, num in zip(names, nums, strict=True)
    ]
    target = rng.randrange(n)
    asked = clauses[target]
    if qtype == "place" and asked.pp is None:
        clauses[target] = asked = replace(
            asked, pp=(rng.randrange(len(PREPOSITIONS)), rng.randrange(len(NOUNS)))
        )
    for i, clause in enumerate(clauses):
        if i == target:
            continue
        r = rng.random()
        if r < 0.3:
            clauses[i] = replace(clause, verb=asked.verb)
        elif r < 0.6:
            clauses[i] = replace(clause, noun=asked.noun)
    return tuple(clauses), target, qtype


def _qa_sentences(example: QaExample, lang: str, lex: Lexicon) -> tuple[list[str], int, str]:
    """The sentences of a QA example's context, and its answer's offset in the context (the
    sentences joined by spaces) and text."""
    clauses, target, qtype = example
    sentences, offset, start, answer = [], 0, 0, ""
    for k, clause in enumerate(clauses):
        if k == target:
            text, span_start, answer = render_with_span(clause, ANSWER_ROLES[qtype], lang, lex)
            start = offset + span_start
        else:
            text = render_text([clause], lang, lex)
        sentences.append(text)
        offset += len(text) + 1
    return sentences, start, answer


def _qa_records(examples: list[QaExample], lang: str, lex: Lexicon, prefix: str) -> list[dict]:
    """SQuAD-format records; ids depend only on the position, so they match across languages."""
    records = []
    for i, example in enumerate(examples):
        sentences, start, answer = _qa_sentences(example, lang, lex)
        context = " ".join(sentences)
        assert context[start : start + len(answer)] == answer, (context, start, answer)
        clauses, target, qtype = example
        records.append({
            "id": f"{prefix}-{i:05d}", "context": context,
            "question": render_question(clauses[target], qtype, lang, lex),
            "answers": {"text": [answer], "answer_start": [start]},
        })  # fmt: skip
    return records


def _lareqa_document(examples: list[QaExample], lang: str, lex: Lexicon, prefix: str,
                     with_breaks: bool) -> dict:
    """A SQuAD v1.1 JSON document, one paragraph per example; with XQuAD-R's
    `sentence_breaks` ([start, end) offsets of each sentence) where `with_breaks`."""
    paragraphs = []
    for i, example in enumerate(examples):
        sentences, start, answer = _qa_sentences(example, lang, lex)
        clauses, target, qtype = example
        question = render_question(clauses[target], qtype, lang, lex)
        paragraph = {"context": " ".join(sentences), "qas": [{
            "id": f"{prefix}-{i:05d}", "question": question,
            "answers": [{"text": answer, "answer_start": start}]}]}
        if with_breaks:
            breaks, offset = [], 0
            for sentence in sentences:
                breaks.append([offset, offset + len(sentence)])
                offset += len(sentence) + 1
            paragraph["sentence_breaks"] = breaks
        paragraphs.append(paragraph)
    return {"version": "1.1", "data": [{"title": prefix, "paragraphs": paragraphs}]}


Sentence = tuple[Clause, ...]


def _bucc_sentences(
    rng: random.Random, n: int, seen: set[Sentence]
) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    """(gold, other-side-only, English-only) sentences for one BUCC-like split of n per side.

    60% of each side is gold (its translation is on the other side). Half of the rest are
    minimal pairs of a gold sentence (one verb, noun or adjective changed, same name and
    number), so anchors alone mistake them for translations.
    """

    gold: list[Sentence] = []

    def draw(derive: bool) -> Sentence:
        while True:
            if derive:
                base = list(rng.choice(gold))
                k = rng.randrange(len(base))
                which = rng.randrange(3)
                if which == 0:
                    base[k] = replace(base[k], verb=_other(rng, len(VERBS), [base[k].verb]))
                elif which == 1:
                    base[k] = replace(base[k], noun=_other(rng, len(NOUNS), [base[k].noun]))
                else:
                    base[k] = replace(base[k], adj=_other(rng, len(ADJECTIVES), [base[k].adj]))
                sentence = tuple(base)
            else:
                sentence = tuple(_random_clause(rng, p_adj=0.6, p_pp=0.5, p_neg=0.1)
                                 for _ in range(1 + (rng.random() < 0.3)))  # fmt: skip
            if sentence not in seen:
                seen.add(sentence)
                return sentence

    n_gold = round(0.6 * n)
    gold.extend(draw(False) for _ in range(n_gold))
    other = [draw(rng.random() < 0.5) for _ in range(n - n_gold)]
    english = [draw(rng.random() < 0.5) for _ in range(n - n_gold)]
    return gold, other, english


def _bucc_files(rng: random.Random, n: int, lang: str, lexicons: dict[str, Lexicon],
                seen: set[Sentence]) -> tuple[list[str], list[str], list[str]]:
    """Lines of the `lang` file, the English file and the gold file of one BUCC-like split.

    Each side is shuffled on its own before ids are given, so ids say nothing of the pairing.
    """
    gold, other_only, english_only = _bucc_sentences(rng, n, seen)
    sides = []
    for side_lang, sentences in ((lang, gold + other_only), ("en", gold + english_only)):
        order = list(range(len(sentences)))
        rng.shuffle(order)
        ids = {k: f"{side_lang}-{position + 1:06d}" for position, k in enumerate(order)}
        lines = [f"{ids[k]}\t{render_text(sentences[k], side_lang, lexicons[side_lang])}"
                 for k in order]  # fmt: skip
        sides.append((ids, lines))
    (other_ids, other_lines), (english_ids, english_lines) = sides
    gold_lines = sorted(f"{other_ids[k]}\t{english_ids[k]}" for k in range(len(gold)))
    return other_lines, english_lines, gold_lines


def _corpus_lines(rng: random.Random, n: int, lang: str, lex: Lexicon) -> list[str]:
    lines = []
    for _ in range(n):
        if rng.random() < 0.1:  # questions, so that pretraining sees the question words
            clause = _random_clause(rng, p_pp=0.5)
            types = [t for t in QUESTION_TYPES if t != "place" or clause.pp is not None]
            lines.append(render_question(clause, rng.choice(types), lang, lex))
            continue
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
    split per language, `retrieval_size` pairs per Tatoeba language and sentences per side of
    each BUCC split, `corpus_size` corpus lines per language. The same arguments always give
    byte-identical files.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lexicons = build_lexicons(seed)
    en = lexicons["en"]
    others = [lang for lang in LANGUAGES if lang != "en"]
    files: dict[str, int] = {}

    def write(rel: str, records: list[dict]) -> None:
        files[rel] = _write_jsonl(root / rel, records)

    def write_lines(rel: str, lines: list[str]) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        files[rel] = len(lines)

    # Intermediate tasks: English only.
    rng = _rng(seed, "synth_nli")
    seen: set = set()
    for split, n in (("train", train_size), ("dev", eval_size)):
        examples = _unique_examples(_nli_example, rng, _balanced_labels(rng, n, 3), seen)
        write(f"synth_nli/{split}-en.jsonl", _nli_records(examples, "en", en))
    rng = _rng(seed, "synth_para")
    for split, n in (("train", train_size), ("dev", eval_size)):
        write(f"synth_para/{split}-en.jsonl", _para_records(rng, n, en))
    rng = _rng(seed, "synth_swag")
    seen = set()
    for split, n in (("train", train_size), ("dev", eval_size)):
        examples = _unique_examples(_swag_example, rng, _balanced_labels(rng, n, 4), seen)
        write(f"synth_swag/{split}-en.jsonl", _choice_records(examples, "en", en))
    rng = _rng(seed, "synth_squad")
    seen = set()
    for split, n in (("train", train_size), ("dev", eval_size)):
        types = [QUESTION_TYPES[label] for label in _balanced_labels(rng, n, len(QUESTION_TYPES))]
        examples = _unique_examples(_qa_example, rng, types, seen)
        write(f"synth_squad/{split}-en.jsonl",
              _qa_records(examples, "en", en, f"synth-squad-{split}"))

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

    rng = _rng(seed, "synth_ccg")
    seen_clauses = set()
    sections = (("02", train_size // 2), ("03", train_size - train_size // 2),
                ("00", eval_size), ("23", eval_size))
    for section, n in sections:
        clauses = _unique_examples(lambda r, _: _pos_clause(r), rng, range(n), seen_clauses)
        write_lines(f"synth_ccg/data/AUTO/{section}/wsj_{section}00.auto", [
            line for number, clause in enumerate(clauses, 1)
            for line in _ccg_auto_lines(clause, f"wsj_{section}00.{number}", en)])

    rng = _rng(seed, "synth_xcopa")
    seen = set()
    for split, n in (("train", train_size), ("dev", eval_size), ("test", eval_size)):
        examples = _unique_examples(
            lambda r, pair: _copa_example(r, *pair), rng, _copa_labels(rng, n), seen
        )
        for lang in ["en"] if split == "train" else list(LANGUAGES):
            write(f"synth_xcopa/{split}-{lang}.jsonl",
                  _choice_records(examples, lang, lexicons[lang]))
    # XQuAD-like: no training split (English training data is synth_squad); ids are shared by
    # the renderings of one abstract example.
    rng = _rng(seed, "synth_xquad")
    seen = set()
    for split in ("dev", "test"):
        types = [QUESTION_TYPES[k] for k in _balanced_labels(rng, eval_size, len(QUESTION_TYPES))]
        examples = _unique_examples(_qa_example, rng, types, seen)
        for lang in LANGUAGES:
            write(f"synth_xquad/{split}-{lang}.jsonl",
                  _qa_records(examples, lang, lexicons[lang], f"synth-xquad-{split}"))

    # LAReQA-like: the English training files leave the sentences to the breaker (as SQuAD
    # does); the test files are parallel and carry their breaks (as XQuAD-R does).
    rng = _rng(seed, "synth_lareqa")
    seen = set()
    for split, n in (("train", train_size), ("dev", eval_size), ("test", eval_size)):
        types = [QUESTION_TYPES[k] for k in _balanced_labels(rng, n, len(QUESTION_TYPES))]
        examples = _unique_examples(_qa_example, rng, types, seen)
        for lang in ["en"] if split != "test" else list(LANGUAGES):
            document = _lareqa_document(examples, lang, lexicons[lang], f"synth-lareqa-{split}",
                                        with_breaks=split == "test")
            write_lines(f"synth_lareqa/{split}-{lang}.json",
                        [json.dumps(document, ensure_ascii=False, sort_keys=True)])
            files[f"synth_lareqa/{split}-{lang}.json"] = len(examples)

    # Retrieval: a different set of sentences per language, like Tatoeba.
    for lang in others:
        clauses = _tatoeba_clauses(_rng(seed, "synth_tatoeba", lang), retrieval_size)
        write(f"synth_tatoeba/test-{lang}.jsonl", [
            {"english": render_text([c], "en", en), "other": render_text([c], lang, lexicons[lang])}
            for c in clauses
        ])  # fmt: skip

    # Bitext mining in BUCC 2018's own file format (sample = BUCC's dev split).
    for lang in others:
        rng = _rng(seed, "synth_bucc", lang)
        seen_sentences: set[Sentence] = set()
        for split in BUCC_SPLITS:
            lines = _bucc_files(rng, retrieval_size, lang, lexicons, seen_sentences)
            for suffix, content in zip((lang, "en", "gold"), lines, strict=True):
                write_lines(f"synth_bucc/{lang}-en.{split}.{suffix}", content)

    corpus_dir = root / "corpus"
    corpus_dir.mkdir(exist_ok=True)
    for lang in LANGUAGES:
        lines = _corpus_lines(_rng(seed, "corpus", lang), corpus_size, lang, lexicons[lang])
        (corpus_dir / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def task_meta(family: str, role: str, labels: list[str], fields: list[str],
                  splits: dict[str, list[str]], label_field: str | None = "label",
                  **extra: str) -> dict:
        languages = sorted({lang for langs in splits.values() for lang in langs},
                           key=list(LANGUAGES).index)
        return {"family": family, "role": role, "label_names": labels,
                "label_field": label_field, "text_fields": fields, "languages": languages,
                "splits": splits, **extra}  # fmt: skip

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
            "synth_ccg": task_meta("tagging", "intermediate", [], ["tokens"],
                                   {"train": ["en"], "dev": ["en"], "test": ["en"]},
                                   label_field="tags", format="ccgbank_auto"),
            "synth_tatoeba": task_meta("retrieval", "retrieval", [], ["english", "other"],
                                       {"test": others}, label_field=None),
            "synth_swag": task_meta("multiple_choice", "intermediate", [],
                                    ["context", "question", "choices"],
                                    {"train": ["en"], "dev": ["en"]}),
            "synth_xcopa": task_meta("multiple_choice", "target", [],
                                     ["context", "question", "choices"],
                                     {"train": ["en"], "dev": every, "test": every}),
            "synth_squad": task_meta("span_qa", "intermediate", [], ["context", "question"],
                                     {"train": ["en"], "dev": ["en"]}, label_field="answers"),
            "synth_xquad": task_meta("span_qa", "target", [], ["context", "question"],
                                     {"dev": every, "test": every}, label_field="answers",
                                     train_task="synth_squad"),
            "synth_lareqa": task_meta("dual_encoder", "target", [], ["question", "context"],
                                      {"train": ["en"], "dev": ["en"], "test": every},
                                      label_field="answers", format="lareqa_json"),
            "synth_bucc": task_meta("bitext_mining", "retrieval", [], [],
                                    {split: others for split in BUCC_SPLITS}, label_field=None,
                                    format="bucc2018",
                                    file_pattern="{lang}-en.{split}.{lang|en|gold}"),
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
