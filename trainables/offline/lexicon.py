"""The words of the offline benchmark's languages: English concepts and a made-up lexicon per
language, in its own script, drawn from the seed.

English uses real English words; the seven other languages get a lexicon of made-up words in
their own script. Languages share anchors, as real languages do: numbers are always Arabic
digits, person names stay in Latin script in Latin-script languages (half of them are
transliterated in the others), and about 20% of the content words of de/fr/sw are cognates of
English (identical or one letter changed). The Latin-script languages also borrow English
"never" and the question words. How a language orders the words is `grammar`'s business.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from trainables.offline.streams import random_stream
from trainables.tasks import SYNTHETIC_LANGUAGES

# The script of each language; which languages there are, and their order, is the registry's.
SCRIPTS = {
    "en": "Latin",
    "de": "Latin",
    "fr": "Latin",
    "sw": "Latin",
    "ru": "Cyrillic",
    "ar": "Arabic",
    "hi": "Devanagari",
    "zh": "Han",
}
LANGUAGES: dict[str, str] = {code: SCRIPTS[code] for code in SYNTHETIC_LANGUAGES}

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

# English-only synonyms (surface form -> synonym): paraphrases, and the corpus's English.
ENGLISH_SYNONYMS = {
    "buys": "purchases", "sees": "notices", "finds": "discovers", "fixes": "repairs",
    "likes": "enjoys", "takes": "grabs", "carries": "transports", "big": "large",
    "small": "little", "cars": "automobiles", "car": "automobile", "shop": "store",
    "shops": "stores", "picture": "photo", "pictures": "photos", "stone": "rock",
    "stones": "rocks", "cup": "mug", "cups": "mugs", "near": "by", "beside": "alongside",
}  # fmt: skip


# --- word-form inventories per language (real Unicode blocks of each script) ----------------

def _chars(first: int, last: int) -> list[str]:
    return [chr(c) for c in range(first, last + 1)]


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
    rng = random_stream(seed, "lexicon", lang)
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

