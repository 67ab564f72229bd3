"""Structure checks for the trilingual concept lexicon (src/coopqa/data/lexicon.tsv).

Rules enforced here (documented so that the lexicon and its consumer agree):
  * '#' lines are comments; the first other line is the header ``concept en ar fa`` (tab-separated);
  * every row has exactly 4 tab-separated columns and a unique id ``<kind>:<name>``;
  * no language column is empty (ALLOWED_EMPTY lists justified exceptions; currently none);
  * every form has at least 3 characters after ``coopqa.text.normalize`` (spaces excluded), and a
    single-token form is itself at least 3 characters long;
  * English forms are Latin script, Arabic/Persian forms Arabic script (digits allowed everywhere);
  * a form (compared as its normalised token sequence) appears only once per language, both within a
    concept and across concepts, except for pairs listed in ALLOWED_SHARED;
  * ``country:XX`` ids use ISO 3166-1 alpha-2 codes.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel import Locale

from coopqa.text import normalize, tokens

LEXICON = Path(__file__).resolve().parents[1] / "src" / "coopqa" / "data" / "lexicon.tsv"
LANGS = ("en", "ar", "fa")
ID_RE = re.compile(r"^[a-z_]+:[A-Za-z0-9_]+$")
ALLOWED_EMPTY: set[tuple[str, str]] = set()  # (concept, lang) pairs allowed to have no forms
ALLOWED_SHARED: set[tuple[str, str]] = set()  # (lang, normalised form) allowed in several concepts
_LATIN = re.compile(r"^[a-z0-9 ]+$")
_ARABIC_SCRIPT = re.compile(r"^[\u0600-\u06ff0-9 ]+$")


def load_rows() -> tuple[list[str], list[tuple[int, list[str]]]]:
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(LEXICON.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cols = raw.split("\t")
        if header is None:
            header = cols
            continue
        rows.append((lineno, cols))
    assert header is not None, "no header line"
    return header, rows


def forms(cell: str) -> list[str]:
    return cell.split("|") if cell else []


@pytest.fixture(scope="module")
def table():
    return load_rows()


def test_header(table):
    header, _ = table
    assert header == ["concept", *LANGS]


def test_four_columns_and_ids(table):
    _, rows = table
    seen: dict[str, int] = {}
    for lineno, cols in rows:
        assert len(cols) == 4, f"line {lineno}: {len(cols)} columns"
        cid = cols[0]
        assert ID_RE.match(cid), f"line {lineno}: bad concept id {cid!r}"
        assert cid not in seen, f"line {lineno}: duplicate id {cid} (first at line {seen[cid]})"
        seen[cid] = lineno


def test_size(table):
    _, rows = table
    ids = [cols[0] for _, cols in rows]
    assert len(ids) >= 250
    assert sum(i.startswith("country:") for i in ids) >= 60


def test_no_empty_language_column(table):
    _, rows = table
    for lineno, cols in rows:
        for lang, cell in zip(LANGS, cols[1:], strict=True):
            if (cols[0], lang) in ALLOWED_EMPTY:
                continue
            assert cell.strip(), f"line {lineno}: {cols[0]} has no {lang} forms"


def test_forms_well_formed(table):
    _, rows = table
    for lineno, cols in rows:
        for lang, cell in zip(LANGS, cols[1:], strict=True):
            for form in forms(cell):
                where = f"line {lineno} {cols[0]} {lang} {form!r}"
                assert form and form == form.strip() and "  " not in form, f"{where}: stray whitespace"
                toks = tokens(form)
                assert toks, f"{where}: no tokens"
                assert len("".join(toks)) >= 3, f"{where}: shorter than 3 characters"
                if len(toks) == 1:
                    assert len(toks[0]) >= 3, f"{where}: single token shorter than 3 characters"
                text = " ".join(toks)
                script = _LATIN if lang == "en" else _ARABIC_SCRIPT
                assert script.match(text), f"{where}: wrong script for {lang} ({text!r})"


def test_no_duplicate_forms(table):
    _, rows = table
    owners: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for _, cols in rows:
        for lang, cell in zip(LANGS, cols[1:], strict=True):
            for form in forms(cell):
                owners[(lang, tuple(tokens(form)))].append(cols[0])
    problems = []
    for (lang, toks), cids in owners.items():
        if len(cids) > 1 and (lang, " ".join(toks)) not in ALLOWED_SHARED:
            problems.append(f"{lang} {' '.join(toks)!r}: {cids}")
    assert not problems, "duplicated forms:\n" + "\n".join(sorted(problems))


def test_country_codes_are_iso(table):
    _, rows = table
    territories = set(Locale("en").territories)
    for lineno, cols in rows:
        cid = cols[0]
        if cid.startswith("country:"):
            code = cid.split(":", 1)[1]
            assert re.fullmatch(r"[A-Z]{2}", code) and code in territories, f"line {lineno}: {cid}"


def test_normalisation_is_stable(table):
    """Forms survive normalisation unchanged apart from the documented foldings (no hidden characters)."""
    _, rows = table
    for lineno, cols in rows:
        for cell in cols[1:]:
            for form in forms(cell):
                assert "\u200c" not in form and "\u200f" not in form, f"line {lineno}: {form!r} has ZW chars"
                assert normalize(form), f"line {lineno}: {form!r} normalises to nothing"
