"""Briefings over stored visit summaries: newest first, grouped by partner country, every statement
footnoted to the sentence that proves it (quoted), and articles about the same visit merged into one entry.

Two summaries describe the same visit when they have the same partner country, share a participant (names
matched across scripts, coopqa.translit) and their dates are at most `MERGE_DAYS` apart (an undated one
merges on the shared participant alone).

    entries = build_briefing(summaries, lookup)      # lookup: sentence id -> text (e.g. from the Store)
    print(render(entries, fmt="md"))                 # or fmt="html": one self-contained page
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from typing import Any

from coopqa.citations import canonical_country, country_code, english_country
from coopqa.translit import names_match

MERGE_DAYS = 3
IRAN = "Iran"
AREA_NAMES = {
    "co_production": "co-production", "film_exchange_distribution": "film exchange and distribution",
    "festivals": "festivals", "film_weeks": "film weeks", "training_workshops": "training and workshops",
    "academic_exchange": "academic exchange", "dubbing": "dubbing", "archives_libraries": "archives and libraries",
    "locations_studios_facilities": "locations, studios and facilities", "expert_exchange": "exchange of experts",
    "ai_media_training": "AI and media training", "joint_committee": "joint committee",
    "animation": "animation", "documentary": "documentary", "children_youth": "children and youth",
    "market_access": "market access",
}

Lookup = Callable[[str], str | None]


# ---------------------------------------------------------------- building


@dataclass
class Statement:
    """One line of an entry: text and the sentence ids that prove it."""

    label: str
    text: str
    evidence: list[str]


@dataclass
class Entry:
    """One visit, from one or more articles."""

    partner: str
    date: str | None
    title: str
    doc_ids: list[str]
    statements: list[Statement] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)


def partner_country(summary: Mapping[str, Any]) -> str:
    """The non-Iran country of a summary: the first listed, else the location's; 'Other' when none."""
    names = [c.get("name") for c in summary.get("countries") or [] if c.get("name")]
    loc = (summary.get("location") or {}).get("country")
    for name in [*names, loc]:
        if name and canonical_country(name) != IRAN:
            return english_country(name)
    return "Other"


def _as_date(value: str | None, end: bool = False) -> Date | None:
    """A date from YYYY[-MM[-DD]]: the first (or, end=True, the last) day of the period."""
    if not value:
        return None
    parts = value.split("-")
    try:
        y = int(parts[0])
        m = int(parts[1]) if len(parts) > 1 else (12 if end else 1)
        if len(parts) > 2:
            return Date(y, m, int(parts[2]))
        if not end:
            return Date(y, m, 1)
        nxt = Date(y + (m == 12), m % 12 + 1, 1)
        return Date.fromordinal(nxt.toordinal() - 1)
    except (ValueError, IndexError):
        return None


def _people(summary: Mapping[str, Any]) -> list[str]:
    return [n for p in summary.get("participants") or [] for n in (p.get("name"), p.get("name_original")) if n]


def same_visit(a: Mapping[str, Any], b: Mapping[str, Any], days: int = MERGE_DAYS) -> bool:
    """Same partner, a shared participant, and dates at most `days` apart (or one of them undated)."""
    if partner_country(a) != partner_country(b):
        return False
    if not any(names_match(x, y) for x in _people(a) for y in _people(b)):
        return False
    da, db = _as_date(a.get("date")), _as_date(b.get("date"))
    if da is None or db is None:
        return True
    # month/year precision: compare the periods' nearest days
    lo_a, hi_a = da, _as_date(a.get("date"), end=True) or da
    lo_b, hi_b = db, _as_date(b.get("date"), end=True) or db
    gap = max((lo_b - hi_a).days, (lo_a - hi_b).days, 0)
    return gap <= days


def _in_range(summary: Mapping[str, Any], since: str | None, until: str | None) -> bool:
    if not since and not until:
        return True
    lo, hi = _as_date(summary.get("date")), _as_date(summary.get("date"), end=True)
    if lo is None:
        return False
    s, u = _as_date(since), _as_date(until, end=True)
    if (since and s is None) or (until and u is None):
        raise ValueError(f"dates must be YYYY, YYYY-MM or YYYY-MM-DD (got since={since!r}, until={until!r})")
    return (s is None or hi >= s) and (u is None or lo <= u)


def _who(p: Mapping[str, Any]) -> str:
    name, original = p.get("name") or "", p.get("name_original") or ""
    shown = name if not original or original == name else f"{name} ({original})"
    extra = ", ".join(x for x in (p.get("role"), p.get("organization"), p.get("country")) if x)
    return f"{shown}, {extra}" if extra else shown


def _merge_named(items: Iterable[tuple[str, list[str], list[str]]]) -> list[tuple[str, list[str]]]:
    """(shown, names, evidence) → one line per person, evidence pooled, names matched across scripts."""
    out: list[tuple[str, list[str], list[str]]] = []
    for shown, names, evidence in items:
        for k, (s0, n0, e0) in enumerate(out):
            if any(names_match(x, y) for x in names for y in n0):
                out[k] = (s0 if len(s0) >= len(shown) else shown, n0 + names, list(dict.fromkeys(e0 + evidence)))
                break
        else:
            out.append((shown, names, list(evidence)))
    return [(s, e) for s, _, e in out]


def _entry(group: Sequence[Mapping[str, Any]]) -> Entry:
    group = sorted(group, key=lambda s: (s.get("date") or "", s.get("doc_id", "")))
    dated = [s.get("date") for s in group if s.get("date")]
    head = max(group, key=lambda s: len(s.get("participants") or []) + len(s.get("cooperation_areas") or []))
    entry = Entry(partner=partner_country(head), date=min(dated, key=len) if dated else None,
                  title=head.get("title") or head.get("doc_id", ""), doc_ids=[s["doc_id"] for s in group],
                  summaries=list(group))
    if dated:  # the most precise of the earliest dates
        entry.date = sorted(dated, key=lambda d: (d[:7], -len(d)))[0]
    for s in group:
        if s.get("summary"):
            entry.statements.append(Statement("Summary", s["summary"], list(s.get("summary_evidence") or [])))
    for s in group:
        if s.get("date") and s.get("date_evidence"):
            shown = s["date"] if (s.get("date_text") or s["date"]) == s["date"] else f"{s['date']} ({s['date_text']})"
            entry.statements.append(Statement("Date", shown, list(s["date_evidence"])))
            break
    for s in group:
        loc = s.get("location") or {}
        if (loc.get("city") or loc.get("country")) and loc.get("evidence"):
            entry.statements.append(Statement("Place", ", ".join(x for x in (loc.get("city"), loc.get("country"))
                                                                 if x), list(loc["evidence"])))
            break
    people = _merge_named((_who(p), [n for n in (p.get("name"), p.get("name_original")) if n],
                           list(p.get("evidence") or [])) for s in group for p in s.get("participants") or [])
    entry.statements += [Statement("Participant", shown, ev) for shown, ev in people]
    seen_deals: dict[tuple[str, str], Statement] = {}
    for s in group:
        for a in s.get("agreements") or []:
            key = (str(a.get("kind")), str(a.get("status")))
            text = f"{a.get('kind')} ({a.get('status')})"
            if len(a.get("parties") or []) > 1:
                text += " between " + " and ".join(a["parties"])
            elif a.get("parties"):
                text += f" (party: {a['parties'][0]})"
            if a.get("description"):
                text += f": {a['description']}"
            if key in seen_deals:
                seen_deals[key].evidence = list(dict.fromkeys(seen_deals[key].evidence + list(a.get("evidence") or [])))
            else:
                seen_deals[key] = Statement("Agreement", text, list(a.get("evidence") or []))
    entry.statements += list(seen_deals.values())
    areas: dict[str, list[str]] = {}
    for s in group:
        for a in s.get("cooperation_areas") or []:
            areas.setdefault(a["area"], [])
            areas[a["area"]] += [i for i in a.get("evidence") or [] if i not in areas[a["area"]]]
    entry.statements += [Statement("Area", AREA_NAMES.get(a, a), ev[:2]) for a, ev in areas.items()]
    for s in group:
        entry.statements += [Statement("Next step", f["text"], list(f.get("evidence") or []))
                             for f in s.get("follow_ups") or []]
    return entry


def build_briefing(summaries: Iterable[Mapping[str, Any]], *, country: str | None = None, since: str | None = None,
                   until: str | None = None, days: int = MERGE_DAYS) -> list[Entry]:
    """Entries (merged visits) for the summaries that pass the filters, newest first."""
    wanted = country_code(country) or canonical_country(country) if country else None
    chosen = []
    for s in summaries:
        if wanted and (country_code(partner_country(s)) or canonical_country(partner_country(s))) != wanted:
            continue
        if _in_range(s, since, until):
            chosen.append(s)
    groups: list[list[Mapping[str, Any]]] = []
    for s in sorted(chosen, key=lambda s: (s.get("date") or "", s.get("doc_id", ""))):
        for g in groups:
            if any(same_visit(s, other, days) for other in g):
                g.append(s)
                break
        else:
            groups.append([s])
    entries = [_entry(g) for g in groups]
    return sorted(entries, key=lambda e: (e.date is not None, e.date or "", e.doc_ids[0]), reverse=True)


def grouped(entries: Sequence[Entry]) -> list[tuple[str, list[Entry]]]:
    """(partner, entries newest first), partners ordered by their newest entry."""
    order: dict[str, list[Entry]] = {}
    for e in entries:  # entries come newest first
        order.setdefault(e.partner, []).append(e)
    return list(order.items())


# ---------------------------------------------------------------- rendering


def _lines(statements: Sequence[Statement]) -> list[tuple[str, list[Statement]]]:
    """One line per statement, except that the cooperation areas share one line ("Areas")."""
    out: list[tuple[str, list[Statement]]] = []
    for st in statements:
        if st.label == "Area" and out and out[-1][0] == "Areas":
            out[-1][1].append(st)
        else:
            out.append(("Areas" if st.label == "Area" else st.label, [st]))
    return out


class _Notes:
    """Footnotes numbered in order of first use, one per sentence id."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.ids: dict[str, int] = {}

    def refs(self, ids: Iterable[str]) -> list[int]:
        out = []
        for i in ids:
            if i not in self.ids:
                self.ids[i] = len(self.ids) + 1
            out.append(self.ids[i])
        return list(dict.fromkeys(out))

    def items(self) -> list[tuple[int, str, str]]:
        return [(n, i, (self.lookup(i) or "(sentence text unavailable)")) for i, n in self.ids.items()]


def _filters(country: str | None, since: str | None, until: str | None) -> str:
    parts = [f"partner {country}" if country else "", f"from {since}" if since else "",
             f"until {until}" if until else ""]
    return ", ".join(p for p in parts if p) or "all partners, all dates"


def render_markdown(entries: Sequence[Entry], lookup: Lookup, *, country: str | None = None,
                    since: str | None = None, until: str | None = None) -> str:
    notes = _Notes(lookup)
    lines = ["# Briefing: Iran's cultural and film cooperation", "",
             f"_{len(entries)} visit(s) from {sum(len(e.doc_ids) for e in entries)} article(s); "
             f"{_filters(country, since, until)}. Every statement cites the sentence that states it._", ""]
    if not entries:
        lines.append("No summaries match.")
    for partner, group in grouped(entries):
        lines += [f"## {partner}", ""]
        for e in group:
            lines += [f"### {e.date or 'undated'} — {e.title}", "",
                      f"Sources: {', '.join(f'`{d}`' for d in e.doc_ids)}" + (" (merged: same visit)"
                                                                             if len(e.doc_ids) > 1 else ""), ""]
            for label, group_ in _lines(e.statements):
                parts = [f"{st.text}{''.join(f'[^{n}]' for n in notes.refs(st.evidence))}" for st in group_]
                lines.append(f"- **{label}:** {', '.join(parts)}")
            lines.append("")
    if notes.ids:
        lines += ["---", ""]
        for n, sid, text in notes.items():
            lines.append(f"[^{n}]: `{sid}` — “{' '.join(text.split())}”")
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Naskh Arabic",Tahoma,sans-serif;
max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1d2733}
h1{font-size:1.6rem}h2{border-bottom:2px solid #d5dde6;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.1rem;margin-bottom:.2rem}.meta{color:#5a6b7d;font-size:.9rem}
.entry{background:#f6f8fa;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
ul{padding-inline-start:1.2rem}li{margin:.2rem 0}.label{font-weight:600}
sup a{text-decoration:none;color:#0b61a4}ol.notes{font-size:.9rem;color:#333}
ol.notes q{quotes:"“" "”";unicode-bidi:isolate}code{font-size:.85em;color:#5a6b7d}
"""


def render_html(entries: Sequence[Entry], lookup: Lookup, *, country: str | None = None,
                since: str | None = None, until: str | None = None) -> str:
    notes = _Notes(lookup)
    esc = html.escape
    body = ["<h1>Briefing: Iran's cultural and film cooperation</h1>",
            f"<p class=meta>{len(entries)} visit(s) from {sum(len(e.doc_ids) for e in entries)} article(s); "
            f"{esc(_filters(country, since, until))}. Every statement cites the sentence that states it.</p>"]
    if not entries:
        body.append("<p>No summaries match.</p>")
    for partner, group in grouped(entries):
        body.append(f"<h2>{esc(partner)}</h2>")
        for e in group:
            merged = " (merged: same visit)" if len(e.doc_ids) > 1 else ""
            items = []
            for label, group_ in _lines(e.statements):
                parts = []
                for st in group_:
                    marks = "".join(f'<sup><a href="#n{n}" id="r{n}">[{n}]</a></sup>' for n in notes.refs(st.evidence))
                    parts.append(f'<span dir="auto">{esc(st.text)}</span>{marks}')
                items.append(f"<li><span class=label>{esc(label)}:</span> {', '.join(parts)}</li>")
            body.append(
                f'<section class=entry><h3 dir="auto">{esc(e.date or "undated")} — {esc(e.title)}</h3>'
                f"<div class=meta>Sources: {', '.join(f'<code>{esc(d)}</code>' for d in e.doc_ids)}{merged}</div>"
                f"<ul>{''.join(items)}</ul></section>")
    if notes.ids:
        body.append("<h2>Sources</h2><ol class=notes>")
        for n, sid, text in notes.items():
            body.append(f'<li id="n{n}"><code>{esc(sid)}</code> <q dir="auto">{esc(" ".join(text.split()))}</q> '
                        f'<a href="#r{n}">↩</a></li>')
        body.append("</ol>")
    return ("<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>coopqa briefing</title><style>{_CSS}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")


def render(entries: Sequence[Entry], lookup: Lookup, *, fmt: str = "md", country: str | None = None,
           since: str | None = None, until: str | None = None) -> str:
    if fmt == "md":
        return render_markdown(entries, lookup, country=country, since=since, until=until)
    if fmt == "html":
        return render_html(entries, lookup, country=country, since=since, until=until)
    raise ValueError(f"unknown format {fmt!r} (md or html)")


def store_lookup(store: Any) -> Lookup:
    """Sentence id → text from a coopqa Store (documents loaded once each)."""
    cache: dict[str, Any] = {}

    def lookup(sid: str) -> str | None:
        doc_id = sid.rsplit(":s", 1)[0]
        if doc_id not in cache:
            cache[doc_id] = store.document(doc_id)
        doc = cache[doc_id]
        s = doc.sentence(sid) if doc is not None else None
        return s.text if s is not None else None

    return lookup


# ---------------------------------------------------------------- one summary as Markdown


def summary_markdown(summary: Mapping[str, Any], lookup: Lookup) -> str:
    """One visit summary as Markdown: each fact footnoted with the sentence it cites, quoted."""
    notes = _Notes(lookup)

    def marks(ids: Iterable[str] | None) -> str:
        return "".join(f"[^{n}]" for n in notes.refs(ids or []))

    s = summary
    lines = [f"# {s.get('title') or s.get('doc_id')}", "",
             f"`{s.get('doc_id')}` · {s.get('language')} · model {s.get('model') or '-'} · "
             f"{s.get('elapsed_s', 0)} s", ""]
    if s.get("summary"):
        lines += [f"{s['summary']}{marks(s.get('summary_evidence'))}", ""]
    if s.get("date"):
        lines.append(f"- **Date:** {s['date']} ({s.get('date_text') or s['date']}){marks(s.get('date_evidence'))}")
    loc = s.get("location") or {}
    if loc.get("city") or loc.get("country"):
        lines.append(f"- **Place:** {', '.join(x for x in (loc.get('city'), loc.get('country')) if x)}"
                     f"{marks(loc.get('evidence'))}")
    if s.get("countries"):
        lines.append("- **Countries:** " + ", ".join(f"{c['name']}{marks(c.get('evidence'))}" for c in s["countries"]))
    for p in s.get("participants") or []:
        lines.append(f"- **Participant:** {_who(p)}{marks(p.get('evidence'))}")
    for o in s.get("organizations") or []:
        shown = o["name"] if o.get("name_original") in (None, o["name"]) else f"{o['name']} ({o['name_original']})"
        lines.append(f"- **Organization:** {shown}{', ' + o['country'] if o.get('country') else ''}"
                     f"{marks(o.get('evidence'))}")
    for a in s.get("agreements") or []:
        parties = f" between {' and '.join(a['parties'])}" if len(a.get("parties") or []) > 1 else (
            f" (party: {a['parties'][0]})" if a.get("parties") else "")
        desc = f": {a['description']}" if a.get("description") else ""
        lines.append(f"- **Agreement:** {a['kind']} ({a['status']}){parties}{desc}{marks(a.get('evidence'))}")
    if s.get("cooperation_areas"):
        lines.append("- **Cooperation areas:** " + ", ".join(
            f"{AREA_NAMES.get(a['area'], a['area'])}{marks(a.get('evidence'))}" for a in s["cooperation_areas"]))
    for f in s.get("follow_ups") or []:
        lines.append(f"- **Next step:** {f['text']}{marks(f.get('evidence'))}")
    if s.get("dropped"):
        lines += ["", "<details><summary>Dropped (not supported by the cited sentences)</summary>", ""]
        lines += [f"- {d['field']}: {d['value']} — {d['reason']}" for d in s["dropped"]]
        lines += ["", "</details>"]
    if notes.ids:
        lines += ["", "---", ""]
        lines += [f"[^{n}]: `{sid}` — “{' '.join(text.split())}”" for n, sid, text in notes.items()]
    return "\n".join(lines).rstrip() + "\n"
