"""Script-aware text normalisation (for matching only, never for stored text) and language detection."""

import re
import unicodedata

_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_ZW = re.compile("[\u200c\u200d\u200e\u200f\u061c\u00ad\ufeff]")
_CHAR_MAP = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "٠": "0",
        "١": "1",
        "٢": "2",
        "٣": "3",
        "٤": "4",
        "٥": "5",
        "٦": "6",
        "٧": "7",
        "٨": "8",
        "٩": "9",
        "۰": "0",
        "۱": "1",
        "۲": "2",
        "۳": "3",
        "۴": "4",
        "۵": "5",
        "۶": "6",
        "۷": "7",
        "۸": "8",
        "۹": "9",
        "«": '"',
        "»": '"',
        "،": ",",
        "؛": ";",
        "؟": "?",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
    }
)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u0671-\u06d3\u06fa-\u06ff]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
_PERSIAN_ONLY = re.compile("[پچژگ\u06cc\u06a9]")  # پ چ ژ گ ی ک
_PERSIAN_WORDS = frozenset(
    ["است", "این", "را", "می\u200cشود", "کرد", "شد", "برای", "های", "ایران", "همکاری", "دیدار", "کشور", "سینمای"]
)
_ARABIC_WORDS = frozenset(
    ["في", "من", "على", "التي", "الذي", "إلى", "ان", "أن", "هذا", "هذه", "مع", "عن", "بين", "وقال"]
)


def fold_digits(text: str) -> str:
    """Arabic-Indic and Persian digits to ASCII, leaving everything else alone (length-preserving)."""
    return text.translate(
        {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")} | {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
    )


def normalize(text: str) -> str:
    """Fold text for matching: NFKC, lower case, Arabic/Persian letter variants unified, diacritics,
    tatweel and zero-width characters dropped (ZWNJ becomes a space), digits made ASCII."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u200c", " ").replace(_TATWEEL, "")
    text = _ZW.sub("", text)
    text = _ARABIC_DIACRITICS.sub("", text)
    text = text.translate(_CHAR_MAP).lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text."""
    return _TOKEN.findall(normalize(text))


def detect_language(text: str) -> str:
    """'en', 'ar' or 'fa': script first, then Persian letters/vocabulary against Arabic vocabulary."""
    sample = text[:20000]
    arabic = len(_ARABIC_LETTER.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    if arabic <= latin:
        return "en"
    persian_letters = len(_PERSIAN_ONLY.findall(sample))
    words = re.findall(r"[\u0600-\u06ff\u200c]+", sample)
    fa_words = sum(w in _PERSIAN_WORDS for w in words)
    ar_words = sum(w in _ARABIC_WORDS for w in words)
    # Arabic text has almost no پ چ ژ گ ی ک; Persian uses ی/ک throughout.
    score = persian_letters / max(arabic, 1) * 50 + fa_words - ar_words
    return "fa" if score > 1 else "ar"


_NEGATION = re.compile(
    r"\b(no|not|never|without|none|nor|yet to)\b|n't\b|(^|\s)(لا|لم|لن|لیس|لیست|دون|بدون|غیر|عدم|نه|هنوز)(\s|$)|"
    r"(^|\s)(نمی|نشد|نشده|نکرد|نکرده|ندارد|نداشت|نیست|نبود|نخواهد)")


def negated(text: str) -> bool:
    """The text holds a negation (English, Arabic, Persian): not, no, without, «لم», «دون», «نشده», …"""
    return bool(_NEGATION.search(normalize(text)))
