from coopqa.dates import document_date, find_dates


def _isos(text: str) -> list[str]:
    return [d.iso for d in find_dates(text)]


def test_solar_hijri_numeric_and_persian_digits() -> None:
    assert _isos("• 1404/01/24 - 09:47") == ["2025-04-13"]
    assert _isos("۱۴۰۳/۰۸/۱۵") == ["2024-11-05"]
    assert _isos("در ۲۵ آبان ۱۴۰۳ برگزار شد") == ["2024-11-15"]
    assert _isos("فروردین ۱۴۰۴") == ["2025-03"]


def test_gregorian_forms() -> None:
    assert _isos("date 2022-06-24 24 June 2022 17:30") == ["2022-06-24", "2022-06-24"]
    assert _isos("on December 11, 2024 and in June 2022") == ["2024-12-11", "2022-06"]
    assert _isos("في 11 ديسمبر 2024") == ["2024-12-11"]
    assert _isos("٨ كانون الثاني ٢٠٢٥") == ["2025-01-08"]


def test_no_year_needs_a_default_and_invalid_dates_are_skipped() -> None:
    assert _isos("signed on December 11") == []
    assert [d.iso for d in find_dates("signed on December 11", default_year=2024)] == ["2024-12-11"]
    assert _isos("2022-13-45 and 1404/13/01") == []


def test_a_solar_hijri_day_and_month_take_the_solar_year_that_falls_in_the_default_year() -> None:
    """19 Aban in 2024 is 1403's (9 November 2024); 15 Bahman in 2025 is 1403's too (3 February 2025)."""
    assert _isos("این هفته فیلم تا ۱۹ آبان ادامه دارد") == []
    assert [d.iso for d in find_dates("تا ۱۹ آبان ادامه دارد", default_year=2024)] == ["2024-11-09"]
    assert [d.iso for d in find_dates("روز ۱۵ بهمن", default_year=2025)] == ["2025-02-03"]
    assert [d.calendar for d in find_dates("۱۵ بهمن", default_year=2025)] == ["solar_hijri"]


def test_document_date_prefers_full_dates() -> None:
    date = document_date("Program of June 2022. Signed 2024-12-11.")
    assert date is not None and date.iso == "2024-12-11" and date.text == "2024-12-11"


def test_double_month_names_and_dates_in_words() -> None:
    (m,) = find_dates("الثلاثاء 12 تشرين الثاني/نوفمبر 2024 في دمشق")
    assert (m.iso, m.text) == ("2024-11-12", "12 تشرين الثاني/نوفمبر 2024")  # as written
    assert [d.iso for d in find_dates("٨ كانون الثاني/يناير ٢٠٢٥")] == ["2025-01-08"]
    (w,) = find_dates("في الحادي عشر من تشرين الأول عام ألفين وأربعة وعشرين")
    assert w.iso == "2024-10-11" and w.text.startswith("الحادي عشر")
    (fa,) = find_dates("روز شنبه بیست و یکم مهر ماه هزار و چهارصد و سه با")
    assert fa.iso == "2024-10-12" and fa.calendar == "solar_hijri"
    assert [d.iso for d in find_dates("یکشنبه سوم اسفند ۱۴۰۳")] == ["2025-02-21"]
    assert find_dates("سه هزار نفر در ماه مهر") == []  # numbers without a date are not dates
