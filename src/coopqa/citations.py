"""Citation verification: does the text of the cited sentence(s) support a claimed value?

One implementation for every part of coopqa that checks a claim against its source: the visit-summary
verifier (coopqa.summarize), the answer verifier of the Q&A engine and the eval scorers (coopqa.scoring
imports the primitives from here). All checks work across English, Arabic and Persian:

- names (people, cities): the normalised phrase, or a transliteration-tolerant match (coopqa.translit);
- countries: English short name, official forms, demonyms and CLDR names in en/ar/fa (Babel), plus the
  `country:XX` concepts of the trilingual lexicon when it is installed;
- dates: the date as written, or a date mention in the text at least as precise as the claimed ISO date;
- roles, organisations, free text: token overlap after `normalize`, and overlap of language-neutral
  concept terms (coopqa.concepts) so an English role can be checked against an Arabic sentence;
- agreements: a word naming that kind of agreement.

    from coopqa.citations import supports
    supports("country", "Kazakhstan", "Iran and Kazakhstan signed ...")   # True
    supports("name", "Aida Balayeva", text)                               # any script
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

from rapidfuzz import fuzz

from coopqa.dates import find_dates
from coopqa.text import normalize, tokens
from coopqa.translit import mentions

__all__ = [
    "AGREEMENT_WORDS",
    "COUNTRY_ALIASES",
    "agreement_in",
    "canonical_country",
    "countries_in",
    "country_code",
    "country_forms",
    "country_in",
    "country_mentioned",
    "date_in",
    "date_matches",
    "english_country",
    "name_in",
    "name_span",
    "org_in",
    "overlap",
    "present",
    "states",
    "supports",
]

# English short name → other names it goes by: official forms, adjectives, Arabic and Persian spellings.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "Iran": ("Islamic Republic of Iran", "IR Iran", "Iranian", "ایران", "إيران"),
    "Iraq": ("Republic of Iraq", "Iraqi", "العراق", "عراق"),
    "Syria": ("Syrian Arab Republic", "Syrian", "سوريا", "سوریه"),
    "Lebanon": ("Lebanese", "لبنان"),
    "Turkey": ("Türkiye", "Turkiye", "Turkish", "تركيا", "ترکیه"),
    "Azerbaijan": ("Republic of Azerbaijan", "Azerbaijani", "Azeri", "أذربيجان", "آذربایجان"),
    "Armenia": ("Armenian", "أرمينيا", "ارمنستان"),
    "Georgia": ("Georgian", "جورجيا", "گرجستان"),
    "Russia": ("Russian Federation", "Russian", "روسيا", "روسیه"),
    "Belarus": ("Republic of Belarus", "Belarusian", "Byelorussia", "بيلاروسيا", "روسيا البيضاء", "بلاروس"),
    "Kazakhstan": ("Republic of Kazakhstan", "Kazakh", "Kazakhstani", "كازاخستان", "قزاقستان"),
    "Uzbekistan": ("Uzbek", "أوزبكستان", "ازبکستان"),
    "Tajikistan": ("Tajik", "طاجيكستان", "تاجیکستان"),
    "Turkmenistan": ("Turkmen", "تركمانستان", "ترکمنستان"),
    "Kyrgyzstan": ("Kyrgyz", "قيرغيزستان", "قرقیزستان"),
    "Afghanistan": ("Afghan", "أفغانستان", "افغانستان"),
    "Pakistan": ("Pakistani", "باكستان", "پاکستان"),
    "India": ("Indian", "الهند", "هند"),
    "China": ("People's Republic of China", "PRC", "Chinese", "الصين", "چین"),
    "Egypt": ("Egyptian", "مصر"),
    "Tunisia": ("Tunisian", "تونس"),
    "Algeria": ("Algerian", "الجزائر", "الجزایر"),
    "Qatar": ("Qatari", "قطر"),
    "Oman": ("Omani", "سلطنة عمان", "عمان"),
    "Venezuela": ("Venezuelan", "فنزويلا", "ونزوئلا"),
    "Cuba": ("Cuban", "كوبا", "کوبا"),
    "Serbia": ("Serbian", "صربيا", "صربستان"),
    "Italy": ("Italian", "إيطاليا", "ایتالیا"),
    "France": ("French", "فرنسا", "فرانسه"),
}
_OFFICIAL_PREFIX = re.compile(
    r"^(the )?((islamic|federal|people's|democratic|arab|socialist|united) )*"
    r"(republic|kingdom|state|federation) of "
)
# Words that name each agreement kind, normalised (coopqa.text.normalize) Arabic/Persian included.
AGREEMENT_WORDS = {
    "mou": ("memorandum", "mou", "مذکره", "تفاهم"),
    "agreement": ("agreement", "accord", "deal", "pact", "اتفاق", "توافق", "موافقت"),
    "contract": ("contract", "عقد", "قرارداد"),
    "protocol": ("protocol", "بروتوکول", "بروتکول", "پروتکل"),
    "program": ("program", "برنامج", "برنامه"),
}


# ---------------------------------------------------------------- primitives (shared with coopqa.scoring)


def _canon(name: str) -> str:
    return _OFFICIAL_PREFIX.sub("", normalize(name))


_COUNTRY_LOOKUP = {_canon(f): c for c, forms in COUNTRY_ALIASES.items() for f in (c, *forms)}


def canonical_country(name: str) -> str:
    """The English short name of a country given any of its names ('Islamic Republic of Iran' → 'Iran');
    unknown names come back normalised, without 'Republic of'-style prefixes."""
    key = _canon(name)
    return _COUNTRY_LOOKUP.get(key, key)


def date_matches(predicted: str | None, label: str | None) -> bool:
    """Whether an ISO date is right at the reference's precision: a prediction at least as precise that
    agrees on every part the reference gives ('2025-04-13' for '2025-04'); a less precise one is wrong."""
    if predicted is None or label is None:
        return predicted == label
    return predicted.startswith(label) and predicted[len(label):len(label) + 1] in ("", "-")


def present(value: str, text: str) -> bool:
    """A normalised phrase in normalised text; Latin phrases must start at a word start."""
    phrase, body = normalize(value), normalize(text)
    if not phrase:
        return False
    if phrase.isascii():
        return re.search(rf"(?<!\w){re.escape(phrase)}", body) is not None
    return phrase in body


def country_in(text: str, country: str, extra: Mapping[str, Iterable[str]] | None = None) -> bool:
    """The text names the country: one of its aliases (and `extra[country]`), or its name transliterated."""
    extra = extra or {}
    canonical = canonical_country(country)
    forms = {country, *COUNTRY_ALIASES.get(canonical, ()), *extra.get(canonical, ()), *extra.get(country, ())}
    return any(present(f, text) for f in forms) or mentions(text, country)


def date_in(text: str, date: str, date_text: str | None = None, *, own_year: bool = False) -> bool:
    """The text states the date: its `date_text`, or a date mention at least as precise as the ISO `date`
    (a day-month mention takes the date's year, unless `own_year`: "December 11" then states no year)."""
    if date_text and present(date_text, text):
        return True
    year = int(date[:4]) if date[:4].isdigit() and not own_year else None
    return any(date_matches(m.iso, date) for m in find_dates(text, default_year=year))


def states(text: str, *values: str | None) -> bool:
    """Whether the text states one of the values: as a normalised phrase or as a name in any script."""
    return any(v and (present(v, text) or mentions(text, v)) for v in values)


def org_in(text: str, *names: str | None) -> bool:
    """An organisation name appears (nearly verbatim, fuzzy partial match ≥ 90) in the text."""
    body = normalize(text)
    return any(n and fuzz.partial_ratio(normalize(n), body) >= 90 for n in names)


def agreement_in(text: str, kind: str) -> bool:
    """The text has a word naming that kind of agreement (MoU, agreement, contract, protocol, program)."""
    body = normalize(text)
    return any(w in body for w in AGREEMENT_WORDS.get(kind.lower(), ()))


# ---------------------------------------------------------------- countries in any language

# Codes CLDR lists that are not countries, and native forms that are everyday words.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ", "AC", "CP", "DG", "EA", "IC", "TA"})
_AMBIGUOUS_FORMS = frozenset({normalize(w) for w in ("مالی", "مالي", "المغرب", "چاد", "پرو", "تشاد")})
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_AR_PREFIXES = ("وال", "فال", "بال", "کال", "لل", "ال", "و", "ف", "ب", "ل", "ک")
_AR_SUFFIXES = ("یین", "یون", "یان", "یها", "های", "یه", "ها", "ی")
_LATIN_SUFFIXES = ("ians", "ian", "ans", "an", "ns", "is", "n", "i")
_MAX_FORM_WORDS = 4


@cache
def _babel_names() -> dict[str, dict[str, str]]:
    """ISO alpha-2 → {language: CLDR name} for en, ar, fa."""
    import babel

    out: dict[str, dict[str, str]] = {}
    for lang in ("en", "ar", "fa"):
        for code, name in babel.Locale(lang).territories.items():
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                out.setdefault(code, {})[lang] = name
    return out


@cache
def _code_by_english() -> dict[str, str]:
    """Canonical English short name → ISO code (COUNTRY_ALIASES spellings win over CLDR's)."""
    table = {canonical_country(names["en"]): code for code, names in _babel_names().items() if "en" in names}
    for code, names in _babel_names().items():
        for name in names.values():
            table.setdefault(canonical_country(name), code)
    return table


def country_code(name: str) -> str | None:
    """ISO alpha-2 code for a country named in any of the three languages (or the code itself)."""
    if not name:
        return None
    if len(name) == 2 and name.isupper() and name in _babel_names():
        return name
    return _code_by_english().get(canonical_country(name))


def english_country(code_or_name: str) -> str:
    """The English short name coopqa uses: COUNTRY_ALIASES' spelling, else CLDR's ('KZ' → 'Kazakhstan')."""
    code = country_code(code_or_name)
    if code is None:
        return code_or_name
    english = _babel_names()[code].get("en", code_or_name)
    canonical = canonical_country(english)
    if canonical in COUNTRY_ALIASES:
        return canonical
    for short in COUNTRY_ALIASES:  # CLDR's 'Türkiye' is our 'Turkey'
        if country_code(short) == code:
            return short
    return english


def country_name(code_or_name: str, language: str) -> str:
    """The country's name in `language` (en/ar/fa): english_country() for English, CLDR's name otherwise."""
    code = country_code(code_or_name)
    if language == "en" or code is None:
        return english_country(code_or_name)
    return _babel_names()[code].get(language) or english_country(code)


@cache
def country_forms(code: str) -> frozenset[str]:
    """Every normalised name of the country coopqa knows: CLDR en/ar/fa names and COUNTRY_ALIASES."""
    forms = set(_babel_names().get(code, {}).values())
    for short, aliases in COUNTRY_ALIASES.items():
        if _code_by_english().get(short) == code:
            forms.update((short, *aliases))
    return frozenset(f for f in (normalize(x) for x in forms) if f and f not in _AMBIGUOUS_FORMS)


@cache
def _country_table() -> dict[str, str]:
    """Normalised form (words joined by one space) → ISO code, for every country coopqa knows."""
    by_form: dict[str, str] = {}
    for code in _babel_names():
        for form in country_forms(code):
            by_form.setdefault(" ".join(_WORDS.findall(form)), code)
    return by_form


_WORDS = re.compile(r"\w+")


def _variants(words: list[str]) -> list[str]:
    """A run of words as written, and with an Arabic-script proclitic / suffix or a Latin demonym ending
    removed ('الإيرانية' → 'ایران', 'Iranian' → 'iran')."""
    phrase = " ".join(words)
    out = [phrase]
    first, last = words[0], words[-1]
    if _ARABIC_SCRIPT.match(first):
        firsts = [first] + [first[len(p):] for p in _AR_PREFIXES if first.startswith(p) and len(first) - len(p) >= 2]
        for f in firsts:
            body = [f, *words[1:]] if len(words) > 1 else [f]
            tail = body[-1]
            lasts = [tail] + [tail[: -len(x)] for x in _AR_SUFFIXES if tail.endswith(x) and len(tail) - len(x) >= 2]
            out += [" ".join([*body[:-1], t]) for t in lasts]
    else:
        out += [" ".join([*words[:-1], last[: -len(x)]]) for x in _LATIN_SUFFIXES
                if last.endswith(x) and len(last) - len(x) >= 3]
    return out


def _lexicon_countries(text: str) -> set[str]:
    """`country:XX` concepts of the lexicon (country names, demonyms, capitals); empty without a lexicon."""
    try:
        from coopqa.concepts import index_terms

        terms = index_terms(text)
    except (OSError, ImportError):  # the lexicon is optional
        return set()
    return {t.split(":", 2)[2].upper() for t in terms if t.startswith("c:country:")}


def countries_in(text: str, *, concepts: bool = True) -> set[str]:
    """ISO codes of the countries the text names (any script); `concepts` adds lexicon matches, which
    include capitals ('Astana' → KZ)."""
    table = _country_table()
    words = _WORDS.findall(normalize(text))
    found: set[str] = set()
    i = 0
    while i < len(words):
        for n in range(min(_MAX_FORM_WORDS, len(words) - i), 0, -1):
            code = next((table[v] for v in _variants(words[i:i + n]) if v in table), None)
            if code:
                found.add(code)
                i += n
                break
        else:
            i += 1
    return found | _lexicon_countries(text) if concepts else found


def country_mentioned(text: str, country: str, *, concepts: bool = False) -> bool:
    """The text names the country (any language): a stricter alternative to `country_in` that does not
    rely on transliteration; `concepts=True` also accepts lexicon matches such as the capital."""
    code = country_code(country)
    if code is None:
        return country_in(text, country)
    return code in countries_in(text, concepts=concepts) or country_in(text, english_country(code))


def country_stated(text: str, country: str, extra: Mapping[str, Iterable[str]] | None = None) -> bool:
    """`country_in` (aliases, `extra`, transliteration) or `country_mentioned` (its name or demonym in any of
    the three languages, CLDR territory names: Persian «اندونزی» is Indonesia)."""
    return country_in(text, country, extra) or country_mentioned(text, country)


# ---------------------------------------------------------------- names, roles, organisations, free text


def _latin(text: str) -> bool:
    return not _ARABIC_SCRIPT.search(text)


def name_in(text: str, name: str | None) -> bool:
    """The name occurs in the text: as a phrase after `normalize` when both are in the same script, else
    transliteration-tolerant (coopqa.translit.mentions: 'Tunis' in «تونس»)."""
    if not name or not name.strip():
        return False
    if present(name, text):
        return True
    if _latin(name) == _latin(text):
        return False
    return mentions(text, name)


_SPAN_WORD = re.compile(r"[^\s,.;:!?()\[\]«»\"'،؛؟]+")


def _function_word(word: str) -> bool:
    """A preposition/conjunction (en, ar, fa) that never starts or ends a name (not «على»: normalised it is
    the name Ali)."""
    return normalize(word) in _FUNCTION_WORDS


_FUNCTION_WORDS = frozenset(normalize(w) for w in (
    "مع و في من إلى الى عن بين لدى با به از در را که برای تا با با with and of met the in at to by from"
).split())


def name_span(text: str, name: str, max_words: int = 5) -> str | None:
    """The words of `text` (as written, any script) that name `name` (any script): the run of words that
    names_match it best and is closest to it in length — the way to turn a model's transliteration back
    into a span copied from the source. None if no run of words matches."""
    from coopqa.translit import latinize, name_similarity

    if not name or not name.strip():
        return None
    target = len(latinize(name).replace(" ", ""))
    words = [(m.start(), m.end()) for m in _SPAN_WORD.finditer(text)]
    best: tuple[float, int, int, str] | None = None
    for i in range(len(words)):
        for j in range(i + 1, min(i + max_words, len(words)) + 1):
            if _function_word(text[words[i][0]:words[i][1]]) or _function_word(text[words[j - 1][0]:words[j - 1][1]]):
                continue
            span = text[words[i][0]:words[j - 1][1]]
            score = name_similarity(span, name)
            if score < 0.75 or fuzz.ratio(latinize(span).replace(" ", ""), latinize(name).replace(" ", "")) < 75:
                continue  # the alignment forgives missing words; the whole name must also look alike
            key = (score >= 0.9, -abs(len(latinize(span).replace(" ", "")) - target), score, span)
            if best is None or key[:3] > best[:3]:
                best = key
    return best[3] if best else None


_STOP = frozenset({"the", "of", "and", "for", "in", "on", "at", "to", "a", "an", "its", "his", "her", "their",
                   "with", "by", "from", "as", "is", "was", "head", "new"})


def weighable(word: str) -> bool:
    """A word `overlap` weighs: three letters or more, or a number ('Dr', 'al' carry no content)."""
    return len(word) > 2 or word.isdigit()


def _content(words: Iterable[str]) -> set[str]:
    return {w for w in words if w not in _STOP and weighable(w)}


def _terms(text: str) -> set[str]:
    try:
        from coopqa.concepts import index_terms

        return {t for t in index_terms(text) if t.startswith(("c:", "n:"))}
    except (OSError, ImportError):
        return set()


def overlap(value: str | None, text: str) -> float:
    """Share of the value's content words found in the text: the best of surface-token overlap (with a
    fuzzy prefix match for inflections) and language-neutral concept-term overlap (cross-language)."""
    if not value:
        return 0.0
    words = _content(tokens(value))
    if not words:
        return 0.0
    body = _content(tokens(text))
    hit = sum(1 for w in words if w in body or any(len(w) >= 5 and (b.startswith(w[:5])) for b in body))
    surface = hit / len(words)
    if surface >= 1.0:
        return 1.0
    vterms = _terms(value)
    if not vterms:
        return surface
    return max(surface, len(vterms & _terms(text)) / len(vterms))


def supports(kind: str, value: str | None, text: str, *, date_text: str | None = None,
             threshold: float = 0.5) -> bool:
    """Whether `text` (the cited sentences, joined) supports a claim of the given kind:
    'name' | 'city' | 'country' | 'date' | 'org' | 'role' | 'agreement' | 'text'."""
    if not value or not text:
        return False
    if kind in ("name", "city"):
        return name_in(text, value)
    if kind == "country":
        return country_mentioned(text, value)
    if kind == "date":
        return date_in(text, value, date_text)
    if kind == "org":
        return org_in(text, value) or overlap(value, text) >= max(threshold, 0.6)
    if kind == "agreement":
        return agreement_in(text, value)
    if kind in ("role", "text"):
        return overlap(value, text) >= threshold
    raise ValueError(f"unknown claim kind {kind!r}")
