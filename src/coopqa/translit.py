"""Transliteration-tolerant name matching across Latin, Arabic and Persian script.

Every word is reduced to a rough consonant skeleton shared by both scripts: vowels and weak letters
(ا و ی ع ء, a e i o u y) drop out, letters that transliterations confuse share one class
(k/q/g/gh/ک/ق/غ/گ, sh/ch/ش/چ, zh/j/ج/ژ, v/f/w/ف, p/b/پ/ب, s/ص/ث, z/ذ/ض/ظ, t/ط), and a word-final
i/y/ی is kept as the marker `i` (Khazaei/خزاعي → `xzi`, Kaltsov/كالتسوف → `kltsf`).
"""

import re
from functools import cache, lru_cache
from itertools import accumulate, groupby

from rapidfuzz.fuzz import ratio

from coopqa.text import tokens

TOKEN_MIN_SIMILARITY = 0.8  # two skeleton units (words or joined words) are the same word
NAME_MIN_SIMILARITY = 0.75  # two names are the same person (see names_match)
_MAX_JOIN = 3  # words that may be written as one (طالبیمتین = Talebi Matin)

_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# After coopqa.text.normalize: ي→ی, ك→ک, ة→ه, أإآٱ→ا, ؤ→و, ئ→ی.
_ARABIC_CLASSES = str.maketrans(
    {
        "ب": "b", "پ": "b", "ت": "t", "ط": "t", "ث": "s", "س": "s", "ص": "s", "ج": "j", "ژ": "j",
        "چ": "c", "ش": "c", "ح": "h", "ه": "h", "خ": "x", "د": "d", "ذ": "z", "ز": "z", "ض": "z",
        "ظ": "z", "ر": "r", "غ": "k", "ف": "f", "ڤ": "f", "ق": "k", "ک": "k", "گ": "k", "ل": "l",
        "م": "m", "ن": "n", "ا": "", "ع": "", "ء": "", "و": "", "ی": "",
    }
)
# Soft c (ce, ci, cy) is s; w before a vowel is the consonant (Walid), elsewhere a vowel (Khosrow).
_LATIN_UNITS = re.compile(r"tsch|sch|tch|dzh|kh|gh|sh|ch|zh|dj|ph|th|dh|ck|c[eiy]|w[aeiou]|.")
_LATIN_CLASSES = {
    "tsch": "c", "sch": "c", "tch": "c", "sh": "c", "ch": "c", "dzh": "j", "zh": "j", "dj": "j", "j": "j",
    "kh": "x", "x": "x", "gh": "k", "k": "k", "q": "k", "g": "k", "ck": "k", "c": "k", "ph": "f", "f": "f",
    "v": "f", "th": "t", "t": "t", "dh": "z", "z": "z", "s": "s", "b": "b", "p": "b", "d": "d", "h": "h",
    "l": "l", "m": "m", "n": "n", "r": "r",
} | {f"c{v}": "s" for v in "eiy"} | {f"w{v}": "f" for v in "aeiou"}
_LATIN_VOWELS = frozenset("aeiouyw'")
# Titles that precede a name and are never part of it (normalised forms).
_TITLES = frozenset({
    "dr", "mr", "mrs", "ms", "miss", "prof", "professor", "sir", "eng", "دکتر", "الدکتور", "دکتور", "اقای",
    "اقا", "خانم", "السید", "السیده", "مهندس", "المهندس", "الاستاذ", "استاد",
})
_ARTICLE = re.compile(r"\b([ae]l)[-‐'’](?=\w)", re.IGNORECASE)  # al-Aqabi → alAqabi


@lru_cache(maxsize=65536)
def _word_skeleton(word: str) -> str:
    """Skeleton of one normalised word (see the module docstring)."""
    if _ARABIC_SCRIPT.search(word):
        # A word-initial و is the consonant v/w (وحید Vahid); elsewhere it is mostly the vowel u/o.
        body = ("f" if word[0] == "و" else "") + word.removeprefix("و").translate(_ARABIC_CLASSES)
        final_i = word.endswith("ی")
    else:
        units = _LATIN_UNITS.findall(word)
        body = "".join(_LATIN_CLASSES.get(u, "" if u in _LATIN_VOWELS else u) for u in units)
        final_i = len(word) > 1 and word[-1] in "iy"
    skeleton = "".join(k for k, _ in groupby(body))
    return skeleton + "i" if final_i and skeleton else skeleton


@lru_cache(maxsize=16384)
def _skeletons(text: str) -> tuple[str, ...]:
    """Skeletons of the words of `text`, titles and vowel-only words left out."""
    words = tokens(_ARTICLE.sub(r"\1", text))
    return tuple(s for w in words if w not in _TITLES and (s := _word_skeleton(w)))


def latinize(text: str) -> str:
    """Rough Latin consonant skeleton of text in any of the three scripts, words separated by spaces:
    'Mohammad Khazaei' and 'محمد خزاعي' both give 'mhmd xzi'."""
    return " ".join(_skeletons(text))


def _units(words: tuple[str, ...], i: int) -> list[tuple[int, str]]:
    """(end, joined skeleton) for the runs of 1.._MAX_JOIN words starting at i."""
    return [(j, "".join(words[i:j])) for j in range(i + 1, min(i + _MAX_JOIN, len(words)) + 1)]


@lru_cache(maxsize=65536)
def _align(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Similarity of two skeleton sequences from their best order-preserving alignment.

    Matched units (one or more joined words a side) score their mean length times their similarity; a gap
    where *both* sides skip words (a conflict: different words in one slot) costs the longer side's length;
    a gap on one side only (a middle name, a missing first name) costs nothing. The similarity is
    matched score / (matched length + conflict cost), halved unless the final matched units end both
    sequences (the surnames match)."""
    n, m = len(a), len(b)
    starts: dict[tuple[int, int], list[tuple[int, int, float, float]]] = {}
    for i in range(n):
        for j in range(m):
            for ei, ua in _units(a, i):
                for ej, ub in _units(b, j):
                    sim = ratio(ua, ub) / 100
                    if sim >= TOKEN_MIN_SIMILARITY:
                        weight = (len(ua) + len(ub)) / 2
                        starts.setdefault((i, j), []).append((ei, ej, sim * weight, weight))
    if not starts:
        return 0.0
    len_a = [0, *accumulate(map(len, a))]
    len_b = [0, *accumulate(map(len, b))]

    def gap_cost(i: int, gi: int, j: int, gj: int) -> int:
        skipped_a, skipped_b = len_a[gi] - len_a[i], len_b[gj] - len_b[j]
        return max(skipped_a, skipped_b) if skipped_a and skipped_b else 0

    @cache
    def best(i: int, j: int) -> tuple[float, bool, float, float]:
        """(objective, last words matched, matched score, denominator) for a[i:], b[j:]."""
        end = gap_cost(i, n, j, m)
        options = [(-end, False, 0.0, float(end))]
        for (gi, gj), units in starts.items():
            if gi >= i and gj >= j:
                cost = gap_cost(i, gi, j, gj)
                for ei, ej, gained, weight in units:
                    obj, last, score, denom = best(ei, ej)
                    last = last or (ei == n and ej == m)
                    options.append((obj + gained - cost, last, score + gained, denom + weight + cost))
        return max(options, key=lambda o: (o[0], o[1], -o[3]))

    _, last, score, denom = best(0, 0)
    return score / denom * (1.0 if last else 0.5)


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two names in any scripts: 1.0 when one name's words are all found in the
    other in order and both end on the same surname (Khazaei / Mohammad Khazaei / محمد خزاعي); conflicting
    words in one slot (Mohammad Khazaei / Mohammad Mehdi Esmaeili) pull it down, and so does a surname
    left unmatched (Mohammad Khazaei / Mohammad scores 0.5)."""
    sa, sb = _skeletons(a), _skeletons(b)
    return _align(sa, sb) if sa and sb else 0.0


def names_match(a: str, b: str) -> bool:
    """Same person: name_similarity >= NAME_MIN_SIMILARITY, so the surnames match and nothing conflicts."""
    return name_similarity(a, b) >= NAME_MIN_SIMILARITY


def mentions(text: str, name: str) -> bool:
    """Whether `text` (any script) names `name`: some run of its words names_match the name. Only runs
    ending where the text has a word like the name's last word are aligned, so long texts stay cheap."""
    words, target = _skeletons(text), _skeletons(name)
    if not target or not words:
        return False
    tails = {"".join(target[-k:]) for k in range(1, min(_MAX_JOIN, len(target)) + 1)}
    for e in range(1, len(words) + 1):
        ends = ["".join(words[s:e]) for s in range(max(0, e - _MAX_JOIN), e)]
        if not any(ratio(u, t) >= TOKEN_MIN_SIMILARITY * 100 for u in ends for t in tails):
            continue
        starts = range(max(0, e - len(target) - _MAX_JOIN), e)
        if any(_align(words[s:e], target) >= NAME_MIN_SIMILARITY for s in starts):
            return True
    return False


# Letters for a readable (if rough) romanisation of a name in Arabic script, after coopqa.text.normalize.
# Short vowels are not written in the script, so they are missing here too ('محمد' → 'Mhmd'); ی and و are
# consonants (y, v) at the start of a word or next to ا, vowels (i, u) elsewhere; ع is a at the start of
# a word and ' elsewhere; a final ه after a consonant is 'eh' (زاده → zadeh).
_ROMAN = {
    "ا": "a", "ب": "b", "پ": "p", "ت": "t", "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d",
    "ذ": "z", "ر": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s", "ض": "z", "ط": "t", "ظ": "z",
    "غ": "gh", "ف": "f", "ق": "gh", "ک": "k", "گ": "g", "ل": "l", "م": "m", "ن": "n", "ه": "h",
    "ء": "",
}


def romanize(name: str) -> str:
    """A name in Arabic or Persian script in Latin letters, word by word, capitalised ('هاسمیک آواکیان' →
    'Hasmik Avakyan'): for a name a model could not transliterate; Latin text is returned unchanged."""
    if not _ARABIC_SCRIPT.search(name):
        return name
    out = []
    for word in tokens(name.replace("\u200c", "")):
        letters = []
        for k, ch in enumerate(word):
            near_alef = (k > 0 and word[k - 1] == "ا") or (k + 1 < len(word) and word[k + 1] == "ا")
            if ch in "یو":
                consonant = k == 0 or near_alef
                letters.append(("y" if ch == "ی" else "v") if consonant else ("i" if ch == "ی" else "u"))
            elif ch == "ع":
                letters.append("a" if k == 0 else "'")
            elif ch == "ه" and k == len(word) - 1 and k > 0 and word[k - 1] not in "اوی":
                letters.append("eh")
            else:
                letters.append(_ROMAN.get(ch, ""))
        if roman := "".join(letters):
            out.append(roman[0].upper() + roman[1:])
    return " ".join(out)
