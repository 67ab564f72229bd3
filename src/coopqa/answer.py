"""Questions answered with verified citations, in the question's language (English, Arabic, Persian).

    retrieve (hybrid search)  →  show the model only a few numbered sentences of the best article (with its
    lead sentence as context; a question across articles is asked of each relevant article's best sentence,
    under a header naming the countries its verified visit summary gives)  →  structured answer: claims,
    each with the numbers of the sentences that state it, or "not answered"  →  verify every claim against
    the sentences it cites  →  answer with markers [1] [2] … or abstain.

Guarantees, whatever the model returns: a marker only ever points to a sentence that exists and was shown
to the model; a claim whose cited sentences do not state its names, countries, dates and numbers, or do
not share its content (surface words, language-neutral concept terms, or cross-lingual embedding
similarity), is dropped; when nothing survives (after one regeneration) the answer abstains in the
question's language with no citations.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError
from rapidfuzz.fuzz import ratio

from coopqa.citations import (
    countries_in,
    country_code,
    country_mentioned,
    date_in,
    english_country,
    overlap,
    present,
    weighable,
)
from coopqa.dates import find_dates
from coopqa.prompts import load_prompt
from coopqa.quantities import counts, number_word, numbers, states_amount, units
from coopqa.text import detect_language, fold_digits, negated, normalize, tokens
from coopqa.translit import latinize, names_match
from coopqa.types import LANGUAGES, SCHEMA_VERSION, CoopqaError, Document, sentence_number

if TYPE_CHECKING:
    from coopqa.api import CoopQA
    from coopqa.search import Hit

LANGUAGE_NAMES = {"en": "English", "ar": "Arabic", "fa": "Persian"}
ABSTAIN_TEXT = {
    "en": "The corpus does not say.",
    "ar": "لا تذكر المصادر ذلك.",
    "fa": "منابع در این باره چیزی نمی\u200cگویند.",
}

# Retrieval and context budget (model tokens of the numbered sentences; the instructions add ~220).
CANDIDATES = 24  # sentences retrieved for the pre-check
DEFAULT_K = 10  # of which the best k may be shown (within the budget)
MAX_DOCS = 3  # articles shown per model call
PER_DOC = 6  # sentences shown per article
TOKEN_BUDGET = 450
# Questions across articles are asked of each of at most WIDE_DOCS articles holding at least this share of
# the question's weighted terms that the best article holds
# (a list question would rather ask one article too many than miss one), among WIDE_CANDIDATES hits;
# each is shown only that article's best hit holding the question's topic (else its best hit): retrieval
# ranks the sentence that answers first far more often than the 1.5B model picks it among several
# (measured on the cross-document items).
WIDE_DOCS = 6
# A question about one article is asked of the best relevant article's sentences alone, then of the next one if
# that answers nothing: a small model given two articles answers from the one in the language it reads best.
ARTICLES_TRIED = 2
WIDE_MIN_RELEVANCE = 0.4
WIDE_CANDIDATES = 60
MAX_SENTENCE_CHARS = 600
ANSWER_MAX_TOKENS = 400
# Claim support thresholds (see `ClaimCheck`).
MIN_OVERLAP = 0.34  # of all the claim's content words
MIN_NOVEL_OVERLAP = 0.5  # of the words not taken from the question
MIN_PREMISE_OVERLAP = 0.6  # of the words taken from the question
MIN_ANCHOR_NOVEL = 0.25  # of the answer's words in the anchor sentence
# An article is shown only when it holds at least this share of what the best retrieved article holds of the
# question's weighted terms (IDF over the corpus): a small model copies whatever readable sentence it is given,
# and an article about something else cannot answer the question.
MIN_RELATIVE_RELEVANCE = 0.6
MIN_EMBED_SIM = 0.83  # e5 cosine claim ↔ cited sentence, cross-language fallback
_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,،]\s*\d+)*\s*\]")
_ARTICLE_NUMBER = re.compile(r"\b(?:the )?article \d+\b", re.IGNORECASE)
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_ARABIC_RUN = re.compile(r"[\u0600-\u06ff\u200c]+(?:[\s\u200c]+[\u0600-\u06ff\u200c]+)*")
_LATIN_NAME_RUN = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:al-|el-|bin |ben |de |van )?[A-Z][\w'’\-]*)*")
# Capitalised English words that are not names (titles, institutions, calendar words).
_GENERIC_CAPITALISED = frozenset(
    "the a an and of in on at for to by with from this that these those he she it they his her their its "
    "there what which who whom when where why how yes no both each also after before during since until "
    "mr mrs ms dr prof minister deputy ambassador president head director chairman chief counsellor "
    "counselor attache cultural culture islamic guidance ministry embassy organization organisation "
    "centre center state national international cinema film films festival week weeks day days "
    "foundation institute academy university archive archives library agency council committee "
    "memorandum understanding mou agreement protocol contract program programme republic federation "
    "general secretary vice first second third document article articles sentence sentences source sources "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december corpus iranian arabic persian english".split()
)
# Capitalised words with the small words of an institution's, a place's or a person's name between them.
_CAPITALISED_PHRASE = re.compile(
    r"[A-Z][\w'’\-]*(?:(?:\s+(?:and|of|of the|for|&|de|de l[ao]s?|del|da|do|du|di|van|von|bin|ben))?"
    r"\s+[A-Z][\w'’\-]*)*")
# Words that make a capitalised phrase an institution's name, not a person's.
_INSTITUTION_WORDS = frozenset(
    "organization organisation centre center school university academy ministry festival foundation institute "
    "council committee agency association union company corporation studio studios archive archives museum "
    "library office department embassy television radio channel network news group commission bureau board "
    "house fund institution service services gallery theatre theater".split()
)
# Claims that only say the information is missing ("not answered" in disguise) — about the sources, not the
# world: "No date is mentioned" is one, "No date has been set" answers "Has a date been set?" — so are «لم يحدد
# موعد» and «زمانی مشخص نشده» unless the sources are what did not specify it («لم تحدد المصادر»).
_NEGATIVE = re.compile(
    r"(does not|do not|did not|doesn't|don't|didn't) (say|mention|specify|state|give|name|provide|indicate)|"
    r"not (mentioned|specified|stated|given|provided|named|indicated|known)|no (information|mention)\b|"
    r"no( \w+){1,2} (is|was|are|were|has been|have been) (mentioned|specified|stated|given|provided|named|indicated)|"
    r"لم (ي|ت)(ذكر|شر|تطرق)|لا (ي|ت)ذكر|غير (مذكور|معروف)|"
    r"(لم|لا) (ي|ت)حدد (ال)?(مصادر|نص|مقال|جمل)|(مصادر|نص|مقال|جمل)\S* (لم|لا) (ي|ت)حدد|"
    r"ذکر نشده|اشاره\u200c?ای نشده|اشاره نشده|نمی\u200c?(گوید|گویند)|نیامده|"
    r"(منابع|متن|مقاله|جمله|جملات)\S*( \S+){0,3} مشخص نشده",
    re.IGNORECASE,
)
# What the answer must state, by the question's form (normalised, coopqa.text.normalize); the first match.
_ANSWER_TYPES = {
    # an amount of money: budget, funding, cost
    "money": re.compile(
        r"\b(budget|funding|funds?|costs?|financing|money)\b|(^|\s)(ال)?(میزانیه|تمویل|تکلفه|مبلغ)|بودجه|هزینه"),
    # a count: how many / how much
    "number": re.compile(
        r"\bhow (many|much)\b|\b(amount|sum)\b|(^|\s)و?(کم|بکم)\s|(^|\s)چند|"
        r"چه (تعداد|میزان)|چقدر|(^|\s)(ما|کم) (عدد|حجم|قیمه)"),
    # a date: on what date / which day / which year (not "when", which "in the near future" may answer)
    "date": re.compile(r"\b(on |in )?(what|which) (date|day|year)\b|(ای|ما) (تاریخ|عام|سنه|یوم)|"
                       r"چه (تاریخی|روزی|سالی)|کدام (روز|سال|تاریخ)|در چه سال"),
    # a time of any precision: when (not "where and when", which a place half answers)
    "time": re.compile(r"^(and |so )?(until |since |by )?when\b|(^|\s)(حتی |منذ )?متی(\s|\?|$)|"
                       r"^(?!.*کجا).*(چه (زمانی|وقتی?|موقع)|(^|\s)تا کی(\s|\?|$))"),
    # a country: which country / whose ambassador
    "country": re.compile(r"\b(which|what) (country|countries|nation)\b|(ای|ما) (دوله|بلد)|کدام کشور|چه کشوری"),
    # a title: which film / festival, the titles of …
    "title": re.compile(
        r"\btitles?\b|\bwhich (?!kinds?\b|types?\b|sorts?\b)(\w+ ){0,2}(films?|movies?|festivals?|documentar(y|ies)|"
        r"classics?)\b|\bnames? of (the )?(\w+ ){0,3}(films?|movies?|festivals?)\b|عنوان|عناوین|"
        r"(^|\s)ای (ال)?(فیلم|افلام|مهرجان)|^ما (هی |هو )?(ال)?(افلام|مهرجان)|(کدام|چه) (فیلم|جشنواره)|"
        r"فیلم.*کدامند"),
    # a person: who/whom (not "who is X", but "who is the head of X"), which official, the names of the trainers
    "person": re.compile(
        r"^(who|whom)\b(?! (is|was|are|were)\b(?! (the|head|director|minister|ambassador)\b))|"
        r"^which (\w+ ){0,2}(officials?|ministers?|persons?|people)\b|"
        r"\bnames? of (the )?(\w+ ){0,3}(trainers?|officials?|directors?|people|persons?|participants?|"
        r"members?|delegates?|speakers?)\b|"
        r"^من (هو |هی |هم )?(ال|رییس|مدیر|وزیر|سفیر|وقع|التقی|استقبل|ترا?س|قاد|زار|سیزور)|"
        r"کیست|کیستند|چه کس|کدام (مقام|مسئول|شخص|فرد)|نام (\S+ ){0,3}(مدرس|مربی|کارگردان|مسئول|مقام|مدیر)"),
}
# A person question that says which side the person is on: "which Iranian official", "for the Syrian side",
# «أي مسؤول إيراني», «عن الجانب السوري», «کدام مقام ایرانی» (the group that matched holds the demonym).
_ASKED_SIDE = re.compile(
    r"\b(?:which|what)\s+((?:\w+\s+){1,3}?)(?:officials?|ministers?|ambassadors?|envoys?|"
    r"representatives?|delegates?|persons?|people)\b|\b(?:for|on behalf of|from) the (\w+) side\b|"
    r"(?:أي|اي)\s+(?:مسؤول|وزير|سفير|ممثل|شخص)\s+(\S+)|(?:عن|من) الجانب\s+(\S+)|"
    r"کدام\s+(?:مقام|مسئول|مسوول|وزیر|سفیر|نماینده|شخص)\s+(\S+)|از (?:طرف|سوی|جانب)\s+(\S+)",
    re.IGNORECASE,
)
# A person question asking for whom someone met (the object): the person it describes is not the answer.
_ASKS_WHOM = re.compile(r"^(with )?whom\b|^who did .+ meet\b|(^|\s)(بمن|مع من)(\s|$)|با چه کس|با کی(\s|$)|چه کسی را")
# Words that a title follows in Arabic script (festival, film, documentary, series), normalised.
_TITLE_HEADS = frozenset(normalize(w) for w in "مهرجان المهرجان جشنواره فيلم الفيلم فیلم مستند سلسلة مجموعه".split())
_NAMED_CONCEPTS = ("c:org:", "c:city:", "c:place:", "c:theme:")
# A quoted title in a claim: 'Kazakh Cinema', "The Pilgrim", «…» (not the apostrophes of "Iran's").
_QUOTED = re.compile(r"(?<![\w'])'([^']{2,}?)'(?![\w'])|\"([^\"]{2,}?)\"|“([^”]{2,}?)”|«([^»]{2,}?)»")
# Yes/no questions, whose answer may add nothing but a negation to the question's words.
_YES_NO = re.compile(r"(is|are|was|were|has|have|had|did|does|do|will|would|can|could)\b|هل\b|ا?یا\b")
_YES_NO_WORDS = frozenset(normalize(w) for w in "yes no نعم كلا بلى بله خیر آری".split())
# Kinds of answer whose value (amount, count, date) a claim keeps only when its cited sentences state it
# (`Verifier._entities_missing`): a context none of whose sentences states one cannot answer.
_SENTENCE_STATED_KINDS = ("money", "number", "date")
_BARE_YEAR = re.compile(r"(?<!\d)(1[34]\d\d|19\d\d|20\d\d)(?!\d)")
# Words that place a claim in time besides dates and the lexicon's time words (day, week, month, year, month
# names): seasons, weekdays, relative times ("next spring", "during the visit", "by the end of") and the
# moments of an event ("at the opening ceremony", "on the sidelines of"), normalised.
_TIME_WORDS = frozenset(normalize(w) for w in (
    "spring summer autumn fall winter season monday tuesday wednesday thursday friday saturday sunday next coming "
    "upcoming future soon later earlier recently previous last during after before until till since ago early late "
    "mid end beginning half ceremony opening closing sidelines "
    "ربيع الربيع صيف الصيف خريف الخريف شتاء الشتاء مقبل المقبل المقبلة قادم القادم القادمة مستقبل المستقبل قريبا "
    "القريب خلال بعد قبل حتى منذ نهاية بداية مطلع أواخر أوائل منتصف النصف الماضي الماضية السابق الجاري الحالي "
    "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد حفل افتتاح الافتتاح ختام الختام هامش "
    "بهار تابستان پاییز زمستان آینده آتی بزودی اخیر گذشته طی پس بعد قبل پیش پایان آغاز ابتدای اوایل اواخر نیمه "
    "جاری شنبه یکشنبه دوشنبه سه‌شنبه چهارشنبه پنجشنبه جمعه مراسم افتتاحیه اختتامیه حاشیه").split())


# Questions that ask across articles (lists, comparisons): wider context, more documents.
_WIDE = re.compile(
    r"\b(which|what) (countries|articles|partners|reports|documents|visits|delegations|organi[sz]ations)\b|"
    r"\bwhich (\w+ ){0,3}?(articles|reports|documents)\b|\bwhich (foreign|partner) (\w+ ){0,2}?\w+s\b|"
    r"\b(in )?which (of the )?(articles|documents|reports)\b|\bwhich .* countries\b|\beach (article|country)\b|"
    r"\bacross\b|\ball (the )?(articles|countries|visits)\b|\bcompare\b|\bhow many (articles|countries)\b|"
    r"(أي|ما|ماهي|ما هي) (الدول|البلدان|المقالات|الأخبار|التقارير)|"
    r"(کدام|چه) (کشورها|کشورهایی|مقالات|مقاله\u200c?ها|گزارش\u200c?ها)",
    re.IGNORECASE,
)


# The words that frame a question across articles, not its topic.
_FRAMING = re.compile(
    r"\b(countries|country|nations?|partners?|counterparts?|articles?|reports?|documents?)\b|"
    r"(ال)?(دول|بلدان|مقالات|تقارير)\b|کشور(ها|هایی)?|مقاله(\u200c?ها)?|گزارش(\u200c?ها)?",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------------------ model I/O


class Claim(BaseModel):
    """One statement of the answer with the sentence numbers that state it."""

    text: str = Field(description="one short sentence, in the question's language", max_length=300)
    sources: list[int] = Field(description="numbers of the sentences that state it", max_length=4)


class ModelAnswer(BaseModel):
    """What the model returns: at least one claim, then whether they answer the question. Claims come first
    and at least one is required: a small model allowed an empty list or asked for the verdict first
    takes that easy way out before reading. When the sentences do not answer, the one claim says so and
    cites nothing (and is dropped by verification)."""

    claims: list[Claim] = Field(min_length=1, max_length=5)
    answered: bool = Field(description="false when the sentences do not answer the question")


def salvage(partial: str) -> ModelAnswer | None:
    """The complete claims of a reply cut off at max_tokens ('{"claims": [{…}, {…}, {"text": "…'), as an
    answer to verify like any other; None when no claim was complete. A small model that runs on repeats
    itself after its first claims, which are then not lost to a second call."""
    start = partial.find("[", partial.find('"claims"'))
    if start < 0:
        return None
    decoder, i, claims = json.JSONDecoder(), start + 1, []
    while True:
        while i < len(partial) and partial[i] in " \t\r\n,":
            i += 1
        try:
            value, i = decoder.raw_decode(partial, i)
            claims.append(Claim.model_validate(value))
        except (ValueError, ValidationError):
            break
    return ModelAnswer(claims=claims, answered=True) if claims else None


# ------------------------------------------------------------------------------------------ context


@dataclass
class Shown:
    """A sentence shown to the model under `number`."""

    number: int
    id: str
    doc_id: str
    text: str
    language: str


@dataclass
class Context:
    """The numbered sentences the model sees."""

    shown: dict[int, Shown] = field(default_factory=dict)
    text: str = ""
    docs: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Shown]:
        return {s.id: s for s in self.shown.values()}


# Characters per model token, measured with the bundled Qwen2.5 tokenizer on the seed corpus.
_CHARS_PER_TOKEN = {"en": 5.2, "ar": 2.9, "fa": 1.8}


def _estimate_tokens(text: str, language: str = "en") -> int:
    """Model tokens of a shown line: the text at its language's characters per token, plus "[n] "."""
    return int(len(text) / _CHARS_PER_TOKEN.get(language, 2.5)) + 4


def _lead(doc: Document) -> str | None:
    """Id of the article's lead: its first citable sentence of at least 12 words (who met whom, where)."""
    for s in doc.sentences:
        if not s.boilerplate and len(s.text.split()) >= 12:
            return s.id
    return None


def is_wide(question: str) -> bool:
    """Whether the question asks across articles (lists of countries, articles, partners…)."""
    return bool(_WIDE.search(question))


def load_summary(home: Path, doc_id: str) -> dict | None:
    """The stored visit summary of a document (`<home>/summaries/<doc_id>.json`), if any."""
    path = Path(home) / "summaries" / f"{doc_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("doc_id") == doc_id else None


def _needs_gloss(sentence_language: str, answer_language: str | None) -> bool:
    """English answers from Arabic/Persian sentences get an English gloss of each (a 1.5B model reads
    those scripts poorly and otherwise prefers whatever English sentence is shown)."""
    return answer_language == "en" and sentence_language in ("ar", "fa")


def gloss_line(text: str, language: str, renderings: Mapping[str, str] | None = None) -> str:
    """'    (key words: …; dates: …; names: …)': the sentence's lexicon concepts in English, in order, without
    repeats (coopqa.concepts.gloss); the dates it states, in ISO form (Solar Hijri converted, dates in words
    read); and the English rendering of the names it holds that `renderings` knows (name as written →
    English, from verified visit summaries). Empty when nothing is known."""
    parts = []
    try:
        from coopqa.concepts import gloss, index_terms

        words = list(dict.fromkeys(gloss(index_terms(text, language), "en").split()))
    except (ImportError, OSError, KeyError):
        words = []
    if words:
        parts.append(f"key words: {', '.join(words)}")
    if dates := list(dict.fromkeys(d.iso for d in find_dates(text))):
        parts.append(f"dates: {', '.join(dates)}")
    if names := [f"{original} = {name}" for original, name in (renderings or {}).items() if present(original, text)]:
        parts.append(f"names: {'; '.join(names)}")
    return f"    ({'; '.join(parts)})" if parts else ""


class ContextBuilder:
    """Chooses which sentences the model sees: per article, its best hits in reading order plus its lead,
    within a token budget."""

    def __init__(self, document: Callable[[str], Document | None], home: Path | None = None):
        self._document = document
        self._docs: dict[str, Document | None] = {}
        self._summaries: dict[str, dict | None] = {}
        self.home = home

    def year(self, doc_ids: Iterable[str]) -> int | None:
        """The one year these articles are all dated in, or None."""
        years = {doc.date[:4] if (doc := self.document(d)) and doc.date else None for d in doc_ids}
        return int(years.pop()) if len(years) == 1 and None not in years else None

    def document(self, doc_id: str) -> Document | None:
        if doc_id not in self._docs:
            self._docs[doc_id] = self._document(doc_id)
        return self._docs[doc_id]

    def summary(self, doc_id: str) -> dict | None:
        """The article's stored visit summary (read once per builder), None without one or without a home."""
        if doc_id not in self._summaries:
            self._summaries[doc_id] = load_summary(self.home, doc_id) if self.home is not None else None
        return self._summaries[doc_id]

    def renderings(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The articles' people named in Arabic script → their English rendering, from their verified visit
        summaries (participants carry the name as written and as transliterated); empty without any."""
        out: dict[str, str] = {}
        for doc_id in dict.fromkeys(doc_ids):
            for p in (self.summary(doc_id) or {}).get("participants") or []:
                if not isinstance(p, dict):
                    continue
                original, name = p.get("name_original") or "", p.get("name") or ""
                if _ARABIC_SCRIPT.search(original) and name and not _ARABIC_SCRIPT.search(name):
                    out[original] = name
        return out

    def people(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The articles' people, by name as written and in English, → their country's ISO code, from their
        verified visit summaries (people without a known country are left out)."""
        out: dict[str, str] = {}
        for doc_id in dict.fromkeys(doc_ids):
            for p in (self.summary(doc_id) or {}).get("participants") or []:
                codes = countries_in(p.get("country") or "", concepts=False) if isinstance(p, dict) else set()
                if len(codes) == 1:
                    out.update({n: next(iter(codes)) for n in (p.get("name"), p.get("name_original")) if n})
        return out

    def partner(self, doc_id: str) -> str | None:
        """The article's partner country (English name): from its verified visit summary, else the first
        non-Iran country its lead names; None when neither is known."""
        from coopqa.brief import partner_country

        doc = self.document(doc_id)
        summary = self.summary(doc_id)
        partner = partner_country(summary) if summary else None
        if (not partner or partner == "Other") and doc is not None and (lead := _lead(doc)):
            found = sorted(countries_in(doc.sentence(lead).text, concepts=False) - {"IR"})
            partner = english_country(found[0]) if found else None
        return partner if partner != "Other" else None

    def about(self, doc_id: str) -> frozenset[str]:
        """ISO codes of the countries an article is about: its partner and Iran, each when the article
        mentions it."""
        doc = self.document(doc_id)
        partner = self.partner(doc_id)
        codes = {"IR", country_code(partner) if partner else None} - {None}
        mentioned = countries_in(doc.text, concepts=False) if doc else set()
        return frozenset(c for c in codes if c in mentioned)

    def label(self, doc_id: str, language: str) -> str | None:
        """'Partner country (date)' of an article, in `language` (see `partner`, and the article's date);
        None when neither is known."""
        from coopqa.citations import country_name

        doc = self.document(doc_id)
        summary = self.summary(doc_id)
        partner = self.partner(doc_id)
        name = country_name(partner, language) if partner else None
        date = (summary or {}).get("date") or (doc.date if doc else None)
        if name and date:
            return f"{name} ({date})"
        return name or date

    def build(self, hits: Sequence[Hit], *, language: str | None = None, one_article: bool = False) -> Context:
        """Walk the hits best-first: each hit is shown (unless a near-duplicate of one already shown), and
        when an article first appears its lead comes with it; stop at the article cap and token budget.
        With `one_article` (a question across articles asked of one), the hits alone are shown and the
        article's header names the countries it is about (`about`) instead of its lead."""
        chosen: dict[str, list[str]] = {}
        seen_words: list[set[str]] = []
        glosses: dict[str, str] = {}  # sentence id → its English gloss line, when the answer needs one
        used = 0

        def take(doc_id: str, sid: str, *, force: bool = False) -> bool:
            nonlocal used
            doc = self.document(doc_id)
            s = doc.sentence(sid) if doc else None
            if s is None or s.boilerplate or sid in chosen[doc_id]:
                return False
            words = set(tokens(s.text))
            if any(len(words & w) >= 0.7 * max(1, len(words)) for w in seen_words):
                return False  # mostly said already (news repeats its lead in the headline): tokens, not facts
            cost = _estimate_tokens(s.text[:MAX_SENTENCE_CHARS], doc.language)
            if _needs_gloss(doc.language, language):
                glosses[sid] = gloss_line(s.text, doc.language, self.renderings([doc_id]))
                cost += _estimate_tokens(glosses[sid])
            if used + cost > TOKEN_BUDGET and (used > 0 and not force):
                return False
            chosen[doc_id].append(sid)
            seen_words.append(words)
            used += cost
            return True

        for h in hits:
            if used >= TOKEN_BUDGET:
                break
            if h.doc_id not in chosen:
                doc = self.document(h.doc_id)
                if doc is None or len(chosen) >= MAX_DOCS:
                    continue
                chosen[h.doc_id] = []
                take(h.doc_id, h.id, force=True)
                lead = None if one_article else _lead(doc)
                if lead:
                    take(h.doc_id, lead)
            elif len(chosen[h.doc_id]) < PER_DOC:
                take(h.doc_id, h.id)
        doc_ids = list(chosen)

        ctx = Context()
        lines: list[str] = []
        number = 0
        for n_doc, doc_id in enumerate(d for d in doc_ids if chosen[d]):
            doc = self.document(doc_id)
            assert doc is not None
            ids = sorted(chosen[doc_id], key=lambda i: sentence_number(i) or 0)
            header = "The article" if one_article else f"Article {n_doc + 1}"
            header += f" ({LANGUAGE_NAMES.get(doc.language, doc.language)}"
            header += f", dated {doc.date})" if doc.date else ")"
            if one_article and (about := self.about(doc_id)):
                header += ", about " + " and ".join(english_country(c) for c in sorted(about, key="IR".__ne__))
            lines.append(header)
            for sid in ids:
                number += 1
                s = doc.sentence(sid)
                assert s is not None
                ctx.shown[number] = Shown(number, sid, doc_id, s.text, doc.language)
                text = " ".join(s.text.split())
                if len(text) > MAX_SENTENCE_CHARS:
                    text = text[:MAX_SENTENCE_CHARS] + "…"
                lines.append(f"[{number}] {text}")
                if glosses.get(sid):
                    lines.append(glosses[sid])
            lines.append("")
            ctx.docs.append(doc_id)
        ctx.text = "\n".join(lines).strip()
        return ctx


# ------------------------------------------------------------------------------------------ verification


@dataclass
class ClaimCheck:
    """The verdict on one claim: kept with its (possibly repaired) citations, or dropped with a reason."""

    text: str
    cited: list[int]
    supported: bool
    reason: str = ""
    repaired: list[int] = field(default_factory=list)


def _clean_claim(text: str) -> str:
    """The claim without markers the model may have written into it, and 'article N' (the context's label
    for an article, which no sentence states) as 'the article'."""
    text = _ARTICLE_NUMBER.sub(lambda m: "The article" if m.group()[0].isupper() else "the article", text)
    return " ".join(_MARKER.sub("", text).split()).strip()


def _latin_names(text: str) -> list[str]:
    """Capitalised word runs of Latin text that look like names (not titles or generic words)."""
    out = []
    for m in _LATIN_NAME_RUN.finditer(text):
        words = [w.removesuffix("'s").removesuffix("’s") for w in re.split(r"\s+", m.group())]
        # Titles, generic words and country names/demonyms ("Azerbaijani Culture Minister Anar Karimov").
        words = [w for w in words if w.strip("'’-").lower() not in _GENERIC_CAPITALISED
                 and not countries_in(w, concepts=False) and number_word(normalize(w)) is None]  # "Ten films"
        if words:
            out.append(" ".join(words))
    return out


def _asked_names(question: str) -> list[str]:
    """The people or places a Latin-script question names (capitalised runs past its first word that are not
    lexicon vocabulary: 'Reza Nazari', 'Salma Ben Omar', not 'Iranian Film Week')."""
    return [n for n in _latin_names(question.split(" ", 1)[1] if " " in question else "") if not _known_words(n)]


def _person_names(text: str) -> list[str]:
    """The Latin names of the text that may be people's: not those of institutions (a capitalised run with
    'School', 'Center', 'Studio' … in it), not acronyms ('DEFC') and not places ('in San Antonio')."""
    runs = (m.group() for m in _CAPITALISED_PHRASE.finditer(text)
            if not re.search(r"\b(in|at|near)\s+$", text[: m.start()]))
    return [n for run in runs
            if not set(tokens(run)) & _INSTITUTION_WORDS and not re.fullmatch(r"[A-Z]{2,}", run)
            for n in _latin_names(run)]


def add_renderings(text: str, renderings: Mapping[str, str]) -> str:
    """An English claim with each person's name in both forms, as written in the article and as rendered in
    English ('محمد خزاعي (Mohammad Khazaei)', or 'Mohammad Khazaei (محمد خزاعي)' when the claim gives the
    English name), unless the claim already has both."""
    for original, name in sorted(renderings.items(), key=lambda x: -len(x[0])):
        if original in text:
            end = text.find(original) + len(original)
            if re.match(r"\s*\(\s*[A-Za-z]", text[end:]) or name.lower() in text.lower():
                continue
            text = f"{text[:end]} ({name}){text[end:]}"
        elif (at := text.lower().find(name.lower())) >= 0:
            end = at + len(name)
            text = f"{text[:end]} ({original}){text[end:]}"
    return text


def _known_words(phrase: str, *, named: bool = True) -> bool:
    """Every word of the phrase is lexicon vocabulary ('Central Asian'), so it is no name; with `named=False`
    the lexicon's named things (organisation, city, place, festival theme: «فجر») do not count as vocabulary."""
    from coopqa.concepts import index_terms

    terms = index_terms(phrase)
    return bool(terms) and all(t.startswith("c:") and (named or not t.startswith(_NAMED_CONCEPTS)) for t in terms)


def _lexicon_states(name: str, text: str) -> bool:
    """The text states the name through the lexicon: the name is lexicon vocabulary (`_known_words`) whose
    concepts the text holds too (an institution named in another language: 'Ministry of Culture' = «وزارة
    الثقافة»). Not a city, which the lexicon folds into its country: 'Tehran' is no more stated by «ایران» than
    by «تهران» there."""
    from coopqa.concepts import index_terms

    terms = set(index_terms(name))
    city = not countries_in(name, concepts=False) and any(t.startswith("c:country:") for t in terms)
    return _known_words(name) and not city and terms <= set(index_terms(text))


def _lowercase_in(word: str, text: str) -> bool:
    """The word occurs in lower case in the text (for longer words, a word of the same 5-letter stem:
    'Organizing' / 'organization')."""
    w = word.lower()
    stem = w[:5] if len(w) > 5 else None
    return any(t == w or (stem and t.startswith(stem)) for t in re.findall(r"\b[a-z][a-z'’-]*", text))


def _name_stated(name: str, text: str) -> bool:
    """The text names the person/place: the phrase itself, or (any script) its surname and at least half of
    its words as transliteration skeletons (coopqa.translit.latinize), a word or two joined Arabic-script
    words of the text each (طالبیمتین = Talebi Matin). Stricter than coopqa.citations.name_in, whose alignment lets a
    short surname match unrelated words ('Putin' ~ 'about'): skeletons under 4 letters must be equal."""
    if present(name, text):
        return True
    words = [latinize(w) for w in tokens(name)]
    words = [w for w in words if w]
    if not words:
        return False
    body = [(sk, bool(_ARABIC_SCRIPT.match(t))) for t in tokens(text) if (sk := latinize(t))]
    # two words joined only in Arabic script, which may split a name (طالبی متین); in Latin script "the
    # Iranian" would make 'Tehran'
    units = {sk for sk, _ in body} | {a + b for (a, x), (b, y) in zip(body, body[1:], strict=False) if x and y}

    def same(sk: str) -> bool:
        if len(sk) < 3:
            return False
        return sk in units or (len(sk) >= 4 and any(abs(len(u) - len(sk)) <= 2 and ratio(u, sk) >= 85 for u in units))

    covered = [False] * len(words)
    for i, w in enumerate(words):
        if same(w):
            covered[i] = True
        elif i + 1 < len(words) and same(w + words[i + 1]):
            covered[i] = covered[i + 1] = True
    checkable = [c for w, c in zip(words, covered, strict=True) if len(w) >= 3] or covered
    return covered[-1] and sum(checkable) * 2 >= len(checkable)


def answer_type(question: str) -> str | None:
    """What the answer must state, from the question's form: 'money', 'number', 'date', 'time', 'country',
    'title', 'person' or None."""
    q = normalize(question)
    return next((kind for kind, pattern in _ANSWER_TYPES.items() if pattern.search(q)), None)


def _states_time(text: str) -> bool:
    """The text places something in time: a date or year, a time word of the lexicon (day, week, month, year,
    a month's name) or of _TIME_WORDS, an Arabic one behind a clitic too («وبعد»)."""
    from coopqa.concepts import index_terms

    if find_dates(text) or _BARE_YEAR.search(fold_digits(text)):
        return True
    if any(t.startswith(("c:time:", "c:month:", "c:solar:")) for t in index_terms(text)):
        return True
    return any(w in _TIME_WORDS or (w[:1] in "وفبل" and w[1:] in _TIME_WORDS) for w in tokens(text))


def _names_a_title(text: str, question: str) -> bool:
    """The text gives a title: a quoted phrase; a run of two or more capitalised words with a word that is
    not in the question nor a country or demonym ('Havana Film Festival', not 'The Chinese'), naming no
    institution the question does not ask for ('National Film Archive' is no film's title); or in Arabic
    script a festival/film word followed by a word not in the question that is no common word (a name or a
    named concept of the lexicon: «مهرجان فجر», not «فيلم سينمائي»)."""
    if re.search(r"«[^»]{2,}»|\"[^\"]{2,}\"|“[^”]{2,}”", text):
        return True
    asked = set(tokens(question))
    for m in _LATIN_NAME_RUN.finditer(_ARABIC_RUN.sub(" ", text)):
        words = [w for w in m.group().split() if w.lower() not in ("the", "a", "an")]
        if (set(tokens(m.group())) & _INSTITUTION_WORDS) - asked:
            continue  # an institution's name is not the film's or festival's title asked for
        if len(words) >= 2 and any(normalize(w) not in asked and not countries_in(w, concepts=False) for w in words):
            return True
    words = tokens(text)
    return any(w in _TITLE_HEADS and nxt not in asked and nxt not in _stopwords()
               and not _known_words(nxt, named=False)
               for w, nxt in zip(words, words[1:], strict=False))


def _names_a_person(text: str, question: str, names: Iterable[str]) -> bool:
    """The text names someone the question does not: a Latin name, or in Arabic script one of `names` (the
    people the context's visit summaries list as written in the article: its last two words, or a Latin name
    in transliteration) — any Arabic-script answer passes when no such list is known."""
    if _ARABIC_RUN.search(text):
        known = [n for n in names if not present(n, question)]
        if not known:
            return True
        if any(present(" ".join(n.split()[-2:]), text) if _ARABIC_SCRIPT.search(n) else _name_stated(n, text)
               for n in known):
            return True  # as written, or a Latin name transliterated ('Abbas Salehi' = «عباس صالحی»)
    asked = {w for n in _latin_names(question) for w in tokens(n)}  # 'Anar Karimov' is the asked 'Karimov'
    return any(not set(tokens(n)) & asked for n in _person_names(text))


def states_answer_type(kind: str | None, claims: Sequence[str], question: str, names: Iterable[str] = ()) -> bool:
    """Whether the claims together state what the question asks for: an amount of money, a count (not a
    duration), a date (or year), a country other than those the question names, a title, or a person
    (`names`: the people of the context, as written)."""
    text = " ".join(claims)
    if kind == "money":
        return states_amount(text)
    if kind == "number":
        return bool(counts(text, question))
    if kind == "date":
        return bool(find_dates(text) or _BARE_YEAR.search(fold_digits(text)))
    if kind == "time":
        return _states_time(text)
    if kind == "country":
        return bool(countries_in(text, concepts=False) - countries_in(question, concepts=False))
    if kind == "title":
        return _names_a_title(text, question)
    if kind == "person":
        return _names_a_person(text, question, names)
    return True


def asked_side(question: str) -> str | None:
    """The country (ISO code) of the person a question asks for, when it says ("Which Iranian official…",
    "… for the Syrian side?"); None otherwise ("Whom did the Syrian chief meet?" says whose counterpart)."""
    m = _ASKED_SIDE.search(question)
    word = next((g for g in m.groups() if g), "") if m else ""
    found = countries_in(word, concepts=True) if word else set()
    return next(iter(found)) if len(found) == 1 else None


def on_another_side(text: str, side: str, people: Mapping[str, str]) -> bool:
    """The text names people of the articles (`people`: name, as written or in English → country code, from
    the verified visit summaries) and none of them is on `side`."""
    named = {code for name, code in people.items() if present(name, text)}
    return bool(named) and side not in named


def _names_as_written(claim: str, renderings: Mapping[str, str]) -> list[str]:
    """The people a claim names, as an article writes them: the articles' people (`renderings`: as written →
    verified English rendering) it names either way; in a Latin-script claim also the names it quotes in
    Arabic script and its Latin names."""
    written = [original for original, english in renderings.items()
               if present(english, claim) or present(original, claim)]
    if not _written_in_arabic_script(claim):
        written += [r for r in _ARABIC_RUN.findall(claim) if len(r) >= 3]
        written += _person_names(_ARABIC_RUN.sub(" ", claim))
    return written


def described_as_asked(name: str, sentence: str, question: str) -> bool:
    """In the sentence, the title right after the name («علی اکبر طالبیمتین رایزن فرهنگی ایران»; "Anar Karimov,
    Azerbaijan's Minister of Culture") is the one the question describes its subject by: a role, and every role
    and country it gives is in the question."""
    from coopqa.concepts import index_terms

    at = sentence.find(name)
    if at < 0:
        return False
    title = " ".join(sentence[at + len(name):].replace(",", " ").split()[:5])
    terms = {t for t in index_terms(title) if t.startswith(("c:role:", "c:country:"))}
    return any(t.startswith("c:role:") for t in terms) and terms <= set(index_terms(question))


@dataclass
class Verifier:
    """Checks claims against the sentences they cite (coopqa.citations primitives for names, countries,
    dates; numbers; then content overlap, across languages through concept terms or e5 similarity)."""

    shown: dict[int, Shown]
    question: str
    sentence_vectors: Callable[[list[str]], np.ndarray] | None = None  # corpus sentences (cached vectors)
    embed: Callable[[list[str]], np.ndarray] | None = None  # any text → L2-normalised e5 passage vectors
    renderings: Mapping[str, str] = field(default_factory=dict)  # name as written → verified English rendering
    context_countries: frozenset[str] = frozenset()  # ISO codes every shown sentence is about (its header)
    # Asked of one article among several: whether a shown sentence holds the question's topic, which makes a
    # claim that restates the question, citing it, this article's answer ("[Belarus:] … raised animation").
    on_topic: Callable[[Shown | Hit], bool] | None = None
    # The article's year: a claim's day and month without one ("19 October") must be the day a cited sentence
    # gives in that year, in any calendar («۱۹ آبان» is 9 November 2024 in an article of 2024).
    year: int | None = None
    _vectors: dict[int, np.ndarray] | None = None
    _claim_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def _shown_vectors(self) -> dict[int, np.ndarray]:
        if self._vectors is None:
            numbers = list(self.shown)
            texts = [self.shown[n].text for n in numbers]
            vecs = (self.sentence_vectors or self.embed)(texts)  # type: ignore[misc]
            self._vectors = {n: np.asarray(v, dtype=np.float32) for n, v in zip(numbers, vecs, strict=True)}
        return self._vectors

    def _claim_vector(self, claim: str) -> np.ndarray:
        """The claim's e5 vector, once per claim (re-citation checks it against sentence after sentence)."""
        if claim not in self._claim_vectors:
            self._claim_vectors[claim] = np.asarray(self.embed([claim])[0], dtype=np.float32)  # type: ignore[misc]
        return self._claim_vectors[claim]

    def _name_in(self, name: str, text: str) -> bool:
        """The text names the person: directly (_name_stated), or it holds the name as written whose verified
        English rendering (from the visit summary, which checked it against the article) is this name."""
        return _name_stated(name, text) or any(
            present(original, text) and (names_match(name, english) or normalize(name) in normalize(english))
            for original, english in self.renderings.items())

    def _entities_missing(self, claim: str, cited_text: str) -> list[str]:
        """Names, countries, dates and numbers of the claim that the cited text does not state."""
        missing: list[str] = []
        question_numbers = numbers(self.question)
        for code in countries_in(claim, concepts=False) - self.context_countries:
            if not country_mentioned(cited_text, english_country(code), concepts=True):
                missing.append(english_country(code))
        with_year = set(find_dates(claim))
        for d in find_dates(claim, default_year=self.year):
            if _present_in(d.text, self.question):
                continue
            if not date_in(cited_text, d.iso, d.text, own_year=d in with_year):
                missing.append(d.text)  # one mention with the year: "December 11" does not state "December 11, 2022"
        cited_numbers = numbers(cited_text)
        # Number words under 3 are everyday words ("one of", "the two sides", Arabic duals have none).
        missing += [n for n in numbers(claim, words_from=3, skip_dates=True, default_year=self.year)
                    if n not in cited_numbers and n not in question_numbers]
        missing += sorted(units(claim) - units(cited_text) - units(self.question))  # "10 million" ≠ "ten films"
        for title in (t for m in _QUOTED.finditer(claim) for t in m.groups() if t):
            if not (present(title, cited_text) or _name_stated(title, cited_text)):
                missing.append(title)  # a quoted title is named there, not made of its words ('Kazakh Cinema')
        latin_claim = not _ARABIC_SCRIPT.search(_ARABIC_RUN.sub("", claim)) and bool(re.search("[A-Za-z]", claim))
        if latin_claim:
            first = claim.split(maxsplit=1)[0] if claim.split() else ""
            for name in _latin_names(_ARABIC_RUN.sub(" ", claim)):
                if name == first and _lowercase_in(name, cited_text):
                    continue  # an ordinary word capitalised because it starts the claim ("Organizing …")
                if not (self._name_in(name, cited_text) or _name_stated(name, self.question)
                        or _lexicon_states(name, cited_text)):
                    missing.append(name)
            for run in _ARABIC_RUN.findall(claim):  # a name kept in its original script
                if len(run) >= 3 and not _name_stated(run, cited_text):
                    missing.append(run)
        return missing

    def _context_words(self, claim: str) -> set[str]:
        """The claim's words naming a country every shown sentence is about (their header): stated wherever
        the claim names them."""
        return {w for w in tokens(claim)
                if (found := countries_in(w, concepts=False)) and found <= self.context_countries}

    def _split(self, claim: str) -> tuple[str, str]:
        """_split_claim of the claim without its context words ('… with Kazakhstan' asked of the Kazakh
        article only restates the question)."""
        about = self._context_words(claim)
        return _split_claim(" ".join(w for w in tokens(claim) if w not in about) if about else claim, self.question)

    def _content_supported(self, claim: str, cited: list[Shown]) -> tuple[bool, str]:
        """Whether the cited sentences state the claim. Its words are split into those it takes from the
        question (its premise) and the rest (the answer). The cited sentences together must hold most of
        the answer and one of them (the anchor) must hold a fair part of the premise and some of the
        answer, so a true fact glued to the question's premise from an unrelated sentence fails. Overlap
        is surface words or language-neutral concept terms (coopqa.citations.overlap); for a sentence in
        another script than the claim, or in Arabic script, an e5 similarity that is high and the best among
        all shown sentences also makes it an anchor, since words cannot be compared directly across scripts
        and match poorly under Arabic and Persian inflection (clitics, broken plurals, «لقاء ثان»)."""
        cited_text = " ".join(s.text for s in cited)
        about = self._context_words(claim)
        premise, novel = self._split(claim)
        has_premise = len(premise.split()) >= 2
        # Names the cited text states in any script (checked by _entities_missing) are stated words here too:
        # 'Mohammad Khazaei' shares no surface word with 'محمد خزاعي'.
        names = about | {w for n in _latin_names(claim) if self._name_in(n, cited_text) for w in tokens(n)}
        novel = " ".join(w for w in novel.split() if w not in names and w not in _YES_NO_WORDS)
        rest = " ".join(w for w in tokens(claim) if w not in names)

        def scores(text: str) -> tuple[float, float]:
            p = overlap(premise, text) if has_premise else 1.0
            return p, (overlap(novel, text) if novel.strip() else 1.0)

        p_all, n_all = scores(cited_text)
        total = overlap(rest, cited_text) if _split_claim(rest, "")[1] else 1.0
        why = f"answer overlap {n_all:.2f}, premise overlap {p_all:.2f}"
        anchored = any(p >= MIN_PREMISE_OVERLAP and n >= MIN_ANCHOR_NOVEL
                       for p, n in map(scores, (s.text for s in cited)))
        restates = not novel.strip()  # nothing but the question's words (a yes/no answer)
        if restates and negated(claim) != negated(cited_text):
            # It only restates the question ("Yes, a date was set"): its words are there whatever the answer,
            # so the polarity must be too ("… without setting a date" answers no).
            return False, why + ", opposite polarity"
        if anchored and n_all >= MIN_NOVEL_OVERLAP and total >= MIN_OVERLAP:
            return True, why
        if restates:
            return False, why  # a restated question: similarity is no support
        claim_script = _written_in_arabic_script(claim)
        fuzzy = [s for s in cited if claim_script or _is_arabic_script(s.text)]
        if not fuzzy or self.embed is None:
            return False, why
        claim_vec = self._claim_vector(claim)
        sims = {n: float(claim_vec @ v) for n, v in self._shown_vectors().items()}
        best_fuzzy = max(sims[s.number] for s in fuzzy)
        why += f", similarity {best_fuzzy:.2f}"
        return best_fuzzy >= MIN_EMBED_SIM and best_fuzzy >= max(sims.values()) - 0.02, why

    def check(self, claim_text: str, sources: Iterable[int]) -> ClaimCheck:
        text = _clean_claim(claim_text)
        cited = [n for n in dict.fromkeys(int(x) for x in sources) if n in self.shown]
        if not text:
            return ClaimCheck(text, cited, False, "empty claim")
        if not cited:
            return ClaimCheck(text, [], False, "cites no sentence that was shown")
        cited_text = " ".join(self.shown[n].text for n in cited)
        missing = self._entities_missing(text, cited_text)
        repaired: list[int] = []
        if missing:
            # Citation repair: another shown sentence of the same article(s) may state what is missing.
            docs = {self.shown[n].doc_id for n in cited}
            for n, s in self.shown.items():
                if n in cited or s.doc_id not in docs:
                    continue
                still = self._entities_missing(text, cited_text + " " + s.text)
                if len(still) < len(missing):
                    repaired.append(n)
                    cited_text += " " + s.text
                    missing = still
                if not missing:
                    break
        if missing:
            if (moved := self._sentence_stating(text, cited)) is None:
                return ClaimCheck(text, cited, False, "not in the cited sentences: " + ", ".join(missing[:4]))
            cited, repaired = [], [moved]  # the model cited the wrong number (see below)
        if not self._split(text)[1] and not _YES_NO.match(normalize(self.question)):
            if self.on_topic is not None and cited and all(self.on_topic(self.shown[n]) for n in cited):
                return ClaimCheck(text, cited, True, "restates the question; the cited sentence holds its topic")
            return ClaimCheck(text, cited, False, "only restates the question")
        all_cited = cited + repaired
        ok, why = self._content_supported(text, [self.shown[n] for n in all_cited])
        if not ok and (moved := self._sentence_stating(text, all_cited)) is not None:
            # The model cited the wrong number: a sentence that states the claim alone, passing every
            # check the cited ones failed, is cited instead.
            all_cited, repaired = [moved], [moved]
            ok, why = True, f"cited [{moved}] instead ({why})"
        if not ok:
            return ClaimCheck(text, cited, False, f"cited sentences do not state it ({why})")
        return ClaimCheck(text, self._complete(text, self._minimal(text, all_cited)), True, why, repaired)

    def _sentence_stating(self, text: str, cited: list[int]) -> int | None:
        """A shown sentence of the cited article(s) that states the claim on its own (names, countries, dates,
        numbers and content), or None: the neighbours of a cited one first (a small model often cites the
        number next to the one it used), then the others by overlap. Never for a claim that only restates
        the question ("Yes, …"): it says nothing to find the sentence by."""
        if not set(_split_claim(text, self.question)[1].split()) - _YES_NO_WORDS:
            return None
        docs = {self.shown[c].doc_id for c in cited}
        near = {n + d for n in cited for d in (1, -1)}
        candidates = [n for n, s in self.shown.items() if n not in cited and s.doc_id in docs]
        for n in sorted(candidates, key=lambda n: (n not in near, -overlap(text, self.shown[n].text))):
            s = self.shown[n]
            if not self._entities_missing(text, s.text) and self._content_supported(text, [s])[0]:
                return n
        return None

    def _minimal(self, text: str, cited: list[int]) -> list[int]:
        """Drop cited sentences that add nothing: one at a time, the least overlapping first, when the rest
        still state every name/country/date/number, still support the content, and hold as much of the
        claim's own words (citation precision without losing a sentence that carries part of the claim)."""
        keep = list(cited)
        novel = _split_claim(text, self.question)[1] or text
        for n in sorted(cited, key=lambda n: overlap(text, self.shown[n].text)):
            if len(keep) == 1:
                break
            rest = [m for m in keep if m != n]
            rest_text = " ".join(self.shown[m].text for m in rest)
            full_text = " ".join(self.shown[m].text for m in keep)
            if (not self._entities_missing(text, rest_text)
                    and overlap(novel, rest_text) >= overlap(novel, full_text)
                    and self._content_supported(text, [self.shown[m] for m in rest])[0]):
                keep = rest
        return keep

    def _complete(self, text: str, cited: list[int]) -> list[int]:
        """Add shown sentences of the cited article(s) that carry the part of the claim its citations do not:
        at least two of the claim's remaining own words (or concept terms) and half of them (citation recall
        when the model cites one sentence for a claim drawn from two)."""
        novel = _split_claim(text, self.question)[1]
        if not novel:
            return cited
        docs = {self.shown[n].doc_id for n in cited}
        out = list(cited)
        for _ in range(2):
            covered_text = " ".join(self.shown[m].text for m in out)
            missing = " ".join(w for w in novel.split() if overlap(w, covered_text) < 1.0)
            if len(missing.split()) < 2:
                break
            best, gain = None, 0.0
            for n, s in self.shown.items():
                if n in out or s.doc_id not in docs:
                    continue
                g = overlap(missing, s.text)
                if g > gain:
                    best, gain = n, g
            if best is None or gain < 0.5 or gain * len(missing.split()) < 2:
                break
            out.append(best)
        return out


def _is_arabic_script(text: str) -> bool:
    return len(_ARABIC_SCRIPT.findall(text)) > len(re.findall("[A-Za-z]", text))


def _written_in_arabic_script(claim: str) -> bool:
    """The claim's own script, leaving out what it gives in brackets (a name's rendering in the other script:
    'Ali Akbar Talabimine (علی اکبر طالبیمتین)', 'علی اکبر طالبیمتین (Ali Akbar Talabimine)')."""
    return _is_arabic_script(re.sub(r"\([^()]*\)", " ", claim))


def _split_claim(claim: str, question: str) -> tuple[str, str]:
    """(content words the claim shares with the question, its other content words), in the claim's order.
    Only words `overlap` can weigh count (coopqa.citations.weighable)."""
    q = set(tokens(question))

    def from_question(w: str) -> bool:  # the word or an inflection of it ('name' → 'named', 'organise' → …)
        return w in q or any(len(x) >= 4 and w.startswith(x) for x in q) or \
            (len(w) >= 5 and any(x.startswith(w[:5]) for x in q if len(x) >= 5))

    stop = _stopwords()
    words = [w for w in tokens(claim) if w not in stop and weighable(w)]
    return (" ".join(w for w in words if from_question(w)), " ".join(w for w in words if not from_question(w)))


def _stopwords() -> frozenset[str]:
    """English, Arabic and Persian function words (those of coopqa.concepts), normalised."""
    try:
        from coopqa.concepts import _stopwords as concept_stopwords

        return concept_stopwords()
    except (ImportError, OSError):
        return frozenset()


def _present_in(value: str, text: str) -> bool:
    return bool(value) and normalize(value) in normalize(text)


def is_negative(text: str) -> bool:
    """A claim that only says the information is missing."""
    return bool(_NEGATIVE.search(text))


# ------------------------------------------------------------------------------------------ the engine


def resolve_language(question: str, lang: str | None) -> str:
    """The answer language: `lang` unless None/'auto', else the question's detected language."""
    if lang in (None, "", "auto"):
        return detect_language(question)
    if lang not in LANGUAGES:
        raise CoopqaError(f"language must be auto or one of {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


def build_messages(question: str, ctx: Context, language: str, retry: str | None = None,
                   per_article: bool = False) -> list[dict[str, str]]:
    """The answer prompt; `per_article` when a question across articles is asked of one article; `retry`
    names the note (a prompt file) that asks again after a first answer failed."""
    system = load_prompt("answer").replace("{language}", LANGUAGE_NAMES[language])
    user = f"Sentences:\n{ctx.text}\n\nQuestion: {question}\nAnswer in {LANGUAGE_NAMES[language]}."
    if per_article:
        user += "\n" + load_prompt("answer_article")
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if retry:
        messages[1]["content"] += "\n\n" + load_prompt(retry)
    return messages


@dataclass
class AskTrace:
    """What happened inside one `ask` (for benchmarks and debugging)."""

    retrieval_s: float = 0.0
    llm_calls: list[dict] = field(default_factory=list)
    checks: list[ClaimCheck] = field(default_factory=list)
    context: Context | None = None
    precheck: str | None = None


class AnswerEngine:
    """Answers questions over one CoopQA corpus with an LLM (`coopqa.llm.LLM` or anything with the same
    `extract`/`chat` signature)."""

    def __init__(self, coop: CoopQA, llm: Any = None, *, embed: bool = True):
        self.coop = coop
        self._llm = llm
        self.use_embed = embed
        self.last_trace: AskTrace | None = None
        self._countries: tuple[str, set[str]] | None = None
        self._terms: tuple[str, tuple[dict[str, set[str]], dict[str, int], int]] | None = None

    @property
    def llm(self) -> Any:
        if self._llm is None:
            shared = getattr(self.coop, "llm", None)  # one LLM per CoopQA when the API provides it
            if shared is None:
                from coopqa.llm import LLM

                shared = LLM(self.coop.settings)
            self._llm = shared
        return self._llm

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors of corpus sentences from the store's embedding cache (computed at ingest)."""
        return self.coop.store.embeddings_for(texts)[0]

    def _embed(self, texts: list[str]) -> np.ndarray:
        from coopqa.embed import embed_passages

        return embed_passages(texts, self.coop.settings.threads)

    def _model_name(self) -> str:
        try:
            return str(self.llm.model)
        except Exception:
            return "unknown"

    def ask(self, question: str, *, k: int | None = None, lang: str | None = None,
            on_draft: Callable[[str], None] | None = None) -> dict:
        """The contract's answer JSON for `question` (see /work/shared/output-contract.md). `on_draft`, when
        given, receives the model's claim text as it is generated (streaming; not yet verified)."""
        started = time.perf_counter()
        question = " ".join(question.split())
        if not question:
            raise CoopqaError("empty question")
        language = resolve_language(question, lang)
        trace = AskTrace()
        self.last_trace = trace
        t0 = time.perf_counter()
        wide = is_wide(question)
        hits = self.coop.search(question, max(WIDE_CANDIDATES if wide else CANDIDATES, k or 0))
        trace.retrieval_s = time.perf_counter() - t0
        retrieved = [h.id for h in hits[: k or DEFAULT_K]]

        def result(answer: str, abstained: bool, citations: list[dict]) -> dict:
            return {
                "schema_version": SCHEMA_VERSION, "question": question, "language": language, "answer": answer,
                "abstained": abstained, "citations": citations, "retrieved": retrieved,
                "model": self._model_name(), "elapsed_s": round(time.perf_counter() - started, 3),
            }

        trace.precheck = self.precheck(question, hits)
        if trace.precheck:
            return result(ABSTAIN_TEXT[language], True, [])
        builder = ContextBuilder(self.coop.store.document, self.coop.settings.home)
        if wide:
            groups, ctx = self._ask_per_article(question, hits, builder, language, trace, on_draft)
        else:
            shown = hits[: k or DEFAULT_K]
            kept, ctx, kind = [], Context(), answer_type(question)
            # An article that never names the people asked about cannot say what they did (an acronym may be
            # spelt out there: 'AI' is «هوش مصنوعی»).
            names = [n for n in _asked_names(question) if not n.isupper()]
            articles = [d for d in self._relevant_docs(question, shown, MIN_RELATIVE_RELEVANCE)
                        if (doc := builder.document(d)) and all(_name_stated(n, doc.text) for n in names)]
            articles = articles[:ARTICLES_TRIED]
            for tried, doc_id in enumerate(articles):
                ctx = builder.build([h for h in shown if h.doc_id == doc_id], language=language)
                trace.context = ctx
                kept = self._claims(question, ctx, builder, language, trace, kind, on_draft,
                                    attempts=1 if tried else 2)
                if kept is None or kept:
                    break  # answered, or it named whom the question asks about: another article would not do
            groups = [(None, kept)] if kept else []
        if not groups:
            return result(ABSTAIN_TEXT[language], True, [])
        if language == "en":
            def rendered(c: ClaimCheck) -> ClaimCheck:
                cited_docs = (ctx.shown[n].doc_id for n in c.cited if n in ctx.shown)
                return replace(c, text=add_renderings(c.text, builder.renderings(cited_docs)))

            groups = [(label, [rendered(c) for c in kept]) for label, kept in groups]
        return result(*compose(groups, ctx))

    def _claims(self, question: str, ctx: Context, builder: ContextBuilder, language: str, trace: AskTrace,
                kind: str | None, on_draft: Callable[[str], None] | None = None, per_article: bool = False,
                attempts: int = 2, context_countries: frozenset[str] = frozenset(),
                on_topic: Callable[[Shown | Hit], bool] | None = None) -> list[ClaimCheck] | None:
        """The verified claims of the model's answer over `ctx` (asked once more when none survives, or when the
        model first says the sentences do not answer; none when they hold but are not the kind of thing the
        question asks for; None when they only name the person the question asks about: the answer abstains)."""
        if kind in _SENTENCE_STATED_KINDS and not states_answer_type(
                kind, [*(s.text for s in ctx.shown.values()), question], question):
            trace.checks.append(ClaimCheck("(context)", [], False, f"no sentence shown states a {kind}"))
            return []  # no claim could pass: skip the model call
        verifier = Verifier(ctx.shown, question, self._sentence_vectors if self.use_embed else None,
                            self._embed if self.use_embed else None, builder.renderings(ctx.docs),
                            context_countries, on_topic, year=builder.year(ctx.docs))
        asks_whom = kind == "person" and bool(_ASKS_WHOM.search(normalize(question)))
        side = asked_side(question) if kind == "person" else None
        kept: list[ClaimCheck] = []
        retry: str | None = None
        for _ in range(attempts):
            reply = self._generate(question, ctx, language, retry=retry, trace=trace, on_draft=on_draft,
                                   per_article=per_article)
            if reply is None:
                retry = "answer_retry"
                continue
            checks = [verifier.check(c.text, c.sources) for c in reply.claims] if reply.answered else []
            trace.checks += checks
            kept = [c for c in checks if c.supported and not is_negative(c.text)]
            if kept and not states_answer_type(kind, [c.text for c in kept], question, verifier.renderings):
                trace.checks.append(ClaimCheck("(answer)", [], False, f"the question asks for a {kind}; none given"))
                return []  # supported, but not what was asked: abstain (asking again mostly restates it; measured)
            if asks_whom:
                kept = [c for c in kept if not self._names_the_subject(c, ctx, question, verifier.renderings)]
                if not kept:
                    trace.checks.append(ClaimCheck("(answer)", [], False, "it names whom the question asks about"))
                    return None  # "Whom did the counsellor meet?" answered with the counsellor
            if side:
                people = builder.people(ctx.docs)
                if kept and all(on_another_side(c.text, side, people) for c in kept):
                    trace.checks.append(ClaimCheck("(answer)", [], False, f"the person named is not {side}'s"))
                    return []  # "which Iranian official" answered with the Lebanese host
            if kept or not reply.claims or (not reply.answered and (per_article or retry)):
                break
            # unsupported claims are asked again; so is a first "not answered" about one article
            retry = "answer_retry" if reply.answered else "answer_recheck"
        return kept

    @staticmethod
    def _names_the_subject(claim: ClaimCheck, ctx: Context, question: str, renderings: Mapping[str, str]) -> bool:
        """The claim names only people whom its cited sentences give the title the question describes its
        subject by: it answers with the person asked about, not the one asked for."""
        cited = [ctx.shown[n].text for n in claim.cited if n in ctx.shown]
        named = [(n, t) for n in _names_as_written(claim.text, renderings) for t in cited if n in t]
        return bool(named) and all(described_as_asked(n, t, question) for n, t in named)

    def _ask_per_article(self, question: str, hits: Sequence[Hit], builder: ContextBuilder, language: str,
                         trace: AskTrace, on_draft: Callable[[str], None] | None
                         ) -> tuple[list[tuple[str | None, list[ClaimCheck]]], Context]:
        """A question across articles, asked of each relevant article on its own (a small model answers one
        article's few sentences far better than a dozen articles at once): the verified claims of each,
        under a label naming the article's partner country and date, and the merged context."""
        merged = Context()
        groups: list[tuple[str | None, list[ClaimCheck]]] = []
        on_topic = self._on_topic(question)
        for doc_id in self._relevant_docs(question, hits, WIDE_MIN_RELEVANCE)[:WIDE_DOCS]:
            ranked = [h for h in hits if h.doc_id == doc_id]
            best = next((h for h in ranked if on_topic and on_topic(h)), ranked[0])  # the best on its topic
            ctx = builder.build([best], language=language, one_article=True)
            kept = self._claims(question, ctx, builder, language, trace, None, per_article=True,
                                context_countries=builder.about(doc_id), on_topic=on_topic)
            merged.docs.append(doc_id)  # every article asked (its sentences join `shown` only when it answered)
            if not kept:
                continue
            offset = len(merged.shown)
            for n, shown in ctx.shown.items():
                merged.shown[n + offset] = Shown(n + offset, shown.id, shown.doc_id, shown.text, shown.language)
            kept = [replace(c, cited=[n + offset for n in c.cited], repaired=[n + offset for n in c.repaired])
                    for c in kept]
            label = builder.label(doc_id, language)
            groups.append((label, kept))
            if on_draft is not None:
                on_draft(("" if len(groups) == 1 else " ") + (f"{label}: " if label else "")
                         + " ".join(c.text for c in kept))
        trace.context = merged
        return groups, merged

    def _relevant_docs(self, question: str, hits: Sequence[Hit], min_share: float) -> list[str]:
        """The articles among the hits (best first) holding at least `min_share` of the question's weighted
        terms that the best of them holds (all of them when the question has too few terms to weigh)."""
        docs = list(dict.fromkeys(h.doc_id for h in hits))
        relevance = self._relevance(question)
        if relevance is not None and docs:
            share = {d: relevance({d}) for d in docs}
            best = max(share.values())
            docs = [d for d in docs if share[d] >= min_share * best]
        return docs

    def precheck(self, question: str, hits: Sequence[Hit]) -> str | None:
        """A reason to abstain without a model call, or None: nothing retrieved, or the question names a
        country the corpus never mentions, or a person/place (Latin capitalised name) that no retrieved
        article mentions — the corpus then cannot say anything about it."""
        if not hits:
            return "nothing retrieved"
        corpus = self._corpus_countries()
        for code in sorted(countries_in(question, concepts=True)):
            if code not in corpus:
                return f"no article mentions {english_country(code)}"
        names = _asked_names(question)
        if names:
            texts = [d.text for d in (self.coop.store.document(i) for i in dict.fromkeys(h.doc_id for h in hits)) if d]
            for name in names:
                if not any(_name_stated(name, t) for t in texts):
                    return f"no retrieved article mentions {name}"
        return None

    def _relevance(self, question: str) -> Callable[[set[str]], float] | None:
        """doc ids → the IDF-weighted share of the question's language-neutral terms (lexicon concepts;
        names too for Latin-script questions, whose capitals mark them) found in those documents."""
        terms, df, n_docs = self._doc_terms()
        try:
            from coopqa.concepts import index_terms

            q = {t for t in index_terms(question) if t.startswith("c:") or (t.startswith("n:") and
                                                                          not _is_arabic_script(question))}
        except (ImportError, OSError):
            return None
        weights = {t: float(np.log((n_docs + 1) / (df.get(t, 0) + 0.5))) for t in q}
        total = sum(weights.values())
        if total <= 0 or len(q) < 2:
            return None

        def share(doc_ids: set[str]) -> float:
            return sum(w for t, w in weights.items() if any(t in terms.get(d, ()) for d in doc_ids)) / total

        return share

    def _on_topic(self, question: str) -> Callable[[Shown | Hit], bool] | None:
        """Whether a sentence (shown or hit) holds the question's topic: its rarest lexicon concepts (fewest
        documents hold them), leaving out the words that frame a question across articles ("which countries",
        "in which articles"); None when the question has no concept rarer than one every document holds."""
        from coopqa.concepts import index_terms

        _, df, n_docs = self._doc_terms()
        concepts = {t for t in index_terms(_FRAMING.sub(" ", question)) if t.startswith("c:")}
        if not concepts or (rarest := min(df.get(t, 0) for t in concepts)) >= n_docs:
            return None
        topic = {t for t in concepts if df.get(t, 0) == rarest}
        return lambda s: bool(topic & set(index_terms(s.text, s.language)))

    def _doc_terms(self) -> tuple[dict[str, set[str]], dict[str, int], int]:
        """Each document's index terms and their document frequencies (cached per store version)."""
        version = self.coop.store.version()
        if self._terms is None or self._terms[0] != version:
            from coopqa.concepts import index_terms

            terms = {d.doc_id: set(index_terms(d.text, d.language)) for d in self.coop.store.documents()}
            df: dict[str, int] = {}
            for ts in terms.values():
                for t in ts:
                    df[t] = df.get(t, 0) + 1
            self._terms = (version, (terms, df, len(terms)))
        return self._terms[1]

    def _corpus_countries(self) -> set[str]:
        """ISO codes of every country the corpus mentions (cached per store version)."""
        version = self.coop.store.version()
        if self._countries is None or self._countries[0] != version:
            found: set[str] = set()
            for doc in self.coop.store.documents():
                found |= countries_in(doc.text, concepts=True)
            self._countries = (version, found)
        return self._countries[1]

    def _generate(self, question: str, ctx: Context, language: str, *, retry: str | None, trace: AskTrace,
                  on_draft: Callable[[str], None] | None = None, per_article: bool = False) -> ModelAnswer | None:
        from coopqa.model_files import LLMError, ModelOutputError

        messages = build_messages(question, ctx, language, retry=retry, per_article=per_article)
        try:
            reply = None
            if on_draft is not None:
                reply = self._stream(messages, on_draft)
                stats = getattr(self.llm, "last", None)
                trace.llm_calls.append(stats.as_dict() if hasattr(stats, "as_dict") else {})
                if reply is not None:
                    return reply
            reply = self.llm.extract(messages, ModelAnswer, max_tokens=ANSWER_MAX_TOKENS, max_retries=1)
        except LLMError as exc:
            trace.llm_calls.append({"error": str(exc)})
            if isinstance(exc, ModelOutputError) and exc.partial:
                return salvage(exc.partial)  # cut off at max_tokens: its complete claims
            if retry or isinstance(exc, ModelOutputError):
                return None  # an unusable reply (invalid) is no answer; the server failing is an error
            raise
        stats = getattr(self.llm, "last", None)
        trace.llm_calls.append(stats.as_dict() if hasattr(stats, "as_dict") else {})
        return reply


    def _stream(self, messages: list[dict[str, str]], on_draft: Callable[[str], None]) -> ModelAnswer | None:
        """The structured answer through a streamed chat call under the same JSON-schema constraint, showing
        the claims' text to `on_draft` as the tokens arrive."""
        schema = ModelAnswer.model_json_schema()
        chunks = self.llm.chat(
            messages, stream=True, max_tokens=ANSWER_MAX_TOKENS,
            response_format={"type": "json_schema", "json_schema": {"name": "ModelAnswer", "schema": schema}},
        )
        draft = DraftTracker(on_draft)
        buffer = ""
        for piece in chunks:
            buffer += piece
            draft.feed(buffer)
        try:
            return ModelAnswer.model_validate_json(buffer)
        except ValidationError:
            return salvage(buffer)  # cut off at max_tokens: its complete claims (None: ask without streaming)


class DraftTracker:
    """Follows a growing JSON text of a ModelAnswer and passes on the new characters of its claims' "text"
    values (claims separated by a space), so a reader sees the answer being written."""

    _TEXT = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')

    def __init__(self, emit: Callable[[str], None]):
        self.emit = emit
        self.sent: list[str] = []

    def feed(self, buffer: str) -> None:
        for i, m in enumerate(self._TEXT.finditer(buffer)):
            raw = m.group(1)
            if raw.endswith("\\") and not raw.endswith("\\\\"):
                raw = raw[:-1]  # half an escape sequence
            try:
                text = json.loads(f'"{raw}"')
            except ValueError:
                continue
            if i == len(self.sent):
                self.sent.append("")
                if i:
                    self.emit(" ")
            done = self.sent[i]
            if text.startswith(done) and len(text) > len(done):
                self.emit(text[len(done):])
                self.sent[i] = text


def compose(groups: Sequence[tuple[str | None, Sequence[ClaimCheck]]], ctx: Context) -> tuple[str, bool, list[dict]]:
    """Answer text with markers numbered by first use — each group of claims after its label ('Belarus
    (2023-05-02): …'), if any — and the citations (verbatim sentence text)."""
    markers: dict[int, int] = {}
    parts: list[str] = []
    seen_claims: set[str] = set()
    for label, kept in groups:
        claims: list[str] = []
        for c in kept:
            key = normalize(c.text)
            if key in seen_claims:
                continue
            seen_claims.add(key)
            refs = [markers.setdefault(n, len(markers) + 1) for n in c.cited if n in ctx.shown]
            text = c.text.rstrip()
            end = ""
            if text and text[-1] in ".。!?؟":
                text, end = text[:-1], text[-1]
            claims.append(f"{text} {''.join(f'[{m}]' for m in refs)}{end}".strip())
        if claims:
            parts.append((f"{label}: " if label else "") + " ".join(claims))
    citations = []
    for n, marker in sorted(markers.items(), key=lambda x: x[1]):
        s = ctx.shown[n]
        citations.append({"marker": marker, "id": s.id, "doc_id": s.doc_id, "text": s.text})
    return (" " if all(label is None for label, _ in groups) else "\n").join(parts), False, citations


def answer_question(coop: CoopQA, question: str, *, k: int | None = None, lang: str | None = None,
                    llm: Any = None) -> dict:
    """One-shot helper: `AnswerEngine(coop, llm).ask(question, k=k, lang=lang)`."""
    return AnswerEngine(coop, llm).ask(question, k=k, lang=lang)
