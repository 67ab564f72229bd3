"""Property-based bad input (hypothesis): random Unicode (mixed RTL/LTR, control characters, very long lines, no
sentence punctuation), malformed HTML and JSONL into the readers, segmentation and ingestion: nothing crashes
(a bad file is a one-line ReadError), and every sentence's offsets map back to the original text exactly."""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from coopqa.api import CoopQA
from coopqa.ingest import build_document
from coopqa.readers import RawDoc, ReadError, decode, read_file
from coopqa.segment import MAX_SENTENCE_CHARS, segment
from coopqa.types import CoopqaError

# Letters and digits of the three scripts, sentence punctuation, every kind of line break and space, bidi
# controls (RLM, LRM, RLE, RLO, PDF, isolates), ZWNJ/ZWJ, tatweel, harakat, and C0/C1 control characters.
PIECES = (
    list("abcXYZ019") + list("ابتثجحكيىةءآأإؤئ") + list("پچژگکی") + list("٠١٢٩۰۱۴۹") + list(".!?؟؛۔…,:;\"'”»)]")
    + ["\n", "\r\n", "\r", "\t", " ", "\u00a0", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"]
    + ["\u200f", "\u200e", "\u202b", "\u202e", "\u202c", "\u2066", "\u2069", "\u200c", "\u200d", "\u0640",
       "\u064e", "\u0651", "\ufeff", "\x00", "\x01", "\x1b", "\x7f", "\x9b"]
    + ["Dr.", "U.S.", "e.g.", "3.5", "1404/01/24", "Mr. ", "About Us\n", "© 2024\n", "lorem ipsum"]
)
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=120).map("".join)
words = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=14)
long_lines = st.lists(words, min_size=100, max_size=500).map(" ".join)  # no sentence punctuation at all
unbroken = st.text(st.characters(categories=["L"]), min_size=MAX_SENTENCE_CHARS, max_size=3000)  # no spaces


def assert_sentences_map_back(text: str, doc_id: str = "d") -> None:
    sentences = segment(text, doc_id)
    end = 0
    for n, s in enumerate(sentences, 1):
        assert s.id == f"{doc_id}:s{n}"
        assert text[s.start : s.end] == s.text and s.text.strip() == s.text and s.text
        assert end <= s.start < s.end <= len(text)
        assert len(s.text) <= MAX_SENTENCE_CHARS
        end = s.end


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, long_lines, unbroken, st.text()))
def test_segment_offsets_map_back(text: str) -> None:
    assert_sentences_map_back(text)


@settings(max_examples=150, deadline=None)
@given(st.one_of(texts, long_lines, st.text()), st.sampled_from(["", "Title", "عنوان"]),
       st.sampled_from([None, "2024-05-01", "garbage"]))
def test_build_document_keeps_text_and_offsets(text: str, title: str, date: str | None) -> None:
    doc = build_document(RawDoc("d", text, "d.txt", title=title, date=date))
    assert doc.text == text and doc.language in ("en", "ar", "fa") and isinstance(doc.title, str)
    for s in doc.sentences:
        assert text[s.start : s.end] == s.text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | texts.map(lambda t: t.encode()))
def test_decode_returns_text_or_a_read_error(data: bytes) -> None:
    try:
        text = decode(data, Path("x.txt"))
    except ReadError as e:
        assert "\n" not in str(e) and str(e).startswith("x.txt: ")
        return
    assert text.strip() and "\x00" not in text


TAGS = ["<p>", "</p>", "<div class='x'>", "</div>", "<article>", "</article>", "<h1>", "</h1>", "<br>", "<br/>",
        "<script>var a = '</p>';", "</script>", "<style>p{}</style>", "<!--", "-->", "<![CDATA[", "]]>", "<",
        ">", "&amp;", "&#x64A;", "&#1610;", "&bogus;", "&#xZZ;", "<title>", "</title>", "<html>", "<body dir=rtl>",
        "<meta charset='windows-1256'>", "<table><tr><td>", "<a href='javascript:x'>", "</a>", "<nav>Home</nav>",
        "<?xml version='1.0'?>", "<!DOCTYPE html>", "<p dir='rtl'>", "<span>", "\x00", "\ufeff", "<footer>"]
html = st.lists(st.sampled_from(TAGS) | texts | st.just("Iran and Cuba held a film week in Havana. " * 3),
                max_size=60).map("".join)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                     max_size=3), max_leaves=6)
records = st.fixed_dictionaries(
    {"id": words | st.text(max_size=4) | json_values, "text": texts | json_values},
    optional={"title": json_values | texts, "date": json_values | texts, "source": json_values})
jsonl_lines = st.lists(records.map(lambda r: json.dumps(r, ensure_ascii=False)) | texts.map(lambda t: t.replace(
    "\n", " ")) | st.just("{broken"), max_size=8).map("\n".join)
names = itertools.count()


def read(suffix: str, content: str, folder: Path) -> tuple[list[RawDoc], list[ReadError]]:
    path = folder / f"f{next(names)}{suffix}"
    path.write_bytes(content.encode())
    try:
        return read_file(path)
    except ReadError as e:
        return [], [e]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.tuples(st.just(".html"), html), st.tuples(st.just(".jsonl"), jsonl_lines),
                 st.tuples(st.just(".json"), st.lists(records, max_size=4).map(json.dumps) | jsonl_lines),
                 st.tuples(st.just(".txt"), texts)))
@example((".jsonl", '{"id": "!!!", "text": "No usable id."}\n{"id": "a", "text": "ok.", "date": {"d": 1}}'))
def test_readers_return_documents_or_one_line_errors(case: tuple[str, str]) -> None:
    suffix, content = case
    with tempfile.TemporaryDirectory() as folder:
        docs, errors = read(suffix, content, Path(folder))
    for e in errors:
        assert isinstance(e, ReadError) and "\n" not in str(e)
    for raw in docs:
        assert raw.text.strip() and re.search(r"[^\W_]", raw.doc_id) and ":" not in raw.doc_id
        assert all(v is None or isinstance(v, str) for v in (raw.title, raw.date, raw.source))
        assert_sentences_map_back(raw.text, raw.doc_id)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.tuples(st.just(".txt"), texts | long_lines), st.tuples(st.just(".html"), html),
                          st.tuples(st.just(".jsonl"), jsonl_lines)), min_size=1, max_size=3))
def test_ingest_never_crashes_and_indexed_text_is_exact(files: list[tuple[str, str]]) -> None:
    """Ingestion of a folder of random files: bad files are reported, the others indexed with their text kept
    exactly; the index stays consistent."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "docs"
        src.mkdir()
        for suffix, content in files:
            (src / f"f{next(names)}{suffix}").write_bytes(content.encode())
        coop = CoopQA(home=Path(tmp) / "home")
        try:
            report = coop.ingest([src])
        except CoopqaError as e:  # only a one-line reason, never another exception
            assert "\n" not in str(e)
            return
        expected: dict[str, str] = {}
        for f in sorted(src.iterdir()):
            for raw in _readable(f):
                expected.setdefault(raw.doc_id, raw.text)  # a repeated id is reported, the first one kept
        assert {d: coop.document(d).text for d in report.added} == {d: expected[d] for d in report.added}
        for doc_id in report.added:
            doc = coop.document(doc_id)
            for s in doc.sentences:
                assert doc.text[s.start : s.end] == s.text
        assert coop.doctor().found.missing == [] and coop.doctor().found.orphaned == []


def _readable(path: Path) -> list[RawDoc]:
    try:
        return read_file(path)[0]
    except ReadError:
        return []
