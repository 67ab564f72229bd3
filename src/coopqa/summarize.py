"""Visit summaries whose every field cites the sentences that prove it — validated, not trusted.

Code does what code does better; the model copies short spans from numbered sentences:

- date: `coopqa.dates.find_dates` over citable sentences (the first full date, else a partial date in the
  lead), citing its sentence;
- countries: country names/demonyms (coopqa.citations) ranked by prominence: Iran and the main partner, plus
  the countries verified participants speak for; English short names from CLDR;
- cooperation areas: a trilingual cue map (`AREA_CUES`) over the citable sentences, citing the sentences
  with a cue (the default, `areas="cues"`); `areas="llm"` has the model pick from the label enum instead,
  each pick checked against the cues (`"both"`: the union). The cue map measured better and costs no model
  call (benchmarks/RESULTS.md);
- participants, organisations, agreements, follow-ups, title, summary and location: small
  schema-constrained calls over the same numbered article (the prefix is cached by llama.cpp), whose
  evidence numbers are restricted to citable sentences by the JSON schema itself.

Every item is then verified against its cited sentences (coopqa.citations): names copied verbatim, countries
and dates stated, roles/organisations overlapping. Failed items are sent back once with the reasons; what
still fails goes to `dropped` with its reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from rapidfuzz import fuzz

from coopqa import citations as cite
from coopqa.dates import find_dates
from coopqa.files import atomic_write
from coopqa.labels import AGREEMENT_KINDS, AGREEMENT_STATUSES, COOPERATION_AREAS
from coopqa.model_files import LLMError
from coopqa.prompts import load_prompt
from coopqa.text import normalize, tokens
from coopqa.translit import mentions, names_match, romanize
from coopqa.types import Document, Sentence, sentence_number
from coopqa.visit import (
    Agreement,
    Area,
    Country,
    Dropped,
    FollowUp,
    Location,
    Organization,
    Participant,
    VisitSummary,
)

PIPELINE_VERSION = 14
PROMPT_NAMES = ("summarize_system", "summarize_people", "summarize_people_hint", "summarize_people_missing",
                "summarize_orgs", "summarize_areas", "summarize_overview", "summarize_retry",
                "summarize_retry_overview")
LANGUAGE_NAMES = {"en": "English", "ar": "Arabic", "fa": "Persian"}
ROLE_WINDOW = 8  # words each side of a person's name in which their role must be written
MAX_PROMPT_CHARS = 9000  # ~3k tokens of article at worst (Arabic script); later sentences are left out
IRAN = "IR"
AreasMode = Literal["llm", "cues", "both"]


STEP_FIELDS = {"people": "participants", "orgs": "organizations, agreements", "areas": "cooperation_areas",
               "overview": "title, summary, location, follow_ups"}


def step_level(error: LLMError) -> bool:
    """An LLMError about one answer (cut off at max_tokens, invalid after retries), not about the server."""
    text = str(error)
    return "hit max_tokens" in text or "was not a valid" in text


class Extractor(Protocol):
    """What the pipeline needs of coopqa.llm.LLM (tests pass a fake)."""

    def extract(self, messages: Any, response_model: Any, **kwargs: Any) -> Any: ...


# ---------------------------------------------------------------- cooperation-area cues (en / ar / fa)

# Normalised cue words per area: Latin cues match at a word start, Arabic-script cues anywhere in a word
# (clitics and suffixes attach). General domain vocabulary, not taken from any evaluation article.
_GAP = r"(?:\s+\S+){0,4}"  # up to four words between the parts of a split phrase
AREA_CUES: dict[str, tuple[str, ...]] = {
    "co_production": ("co-produc", "coproduc", "co produc", "joint produc", "joint film", "jointly produc",
                      "joint feature", "produce joint", "production of joint", "joint project",
                      "إنتاج مشترك", "الإنتاج المشترك", "الإنتاجات المشتركة", "إنتاجات مشتركة",
                      "تولید مشترک", "تولیدات مشترک", "ساخت مشترک", "مشارکت در تولید",
                      rf"re:(?:انتاج|تولید|ساخت){_GAP}\s+(?:ال)?مشترک", r"re:\bjoint(?:\s+\w+){0,3}\s+production"),
    "film_exchange_distribution": ("exchange of films", "film exchange", "exchanging films", "distribut",
                                   "screening of films", "films will be screened", "release of", "dubbed into",
                                   "تبادل الأفلام", "تبادل الافلام", "توزيع", "عرض الأفلام",
                                   "تبادل فیلم", "توزیع", "اکران", "پخش"),
    "festivals": ("festival", "مهرجان", "جشنواره"),
    "film_weeks": ("film week", "films week", "week of", "cinema week", "أسبوع", "اسبوع", "هفته فیلم",
                   "هفته فیلمهای", "هفته فیلم های", "هفته سینما", "هفته سینمای"),
    "training_workshops": ("training", "workshop", "course", "master class", "masterclass", "تدريب", "تدريبية",
                           "ورش", "ورشة", "دورات", "دورة", "آموزش", "کارگاه", "دوره", "دورههای"),
    # (bare «جامعة» is left out: normalised it is Persian «جامعه», society)
    "academic_exchange": ("academic", "universit", "lecturer", "student", "scholar", "faculty", "أكاديمي",
                          "الجامعة", "جامعات", "الجامعات", "طلاب", "الطلبة", "أساتذة", "دانشگاه", "دانشجو",
                          "آکادمیک", "دانشگاهی", "اساتید"),
    "dubbing": ("dubbing", "dubbed", " dub ", "دبلجة", "مدبلجة", "الدبلجة", "دوبله"),  # subtitles are not dubbing
    "archives_libraries": ("archive", "librar", "manuscript", "film museum", "restoration", "أرشيف", "الأرشيف",
                           "مكتبة", "المكتبة", "مخطوط", "دار الكتب", "دار الوثائق", "آرشیو", "کتابخانه", "فیلمخانه",
                           "نسخ خطی", "مرمت"),
    "locations_studios_facilities": ("locations", "filming location", "shooting location", "studios", "facilit",
                                     "filming sites", "استوديوهات", "استديوهات",
                                     "مواقع التصوير", "مرافق", "استودیو", "لوکیشن", "امکانات فنی",
                                     "تجهیزات", "شهرک سینمایی"),
    "expert_exchange": ("exchange of experience", "exchange experience", "exchanging experience", "specialist",
                        "expert", "experiences", "know-how", "exchange of views on experience",
                        "تبادل الخبرات", "خبرات", "خبراء", "الخبراء", "تبادل التجارب", "تبادل تجربه",
                        "تبادل تجربیات", "کارشناس", "متخصص", "تجربیات", "تجارب"),
    "ai_media_training": ("artificial intelligence", " ai ", "ai-", "الذكاء الاصطناعي", "هوش مصنوعی"),
    # (a bare "committee" is often a festival's own committee)
    "joint_committee": ("joint committee", "working group", "joint commission", "joint working", "task force",
                        "لجنة مشتركة", "اللجنة المشتركة", "لجنة ثنائية", "فريق عمل", "فريق مشترك", "کمیته مشترک",
                        "کارگروه", "کمیسیون مشترک", "ستاد مشترک",
                        rf"re:(?:لجنه|کمیته|کمیسیون){_GAP}\s+(?:ال)?مشترک",
                        r"re:\bjoint(?:\s+\w+){0,2}\s+(?:committee|commission)"),
    "animation": ("animat", "cartoon", "رسوم متحركة", "الرسوم المتحركة", "أنيميشن", "انیمیشن", "انيميشن",
                  "پویانمایی", "کارتون"),
    "documentary": ("documentar", "وثائقي", "وثائقية", "الوثائقي", "مستند"),
    "children_youth": ("children", "child", "youth", "young", "teenage", "kids", "أطفال", "الأطفال", "الطفل",
                       "للأطفال", "الشباب", "الناشئة", "کودک", "نوجوان", "جوانان", "کودکان"),
    "market_access": ("market", "box office", "سوق", "أسواق", "الأسواق", "بازار", "بازارهای"),
}
_AREA_PATTERNS: dict[str, list[re.Pattern[str]]] = {}


def _cue_patterns(area: str) -> list[re.Pattern[str]]:
    if area not in _AREA_PATTERNS:
        pats = []
        for cue in AREA_CUES[area]:
            if cue.startswith("re:"):  # a pattern over normalised text (words between the parts)
                pats.append(re.compile(cue[3:]))
                continue
            c = normalize(cue) if cue.strip() else cue
            if cue.startswith(" "):  # a whole short word such as " ai "
                pats.append(re.compile(rf"(?<!\w){re.escape(c.strip())}(?!\w)"))
            elif c.isascii():
                pats.append(re.compile(rf"(?<!\w){re.escape(c)}"))
            else:
                pats.append(re.compile(re.escape(c)))
        _AREA_PATTERNS[area] = pats
    return _AREA_PATTERNS[area]


def area_cued(area: str, text: str) -> bool:
    """Whether the text has a cue word of the cooperation area (any of the three languages)."""
    body = normalize(text)
    return any(p.search(body) for p in _cue_patterns(area))


def areas_by_cue(sentences: Iterable[Sentence]) -> dict[str, list[str]]:
    """Area → ids of the sentences with a cue for it (in reading order)."""
    found: dict[str, list[str]] = {}
    for s in sentences:
        for area in COOPERATION_AREAS:
            if area_cued(area, s.text):
                found.setdefault(area, []).append(s.id)
    return found


# ---------------------------------------------------------------- the document as the model sees it


@dataclass
class DocView:
    """The citable sentences of a document, numbered by their sentence number N (doc:sN)."""

    doc: Document
    citable: list[Sentence]
    numbers: list[int]

    @classmethod
    def of(cls, doc: Document, max_chars: int = MAX_PROMPT_CHARS) -> DocView:
        citable, used = [], 0
        for s in doc.sentences:
            if s.boilerplate or not s.text.strip():
                continue
            if used + len(s.text) > max_chars and citable:
                break
            citable.append(s)
            used += len(s.text) + 8
        return cls(doc, citable, [sentence_number(s.id) or 0 for s in citable])

    def numbered(self) -> str:
        return "\n".join(f"[{n}] {' '.join(s.text.split())}" for n, s in zip(self.numbers, self.citable,
                                                                              strict=True))

    def sid(self, n: int) -> str:
        return f"{self.doc.doc_id}:s{n}"

    def valid(self, n: object) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n in self._set

    @property
    def _set(self) -> set[int]:
        return set(self.numbers)

    def text(self, ns: Iterable[int]) -> str:
        by_n = dict(zip(self.numbers, self.citable, strict=True))
        return " ".join(by_n[n].text for n in ns if n in by_n)

    def sentences_where(self, check: Callable[[str], bool]) -> list[int]:
        return [n for n, s in zip(self.numbers, self.citable, strict=True) if check(s.text)]


# ---------------------------------------------------------------- what the model fills (built per document)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _evidence_field(numbers: Sequence[int]) -> Any:
    """Sentence numbers: the JSON schema (hence constrained decoding) allows only citable ones; validation
    accepts any integer so that a server without constrained decoding gets its forged ids dropped by the
    verifier, item by item, instead of failing the whole call."""
    ev = Annotated[int, WithJsonSchema({"type": "integer", "enum": list(numbers)})] if numbers else int
    return (list[ev], Field(min_length=1, max_length=4, description="numbers of the sentences that state it"))


def _choice(values: Sequence[str]) -> Any:
    """A contract enum: validated."""
    return Literal.__getitem__(tuple(values)) if values else str  # type: ignore[attr-defined]


def _soft_choice(values: Sequence[str]) -> Any:
    """One of the given strings in the schema (constrained decoding), any string in validation."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": list(values)})] if values else str


def response_models(view: DocView, country_names: Sequence[str]) -> dict[str, type[BaseModel]]:
    """The per-document response models: evidence numbers restricted to citable sentences and countries to
    those the article names, so constrained decoding cannot produce a forged id or an unnamed country."""
    ev = _evidence_field(view.numbers)
    country = (_soft_choice(country_names) | None, None)
    short = {"max_length": 80}
    # An English article's names need no transliteration: the model copies each name once (fewer tokens).
    english = (str | None, Field(None, max_length=80)) if view.doc.language == "en" else (str, Field(max_length=80))
    person = create_model(
        "Person", __base__=_Out, evidence=ev,
        name_original=(str, Field(max_length=80)), name=english,
        role=(str | None, Field(None, **short)), country=country,
    )
    people = create_model("People", __base__=_Out, participants=(list[person], Field(max_length=6)))
    # (no organization field: the role usually names it, and every field costs generated tokens)
    org = create_model(
        "Org", __base__=_Out, evidence=ev, name_original=(str, Field(max_length=120)),
        name=(str | None, Field(None, max_length=120)) if view.doc.language == "en" else (str, Field(max_length=120)),
        country=country,
    )
    agreement = create_model(
        "Deal", __base__=_Out, evidence=ev, kind=(_choice(AGREEMENT_KINDS), ...),
        status=(_choice(AGREEMENT_STATUSES), ...),
        parties=(list[_soft_choice(country_names)], Field(default_factory=list, max_length=4)),
        description=(str, Field("", max_length=200)),
    )
    orgs = create_model("OrgsAndDeals", __base__=_Out, organizations=(list[org], Field(max_length=6)),
                        agreements=(list[agreement], Field(max_length=3)))
    area = create_model("AreaPick", __base__=_Out, area=(_choice(COOPERATION_AREAS), ...), evidence=ev)
    areas = create_model("Areas", __base__=_Out, areas=(list[area], Field(max_length=12)))
    place = create_model("Place", __base__=_Out, city=(str | None, Field(None, max_length=60)), country=country,
                         evidence=(ev[0], Field(default_factory=list, max_length=3)))
    follow = create_model("Next", __base__=_Out, text=(str, Field(max_length=200)), evidence=ev)
    overview = create_model(
        "Overview", __base__=_Out, title=(str, Field(max_length=140)), summary=(str, Field(max_length=600)),
        summary_evidence=ev, location=(place, ...), follow_ups=(list[follow], Field(default_factory=list,
                                                                                       max_length=4)),
    )
    return {"people": people, "orgs": orgs, "areas": areas, "overview": overview}


# ---------------------------------------------------------------- run bookkeeping


@dataclass
class RunStats:
    """What one document's summary cost: LLM calls, tokens, llama.cpp's own timings, wall time."""

    calls: int = 0
    cached_calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    llama_ms: float = 0.0  # prompt_ms + predicted_ms reported by llama.cpp
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def account(self, llm: Any) -> None:
        last = getattr(llm, "last", None)
        self.calls += 1
        if last is None:
            return
        self.cached_calls += bool(getattr(last, "cached", False))
        self.prompt_tokens += getattr(last, "prompt_tokens", 0) or 0
        self.completion_tokens += getattr(last, "completion_tokens", 0) or 0
        self.llm_seconds += getattr(last, "seconds", 0.0) or 0.0
        self.llama_ms += (getattr(last, "prompt_ms", 0.0) or 0.0) + (getattr(last, "predicted_ms", 0.0) or 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def prompt_hash(extra: str = "") -> str:
    """Changes whenever a prompt file, the pipeline version or a pipeline option changes."""
    h = hashlib.sha256(f"v{PIPELINE_VERSION}|{extra}".encode())
    for name in PROMPT_NAMES:
        h.update(load_prompt(name).encode("utf-8"))
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- verification


@dataclass
class Verdict:
    ok: bool
    reason: str = ""


def _numbers(item: Any) -> list[int]:
    return [n for n in (getattr(item, "evidence", None) or []) if isinstance(n, int)]


def check_evidence(view: DocView, numbers: Sequence[object]) -> Verdict:
    """Every cited number must be a citable sentence of this document (and there must be one)."""
    if not numbers:
        return Verdict(False, "cites no sentence")
    bad = [n for n in numbers if not view.valid(n)]
    if bad:
        return Verdict(False, f"cites sentence {bad[0]}, which is not a citable sentence of the article")
    return Verdict(True)


def _span_in(text: str, span: str) -> bool:
    """A copied span occurs in the text after normalisation (spaces and ZWNJ folded)."""
    a, b = normalize(span), normalize(text)
    return bool(a) and (a in b or a.replace(" ", "") in b.replace(" ", ""))


_TITLE = re.compile(r"^(?:(?:dr|mr|mrs|ms|prof|professor|sir|eng)\.?\s+|(?:دکتر|الدكتور|الدکتور|السيد|السید|السيدة|"
                    r"السیده|آقای|اقای|خانم|مهندس|المهندس|الأستاذ|الاستاذ)\s+)+", re.IGNORECASE)
_CAPWORDS = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:al-|bin\s+|ibn\s+|de\s+|van\s+)?[A-Z][\w'’-]+)+")
_NOT_NAMES = frozenset(tokens(
    "the of and minister ministry president ambassador director head deputy secretary general organization "
    "organisation institute foundation center centre agency council committee film films cinema culture "
    "cultural islamic republic national international festival university library archives embassy "
    "guidance media art arts fine academy week weeks state studio studios house day days news union "
    "association society chairman chief counsellor counselor cultural attache office department bureau"
))


# Positions, titles and institution words (en/ar/fa, normalised) that come before or after a name, never in it.
_ROLE_WORDS = frozenset(tokens(
    "رایزن رایزنی مستشار المستشار سفیر السفیر وزیر الوزیر رئیس الرئیس معاون مدیر المدیر دبیر نماینده سرپرست "
    "مسئول مشاور مساعد نائب نایب الامین امین عضو اعضای هیئت هیات وفد الوفد سخنگو متحدث فرهنگی الثقافی الثقافه "
    "سینما سینمای السینما ملی الوطنی دولت الدوله جمهوری الجمهوریه کل العام العامه مرکز منظمه سازمان بنیاد موسسه "
    "وزاره وزارت"
)) | _NOT_NAMES
_NAME_LINKS = frozenset({"bin", "ibn", "al", "el", "de", "da", "van", "von", "abu", "بن", "ابن", "ابو"})
_FUNCTION = frozenset(tokens("and of the for to in at by with from و في من با به از در"))


def _name_like(word: str) -> bool:
    """A word that can be part of a person's name: not a position, institution or country word, not a
    function word; in Latin script, capitalised."""
    w = normalize(word).strip("-'’")
    if not w or w in _ROLE_WORDS or w in _FUNCTION or w.isdigit():
        return False
    if w in _NAME_LINKS:
        return True
    if re.match(r"[A-Za-z]", word) and not word[0].isupper():
        return False
    if cite.countries_in(word):  # a country, demonym or capital
        return False
    try:
        from coopqa.concepts import index_terms

        return not any(t.startswith("c:") for t in index_terms(word))
    except (OSError, ImportError):
        return True


def trim_to_name(span: str) -> str:
    """The person's name inside a copied span that also holds a position or origin ("Iranian Culture
    Minister Abbas Salehi" → "Abbas Salehi"): the longest run of name-like words, the last one on a tie, as
    written. Empty when the span has no name-like word."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,،()]+", span)]
    runs: list[tuple[int, int]] = []
    start = None
    for k, (a, b) in enumerate(words):
        if _name_like(span[a:b]):
            start = k if start is None else start
        elif start is not None:
            runs.append((start, k))
            start = None
    if start is not None:
        runs.append((start, len(words)))
    runs = [(a, b) for a, b in runs if not all(normalize(span[words[k][0]:words[k][1]]) in _NAME_LINKS
                                                   for k in range(a, b))]
    if not runs:
        return ""
    a, b = max(runs, key=lambda r: (r[1] - r[0], r[0]))
    return span[words[a][0]:words[b - 1][1]]


# Persian writes a person's name just before their position ("محمدرضا یزدانپناه رایزن فرهنگی …",
# "با فرخ نظراف مدیر استودیو …"); these position words mark such names (normalised).
_POSITIONS_FA = frozenset(tokens(
    "رایزن سفیر وزیر رئیس معاون مدیر مدیرکل دبیر دبیرکل نماینده سرپرست مسئول مشاور سخنگو نایب استاندار "
    "شهردار کارگردان"
))
_WORD = re.compile(r"[^\s,،()«»:؛.!?؟\"]+")


def name_candidates(view: DocView) -> list[tuple[str, int]]:
    """(name as written, sentence number) of each run of two to four name-like words written just before a
    position word in a Persian article — a small model reading Persian skips or garbles such names, while
    the word order finds them. Other languages put titles before names: no candidates."""
    if view.doc.language != "fa":
        return []
    found: list[tuple[str, int]] = []
    for n, sentence in zip(view.numbers, view.citable, strict=True):
        text = sentence.text
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        for k, (a, b) in enumerate(words):
            if normalize(text[a:b]) not in _POSITIONS_FA:
                continue
            start = k
            while start > 0 and k - start < 5 and _name_like(text[slice(*words[start - 1])]):
                start -= 1
            span = text[words[start][0]:words[k - 1][1]] if start < k else ""
            if 2 <= k - start <= 4 and not re.search(r"[,،.:؛]", span) and \
                    not any(names_match(span, c) for c, _ in found):
                found.append((span, n))
    return found


_CAPWORD = re.compile(r"\b[A-Z][a-z\u00c0-\u024f'’]{2,}\b")
_COMMON = frozenset(tokens(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday islamic persian arabic english muslim "
    # words that start English sentences
    "talks discussions delegation delegations officials representatives participants cooperation meeting "
    "meetings visit during following after before additionally furthermore moreover also however both sides "
    "parties they the this these those it its he she his her their an at in on as while with under among "
    "plans future next further other several various many new joint bilateral cultural cinema film films "
    "agreement agreements memorandum programs program areas topics issues"
))


def near(text: str, name: str, width: int = ROLE_WINDOW) -> str:
    """The words within `width` words before and after each place the text names `name` (normalised words;
    the whole text when the name is not found word for word)."""
    words, target = tokens(text), tokens(name)
    n = len(target)
    spans = [(max(0, i - width), i + n + width) for i in range(len(words) - n + 1) if n and words[i:i + n] == target]
    return " ".join(" ".join(words[a:b]) for a, b in spans) if spans else text


def _sentence_initial(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?:;\"“("


def _concept_or_stopword(word: str) -> bool:
    try:
        from coopqa.concepts import _stopwords, index_terms

        return normalize(word) in _stopwords() or any(t.startswith("c:") for t in index_terms(word))
    except (OSError, ImportError):
        return True


def unsupported_names(text: str, source: str, known: Iterable[str] = (), *, single_words: bool = True) -> list[str]:
    """Names in an English `text` that the `source` (any script) does not give: person-like names (two or
    more capitalised words that are not institution words), countries (names and demonyms) and other
    capitalised words inside a sentence (places), unless they belong to one of the `known` verified names."""
    known = [k for k in known if k]
    out = []
    seen: set[str] = set()
    for m in _CAPWORDS.finditer(text):
        phrase = m.group()
        words = [w for w in tokens(phrase) if w not in _NOT_NAMES]
        if len(words) < 2 or cite.countries_in(phrase, concepts=False):
            continue
        seen.update(words)
        candidate = " ".join(words)
        if mentions(source, candidate) or any(names_match(candidate, k) or mentions(k, candidate) for k in known):
            continue
        out.append(phrase)
    have = cite.countries_in(source)  # lexicon too: a capital stands for its country
    for code in cite.countries_in(text, concepts=False) - have:
        out.append(cite.english_country(code))
    for m in _CAPWORD.finditer(text if single_words else ""):  # (not in Title Case headlines)
        word = m.group()
        w = normalize(word)
        if w in seen or w in _NOT_NAMES or w in _COMMON or cite.countries_in(word, concepts=False):
            continue
        if _sentence_initial(text, m.start()) and _concept_or_stopword(word):
            continue  # an ordinary word capitalised at the start of a sentence
        if cite.present(word, source) or any(cite.name_in(k, word) for k in known):
            continue
        if re.search("[\u0600-\u06ff]", source) and mentions(source, word):  # transliterated from the source
            continue
        out.append(word)
    return list(dict.fromkeys(out))


def _digits(text: str) -> set[str]:
    return set(re.findall(r"\d+", normalize(text)))


def unsupported_numbers(text: str, source: str) -> list[str]:
    """Numbers in `text` that the source does not contain (after folding digits)."""
    have = _digits(source)
    return sorted(d for d in _digits(text) if d not in have and not (len(d) == 4 and d in " ".join(have)))


def _kinds_named(text: str) -> list[str]:
    """The agreement kinds the text names, in order of first mention."""
    body = normalize(text)

    def at(word: str) -> int:
        if not word.isascii():
            return body.find(word)
        m = re.search(rf"(?<!\w){re.escape(word)}(?!ing)", body)  # not "according"
        return m.start() if m else -1

    first = {k: min((i for w in cite.AGREEMENT_WORDS[k.lower()] if (i := at(w)) >= 0), default=-1)
             for k in AGREEMENT_KINDS}
    return sorted((k for k, i in first.items() if i >= 0), key=lambda k: first[k])


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none", "n/a", "unknown"))


def _signed(text: str) -> bool:
    body = normalize(text)
    return any(w in body for w in _SIGN_WORDS)


_ORG_WORDS = frozenset(tokens(
    "organization organisation ministry institute institution foundation center centre agency council committee "
    "commission festival university library archive archives museum embassy office department bureau union "
    "association society academy school college company corporation studio studios network channel radio tv "
    "television broadcasting house group film-fond fund chamber network federation guild club theatre theater "
    "منظمة وزارة وزاره مؤسسة موسسه مركز مرکز هيئة هیئه مهرجان جامعة جامعه مكتبة مکتبه دار سفارة سفاره اتحاد "
    "شركة شرکه نقابة نقابه أكاديمية اکادیمیه معهد مجلس لجنة لجنه قناة قناه إذاعة اذاعه تلفزيون تلفزیون "
    "سازمان وزارت وزارتخانه بنیاد موسسه مؤسسه جشنواره دانشگاه کتابخانه سفارت انجمن شرکت خانه آکادمی شورا "
    "کمیته اداره رایزنی آژانس ستاد فیلمخانه کانون صدا سیما شبکه استودیو مدرسه دانشکده آرشیو موزه"
))


def looks_like_org(original: str, name: str, language: str) -> bool:
    """An organisation name, not a clause or a common noun: it has an institution word (any language), or,
    in Latin script, it is capitalised like a proper noun (every content word) — 'Gosfilmofond', 'IRNA'."""
    words = tokens(original) + tokens(name)
    if any(w in _ORG_WORDS or w.rstrip("s") in _ORG_WORDS for w in words):
        return True
    for candidate in (original, name):
        content = [w for w in re.findall(r"[A-Za-z][\w'-]*", candidate) if w.lower() not in _STOPWORDS_EN]
        if content and all(w[0].isupper() for w in content) and len(content) <= 6:
            return True
    return False


_STOPWORDS_EN = frozenset("the of and for in on at to a an de la du".split())
_SIGN_WORDS = tuple(normalize(w) for w in ("sign", "seal", "inked", "concluded", "وقع", "توقيع", "التوقيع", "وقعت",
                                           "وقعا", "امضا", "امضای", "منعقد", "انعقاد"))


# ---------------------------------------------------------------- the pipeline


@dataclass
class Pipeline:
    """Summarise one document with an Extractor (coopqa.llm.LLM or a fake)."""

    llm: Extractor
    model_name: str = ""
    areas: AreasMode = "cues"
    retry: bool = True
    area_sources: dict[str, list[str]] = field(default_factory=dict)  # what the model and the cues proposed
    _dropped: list[Dropped] = field(default_factory=list, init=False, repr=False)
    max_tokens: dict[str, int] = field(default_factory=lambda: {"people": 800, "orgs": 700, "areas": 500,
                                                                "overview": 450})

    def run(self, doc: Document) -> tuple[VisitSummary, RunStats]:
        started = time.perf_counter()
        stats = RunStats()
        view = DocView.of(doc)
        out = VisitSummary(doc_id=doc.doc_id, language=doc.language, model=self.model_name)
        dropped: list[Dropped] = []
        self._dropped = dropped
        self._date(view, out)
        ranked = self._country_ranking(view)
        names = [cite.english_country(c) for c in ranked]
        if view.citable:
            models = response_models(view, names)
            base = self._messages(view)
            self._people(view, base, models, out, dropped, stats)
            self._orgs(view, base, models, out, dropped, stats, names)
            self._areas(view, base, models, out, dropped, stats)
            self._countries(view, ranked, out)
            self._overview(view, base, models, out, dropped, stats)
        out.dropped = dropped
        stats.seconds = time.perf_counter() - started
        out.elapsed_s = round(stats.seconds, 2)
        return out, stats

    # -- prompts -------------------------------------------------------------------------------------------

    def _messages(self, view: DocView) -> list[dict[str, str]]:
        lang = LANGUAGE_NAMES.get(view.doc.language, view.doc.language)
        return [
            {"role": "system", "content": load_prompt("summarize_system")},
            {"role": "user", "content": f"Article ({lang}), one sentence per line:\n{view.numbered()}\n\n"},
        ]

    def _ask(self, base: list[dict[str, str]], task: str, model: type[BaseModel], key: str,
             stats: RunStats) -> BaseModel:
        messages = [*base[:-1], {"role": "user", "content": base[-1]["content"] + load_prompt(task)}]
        result = self.llm.extract(messages, model, max_tokens=self.max_tokens[key])
        stats.account(self.llm)
        return result

    def _ask_again(self, base: list[dict[str, str]], task: str, model: type[BaseModel], key: str,
                   previous: BaseModel, failures: list[tuple[str, str]], stats: RunStats,
                   retry_prompt: str = "summarize_retry") -> BaseModel | None:
        """One retry with the reasons each failed item was rejected (the model returns corrected versions of
        those items only, which keeps generation short); None when retrying is off."""
        if not self.retry or not failures:
            return None
        messages = [*base[:-1], {"role": "user", "content": base[-1]["content"] + load_prompt(task)},
                    {"role": "assistant", "content": previous.model_dump_json()},
                    {"role": "user", "content": load_prompt(retry_prompt).format(
                        problems="\n".join(f"- {what}: {why}" for what, why in failures))}]
        stats.retries += 1
        try:
            result = self.llm.extract(messages, model, max_tokens=self.max_tokens[key])
        except LLMError as e:
            if not step_level(e):
                raise
            stats.errors.append(f"{key} retry: {e}")
            return None
        stats.account(self.llm)
        return result

    # -- date and countries (code only) --------------------------------------------------------------------

    def _date(self, view: DocView, out: VisitSummary) -> None:
        """The first full date among citable sentences; else a month/year date in the first three."""
        found = [(i, s, m) for i, s in enumerate(view.citable) for m in find_dates(s.text)]
        full = [f for f in found if len(f[2].iso) == 10]
        lead = [f for f in found if f[0] < 3]
        pick = (full or lead or [None])[0]
        if pick:
            _, s, m = pick
            out.date, out.date_text, out.date_evidence = m.iso, m.text, [s.id]

    def _country_ranking(self, view: DocView) -> list[str]:
        """Codes of the countries the citable sentences name (lexicon concepts included), most prominent
        first: weighted by sentence count, with the title/lead counting double; Iran first."""
        score: dict[str, float] = {}
        for i, s in enumerate(view.citable):
            for code in cite.countries_in(s.text):
                score[code] = score.get(code, 0.0) + (2.0 if i < 3 else 1.0) + 0.01 / (i + 1)
        ranked = sorted(score, key=lambda c: (c != IRAN, -score[c]))
        if IRAN not in ranked:
            ranked.insert(0, IRAN)  # Iranian news: the model may still name Iran as a side
        return ranked

    def _country_evidence(self, view: DocView, name: str, limit: int = 2) -> list[str]:
        """Sentences naming the country: by name/demonym first, then (lexicon) by its capital."""
        strict = view.sentences_where(lambda t: cite.country_mentioned(t, name))
        loose = view.sentences_where(lambda t: cite.country_mentioned(t, name, concepts=True))
        ns = strict[:limit] or loose[:limit]
        return [view.sid(n) for n in ns]

    def _countries(self, view: DocView, ranked: list[str], out: VisitSummary) -> None:
        """Iran, the main partner (the most prominent other country) and the countries verified participants
        and organisations speak for."""
        chosen: list[str] = []
        if ranked and ranked[0] == IRAN:
            chosen.append(IRAN)
        others = [c for c in ranked if c != IRAN]
        if others:
            chosen.append(others[0])
        for item in (*out.participants, *out.organizations):
            code = cite.country_code(item.country or "")
            if code and code not in chosen:
                chosen.append(code)
        for code in chosen:
            name = cite.english_country(code)
            evidence = self._country_evidence(view, name)
            if evidence:
                out.countries.append(Country(name=name, evidence=evidence))

    # -- participants --------------------------------------------------------------------------------------

    def _verify_person(self, view: DocView, p: Any) -> tuple[Participant | None, str, list[Dropped]]:
        """A verified Participant (attributes that fail are removed and reported), or None and the reason."""
        ev = check_evidence(view, p.evidence)
        if not ev.ok:
            return None, ev.reason, []
        for attr in ("name", "role", "country"):  # small models write "null" as a string
            if _absent(getattr(p, attr, None)):
                setattr(p, attr, None)
        original = _TITLE.sub("", (p.name_original or "").strip()).strip()
        text = view.text(p.evidence)
        if not original or _absent(original):
            return None, "name_original is empty", []
        if not _span_in(text, original):
            where = view.sentences_where(lambda t: _span_in(t, original))
            if where:  # the name is in another citable sentence: cite it
                p.evidence = [*where[:1], *p.evidence][:4]
            else:  # transliterated or misspelt instead of copied: copy the span that names the person
                found = self._recover_name(view, p, original)
                if found is None:
                    return None, f"name_original {original!r} does not occur in the cited sentences", []
                n, span = found
                if p.name is None or not (p.name or "").strip():
                    p.name = original if not re.search("[\u0600-\u06ff]", original) else None
                original = span
                p.evidence = [n, *[e for e in p.evidence if e != n]][:4]
            text = view.text(p.evidence)
        trimmed = trim_to_name(original)
        if not trimmed and p.name and p.name.strip() != original:  # a position copied, the name given in English
            found = self._recover_name(view, p, p.name.strip())
            if found is not None and trim_to_name(found[1]) == found[1]:
                n, trimmed = found
                p.evidence = [n, *[e for e in p.evidence if e != n]][:4]
        if not trimmed:
            return None, f"name_original {original!r} is a position or a place, not a person's name", []
        if trimmed != original:  # "Kazakh President Kassym-Jomart Tokayev" -> "Kassym-Jomart Tokayev"
            if p.name and normalize(p.name) == normalize(original):
                p.name = trimmed
            original = trimmed
        if len(tokens(original)) > 6:
            return None, f"name_original {original!r} is not a name (too long)", []
        name = (p.name or "").strip() or romanize(original)  # no English name given: the name romanised
        if name != original and not re.search("[\u0600-\u06ff]", name):
            name = trim_to_name(name) or name
        if view.doc.language == "en" or not re.search("[\u0600-\u06ff]", original):
            if not (names_match(name, original) or mentions(original, name)):
                name = original  # an English article's name is the name as written
        elif p.name and not (names_match(name, original) or mentions(original, name)):
            # the transliteration and the copied span disagree: the span is a name only if the English name
            # leads back to words of the article
            found = self._recover_name(view, p, name)
            if found is None or not (names_match(name, found[1]) or mentions(found[1], name)):
                return None, f"{name!r} is not a transliteration of {original!r}", []
            n, original = found
            p.evidence = [n, *[e for e in p.evidence if e != n]][:4]
        if not trim_to_name(original) or cite.country_code(name) or normalize(name) in _COMMON:
            return None, f"{name!r} / {original!r} is a place, position or common word, not a person's name", []
        notes: list[Dropped] = []
        role, org, country = p.role, getattr(p, "organization", None), p.country
        label = f"{name} / {original}"
        if role and not self._attr_ok(view, p, original, "role", role):
            notes.append(Dropped(field="participants.role", value=f"{label}: {role}",
                                 reason="role not stated in the cited sentences"))
            role = None
        if org and not self._attr_ok(view, p, original, "org", org):
            notes.append(Dropped(field="participants.organization", value=f"{label}: {org}",
                                 reason="organization not stated in the cited sentences"))
            org = None
        # next to the name, or in the role or organization verified there ("ICAIC president Yamila Fernández")
        titled = " ".join(t for t in (role, org) if t)
        if country and not (self._attr_ok(view, p, original, "country", country) or (
                cite.country_mentioned(titled, country, concepts=True)
                and cite.country_mentioned(view.text(p.evidence), country, concepts=True))):
            notes.append(Dropped(field="participants.country", value=f"{label}: {country}",
                                 reason="country not stated in the cited sentences"))
            country = None
        item = Participant(name=name, name_original=original, role=role, organization=org,
                           country=cite.english_country(country) if country else None,
                           evidence=[view.sid(n) for n in dict.fromkeys(p.evidence)])
        return item, "", notes

    def _recover_name(self, view: DocView, p: Any, original: str) -> tuple[int, str] | None:
        """(sentence number, span as written) of the citable sentence words that name the person the model
        wrote as `original`/`p.name`: its cited sentences first, then the rest of the article."""
        order = [n for n in p.evidence if view.valid(n)] + [n for n in view.numbers if n not in p.evidence]
        for n in order:
            sentence = view.text([n])
            for candidate in dict.fromkeys(c for c in (original, (p.name or "").strip()) if c):
                span = cite.name_span(sentence, candidate)
                if span and len(tokens(span)) <= 6:
                    return n, span
        return None

    def _attr_ok(self, view: DocView, p: Any, original: str, kind: str, value: str) -> bool:
        """The attribute is supported by the cited sentences, or by another citable sentence that also names
        the person (which is then added to the evidence, in place of a cited sentence that does not name them
        when four are cited already)."""
        def ok(t: str) -> bool:
            if kind in ("role", "country"):  # written next to the name, not elsewhere in the sentence
                t = near(t, original)
            if kind == "country":
                return cite.country_mentioned(t, value, concepts=True)
            return cite.supports(kind, value, t)

        if ok(view.text(p.evidence)):
            return True
        extra = view.sentences_where(lambda t: _span_in(t, original) and ok(t))
        if not extra:
            return False
        if len(p.evidence) >= 4:
            spare = [n for n in p.evidence[1:] if not _span_in(view.text([n]), original)]
            if not spare:
                return False
            p.evidence.remove(spare[-1])
        p.evidence = [*p.evidence, extra[0]]
        return True

    def _people(self, view: DocView, base: list, models: dict, out: VisitSummary, dropped: list[Dropped],
                stats: RunStats) -> None:
        def merge(into: list[Participant], item: Participant) -> bool:
            """Add a person not yet listed (same name, or one copied span inside the other: «محمدرضا» in
            «محمدرضا یزدانپناه», keeping the fuller); False when nothing changed."""
            for k, g in enumerate(into):
                if names_match(item.name_original, g.name_original) or names_match(item.name, g.name):
                    return False
                if _span_in(g.name_original, item.name_original):
                    return False
                if _span_in(item.name_original, g.name_original):
                    into[k] = item
                    return True
            into.append(item)
            return True

        def verify(result: Any) -> tuple[list[Participant], list[tuple[str, str, str]], list[Dropped]]:
            good, bad, notes = [], [], []
            for k, p in enumerate(getattr(result, "participants", []) or []):
                item, reason, extra = self._verify_person(view, p)
                if item is None:
                    bad.append((f"participants[{k}] {p.name_original or p.name!r}", reason, p.name_original or p.name))
                elif merge(good, item):
                    notes += extra
            return good, bad, notes

        candidates = name_candidates(view)
        if candidates:
            hint = load_prompt("summarize_people_hint").format(
                names=", ".join(f"«{name}» [{n}]" for name, n in candidates))
            base = [*base[:-1], {"role": "user", "content": base[-1]["content"] + hint}]
        result = self._llm_step(view, base, "summarize_people", models["people"], "people", stats)
        if result is None:
            return
        good, bad, notes = verify(result)

        def retry(problems: list[tuple[str, str]], prompt: str) -> None:
            again = self._ask_again(base, "summarize_people", models["people"], "people", result, problems, stats,
                                    retry_prompt=prompt)
            if again is not None:
                more, _, more_notes = verify(again)
                if any([merge(good, item) for item in more]):
                    notes.extend(more_notes)

        if bad:
            retry([(w, r) for w, r, _ in bad], "summarize_retry")
            bad = [b for b in bad if not any(names_match(b[2] or "", g.name_original) or
                                             names_match(b[2] or "", g.name) for g in good)]
        missing = [(f"«{name}»", f"sentence [{n}]") for name, n in candidates
                   if not any(_span_in(name, g.name_original) or _span_in(g.name_original, name) for g in good)]
        if missing:  # people the word order finds and the model left out: asked for once, then added as found
            retry(missing, "summarize_people_missing")
            for name, n in candidates:
                merge(good, Participant(name=romanize(name), name_original=name, evidence=[view.sid(n)]))
        out.participants = good
        dropped += notes
        dropped += [Dropped(field="participants", value=v or w, reason=r) for w, r, v in bad]

    def _llm_step(self, view: DocView, base: list, task: str, model: type[BaseModel], key: str,
                  stats: RunStats) -> BaseModel | None:
        """One call; an answer the model could not complete or make valid costs only this step's fields
        (listed in `dropped`); a server that is down or too slow fails the whole document (LLMError)."""
        try:
            return self._ask(base, task, model, key, stats)
        except LLMError as e:
            if not step_level(e):
                raise
            stats.errors.append(f"{key}: {e}")
            self._dropped.append(Dropped(field=STEP_FIELDS[key], value="(no usable model answer)", reason=str(e)))
            return None

    # -- organisations and agreements ----------------------------------------------------------------------

    def _orgs(self, view: DocView, base: list, models: dict, out: VisitSummary, dropped: list[Dropped],
              stats: RunStats, country_names: list[str]) -> None:
        def verify(result: Any) -> tuple[list, list, list[tuple[str, str, str, str]], list[Dropped]]:
            orgs, deals, bad, notes = [], [], [], []
            for k, o in enumerate(getattr(result, "organizations", []) or []):
                ev = check_evidence(view, o.evidence)
                original = (o.name_original or "").strip()
                text = view.text(o.evidence) if ev.ok else ""
                if ev.ok and original and not (cite.org_in(text, original) or _span_in(text, original)):
                    where = view.sentences_where(lambda t, x=original: _span_in(t, x))  # named elsewhere: cite it
                    if where:
                        o.evidence = [where[0], *o.evidence][:4]
                        text = view.text(o.evidence)
                if not ev.ok:
                    reason = ev.reason
                elif not original or not (cite.org_in(text, original) or _span_in(text, original)):
                    reason = f"name_original {original!r} does not occur in the cited sentences"
                elif len(tokens(original)) > 12 or not looks_like_org(original, o.name or "", view.doc.language):
                    reason = f"{original!r} is not the name of an organization"
                elif any(_span_in(original, q.name_original) or names_match(o.name or "", q.name)
                         for q in out.participants):
                    reason = f"{original!r} names a person, not an organization"
                else:
                    reason = ""
                if reason:
                    bad.append(("organizations", f"organizations[{k}] {original or o.name!r}", reason,
                                original or o.name))
                    continue
                name = "" if _absent(o.name) else o.name.strip()
                name = name or original
                if view.doc.language == "en" and not cite.org_in(text, name):
                    name = original
                country = None if _absent(o.country) else o.country
                if country and not cite.country_mentioned(text, country, concepts=True) and not \
                        cite.country_mentioned(name, country, concepts=True):
                    notes.append(Dropped(field="organizations.country", value=f"{name}: {country}",
                                         reason="country not stated in the cited sentences"))
                    country = None
                if any(cite.org_in(g.name, name) or cite.org_in(name, g.name) for g in orgs):
                    continue
                orgs.append(Organization(name=name, name_original=original,
                                         country=cite.english_country(country) if country else None,
                                         evidence=[view.sid(n) for n in dict.fromkeys(o.evidence)]))
            for k, a in enumerate(getattr(result, "agreements", []) or []):
                ev = check_evidence(view, a.evidence)
                text = view.text(a.evidence) if ev.ok else ""
                what = f"agreements[{k}] {a.kind}/{a.status}"

                def states_it(t: str, a: Any = a) -> bool:
                    return cite.agreement_in(t, a.kind) and (a.status != "signed" or _signed(t))

                if ev.ok and not states_it(text):  # the sentence that does say it, if there is one
                    where = view.sentences_where(states_it)
                    if where:
                        a.evidence = [where[0], *a.evidence][:4]
                        text = view.text(a.evidence)
                if not ev.ok:
                    bad.append(("agreements", what, ev.reason, what))
                    continue
                if not cite.agreement_in(text, a.kind):
                    named = _kinds_named(text)
                    if not named:
                        bad.append(("agreements", what, f"no sentence cited names a {a.kind}", what))
                        continue
                    notes.append(Dropped(field="agreements.kind", value=f"{what}: {a.kind}",
                                         reason=f"the cited sentences name a {named[0]}, not a {a.kind}"))
                    a.kind = named[0]  # the kind the cited sentence does name
                    what = f"agreements[{k}] {a.kind}/{a.status}"
                if a.status == "signed" and not _signed(text):
                    bad.append(("agreements", what, "the cited sentences do not say it was signed", what))
                    continue
                parties = []
                for party in dict.fromkeys(a.parties or []):
                    if not (cite.country_mentioned(text, party, concepts=True) or cite.org_in(text, party)):
                        # a side of the visit named elsewhere: cite the first sentence that names it
                        where = view.sentences_where(lambda t, party=party: cite.country_mentioned(t, party))
                        if where and party in country_names[:2] and len(a.evidence) < 4:
                            a.evidence = [*a.evidence, where[0]]
                            text = view.text(a.evidence)
                    if cite.country_mentioned(text, party, concepts=True) or cite.org_in(text, party):
                        parties.append(cite.english_country(party))
                    else:
                        notes.append(Dropped(field="agreements.parties", value=f"{what}: {party}",
                                             reason="party not named in the cited sentences"))
                if (a.kind, a.status) in {(d.kind, d.status) for d in deals}:
                    continue
                deals.append(Agreement(kind=a.kind, status=a.status, parties=parties,
                                       description=(a.description or "").strip(),
                                       evidence=[view.sid(n) for n in dict.fromkeys(a.evidence)]))
            return orgs, deals, bad, notes

        result = self._llm_step(view, base, "summarize_orgs", models["orgs"], "orgs", stats)
        if result is None:
            return
        orgs, deals, bad, notes = verify(result)
        if bad:
            again = self._ask_again(base, "summarize_orgs", models["orgs"], "orgs", result,
                                    [(w, r) for _, w, r, _ in bad], stats)
            if again is not None:
                orgs2, deals2, bad2, notes2 = verify(again)
                for o in orgs2:
                    if not any(cite.org_in(g.name, o.name) or cite.org_in(o.name, g.name) for g in orgs):
                        orgs.append(o)
                for d in deals2:
                    if (d.kind, d.status) not in {(x.kind, x.status) for x in deals}:
                        deals.append(d)
                notes += notes2
                names = {normalize(o.name_original) for o in orgs}
                kinds = {f"{d.kind}/{d.status}" for d in deals}
                bad = [b for b in bad if normalize(b[3]) not in names and not any(k in b[3] for k in kinds)]
        out.organizations, out.agreements = orgs, deals
        dropped += notes
        dropped += [Dropped(field=f, value=v, reason=r) for f, _, r, v in bad]

    # -- cooperation areas ---------------------------------------------------------------------------------

    def _areas(self, view: DocView, base: list, models: dict, out: VisitSummary, dropped: list[Dropped],
               stats: RunStats) -> None:
        chosen: dict[str, list[str]] = {}
        if self.areas in ("llm", "both"):
            result = self._llm_step(view, base, "summarize_areas", models["areas"], "areas", stats)
            for a in getattr(result, "areas", []) or []:
                ev = check_evidence(view, a.evidence)
                if not ev.ok:
                    dropped.append(Dropped(field="cooperation_areas", value=a.area, reason=ev.reason))
                    continue
                cued = [n for n in a.evidence if area_cued(a.area, view.text([n]))]
                if not cued:  # the model's sentence does not talk about it: find one that does, or drop
                    cued = view.sentences_where(lambda t, area=a.area: area_cued(area, t))[:1]
                    if not cued:
                        dropped.append(Dropped(field="cooperation_areas", value=a.area,
                                               reason="no cited sentence mentions this area"))
                        continue
                chosen.setdefault(a.area, [])
                chosen[a.area] += [view.sid(n) for n in cued if view.sid(n) not in chosen[a.area]]
        self.area_sources = {"llm": list(chosen), "cues": list(areas_by_cue(view.citable))}
        if self.areas in ("cues", "both"):
            for area, ids in areas_by_cue(view.citable).items():
                if area not in chosen:
                    chosen[area] = ids[:2]
        out.cooperation_areas = [Area(area=a, evidence=ids[:3]) for a, ids in chosen.items()]

    # -- title, summary, location, follow-ups --------------------------------------------------------------

    def _overview(self, view: DocView, base: list, models: dict, out: VisitSummary, dropped: list[Dropped],
                  stats: RunStats) -> None:
        known = [n for p in out.participants for n in (p.name, p.name_original)]

        def problems(r: Any) -> list[tuple[str, str]]:
            found = []
            ev = check_evidence(view, r.summary_evidence)
            if not ev.ok:
                found.append(("summary", ev.reason))
            else:
                r.summary_evidence, reasons = self._text_support(view, r.summary, list(r.summary_evidence), known)
                found += [("summary", reason) for reason in reasons]
            for name in unsupported_names(r.title, " ".join(s.text for s in view.citable), known,
                                          single_words=False):
                found.append(("title", f"names {name!r}, whom the article does not mention"))
            return found

        result = self._llm_step(view, base, "summarize_overview", models["overview"], "overview", stats)
        if result is None:
            out.summary, out.summary_evidence = fallback_summary(out)
            return
        bad = problems(result)
        if bad:
            again = self._ask_again(base, "summarize_overview", models["overview"], "overview", result, bad, stats,
                                    retry_prompt="summarize_retry_overview")
            if again is not None:
                bad2 = problems(again)
                if len(bad2) < len(bad):
                    result, bad = again, bad2
        fields = {f for f, _ in bad}
        if "title" not in fields:
            out.title = result.title.strip()
        else:
            dropped.append(Dropped(field="title", value=result.title, reason="; ".join(r for f, r in bad
                                                                                      if f == "title")))
        if "summary" not in fields:
            out.summary = result.summary.strip()
            out.summary_evidence = [view.sid(n) for n in dict.fromkeys(result.summary_evidence)]
        else:
            dropped.append(Dropped(field="summary", value=result.summary, reason="; ".join(
                r for f, r in bad if f == "summary")))
        self._location(view, result.location, out, dropped)
        if not out.summary:
            out.summary, out.summary_evidence = fallback_summary(out)
        for f in result.follow_ups or []:
            ev = check_evidence(view, f.evidence)
            text = view.text(f.evidence) if ev.ok else ""
            reason = ev.reason if not ev.ok else ""
            if not reason:
                f.evidence, reasons = self._text_support(view, f.text, list(f.evidence), known)
                reason = reasons[0] if reasons else ""
                text = view.text(f.evidence)
            if not reason and view.doc.language == "en" and cite.overlap(f.text, text) < 0.3:
                reason = "the cited sentences do not say this"
            if reason:
                dropped.append(Dropped(field="follow_ups", value=f.text, reason=reason))
            elif f.text.strip():
                out.follow_ups.append(FollowUp(text=f.text.strip(),
                                               evidence=[view.sid(n) for n in dict.fromkeys(f.evidence)]))

    def _text_support(self, view: DocView, text: str, ns: list[int], known: list[str]
                      ) -> tuple[list[int], list[str]]:
        """Free English text (summary, follow-up) may name only people and numbers its cited sentences give;
        one named in another citable sentence gets that sentence added to the evidence (at most 8)."""
        reasons = []
        for name in unsupported_names(text, view.text(ns), known):
            where = [n for n in view.numbers if n not in ns and
                     name not in unsupported_names(text, view.text([*ns, n]), known)]
            if where and len(ns) < 8:
                ns.append(where[0])
            else:
                reasons.append(f"names {name!r}, whom the cited sentences do not mention")
        for num in unsupported_numbers(text, view.text(ns)):
            where = view.sentences_where(lambda t, num=num: not unsupported_numbers(num, t))
            if where and len(ns) < 8:
                ns.append(where[0])
            else:
                reasons.append(f"gives the number {num}, which the cited sentences do not")
        return list(dict.fromkeys(ns)), reasons

    def _location(self, view: DocView, place: Any, out: VisitSummary, dropped: list[Dropped]) -> None:
        """City must be named in a cited (or any citable) sentence; the country must be named too, or be the
        country whose capital the city is (lexicon)."""
        city = None if _absent(place.city) else place.city.strip()
        country = None if _absent(place.country) else place.country
        named = {c for n in view.numbers for c in cite.countries_in(view.text([n]), concepts=False)}
        as_country = cite.country_code(city) if city else None
        if city and not as_country:  # a country's name, however spelt ('Qazakhstan')
            as_country = next((c for c in named
                               if fuzz.ratio(normalize(city), normalize(cite.english_country(c))) >= 88), None)
        if city and as_country:  # a country given as the city
            country, city = country or cite.english_country(as_country), None
        ns = [n for n in (place.evidence or []) if view.valid(n)]
        if city:
            where = [n for n in ns if cite.name_in(view.text([n]), city)] or \
                view.sentences_where(lambda t: cite.name_in(t, city))[:1]
            if not where:
                dropped.append(Dropped(field="location.city", value=city, reason="no sentence names this city"))
                city = None
            ns = where
        if country:
            if not any(cite.country_mentioned(view.text([n]), country) for n in ns):
                more = view.sentences_where(lambda t: cite.country_mentioned(t, country))[:1]
                city_country = city and cite.country_code(country) in cite.countries_in(city)
                if more:
                    ns = [*ns, *more]
                elif not city_country:
                    dropped.append(Dropped(field="location.country", value=country,
                                           reason="no sentence names this country"))
                    country = None
        elif city:
            codes = cite.countries_in(city)  # lexicon: a capital names its country
            if len(codes) == 1:
                country = cite.english_country(next(iter(codes)))
                ns += view.sentences_where(lambda t: cite.country_mentioned(t, country))[:1]
        if city or country:
            out.location = Location(city=city, country=cite.english_country(country) if country else None,
                                    evidence=[view.sid(n) for n in dict.fromkeys(ns)])


def fallback_summary(out: VisitSummary) -> tuple[str, list[str]]:
    """A plain English summary assembled from the verified facts only (when the model's did not verify),
    citing the sentences those facts cite."""
    evidence: list[str] = []
    people = []
    for p in out.participants[:3]:
        people.append(f"{p.name} ({p.role})" if p.role else p.name)
        evidence += p.evidence[:1]
    place = ", ".join(x for x in ((out.location.city, out.location.country) if out.location else ()) if x)
    if place and out.location:
        evidence += out.location.evidence[:1]
    when = f" on {out.date}" if out.date and len(out.date) == 10 else (f" in {out.date}" if out.date else "")
    if out.date:
        evidence += out.date_evidence[:1]
    partner = next((c.name for c in out.countries if c.name != "Iran"), None)
    if len(people) >= 2:
        first = f"{', '.join(people[:-1])} and {people[-1]} met"
    elif people:
        first = f"{people[0]} took part in talks" + (f" with {partner}" if partner else "")
    else:
        first = "Officials of Iran" + (f" and {partner}" if partner else "") + " met"
    if not people and partner:
        evidence += next(c.evidence[:1] for c in out.countries if c.name == partner)
    sentences = [first + (f" in {place}" if place else "") + when + "."]
    from coopqa.brief import AREA_NAMES

    areas = [AREA_NAMES.get(a.area, a.area.replace("_", " ")) for a in out.cooperation_areas[:4]]
    if areas:
        sentences.append(f"They discussed cooperation in {', '.join(areas[:-1]) + ' and ' if len(areas) > 1 else ''}"
                         f"{areas[-1]}.")
        evidence += [a.evidence[0] for a in out.cooperation_areas[:4] if a.evidence]
    if out.agreements:
        a = out.agreements[0]
        verb = {"signed": "signed", "planned": "planned", "discussed": "discussed"}[a.status]
        article = "An" if a.kind in ("MoU", "agreement") else "A"
        sentences.append(f"{article} {a.kind} was {verb}.")
        evidence += a.evidence[:1]
    return " ".join(sentences), list(dict.fromkeys(evidence))[:6]


def summarize_document(doc: Document, llm: Extractor, *, model_name: str = "", areas: AreasMode = "cues",
                       retry: bool = True) -> tuple[VisitSummary, RunStats]:
    """The verified visit summary of one document and what it cost. Raises coopqa.model_files.LLMError."""
    return Pipeline(llm, model_name=model_name, areas=areas, retry=retry).run(doc)


def to_json(summary: VisitSummary) -> dict[str, Any]:
    """The contract JSON of a summary."""
    return json.loads(summary.model_dump_json())


# ---------------------------------------------------------------- stored summaries (resumable)


class SummaryStore:
    """`<home>/summaries/<doc_id>.json` (the contract JSON) and `<doc_id>.meta.json` (the key it was made
    under: document sha + model + prompt hash, and its run stats). Both are written atomically, the
    summary first, so an interrupted run leaves every finished document reusable and no half-written one."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def paths(self, doc_id: str) -> tuple[Path, Path]:
        return self.root / f"{doc_id}.json", self.root / f"{doc_id}.meta.json"

    @staticmethod
    def key(doc: Document, model: str, prompts: str) -> str:
        return hashlib.sha256(f"{doc.sha256 or hashlib.sha256(doc.text.encode()).hexdigest()}|{model}|{prompts}"
                              .encode()).hexdigest()[:24]

    def get(self, doc_id: str, key: str) -> dict[str, Any] | None:
        path, meta_path = self.paths(doc_id)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("key") != key:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
            VisitSummary.model_validate(data)
        except (OSError, ValueError):
            return None
        return data

    def meta(self, doc_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.paths(doc_id)[1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, doc_id: str, key: str, data: dict[str, Any], stats: RunStats) -> None:
        path, meta_path = self.paths(doc_id)
        self.root.mkdir(parents=True, exist_ok=True)
        meta_path.unlink(missing_ok=True)  # never a fresh key beside a stale summary
        atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        atomic_write(meta_path, json.dumps({"key": key, "stats": stats.as_dict(), "created": time.time()},
                                            ensure_ascii=False) + "\n")

    def load(self, doc_id: str) -> dict[str, Any] | None:
        """The stored summary of a document whatever its key, or None (absent or unreadable)."""
        try:
            data = json.loads(self.paths(doc_id)[0].read_text(encoding="utf-8"))
            VisitSummary.model_validate(data)
        except (OSError, ValueError):
            return None
        return data

    def all(self) -> list[dict[str, Any]]:
        """Every stored summary (whatever its key), by doc_id."""
        ids = [p.name.removesuffix(".json") for p in sorted(self.root.glob("*.json"))
               if not p.name.endswith(".meta.json")]
        return [data for doc_id in ids if (data := self.load(doc_id)) is not None]

