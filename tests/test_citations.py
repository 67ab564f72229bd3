"""Citation verification primitives (coopqa.citations), shared by summaries, answers and the eval scorers."""

from __future__ import annotations

import pytest

from coopqa import scoring
from coopqa.citations import (
    agreement_in,
    canonical_country,
    countries_in,
    country_code,
    country_mentioned,
    country_stated,
    date_in,
    english_country,
    name_in,
    org_in,
    overlap,
    states,
    supports,
)


def test_scoring_uses_the_same_primitives() -> None:
    assert scoring.states is states and scoring.canonical_country is canonical_country
    assert scoring._country_in is country_stated and scoring._date_in is date_in and scoring._org_in is org_in


@pytest.mark.parametrize(("text", "codes"), [
    ("Azerbaijani Culture Minister Anar Karimov visited the Iranian Film Organization", {"AZ", "IR"}),
    ("سعید مرادی رایزن فرهنگی ایران در تونس با کریم منصوری دیدار کرد", {"IR", "TN"}),
    ("التقى سفير بيلاروسيا لدى الجمهورية الإسلامية الإيرانية والعراق", {"BY", "IR", "IQ"}),
    ("نمایش فیلم‌های اندونزی در جاکارتا", {"ID"}),
    ("همکاری‌های مالی و فرهنگی", set()),  # «مالی» is "financial", not Mali
    ("A woman spoke about Omani films", {"OM"}),
])
def test_countries_in_any_script(text: str, codes: set[str]) -> None:
    assert countries_in(text, concepts=False) == codes


def test_capitals_count_only_with_concepts() -> None:
    assert "KZ" in countries_in("The deal was signed in Astana")  # lexicon: capital → country
    assert not country_mentioned("The deal was signed in Astana", "Kazakhstan")
    assert country_mentioned("The deal was signed in Astana", "Kazakhstan", concepts=True)


def test_country_names() -> None:
    assert english_country("TR") == "Turkey" and english_country("قزاقستان") == "Kazakhstan"
    assert english_country("ID") == "Indonesia" and country_code("Türkiye") == "TR"
    assert country_code("Kazakh") == "KZ" and country_code("Narnia") is None


def test_names_across_scripts_but_not_loosely_within_one() -> None:
    assert name_in("التقى محمد خزاعي رئيس منظمة السينما", "Mohammad Khazaei")
    assert name_in("Iran and Tunisia met in Tunis.", "Tunis")
    assert not name_in("The MoU was signed by Abbas Salehi", "Paris")  # same script: no fuzzy match
    assert not name_in("anything", "")


def test_dates() -> None:
    assert date_in("signed on 11 December 2024 in Astana", "2024-12-11")
    assert date_in("این دیدار در تاریخ ۱۴۰۳/۰۲/۱۰ انجام شد", "2024-04-29")
    assert date_in("date 2022-06-24 24 June 2022", "2022-06")
    assert not date_in("signed on 11 December 2024", "2024-12-12")
    assert date_in("روز شنبه بیست و یکم مهر ماه", "2024-10-12", "بیست و یکم مهر ماه")


def test_roles_and_free_text_cross_language() -> None:
    assert overlap("Minister of Culture", "Azerbaijani Culture Minister Anar Karimov") == 1.0
    assert overlap("Minister of Culture", "وزير الثقافة السوري") == 1.0  # concept terms
    assert overlap("head of the National Cinema Centre", "کریم منصوری رئیس مرکز ملی سینمای تونس") >= 0.5
    assert overlap("Prime Minister of Narnia", "The culture minister spoke") < 0.5
    assert overlap(None, "x") == 0.0


def test_supports_dispatch() -> None:
    text = "Iran and Kazakhstan signed a memorandum of understanding in Astana on 11 December 2024."
    assert supports("country", "Kazakhstan", text) and not supports("country", "Russia", text)
    assert supports("agreement", "MoU", text) and not supports("agreement", "contract", text)
    assert supports("date", "2024-12-11", text) and supports("city", "Astana", text)
    assert supports("org", "Iranian Film Organization", "visited the Iranian Film Organization today")
    assert agreement_in("وقع الطرفان مذكرة تفاهم", "MoU")
    with pytest.raises(ValueError):
        supports("color", "red", text)


def test_name_span_copies_the_source_words_a_transliteration_names() -> None:
    from coopqa.citations import name_span

    ar = "وفي اللقاء الثاني، بحث مراد شاهين مع سعيد حيدري المدير العام لمؤسسة الفارابي"
    assert name_span(ar, "Murad Shahin") == "مراد شاهين" and name_span(ar, "Saeed Heydari") == "سعيد حيدري"
    assert name_span(ar, "Said al-Hidri") == "سعيد حيدري"  # no preposition dragged in
    assert name_span(ar, "Hassan Rouhani") is None and name_span(ar, "") is None
    fa = "علی اکبر طالبیمتین رایزن فرهنگی ایران در قزاقستان"
    assert name_span(fa, "Ali Akbar Talebi Matin") == "علی اکبر طالبیمتین"
    assert name_span("Minister of Culture Aida Balayeva said", "Aida Balaeva") == "Aida Balayeva"
    assert name_span("signed in Astana on 11 December", "Aida Smith") is None
