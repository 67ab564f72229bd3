"""Language-neutral index terms: trilingual lexicon concepts and transliteration skeletons.

Queries and sentences in English, Arabic and Persian are both mapped to the same terms, so a lexical
ranker can match "ambassador" with «سفير»/«سفیر» and "Khazaei" with «خزاعي» (dictionary-based
cross-language retrieval). The lexicon is `data/lexicon.tsv`: concept id, then |-separated word
prefixes per language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

from coopqa.text import normalize
from coopqa.translit import latinize

_WORD = re.compile(r"\w+")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# Arabic proclitics (conjunction, prepositions, article) that glue onto the next word.
_CLITICS = ("وبال", "فبال", "وال", "بال", "فال", "کال", "لل", "ال", "و", "ب", "ل", "ف", "ک")
_MIN_SKELETON = 3
_PERSIAN_STOPWORDS = frozenset(
    "و در به از که این آن با را برای تا است بود شد شده می هم نیز یا اما اگر باید های ها ای یک دو کرد کرده کند "
    "کنند کردند گفت وی او ما ان خود بر پس چه چنین همچنین دیگر بین همه هر سال روز داشت دارد".split()
)


@cache
def _stopwords() -> frozenset[str]:
    from pathlib import Path

    import llama_index.core

    base = Path(llama_index.core.__file__).parent / "_static/nltk_cache/corpora/stopwords"
    words = set(_PERSIAN_STOPWORDS)
    for lang in ("english", "arabic"):
        path = base / lang
        if path.exists():
            words.update(normalize(w) for w in path.read_text(encoding="utf-8").split())
    return frozenset(words)


@cache
def lexicon() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First-token prefix (3 chars) → [(form tokens, concept id)] over all three languages."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    text = files("coopqa").joinpath("data/lexicon.tsv").read_text(encoding="utf-8")
    for line in text.splitlines()[1:]:
        if not line.strip() or line.startswith("#"):
            continue
        concept, *columns = line.split("\t")
        for column in columns:
            for form in column.split("|"):
                parts = tuple(_WORD.findall(normalize(form)))
                if parts and len(parts[0]) >= 3:
                    index.setdefault(parts[0][:3], []).append((parts, concept.strip()))
    for forms in index.values():
        forms.sort(key=lambda f: -sum(map(len, f[0])))  # longest form first
    return index


def _variants(token: str) -> Iterator[str]:
    """The token and, for Arabic script, the token with a proclitic removed."""
    yield token
    if _ARABIC_SCRIPT.match(token):
        for clitic in _CLITICS:
            if token.startswith(clitic) and len(token) - len(clitic) >= 3:
                yield token[len(clitic) :]


def _match_at(words: list[str], i: int) -> tuple[str, int] | None:
    """(concept, number of words) of the longest lexicon form starting at words[i]."""
    index = lexicon()
    for variant in _variants(words[i]):
        for parts, concept in index.get(variant[:3], ()):
            if not variant.startswith(parts[0]) or i + len(parts) > len(words):
                continue
            if all(words[i + k].startswith(p) or any(v.startswith(p) for v in _variants(words[i + k]))
                   for k, p in enumerate(parts[1:], 1)):
                return concept, len(parts)
    return None


def index_terms(text: str) -> list[str]:
    """Language-neutral terms of `text`: 'c:<concept>' for lexicon words, 'n:<skeleton>' for other
    content words (names, places, rare terms), and digits as 'd:<number>'."""
    words = _WORD.findall(normalize(text))
    stop = _stopwords()
    terms: list[str] = []
    i = 0
    while i < len(words):
        found = _match_at(words, i)
        if found:
            terms.append(f"c:{found[0]}")
            i += found[1]
            continue
        word = words[i]
        i += 1
        if word.isdigit():
            terms.append(f"d:{word}")
        elif word not in stop and len(word) >= 3:
            skeleton = latinize(word)
            if len(skeleton) >= _MIN_SKELETON:
                terms.append(f"n:{skeleton}")
    return terms
