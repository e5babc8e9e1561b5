"""The languages of each benchmark task, written once, in the order google-research/xtreme's
`evaluate.py` averages them (its float sums depend on that order). Where XTREME-R adds
languages, its list is XTREME's followed by the new ones."""

from __future__ import annotations

XNLI = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi",
        "zh")
PAWSX = ("de", "en", "es", "fr", "ja", "ko", "zh")
XCOPA = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
# UD-POS reads treebanks by the language's English name (UD_German-*).
UDPOS_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "kk": "Kazakh", "ko": "Korean",
    "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian", "ta": "Tamil",
    "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}  # fmt: skip
# XTREME-R's UD-POS: XTREME's 33 languages and five more, from UD 2.7.
UDPOS_R_NAMES = {**UDPOS_NAMES, "lt": "Lithuanian", "pl": "Polish", "uk": "Ukrainian",
                 "wo": "Wolof", "ro": "Romanian"}
UDPOS = tuple(UDPOS_NAMES)
# UD-POS languages whose UD 2.5 treebanks lack a train or a dev file, as google/xtreme's
# `udpos.<Name>` configs have them (huggingface/datasets, datasets/xtreme/xtreme.py): Kazakh
# has train and test, Tagalog, Thai and Yoruba test only. No in-language arm for them.
UDPOS_NO_TRAIN_DEV = ("kk", "th", "tl", "yo")
UDPOS_R = tuple(UDPOS_R_NAMES)
PANX = (
    "ar", "he", "vi", "id", "jv", "ms", "tl", "eu", "ml", "ta", "te", "af", "nl", "en", "de",
    "el", "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko",
    "th", "sw", "yo", "my", "zh", "kk", "tr", "et", "fi", "hu",
)  # fmt: skip
# XTREME-R's WikiANN: the same Rahimi et al. splits in eight more languages.
PANX_R = (*PANX, "qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")
XQUAD = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi")
XQUAD_R = (*XQUAD, "ro")  # XTREME-R's XQuAD adds Romanian
MLQA = ("en", "es", "de", "ar", "hi", "vi", "zh")
# TyDiQA-GoldP keeps every language in one config; a row's id starts with the language's name.
TYDIQA_PREFIXES = {
    "en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
}  # fmt: skip
TYDIQA = tuple(TYDIQA_PREFIXES)
# Tatoeba's languages and LASER's three-letter codes for them.
TATOEBA_CODES = {
    "ar": "ara", "he": "heb", "vi": "vie", "id": "ind", "jv": "jav", "tl": "tgl", "eu": "eus",
    "ml": "mal", "ta": "tam", "te": "tel", "af": "afr", "nl": "nld", "de": "deu", "el": "ell",
    "bn": "ben", "hi": "hin", "mr": "mar", "ur": "urd", "fa": "pes", "fr": "fra", "it": "ita",
    "pt": "por", "es": "spa", "bg": "bul", "ru": "rus", "ja": "jpn", "ka": "kat", "ko": "kor",
    "th": "tha", "sw": "swh", "zh": "cmn", "kk": "kaz", "tr": "tur", "et": "est", "fi": "fin",
    "hu": "hun",
}  # fmt: skip
# XTREME-R's Tatoeba: five more of LASER's test sets (evaluate.py's XTREME_R_TASK2LANGS).
TATOEBA_R_CODES = {**TATOEBA_CODES, "az": "aze", "lt": "lit", "pl": "pol", "uk": "ukr",
                   "ro": "ron"}
TATOEBA = tuple(TATOEBA_CODES)
TATOEBA_R = tuple(TATOEBA_R_CODES)
BUCC = ("de", "fr", "ru", "zh")
MEWSLI_X = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
# XQuAD-R has no list in evaluate.py: its languages in XQuAD's order.
LAREQA = XQUAD
# XGLUE's tasks, each in the order its xglue_evaluate.py averages it (`task2lg`).
XGLUE_NER = ("de", "en", "es", "nl")
CONLL2002 = ("es", "nl")  # CoNLL-2002's NER languages
XGLUE_POS = ("pl", "ar", "ru", "bg", "de", "el", "en", "es", "fr", "hi", "it", "nl", "pt", "th",
             "tr", "ur", "vi", "zh")
XGLUE_NC = ("de", "en", "es", "fr", "ru")
XGLUE_MLQA = ("ar", "de", "en", "es", "hi", "vi", "zh")
XGLUE_XNLI = XNLI
XGLUE_PAWSX = ("de", "en", "es", "fr")
XGLUE_QADSM = ("de", "en", "fr")
XGLUE_WPR = ("de", "en", "es", "fr", "it", "pt", "zh")
XGLUE_QAM = ("de", "en", "fr")
# IGLUE's xFlickr&CO, in its results' order (English, then the seven it translated into).
XFLICKRCO = ("en", "de", "es", "id", "ja", "ru", "tr", "zh")
# IGLUE's XVNLI (English, then the four it translated into) and MaRVL, in its results' order.
XVNLI = ("en", "ar", "es", "fr", "ru")
MARVL = ("id", "sw", "ta", "tr", "zh")
