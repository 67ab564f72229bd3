"""Briefings: grouping by partner, newest first, merging articles about the same visit, footnotes with quotes,
filters, HTML; and the summarize/brief CLI over stored summaries (fake LLM)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coopqa.brief import (
    build_briefing,
    partner_country,
    render,
    same_visit,
    summary_markdown,
)

SENTENCES = {
    "kz_en:s2": "Iran and Kazakhstan signed a film MoU in Astana on 11 December 2024.",
    "kz_en:s3": "The MoU was signed by Abbas Salehi and Aida Balayeva.",
    "kz_fa:s1": "عباس صالحی وزیر فرهنگ ایران و آیدا بالایوا در آستانه تفاهم‌نامه امضا کردند.",
    "ru_en:s1": "Iranian and Russian officials met in Moscow on 22 October 2024.",
    "by_ar:s1": "التقى محمد خزاعي مع سفير بيلاروسيا.",
}


def summary(doc_id: str, partner: str, date: str | None, people: list[tuple[str, str, str]], **extra) -> dict:
    ev = [i for i in SENTENCES if i.startswith(doc_id)]
    return {
        "schema_version": 1, "doc_id": doc_id, "language": "en", "title": f"{partner} visit ({doc_id})",
        "date": date, "date_text": date, "date_evidence": ev[:1] if date else [],
        "location": None,
        "countries": [{"name": "Iran", "evidence": ev[:1]}, {"name": partner, "evidence": ev[:1]}],
        "participants": [{"name": n, "name_original": o, "role": None, "organization": None, "country": None,
                          "evidence": [e]} for n, o, e in people],
        "organizations": [], "agreements": extra.pop("agreements", []),
        "cooperation_areas": extra.pop("areas", []), "follow_ups": [],
        "summary": extra.pop("text", f"Officials of Iran and {partner} met."), "summary_evidence": ev[:1],
        "dropped": [], "model": "fake", "elapsed_s": 1.0, **extra,
    }


KZ_EN = summary("kz_en", "Kazakhstan", "2024-12-11", [("Abbas Salehi", "Abbas Salehi", "kz_en:s3"),
                                                       ("Aida Balayeva", "Aida Balayeva", "kz_en:s3")],
                agreements=[{"kind": "MoU", "status": "signed", "parties": ["Iran", "Kazakhstan"],
                             "description": "film cooperation", "evidence": ["kz_en:s2"]}],
                areas=[{"area": "co_production", "evidence": ["kz_en:s2"]}])
KZ_FA = summary("kz_fa", "Kazakhstan", "2024-12-12", [("Abbas Salehi", "عباس صالحی", "kz_fa:s1")],
                agreements=[{"kind": "MoU", "status": "signed", "parties": [], "description": "",
                             "evidence": ["kz_fa:s1"]}])
RU = summary("ru_en", "Russia", "2024-10-22", [("Yelena Morozova", "Yelena Morozova", "ru_en:s1")])
BY = summary("by_ar", "Belarus", None, [("Mohammad Khazaei", "محمد خزاعي", "by_ar:s1")])


def test_partner_and_same_visit_rules() -> None:
    assert partner_country(KZ_FA) == "Kazakhstan" and partner_country(BY) == "Belarus"
    assert same_visit(KZ_EN, KZ_FA)  # same partner, Salehi in both scripts, one day apart
    later = {**KZ_FA, "date": "2025-03-01"}
    assert not same_visit(KZ_EN, later)  # too far apart
    stranger = {**KZ_FA, "participants": [{"name": "Someone Else", "name_original": "Someone Else"}]}
    assert not same_visit(KZ_EN, stranger)  # nobody in common
    assert not same_visit(KZ_EN, {**KZ_FA, "countries": [{"name": "Iran"}, {"name": "Russia"}]})
    assert same_visit({**KZ_EN, "date": "2024-12"}, KZ_FA)  # month precision overlaps


def test_briefing_merges_groups_and_orders_newest_first() -> None:
    entries = build_briefing([RU, KZ_FA, BY, KZ_EN])
    assert [e.partner for e in entries] == ["Kazakhstan", "Russia", "Belarus"]  # undated last
    kz = entries[0]
    assert kz.doc_ids == ["kz_en", "kz_fa"] and kz.date == "2024-12-11"
    people = [s for s in kz.statements if s.label == "Participant"]
    assert len(people) == 2  # Salehi merged across scripts, his evidence pooled
    salehi = next(s for s in people if "Salehi" in s.text)
    assert set(salehi.evidence) == {"kz_en:s3", "kz_fa:s1"}
    deals = [s for s in kz.statements if s.label == "Agreement"]
    assert len(deals) == 1 and set(deals[0].evidence) == {"kz_en:s2", "kz_fa:s1"}


def test_filters() -> None:
    summaries = [RU, KZ_FA, BY, KZ_EN]
    assert [e.partner for e in build_briefing(summaries, country="قزاقستان")] == ["Kazakhstan"]
    assert [e.partner for e in build_briefing(summaries, country="kazakh")] == ["Kazakhstan"]
    assert [e.partner for e in build_briefing(summaries, since="2024-11")] == ["Kazakhstan"]
    assert [e.partner for e in build_briefing(summaries, until="2024-10-31")] == ["Russia"]
    with pytest.raises(ValueError):
        build_briefing(summaries, since="last week")


def test_markdown_footnotes_quote_every_cited_sentence() -> None:
    md = render(build_briefing([RU, KZ_FA, BY, KZ_EN]), SENTENCES.get, fmt="md")
    assert md.index("## Kazakhstan") < md.index("## Russia") < md.index("## Belarus")
    assert "(merged: same visit)" in md
    notes = dict(re.findall(r"^\[\^(\d+)\]: `([^`]+)`", md, flags=re.M))
    used = set(re.findall(r"\[\^(\d+)\](?!:)", md))
    assert used == set(notes)  # every marker has its footnote and vice versa
    for sid in notes.values():
        assert SENTENCES[sid] in md  # quoted verbatim
    for line in md.splitlines():
        if line.startswith("- **"):
            assert re.search(r"\[\^\d+\]$", line), line  # every statement is footnoted


def test_html_is_self_contained_with_rtl_quotes() -> None:
    page = render(build_briefing([KZ_FA, KZ_EN]), SENTENCES.get, fmt="html")
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "<link" not in page and "<script" not in page and "http" not in page.replace("https://", "")
    assert '<q dir="auto">عباس صالحی' in page
    assert page.count('href="#n') == page.count('id="r')


def test_summary_markdown() -> None:
    md = summary_markdown(KZ_EN, SENTENCES.get)
    assert md.startswith("# Kazakhstan visit") and "**Agreement:** MoU (signed) between Iran and Kazakhstan" in md
    assert "“The MoU was signed by Abbas Salehi and Aida Balayeva.”" in md


# ---------------------------------------------------------------- CLI over a fake LLM


def test_cli_summarize_all_and_brief(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coopqa import cli
    from coopqa.api import CoopQA
    from test_summarize import EN, FA, FakeLLM, en_script

    src = tmp_path / "docs"
    src.mkdir()
    (src / "en1.txt").write_text(EN, encoding="utf-8")
    (src / "fa1.txt").write_text(FA, encoding="utf-8")
    home = tmp_path / "home"
    CoopQA(home=home).ingest([src])
    monkeypatch.setattr(CoopQA, "llm", FakeLLM(en_script()))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(cli.app, ["--home", str(home), "summarize", "--all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["en1.json", "en1.md", "fa1.json", "fa1.md"]
    result = runner.invoke(cli.app, ["--home", str(home), "summarize", "en1", "--json"])
    assert result.exit_code == 0 and '"schema_version": 1' in result.output
    brief = tmp_path / "brief.html"
    result = runner.invoke(cli.app, ["--home", str(home), "brief", "--format", "html", "-o", str(brief)])
    assert result.exit_code == 0, result.output
    assert brief.read_text(encoding="utf-8").count("<section class=entry>") == 2
    result = runner.invoke(cli.app, ["--home", str(home), "brief", "--country", "Tunisia"])
    assert result.exit_code == 0 and "## Tunisia" in result.output and "## Kazakhstan" not in result.output
    result = runner.invoke(cli.app, ["--home", str(home), "summarize", "nope"])
    assert result.exit_code != 0
