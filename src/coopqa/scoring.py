"""Eval scorers: visit summaries against labels, evidence and citation support, answers against QA labels,
retrieval. Pure functions over the JSON dicts of output-contract.md and the models of coopqa.labels.

Choices the numbers depend on:
- Fields are matched one-to-one (a maximum bipartite matching); precision = matched / predicted,
  recall = matched / labelled, micro-summed over documents. An empty field on both sides scores 1.0;
  nothing predicted against something labelled scores 0.0 precision and recall. Labelled values left
  unmatched are *omissions*; predicted values that match no labelled value at all are *hallucinations*
  (a repeat of a matched value is neither, it only costs precision).
- Dates are compared at the label's precision: a prediction at least as precise that agrees on every
  part the label gives is right ('2025-04-13' for label '2025-04'); a less precise one is wrong.
- Citation support checks names, places, countries, dates and agreement kinds in the text of the cited
  sentences; cooperation areas, follow-ups and the summary text are not string-checkable and count
  only towards evidence validity.
- A QA support string is covered when every sentence it overlaps (by character offsets) is cited.
  A citation is relevant when its sentence overlaps some support string; under that coverage rule
  ALCE's second test (removing it loses coverage) can never save a citation that overlaps none.
"""

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from coopqa.citations import COUNTRY_ALIASES, canonical_country, date_matches, present, states  # noqa: F401 (re-exported)
from coopqa.citations import agreement_in as _agreement_in
from coopqa.citations import country_stated as _country_in
from coopqa.citations import date_in as _date_in
from coopqa.citations import org_in as _org_in
from coopqa.dates import find_dates
from coopqa.labels import CrossDocItem, Label, RetrievalQuery
from coopqa.text import negated, normalize, tokens
from coopqa.translit import names_match
from coopqa.types import Document

_ORG_STOPWORDS = frozenset({"the", "of", "and", "for", "in", "on", "at", "to"})
_MARKER = re.compile(r"\[\d+\]")


# ---------------------------------------------------------------- matching rules


def _org_key(name: str) -> str:
    return " ".join(t for t in tokens(name) if t not in _ORG_STOPWORDS)


def _org_match(a: str, b: str) -> bool:
    """Organisation names alike: same content words, a close spelling, or one name's words (two or
    more) all inside the other ('Cinema Organization' / 'Cinema Organization of Iran')."""
    ka, kb = _org_key(a), _org_key(b)
    if not ka or not kb:
        return False
    nested = fuzz.token_set_ratio(ka, kb) == 100 and min(len(ka.split()), len(kb.split())) >= 2
    return ka == kb or nested or fuzz.token_sort_ratio(ka, kb) >= 85


def _place_match(a: str, b: str) -> bool:
    return normalize(a) == normalize(b) or names_match(a, b)


# ---------------------------------------------------------------- summaries vs labels


@dataclass
class FieldScore:
    """One field's predicted values matched against its labelled values."""

    matched: int = 0
    predicted: int = 0
    labelled: int = 0
    omitted: list[str] = field(default_factory=list)
    hallucinated: list[dict] = field(default_factory=list)  # {"value", "evidence"}

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else float(not self.labelled)

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else float(not self.predicted)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: "FieldScore") -> "FieldScore":
        return FieldScore(
            self.matched + other.matched, self.predicted + other.predicted, self.labelled + other.labelled,
            self.omitted + other.omitted, self.hallucinated + other.hallucinated,
        )

    def metrics(self) -> dict:
        return {
            "precision": self.precision, "recall": self.recall, "f1": self.f1, "matched": self.matched,
            "predicted": self.predicted, "labelled": self.labelled, "omissions": len(self.omitted),
            "hallucinations": len(self.hallucinated),
        }


def _max_matching(edges: list[list[int]]) -> int:
    """Size of a maximum bipartite matching; edges[p] lists the labelled items prediction p may take."""
    owner: dict[int, int] = {}

    def take(p: int, seen: set[int]) -> bool:
        for g in edges[p]:
            if g not in seen:
                seen.add(g)
                if g not in owner or take(owner[g], seen):
                    owner[g] = p
                    return True
        return False

    return sum(take(p, set()) for p in range(len(edges)))


def _score_field(
    predicted: list[tuple[str, list[str], object]], labelled: list[tuple[str, object]],
    same: Callable[[object, object], bool],
) -> FieldScore:
    """predicted: (shown value, evidence, key); labelled: (shown value, key); `same` compares keys."""
    edges = [[g for g, (_, gold) in enumerate(labelled) if same(key, gold)] for _, _, key in predicted]
    hit = {g for e in edges for g in e}
    return FieldScore(
        matched=_max_matching(edges), predicted=len(predicted), labelled=len(labelled),
        omitted=[shown for g, (shown, _) in enumerate(labelled) if g not in hit],
        hallucinated=[{"value": v, "evidence": ev}
                      for (v, ev, _), e in zip(predicted, edges, strict=True) if not e],
    )


@dataclass
class SummaryScore:
    """A visit summary scored against its label."""

    doc_id: str
    language: str
    fields: dict[str, FieldScore]
    date_correct: bool
    city_correct: bool


def _items(summary: dict, key: str) -> list[dict]:
    return [item for item in summary.get(key) or [] if isinstance(item, dict)]


def _evidence(item: dict, key: str = "evidence") -> list[str]:
    return item.get(key) or []


def score_summary(summary: dict, label: Label) -> SummaryScore:
    """Per-field matching of one summary (contract format) against its label."""
    event = label.event
    location = summary.get("location") or {}
    city, gold_city = location.get("city") or None, event.location.city
    date, gold_date = summary.get("date") or None, event.date

    def names(item: dict) -> list[str]:
        return [n for n in (item.get("name"), item.get("name_original")) if n]

    def shown(item: dict) -> str:
        return " / ".join(dict.fromkeys(names(item)))

    def agreement(item: dict) -> tuple[str, str]:
        return str(item.get("kind", "")).lower(), str(item.get("status", "")).lower()

    def same(a: object, b: object) -> bool:
        return a == b

    fields = {
        "countries": _score_field(
            [(c.get("name") or "", _evidence(c), canonical_country(c.get("name") or ""))
             for c in _items(summary, "countries")],
            [(c, canonical_country(c)) for c in event.countries], same,
        ),
        "participants": _score_field(
            [(shown(p), _evidence(p), names(p)) for p in _items(summary, "participants")],
            [(p.name, [p.name, *p.aliases]) for p in event.participants],
            lambda a, b: any(names_match(x, y) for x in a for y in b),
        ),
        "organizations": _score_field(
            [(shown(o), _evidence(o), names(o)) for o in _items(summary, "organizations")],
            [(o.name, [o.name, *o.aliases]) for o in event.organizations],
            lambda a, b: any(_org_match(x, y) for x in a for y in b),
        ),
        "agreements": _score_field(
            [("/".join(agreement(a)), _evidence(a), agreement(a)) for a in _items(summary, "agreements")],
            [(f"{a.kind}/{a.status}", (a.kind.lower(), a.status)) for a in event.agreements], same,
        ),
        "cooperation_areas": _score_field(
            [(a.get("area", ""), _evidence(a), a.get("area")) for a in _items(summary, "cooperation_areas")],
            [(a, a) for a in event.cooperation_areas], same,
        ),
        "date": _score_field(
            [(date, _evidence(summary, "date_evidence"), date)] if date else [],
            [(gold_date, gold_date)] if gold_date else [], date_matches,
        ),
        "location_city": _score_field(
            [(city, _evidence(location), city)] if city else [],
            [(gold_city, gold_city)] if gold_city else [], _place_match,
        ),
    }
    city_correct = _place_match(city, gold_city) if city and gold_city else not (city or gold_city)
    return SummaryScore(label.doc_id, label.language, fields, date_matches(date, gold_date), city_correct)


def summary_metrics(scores: Sequence[SummaryScore]) -> dict:
    """Micro-averaged field metrics over documents, all list fields pooled, date and city accuracy."""
    if not scores:
        return {}
    names = list(scores[0].fields)
    totals = {name: sum((s.fields[name] for s in scores), FieldScore()) for name in names}
    pooled = sum((totals[n] for n in names if n not in ("date", "location_city")), FieldScore())
    return {
        "documents": len(scores),
        "fields": {name: total.metrics() for name, total in totals.items()},
        "all_fields": pooled.metrics(),
        "date_accuracy": sum(s.date_correct for s in scores) / len(scores),
        "city_accuracy": sum(s.city_correct for s in scores) / len(scores),
    }


# ---------------------------------------------------------------- evidence and citation support


@dataclass
class EvidenceScore:
    """Whether a summary's evidence IDs exist and whether the cited sentences state its facts."""

    doc_id: str
    language: str
    cited: int
    valid: int
    facts: int
    supported: int
    invalid_ids: list[str] = field(default_factory=list)
    unsupported: list[dict] = field(default_factory=list)  # {"field", "value", "evidence"}


def sentence_texts(docs: Iterable[Document]) -> dict[str, str]:
    """Sentence id → text for every sentence of the documents."""
    return {s.id: s.text for d in docs for s in d.sentences}


def _evidence_ids(node: object) -> list[str]:
    """Every id under an 'evidence' or '*_evidence' key, outside 'dropped'."""
    if isinstance(node, list):
        return [i for item in node for i in _evidence_ids(item)]
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if key == "evidence" or key.endswith("_evidence"):
            found += [i for i in value or [] if isinstance(i, str)]
        elif key != "dropped":
            found += _evidence_ids(value)
    return found


def score_evidence(
    summary: dict, sentences: Mapping[str, str], country_aliases: Mapping[str, Iterable[str]] | None = None
) -> EvidenceScore:
    """Evidence validity (cited ids that exist in the summary's document) and citation support (facts
    whose cited sentences state them; a fact without valid evidence is unsupported)."""
    doc_id = summary.get("doc_id", "")
    aliases = country_aliases or {}
    ids = _evidence_ids(summary)
    valid = {i for i in ids if i in sentences and i.rsplit(":s", 1)[0] == doc_id}
    invalid = [i for i in ids if i not in valid]
    facts: list[tuple[str, str, list[str], Callable[[str], bool]]] = []  # field, value, evidence, check
    location = summary.get("location") or {}
    if summary.get("date"):
        date, date_text = summary["date"], summary.get("date_text")
        facts.append(("date", date, _evidence(summary, "date_evidence"), lambda t: _date_in(t, date, date_text)))
    if city := location.get("city"):
        facts.append(("location_city", city, _evidence(location), lambda t: states(t, city)))
    if country := location.get("country"):
        facts.append(("location_country", country, _evidence(location), lambda t: _country_in(t, country, aliases)))
    for c in _items(summary, "countries"):
        name = c.get("name") or ""
        facts.append(("countries", name, _evidence(c), lambda t, n=name: _country_in(t, n, aliases)))
    for p in _items(summary, "participants"):
        facts.append(("participants", p.get("name") or p.get("name_original") or "", _evidence(p),
                      lambda t, p=p: states(t, p.get("name"), p.get("name_original"))))
    for o in _items(summary, "organizations"):
        facts.append(("organizations", o.get("name") or o.get("name_original") or "", _evidence(o),
                      lambda t, o=o: _org_in(t, o.get("name"), o.get("name_original"))))
    for a in _items(summary, "agreements"):
        kind = str(a.get("kind", ""))
        facts.append(("agreements", f"{kind}/{a.get('status')}", _evidence(a), lambda t, k=kind: _agreement_in(t, k)))
    unsupported = []
    for name, value, evidence, check in facts:
        text = " ".join(sentences[i] for i in evidence if i in valid)
        if not (text and check(text)):
            unsupported.append({"field": name, "value": value, "evidence": evidence})
    return EvidenceScore(
        doc_id, summary.get("language", ""), len(ids), len(ids) - len(invalid), len(facts),
        len(facts) - len(unsupported), invalid, unsupported,
    )


def evidence_metrics(scores: Sequence[EvidenceScore]) -> dict:
    """Evidence validity and citation support, pooled over summaries."""
    if not scores:
        return {}
    cited, facts = sum(s.cited for s in scores), sum(s.facts for s in scores)
    return {
        "summaries": len(scores),
        "evidence_validity": sum(s.valid for s in scores) / cited if cited else 1.0,
        "citation_support": sum(s.supported for s in scores) / facts if facts else 1.0,
        "cited": cited, "facts": facts,
    }


# ---------------------------------------------------------------- answers vs QA labels


def _span_ids(doc: Document, text: str) -> set[str]:
    """Ids of the sentences overlapping the first occurrence of `text` in the document."""
    start = doc.text.find(text) if text else -1
    if start < 0:
        return set()
    end = start + len(text)
    return {s.id for s in doc.sentences if s.start < end and start < s.end}


def support_to_ids(doc: Document, supports: Iterable[str]) -> set[str]:
    """Ids of the sentences that exact support substrings overlap (first occurrence of each)."""
    return set().union(*(_span_ids(doc, s) for s in supports))


@dataclass
class GoldQuestion:
    """A labelled question: answerable (expected answers and supports) or not."""

    question: str
    question_native: str | None
    language: str  # the article's language, or "cross" for multi-document questions
    expected: list[str]  # answer first, then its aliases
    supports: list[tuple[str, str]]  # (doc_id, exact text)

    @property
    def answerable(self) -> bool:
        return bool(self.expected)


def gold_questions(labels: Mapping[str, Label], cross: Iterable[CrossDocItem] = ()) -> list[GoldQuestion]:
    """Every QA and unanswerable item of the labels, and the cross-document items."""
    gold = []
    for label in labels.values():
        gold += [GoldQuestion(q.question, q.question_native, label.language, [q.answer, *q.answer_aliases],
                              [(label.doc_id, s) for s in q.support]) for q in label.qa]
        gold += [GoldQuestion(u.question, u.question_native, label.language, [], [])
                 for u in label.unanswerable]
    gold += [GoldQuestion(c.question, c.question_native, "cross", [c.answer, *c.answer_aliases],
                          [(s.doc_id, s.text) for s in c.support]) for c in cross]
    return gold


@dataclass
class AnswerScore:
    """One answer (or its absence) scored against a labelled question."""

    question: str
    language: str
    answerable: bool
    answered: bool
    abstained: bool
    correct: bool  # answerable: an expected answer is in the text; unanswerable: it abstained
    answer: str = ""
    expected: str = ""
    supports: int = 0
    covered: int = 0
    citations: int = 0
    relevant: int = 0
    cited: list[str] = field(default_factory=list)
    uncovered: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, support text)


def _states_value(text: str, value: str) -> bool:
    """A bare "Yes"/"No" only as that word (a name match in any script would find "No" in "now" or «نو»);
    a day (a full date in the value) as that day in any format or calendar, year included ("4 February 2025"
    by "February 4, 2025" or «۱۶ بهمن ۱۴۰۳», not by "in 2025" or "5 February 2025", which a fuzzy name
    match would let pass); anything else as a phrase or a name in any script."""
    if normalize(value) in ("yes", "no"):
        return present(value, text)
    if day := next((m.iso for m in find_dates(value) if len(m.iso) == 10), None):
        return present(value, text) or _date_in(text, day, own_year=True)
    return states(text, value)


def _states_answer(text: str, expected: Sequence[str]) -> bool:
    """The answer text states one of the expected answers, with the same polarity ("no date has been set" is
    not stated by "a date has been set")."""
    return any(_states_value(text, v) and negated(v) <= negated(text) for v in expected)


def score_answer(answer: dict | None, gold: GoldQuestion, docs: Mapping[str, Document]) -> AnswerScore:
    """Accuracy, citation recall/precision or abstention of one answer (None: the question went unasked)."""
    answer = answer or {}
    abstained = bool(answer.get("abstained"))
    text = answer.get("answer") or ""
    citations = [c for c in answer.get("citations") or [] if isinstance(c, dict) and "id" in c]
    cited = list(dict.fromkeys(c["id"] for c in citations))
    base = {"question": gold.question, "language": gold.language, "answered": bool(answer),
            "abstained": abstained, "answer": text, "cited": cited}
    if not gold.answerable:
        return AnswerScore(answerable=False, correct=abstained, **base)
    required = [(doc_id, s, _span_ids(docs[doc_id], s) if doc_id in docs else set())
                for doc_id, s in gold.supports]
    uncovered = [(doc_id, s) for doc_id, s, ids in required if not ids or not ids <= set(cited)]
    relevant = set().union(*(ids for _, _, ids in required))
    return AnswerScore(
        answerable=True, correct=not abstained and _states_answer(_MARKER.sub(" ", text), gold.expected),
        expected=gold.expected[0], supports=len(required), covered=len(required) - len(uncovered), citations=len(cited),
        relevant=sum(c in relevant for c in cited), uncovered=uncovered, **base,
    )


def score_answers(answers: Iterable[dict], gold: Sequence[GoldQuestion], docs: Mapping[str, Document]
                  ) -> list[AnswerScore]:
    """Pair answers with labelled questions by question text (English or native form) and score each;
    a labelled question nobody answered is scored as unanswered."""
    by_question: dict[str, list[dict]] = {}
    for a in answers:
        by_question.setdefault(normalize(a.get("question", "")), []).append(a)
    scores = []
    for g in gold:
        forms = {normalize(q) for q in (g.question, g.question_native) if q}
        found = [a for q in forms for a in by_question.get(q, [])]
        scores += [score_answer(a, g, docs) for a in found] or [score_answer(None, g, docs)]
    return scores


def answer_metrics(scores: Sequence[AnswerScore]) -> dict:
    """Accuracy and citation recall/precision (pooled over support strings and citations) on answerable
    questions; abstention accuracy and hallucinations on unanswerable ones."""
    ok = [s for s in scores if s.answerable]
    no = [s for s in scores if not s.answerable]
    out: dict = {}
    if ok:
        supports, citations = sum(s.supports for s in ok), sum(s.citations for s in ok)
        out["answerable"] = {
            "n": len(ok), "accuracy": sum(s.correct for s in ok) / len(ok),
            "citation_recall": sum(s.covered for s in ok) / supports if supports else 1.0,
            "citation_precision": sum(s.relevant for s in ok) / citations if citations else 0.0,
            "false_abstentions": sum(s.abstained for s in ok), "unanswered": sum(not s.answered for s in ok),
        }
    if no:
        out["unanswerable"] = {
            "n": len(no), "abstention_accuracy": sum(s.abstained for s in no) / len(no),
            "hallucinations": sum(s.answered and not s.abstained for s in no),
            "unanswered": sum(not s.answered for s in no),
        }
    return out


# ---------------------------------------------------------------- retrieval


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Share of the gold ids among the first k ranked ids."""
    return len(set(ranked[:k]) & set(gold)) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    """1 / rank of the first gold id (0 when none is ranked)."""
    return next((1 / r for r, sid in enumerate(ranked, 1) if sid in gold), 0.0)


@dataclass
class RetrievalScore:
    """A ranked list of sentence ids for one query, with the gold ids its support strings overlap."""

    id: str
    query: str
    language: str  # the article's language
    query_language: str
    gold: list[str]
    ranked: list[str]


def score_retrieval(query: RetrievalQuery, ranked: Sequence[str], doc: Document) -> RetrievalScore:
    """A query's ranking with its gold ids: the sentences its support strings overlap in `doc`."""
    gold = sorted(support_to_ids(doc, query.support))
    return RetrievalScore(query.id, query.query, doc.language, query.lang, gold, list(ranked))


def retrieval_metrics(scores: Sequence[RetrievalScore], ks: Sequence[int] = (1, 3, 5, 10)) -> dict:
    """Mean recall@k and MRR over queries."""
    if not scores:
        return {}
    out: dict = {"queries": len(scores)}
    for k in ks:
        out[f"recall@{k}"] = sum(recall_at_k(s.ranked, s.gold, k) for s in scores) / len(scores)
    out["mrr"] = sum(reciprocal_rank(s.ranked, s.gold) for s in scores) / len(scores)
    return out
