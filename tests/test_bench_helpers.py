"""The benchmarks' own logic that needs no model: RESULTS.md sections and LangExtract's output mapping."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _langextract import to_summary  # noqa: E402
from _results import write_section  # noqa: E402

from coopqa.types import Document, Sentence  # noqa: E402


def test_write_section_replaces_only_its_own_block(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n<!-- a:start -->\nold a\n<!-- a:end -->\n\n"
                    "<!-- b:start -->\nkeep b\n<!-- b:end -->\n", encoding="utf-8")
    write_section("a", "new a", path)
    write_section("c", "first c", path)
    write_section("c", "second c", path)
    text = path.read_text(encoding="utf-8")
    assert "old a" not in text and "<!-- a:start -->\nnew a\n<!-- a:end -->" in text
    assert "<!-- b:start -->\nkeep b\n<!-- b:end -->" in text
    assert text.count("<!-- c:start -->") == 1 and "second c" in text and "first c" not in text


def _x(cls: str, text: str, start: int | None = None, **attrs: str) -> SimpleNamespace:
    interval = SimpleNamespace(start_pos=start) if start is not None else None
    return SimpleNamespace(extraction_class=cls, extraction_text=text, attributes=attrs, char_interval=interval)


def test_langextract_extractions_become_a_scorable_summary() -> None:
    text = "Yamila Fernández met Iran's envoy. Fernández praised ایران."
    doc = Document(doc_id="d", text=text, language="en", sentences=[
        Sentence(id="d:s1", start=0, end=34, text=text[:34]),
        Sentence(id="d:s2", start=35, end=len(text), text=text[35:])])
    summary = to_summary([
        _x("participant", "Yamila Fernández", 0, english_name="Yamila Fernández"),
        _x("participant", "Fernández", 35, english_name="Fernández"),  # the same person again
        _x("country", "Iran", 21, english_name="Iran"),
        _x("country", "ایران", 54, english_name="Islamic Republic of Iran"),  # the same country again
        _x("cooperation_area", "film week", None, area="film_weeks"),
        _x("cooperation_area", "poetry", None, area="poetry"),  # not in the enum
        _x("date", "someday", None, iso="soon"),  # not a date
        _x("date", "May 2024", None, iso="2024-05"),
    ], doc)
    assert [p["name"] for p in summary["participants"]] == ["Yamila Fernández"]
    assert summary["participants"][0]["evidence"] == ["d:s1"]
    assert [c["name"] for c in summary["countries"]] == ["Iran"]
    assert [a["area"] for a in summary["cooperation_areas"]] == ["film_weeks"]
    assert summary["dropped"] == [{"field": "cooperation_areas", "value": "poetry", "reason": "not in the enum"}]
    assert summary["date"] == "2024-05"
