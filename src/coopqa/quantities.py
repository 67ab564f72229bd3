"""Numbers, counts and amounts stated in English, Arabic and Persian text.

`numbers` reads digits (any script) and number words; `counts` leaves out durations ("a five-day
workshop" states no count of people); `units` finds currency and magnitude words ("million", «مليون»,
«دلار»), which a claim about an amount must share with the sentence it cites.
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import cache

from coopqa.dates import find_dates
from coopqa.text import fold_digits, normalize, tokens

_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CLITICS = ("وال", "بال", "فال", "لل", "ال", "و", "ب", "ل", "ف")
_NUMBER_WORDS_BY_VALUE = {
    1: "one واحد واحده یک", 2: "two اثنان اثنين اثنتان اثنتين دو", 3: "three ثلاث ثلاثه سه",
    4: "four اربع اربعه چهار", 5: "five خمس خمسه پنج", 6: "six ست سته شش", 7: "seven سبع سبعه هفت",
    8: "eight ثمان ثمانی ثمانیه هشت", 9: "nine تسع تسعه نه", 10: "ten عشر عشره ده",
    11: "eleven یازده", 12: "twelve دوازده", 13: "thirteen سیزده", 14: "fourteen چهارده",
    15: "fifteen پانزده", 16: "sixteen شانزده", 17: "seventeen هفده", 18: "eighteen هجده هیجده",
    19: "nineteen نوزده", 20: "twenty عشرین عشرون بیست", 30: "thirty ثلاثین ثلاثون سی",
    40: "forty اربعین اربعون چهل", 50: "fifty خمسین خمسون پنجاه", 60: "sixty ستین ستون شصت",
    70: "seventy سبعین سبعون هفتاد", 80: "eighty ثمانین ثمانون هشتاد", 90: "ninety تسعین تسعون نود",
    100: "hundred مئه مائه صد", 1000: "thousand الف هزار",
}
# Units of time: a number bound to one states a duration, not a count.
_DURATION = frozenset(normalize(w) for w in (
    "minute minutes hour hours day days week weeks month months year years "
    "دقيقة دقائق ساعة ساعات يوم يوما أيام يومين أسبوع أسابيع أسبوعين شهر أشهر شهرين سنة سنوات عام أعوام "
    "دقیقه ساعت روز روزه هفته ماه ماهه سال ساله").split())
# Currency and magnitude words (canonical unit → forms, exact words after normalisation; English forms
# also take a plural -s). An amount in a claim needs its units in the cited sentence.
_UNITS = {
    "million": "million mln مليون ملايين میلیون ميليون",
    "billion": "billion bn مليار مليارات بليون میلیارد",
    "dollar": "dollar usd دولار دولارات دلار",
    "euro": "euro eur يورو یورو",
    "rial": "rial ريال ریال",
    "toman": "toman تومان",
    "pound": "pound sterling gbp جنيه پوند",
    "dinar": "dinar دينار دنانير دینار",
    "ruble": "ruble rouble rub روبل",
    "manat": "manat منات",
    "tenge": "tenge تنگه",
    "lira": "lira ليرة لیر",
    "yuan": "yuan renminbi يوان یوان",
    "rupee": "rupee روبية روپیه",
    "percent": "percent بالمئه بالمائه المئه المائه درصد",
}
_SYMBOLS = {"$": "dollar", "€": "euro", "£": "pound", "%": "percent"}
_CURRENCIES = frozenset(_UNITS) - {"million", "billion", "percent"}


@cache
def _number_words() -> dict[str, int]:
    """Normalised number words of English, Arabic and Persian."""
    return {normalize(w): n for n, forms in _NUMBER_WORDS_BY_VALUE.items() for w in forms.split()}


@cache
def _unit_words() -> dict[str, str]:
    words = {normalize(f): unit for unit, forms in _UNITS.items() for f in forms.split()}
    return words | {w + "s": u for w, u in words.items() if w.isascii() and len(w) > 3}


def _bare(word: str, table: Container[str]) -> str | None:
    """The word, or the word without an Arabic proclitic (وثلاث = and three), when the table holds it."""
    if word in table:
        return word
    if _ARABIC_SCRIPT.match(word):
        return next((word[len(c):] for c in _CLITICS if word.startswith(c) and word[len(c):] in table), None)
    return None


def number_word(word: str) -> int | None:
    """The value of a normalised number word, or None."""
    table = _number_words()
    bare = _bare(word, table)
    return table[bare] if bare is not None else None


def _mask_dates(text: str, default_year: int | None = None) -> str:
    for d in find_dates(text, default_year):
        text = text[: d.start] + " " * (d.end - d.start) + text[d.end :]
    return text


def numbers(text: str, *, words_from: int = 1, skip_dates: bool = False, default_year: int | None = None) -> set[str]:
    """Numbers the text states, canonical (ASCII digits, no leading zeros): digit runs, and number words
    worth at least `words_from` (Arabic 'X عشر' = 10 + X); `skip_dates` leaves date mentions out (with a
    `default_year`, a day and month without a year too: "9 November")."""
    folded = fold_digits(text)
    if skip_dates:
        folded = _mask_dates(folded, default_year)
    found = {n.lstrip("0") or "0" for n in _NUMBER.findall(folded.replace(",", ""))}
    words = tokens(folded)
    for i, w in enumerate(words):
        value = number_word(w)
        if value is None:
            continue
        if value < 10 and i + 1 < len(words) and number_word(words[i + 1]) == 10 and _ARABIC_SCRIPT.match(w):
            value += 10
        if value >= words_from:
            found.add(str(value))
    return found


def counts(text: str, question: str = "") -> set[str]:
    """Numbers (3 and up, dates left out) that count something: not those bound to a unit of time
    ("five-day", «سه روزه», "two weeks"), unless the question itself names a unit of time."""
    words = tokens(re.sub(r"(\w)-(\w)", r"\1 \2", _mask_dates(fold_digits(text))))
    if not any(_bare(w, _DURATION) for w in tokens(question)):
        words = [w for w, nxt in zip(words, [*words[1:], ""], strict=True) if _bare(nxt, _DURATION) is None]
    return numbers(" ".join(words), words_from=3)


def units(text: str) -> set[str]:
    """Canonical currency and magnitude units the text names ('dollar', 'million', 'percent', …)."""
    table = _unit_words()
    found = {u for s, u in _SYMBOLS.items() if s in text}
    for w in tokens(text):
        bare = _bare(w, table)
        if bare is not None:
            found.add(table[bare])
    return found


def states_amount(text: str) -> bool:
    """The text states an amount of money: a number with a currency (word or symbol)."""
    return bool(numbers(text, skip_dates=True)) and bool(units(text) & _CURRENCIES)
