"""Eval report: metrics overall and per language, failing items with their source sentences, written as
eval-report.json and a self-contained eval-report.html; minimum-metric checks for CI."""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from html import escape
from pathlib import Path

from coopqa.files import atomic_write
from coopqa.scoring import (
    AnswerScore,
    EvidenceScore,
    RetrievalScore,
    SummaryScore,
    answer_metrics,
    evidence_metrics,
    retrieval_metrics,
    states,
    summary_metrics,
)
from coopqa.types import SCHEMA_VERSION

RETRIEVAL_MISS_K = 5  # a query whose gold sentences are all below this rank is listed as a failure
_ORDER = ("en", "ar", "fa", "cross")


def _sections(summaries: Sequence[SummaryScore], evidence: Sequence[EvidenceScore],
              answers: Sequence[AnswerScore], retrieval: Sequence[RetrievalScore]) -> dict:
    parts: list[tuple[str, Callable[[Sequence], dict], Sequence]] = [
        ("summary", summary_metrics, summaries), ("evidence", evidence_metrics, evidence),
        ("answers", answer_metrics, answers), ("retrieval", retrieval_metrics, retrieval),
    ]
    return {name: metrics(items) for name, metrics, items in parts if items}


def _sources(ids: Sequence[str], sentences: Mapping[str, str]) -> list[dict]:
    return [{"id": i, "text": sentences.get(i, "(no such sentence)")} for i in ids]


def _stating(doc_id: str, value: str, sentences: Mapping[str, str]) -> list[dict]:
    """The document's sentences that state `value` (where an omitted label value was to be found)."""
    prefix = f"{doc_id}:s"
    return [{"id": i, "text": t} for i, t in sentences.items() if i.startswith(prefix) and states(t, value)]


def _failure(kind: str, language: str, item: str, field: str, output: str, expected: str,
             sources: list[dict]) -> dict:
    return {"kind": kind, "language": language, "item": item, "field": field, "output": output,
            "expected": expected, "sources": sources}


def _failures(summaries: Sequence[SummaryScore], evidence: Sequence[EvidenceScore],
              answers: Sequence[AnswerScore], retrieval: Sequence[RetrievalScore],
              sentences: Mapping[str, str]) -> Iterator[dict]:
    for s in summaries:
        for name, f in s.fields.items():
            for value in f.omitted:
                yield _failure("omission", s.language, s.doc_id, name, "", value,
                               _stating(s.doc_id, value, sentences))
            for h in f.hallucinated:
                yield _failure("hallucination", s.language, s.doc_id, name, h["value"], "",
                               _sources(h["evidence"], sentences))
    for e in evidence:
        for sid in e.invalid_ids:
            yield _failure("invalid_evidence", e.language, e.doc_id, "evidence", sid, "", [])
        for u in e.unsupported:
            yield _failure("unsupported", e.language, e.doc_id, u["field"], u["value"], "",
                           _sources(u["evidence"], sentences))
    for a in answers:
        if not a.answered:
            yield _failure("unanswered", a.language, a.question, "answer", "", a.expected, [])
        elif not a.answerable and not a.abstained:
            yield _failure("answered_unanswerable", a.language, a.question, "answer", a.answer, "(abstain)",
                           _sources(a.cited, sentences))
        elif a.answerable and not a.correct:
            yield _failure("wrong_answer", a.language, a.question, "answer", a.answer, a.expected,
                           _sources(a.cited, sentences))
        for doc_id, text in a.uncovered if a.answered and not a.abstained else []:
            yield _failure("missed_citation", a.language, a.question, "citations", ", ".join(a.cited),
                           text, [{"id": doc_id, "text": text}])
    for r in retrieval:
        if not set(r.ranked[:RETRIEVAL_MISS_K]) & set(r.gold):
            yield _failure("retrieval_miss", r.language, r.query, f"top {RETRIEVAL_MISS_K}",
                           ", ".join(r.ranked[:RETRIEVAL_MISS_K]), ", ".join(r.gold),
                           _sources(r.gold + r.ranked[:1], sentences))


def build_report(
    summaries: Sequence[SummaryScore] = (), evidence: Sequence[EvidenceScore] = (),
    answers: Sequence[AnswerScore] = (), retrieval: Sequence[RetrievalScore] = (),
    sentences: Mapping[str, str] | None = None, meta: Mapping | None = None,
) -> dict:
    """Metrics overall and per language (the article's; "cross" for multi-document questions), and the
    failing items with the text of the sentences involved (`sentences`: id → text)."""
    languages = {x.language for group in (summaries, evidence, answers, retrieval) for x in group}
    by_language = {
        lang: _sections(*([x for x in group if x.language == lang]
                          for group in (summaries, evidence, answers, retrieval)))
        for lang in sorted(languages, key=lambda g: (_ORDER.index(g) if g in _ORDER else len(_ORDER), g))
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "meta": dict(meta or {}),
        "overall": _sections(summaries, evidence, answers, retrieval),
        "by_language": by_language,
        "failures": list(_failures(summaries, evidence, answers, retrieval, sentences or {})),
    }


def _value(report: Mapping, path: str) -> object:
    node: object = report
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def check_thresholds(report: Mapping, mins: Mapping[str, float]) -> list[str]:
    """Failures of `mins` (dot paths into the report, e.g. 'overall.answers.answerable.accuracy' or
    'by_language.fa.summary.fields.participants.f1' → minimum); a missing metric is a failure."""
    failures = []
    for path, minimum in mins.items():
        value = _value(report, path)
        if not isinstance(value, int | float):
            failures.append(f"{path}: not in the report")
        elif value < minimum:
            failures.append(f"{path} = {value:.3f} < {minimum:.3f}")
    return failures


# ---------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{white-space:nowrap;width:11em}
.bar{display:inline-block;width:6em;height:.8em;background:#eee;margin-right:.4em;vertical-align:middle}
.bar span{display:block;height:100%;background:#4a8}.bar.low span{background:#d64}
.kind{font-weight:600;white-space:nowrap}.src{color:#555;font-size:.92em}.src b{color:#888;font-weight:400}
"""


def _leaves(node: Mapping, prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in node.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _cell(value: object) -> str:
    if isinstance(value, float) and 0.0 <= value <= 1.0:
        low = " low" if value < 0.5 else ""
        return f'<td class="num"><span class="bar{low}"><span style="width:{value * 100:.0f}%"></span></span>' \
               f"{value:.3f}</td>"
    return f'<td class="num">{"" if value is None else escape(str(value))}</td>'


def _metrics_table(report: Mapping, section: str) -> str:
    groups = {"overall": report["overall"], **report["by_language"]}
    rows: dict[str, dict[str, object]] = {}
    for group, sections in groups.items():
        for path, value in _leaves(sections.get(section, {})):
            rows.setdefault(path, {})[group] = value
    if not rows:
        return ""
    head = "".join(f"<th>{escape(g)}</th>" for g in groups)
    body = "".join(
        f"<tr><td>{escape(path)}</td>{''.join(_cell(values.get(g)) for g in groups)}</tr>"
        for path, values in rows.items()
    )
    return f"<h2>{escape(section)}</h2><table><tr><th>metric</th>{head}</tr>{body}</table>"


def _failure_row(f: Mapping) -> str:
    sources = "".join(
        f'<div class="src" dir="auto"><b>{escape(s["id"])}</b> {escape(s["text"])}</div>' for s in f["sources"]
    )
    return (
        f'<tr><td class="kind">{escape(f["kind"])}</td><td>{escape(f["language"])}</td>'
        f'<td dir="auto">{escape(f["item"])}</td><td>{escape(f["field"])}</td>'
        f'<td dir="auto">{escape(f["output"])}</td><td dir="auto">{escape(f["expected"])}</td>'
        f"<td>{sources}</td></tr>"
    )


def render_html(report: Mapping) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts or external assets)."""
    tables = "".join(_metrics_table(report, s) for s in ("summary", "evidence", "answers", "retrieval"))
    failures = report["failures"]
    rows = "".join(map(_failure_row, failures))
    meta = "".join(f"<li>{escape(str(k))}: {escape(str(v))}</li>" for k, v in report["meta"].items())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>coopqa eval report</title><style>{_CSS}</style></head><body>"
        f"<h1>coopqa eval report</h1><ul>{meta}</ul>{tables}"
        f"<h2>failing items ({len(failures)})</h2><table><tr><th>kind</th><th>lang</th><th>item</th>"
        f"<th>field</th><th>output</th><th>expected</th><th>source sentences</th></tr>{rows}</table>"
        "</body></html>"
    )


def write_report(report: Mapping, out_dir: Path | str = ".") -> tuple[Path, Path]:
    """Write eval-report.json and eval-report.html into `out_dir`; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "eval-report.json", out / "eval-report.html"
    atomic_write(json_path, json.dumps(report, ensure_ascii=False, indent=2))
    atomic_write(html_path, render_html(report))
    return json_path, html_path
