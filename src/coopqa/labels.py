"""Hand labels (evals/labels/*.json, evals/cross_doc.json, evals/retrieval.jsonl): models, loaders, checks.

The format is /work/shared/label-format.md; the enums below are the one definition the rest of coopqa
imports."""

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from coopqa.readers import ReadError, discover, read_file
from coopqa.text import detect_language, normalize

Language = Literal["en", "ar", "fa"]
CooperationArea = Literal[
    "co_production", "film_exchange_distribution", "festivals", "film_weeks", "training_workshops",
    "academic_exchange", "dubbing", "archives_libraries", "locations_studios_facilities", "expert_exchange",
    "ai_media_training", "joint_committee", "animation", "documentary", "children_youth", "market_access",
]
AgreementKind = Literal["MoU", "agreement", "contract", "protocol", "program"]
AgreementStatus = Literal["signed", "planned", "discussed"]
COOPERATION_AREAS: tuple[str, ...] = get_args(CooperationArea)
AGREEMENT_KINDS: tuple[str, ...] = get_args(AgreementKind)
AGREEMENT_STATUSES: tuple[str, ...] = get_args(AgreementStatus)
QA_PER_DOC = (3, 5)

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Supports = Annotated[list[str], BeforeValidator(_as_list)]  # a single string is accepted too


class Location(_Strict):
    city: str | None = None
    country: str | None = None


class Participant(_Strict):
    name: str
    aliases: list[str] = []
    role: str | None = None
    organization: str | None = None
    country: str | None = None


class Organization(_Strict):
    name: str
    aliases: list[str] = []
    country: str | None = None


class Agreement(_Strict):
    kind: AgreementKind
    status: AgreementStatus
    parties: list[str] = []
    support: Supports = []


class Event(_Strict):
    date: str | None = None
    date_text: str | None = None
    location: Location = Location()
    countries: list[str] = []
    participants: list[Participant] = []
    organizations: list[Organization] = []
    agreements: list[Agreement] = []
    cooperation_areas: list[CooperationArea] = []

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str | None) -> str | None:
        """YYYY, YYYY-MM or YYYY-MM-DD, and a real calendar date."""
        m = _DATE.match(value) if value is not None else None
        if value is not None and not m:
            raise ValueError(f"date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        if m:
            date(int(m[1]), int(m[2] or 1), int(m[3] or 1))  # raises ValueError on 2025-13 or 2025-02-30
        return value


class QAItem(_Strict):
    question: str
    question_native: str | None = None
    answer: str
    answer_aliases: list[str] = []
    support: Supports


class Unanswerable(_Strict):
    question: str
    question_native: str | None = None
    why: str


class Label(_Strict):
    doc_id: str
    language: Language
    event: Event
    qa: list[QAItem]
    unanswerable: list[Unanswerable]


class CrossSupport(_Strict):
    doc_id: str
    text: str


class CrossDocItem(_Strict):
    id: str | None = None
    question: str
    question_native: str | None = None
    answer: str
    answer_aliases: list[str] = []
    support: list[CrossSupport]


class RetrievalQuery(_Strict):
    id: str
    query: str
    lang: Language
    doc_id: str
    support: Supports


def _read_label(path: Path) -> Label:
    return Label.model_validate_json(path.read_text(encoding="utf-8"))


def load_labels(labels_dir: Path | str) -> dict[str, Label]:
    """Every `<doc_id>.json` of a folder, by doc_id; a malformed file raises ValueError naming it."""
    labels = {}
    for path in sorted(Path(labels_dir).glob("*.json")):
        try:
            labels[path.stem] = _read_label(path)
        except ValidationError as e:
            raise ValueError(f"{path}: {e}") from None
    return labels


def load_cross_doc(path: Path | str) -> list[CrossDocItem]:
    """The cross-document QA items (a JSON list)."""
    return [CrossDocItem.model_validate(item) for item in json.loads(Path(path).read_text(encoding="utf-8"))]


def load_retrieval(path: Path | str) -> list[RetrievalQuery]:
    """The retrieval queries, one JSON object a line."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [RetrievalQuery.model_validate_json(line) for line in lines if line.strip()]


def read_articles(corpus_dir: Path | str) -> dict[str, str]:
    """doc_id → article text, read as ingestion reads it (HTML and JSON records included)."""
    files, _ = discover([Path(corpus_dir)])
    articles = {}
    for path in files:
        try:
            docs, _ = read_file(path)
        except ReadError:
            continue
        articles.update((d.doc_id, d.text) for d in docs)
    return articles


def _support_problem(where: str, text: str, article: str) -> str | None:
    """The problem when `text` is not an exact substring of `article`."""
    if not text.strip():
        return f"{where}: empty support string"
    if text in article:
        return None
    hint = " (it matches only after normalising letters/spaces: copy it from the article)" if normalize(
        text) in normalize(article) else ""
    return f"{where}: not an exact substring of the article{hint}: {text[:80]!r}"


def _support_problems(where: str, texts: Iterable[str], article: str) -> list[str]:
    return [p for k, text in enumerate(texts) if (p := _support_problem(f"{where}[{k}]", text, article))]


def _errors(where: str, error: ValidationError) -> list[str]:
    def got(value: object) -> str:
        return f" (got {value!r:.60})" if isinstance(value, str | int | float) else ""

    return [f"{where}: {'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}{got(e['input'])}" for e in error.errors()]


def _label_problems(where: str, label: Label, article: str | None, doc_id: str) -> Iterable[str]:
    if label.doc_id != doc_id:
        yield f"{where}: doc_id {label.doc_id!r} differs from the file name"
    if article is None:
        yield f"{where}: no article {doc_id!r} in the corpus"
    elif (found := detect_language(article)) != label.language:
        yield f"{where}: language {label.language!r} but the article reads as {found!r}"
    lo, hi = QA_PER_DOC
    if not lo <= len(label.qa) <= hi:
        yield f"{where}: {len(label.qa)} qa items, need {lo}–{hi}"
    if not label.unanswerable:
        yield f"{where}: no unanswerable question"
    if "Iran" not in label.event.countries:
        yield f"{where}: event.countries lacks 'Iran'"
    for n, p in enumerate(label.event.participants):
        if p.country and p.country not in label.event.countries:
            yield f"{where}: event.participants[{n}].country {p.country!r} is not in event.countries"
    for field, items in (("qa", label.qa), ("unanswerable", label.unanswerable)):
        for n, item in enumerate(items):
            if label.language != "en" and field == "qa" and not item.question_native:
                yield f"{where}: {field}[{n}] needs question_native in {label.language!r}"
            if item.question_native and (found := detect_language(item.question_native)) != label.language:
                yield f"{where}: {field}[{n}].question_native reads as {found!r}, not {label.language!r}"
    if article is None:
        return
    for n, agreement in enumerate(label.event.agreements):
        yield from _support_problems(f"{where}: event.agreements[{n}].support", agreement.support, article)
    for n, item in enumerate(label.qa):
        if not item.support:
            yield f"{where}: qa[{n}] has no support"
        yield from _support_problems(f"{where}: qa[{n}].support", item.support, article)


def check_labels(
    labels_dir: Path | str, corpus_dir: Path | str, cross: Path | str | None = None,
    retrieval: Path | str | None = None,
) -> list[str]:
    """Human-readable problems of the label files (empty when all is well): schema and enum errors,
    missing articles, support strings that are not exact substrings of their article, 3–5 qa items,
    at least one unanswerable question, question_native for Arabic and Persian articles."""
    articles = read_articles(corpus_dir)
    problems: list[str] = []
    paths = sorted(Path(labels_dir).glob("*.json"))
    if not paths:
        problems.append(f"{labels_dir}: no label files")
    for path in paths:
        try:
            label = _read_label(path)
        except ValidationError as e:
            problems += _errors(str(path), e)
            continue
        problems += _label_problems(str(path), label, articles.get(path.stem), path.stem)
    if cross is not None:
        problems += _cross_problems(Path(cross), articles)
    if retrieval is not None:
        problems += _retrieval_problems(Path(retrieval), articles)
    return problems


def _cross_problems(path: Path, articles: dict[str, str]) -> list[str]:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        return [f"{path}: malformed JSON at line {e.lineno}: {e.msg}"]
    if not isinstance(items, list):
        return [f"{path}: expected a JSON list of QA items"]
    problems = []
    for n, raw in enumerate(items):
        where = f"{path}: [{n}]"
        try:
            item = CrossDocItem.model_validate(raw)
        except ValidationError as e:
            problems += _errors(where, e)
            continue
        if len({s.doc_id for s in item.support}) < 2:
            problems.append(f"{where}: support cites fewer than two documents")
        for k, s in enumerate(item.support):
            if s.doc_id not in articles:
                problems.append(f"{where}.support[{k}]: no article {s.doc_id!r} in the corpus")
            elif problem := _support_problem(f"{where}.support[{k}]", s.text, articles[s.doc_id]):
                problems.append(problem)
    return problems


def _retrieval_problems(path: Path, articles: dict[str, str]) -> list[str]:
    problems, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            query = RetrievalQuery.model_validate_json(line)
        except ValidationError as e:
            problems += _errors(where, e)
            continue
        if query.id in seen:
            problems.append(f"{where}: duplicate id {query.id!r}")
        seen.add(query.id)
        if query.doc_id not in articles:
            problems.append(f"{where}: no article {query.doc_id!r} in the corpus")
            continue
        if not query.support:
            problems.append(f"{where}: no support")
        problems += _support_problems(f"{where}: support", query.support, articles[query.doc_id])
    return problems
