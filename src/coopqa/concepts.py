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

from coopqa.text import detect_language, normalize
from coopqa.translit import latinize

_WORD = re.compile(r"\w+")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
# Arabic proclitics (conjunction, prepositions, article) that glue onto the next word.
_CLITICS = ("وبال", "فبال", "وال", "بال", "فال", "کال", "لل", "ال", "و", "ب", "ل", "ف", "ک")
_MIN_SKELETON = 3
_PERSIAN_STOPWORDS = frozenset(
    "و در به از که این آن با را برای تا است بود شد شده می هم نیز یا اما اگر باید های ها ای یک دو کرد کرده کند "
    "کنند کردند گفت وی او ما ان خود بر پس چنین همچنین دیگر بین همه هر داشت دارد چه چی چیست چیزی کدام کسی "
    "کسانی کجا چگونه چطور چرا چند چندین آیا درباره مورد قرار داشته باشد باشند بوده شود شوند کنید رسید رسیده "
    "گرفت گرفته داد داده اند ایم نمی هیچ توسط طی ضمن سوی روی زیر".split()
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


Forms = dict[str, list[tuple[tuple[str, ...], str]]]


@cache
def _rows() -> dict[str, dict[str, list[str]]]:
    """concept id → language → its forms, as written in data/lexicon.tsv."""
    rows: dict[str, dict[str, list[str]]] = {}
    for line in files("coopqa").joinpath("data/lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and not line.startswith("concept\t"):
            concept, *columns = line.split("\t")
            rows[concept.strip()] = {
                lang: [f for f in col.split("|") if f.strip()]
                for lang, col in zip(("en", "ar", "fa"), columns, strict=False)
            }
    return rows


@cache
def lexicon(language: str) -> Forms:
    """First-token prefix (3 chars) → [(form tokens, concept id)] for one language's column."""
    index: Forms = {}
    for concept, columns in _rows().items():
        for form in columns.get(language, []):
            parts = tuple(_WORD.findall(normalize(form)))
            if parts and len(parts[0]) >= 3:
                index.setdefault(parts[0][:3], []).append((parts, concept))
    for forms in index.values():
        forms.sort(key=lambda f: -sum(map(len, f[0])))  # longest form first
    return index


def gloss(terms: list[str], language: str) -> str:
    """A word-by-word rendering of index terms' concepts in `language` (each concept's first form; names
    and numbers are dropped): a rough query translation for the embedder, which matches better within a
    language."""
    rows = _rows()
    words = (rows.get(t[2:], {}).get(language, [""])[0] for t in terms if t.startswith("c:"))
    return " ".join(w for w in words if w)


def _variants(token: str) -> Iterator[str]:
    """The token and, for Arabic script, the token with a proclitic removed."""
    yield token
    if _ARABIC_SCRIPT.match(token):
        for clitic in _CLITICS:
            if token.startswith(clitic) and len(token) - len(clitic) >= 3:
                yield token[len(clitic) :]


def _part_matches(word: str, part: str) -> bool:
    """A form word matches a text word as a prefix; words under 3 letters must match exactly."""
    if len(part) < 3:
        return word == part
    return any(v.startswith(part) for v in _variants(word))


def _match_at(words: list[str], i: int, index: Forms) -> tuple[str, int] | None:
    """(concept, number of text words) of the longest lexicon form starting at words[i]. A word and the
    next one may also match joined (Persian compounds are written with or without a zero-width joiner)."""
    candidates = [(words[i], 1)]
    if i + 1 < len(words) and _ARABIC_SCRIPT.match(words[i]):
        candidates.append((words[i] + words[i + 1], 2))
    for word, used in reversed(candidates):
        for variant in _variants(word):
            for parts, concept in index.get(variant[:3], ()):
                if not variant.startswith(parts[0]) or i + used - 1 + len(parts) > len(words):
                    continue
                if used == 2 and _part_matches(words[i], parts[0]):
                    continue  # the first word alone carries this form: no joining needed
                rest = words[i + used : i + used - 1 + len(parts)]
                if all(_part_matches(w, p) for w, p in zip(rest, parts[1:], strict=True)):
                    return concept, used - 1 + len(parts)
    return None


def index_terms(text: str, language: str | None = None) -> list[str]:
    """Language-neutral terms of `text` (in `language`, detected when not given): 'c:<concept>' for
    lexicon words, 'n:<skeleton>' for other content words that may be names (capitalised in Latin script;
    any in Arabic script, which has no case) and 'd:<number>'."""
    words = _WORD.findall(normalize(text))
    proper = {normalize(w) for w in _WORD.findall(text) if w[:1].isupper()}
    script_index = lexicon(language or detect_language(text))
    latin_index = lexicon("en")
    stop = _stopwords()
    terms: list[str] = []
    i = 0
    while i < len(words):
        found = _match_at(words, i, script_index if _ARABIC_SCRIPT.match(words[i]) else latin_index)
        if found:
            terms.append(f"c:{found[0]}")
            i += found[1]
            continue
        word = words[i]
        i += 1
        if word.isdigit():
            terms.append(f"d:{word}")
        elif word not in stop and len(word) >= 3 and (_ARABIC_SCRIPT.match(word) or word in proper):
            skeleton = latinize(word)
            if len(skeleton) >= _MIN_SKELETON:
                terms.append(f"n:{skeleton}")
    return terms
