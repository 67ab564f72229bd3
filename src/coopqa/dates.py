"""Find dates in English, Arabic and Persian text; Solar Hijri dates are converted with persiantools."""

import re
from dataclasses import dataclass

from persiantools.jdatetime import JalaliDate

from coopqa.text import fold_digits

_GREGORIAN_MONTHS = {
    1: "january jan يناير كانون_الثاني ژانویه ژانویهٔ ژانويه",
    2: "february feb فبراير شباط فوریه فوریهٔ",
    3: "march mar مارس آذار",
    4: "april apr أبريل ابريل إبريل نيسان آوریل",
    5: "may مايو أيار ايار مه مهٔ",
    6: "june jun يونيو يونيه حزيران ژوئن",
    7: "july jul يوليو يوليه تموز ژوئیه ژوئیهٔ جولای",
    8: "august aug أغسطس اغسطس آب اوت آگوست",
    9: "september sep sept سبتمبر أيلول ايلول سپتامبر",
    10: "october oct أكتوبر اكتوبر تشرين_الأول اکتبر",
    11: "november nov نوفمبر تشرين_الثاني نوامبر",
    12: "december dec ديسمبر كانون_الأول دسامبر",
}
_SOLAR_MONTHS = {
    1: "فروردین",
    2: "اردیبهشت",
    3: "خرداد",
    4: "تیر",
    5: "مرداد",
    6: "شهریور",
    7: "مهر",
    8: "آبان",
    9: "آذر",
    10: "دی",
    11: "بهمن",
    12: "اسفند",
}
_G_LOOKUP = {name.replace("_", " "): m for m, names in _GREGORIAN_MONTHS.items() for name in names.split()}
_S_LOOKUP = {name: m for m, name in _SOLAR_MONTHS.items()}
_D = r"[0-9٠-٩۰-۹]"
_G_NAMES = "|".join(sorted(map(re.escape, _G_LOOKUP), key=len, reverse=True))
_S_NAMES = "|".join(sorted(map(re.escape, _S_LOOKUP), key=len, reverse=True))
_PATTERNS = [
    ("numeric", re.compile(rf"(?<!{_D})({_D}{{4}})[/\-.]({_D}{{1,2}})[/\-.]({_D}{{1,2}})(?!{_D})")),
    (
        "day_month_year",
        re.compile(
            rf"(?<![\w])({_D}{{1,2}})\s+({_G_NAMES}|{_S_NAMES})،?\s*(?:ماه\s+)?(?:سال\s+)?({_D}{{4}})(?!{_D})",
            re.IGNORECASE,
        ),
    ),
    ("month_day_year", re.compile(rf"(?<![\w])({_G_NAMES})\.?\s+({_D}{{1,2}}),?\s+({_D}{{4}})(?!{_D})", re.IGNORECASE)),
    (
        "month_year",
        re.compile(rf"(?<![\w])({_G_NAMES}|{_S_NAMES})\s+(?:ماه\s+)?(?:سال\s+)?({_D}{{4}})(?!{_D})", re.IGNORECASE),
    ),
    ("day_month", re.compile(rf"(?<![\w])({_D}{{1,2}})\s+({_G_NAMES})(?![\w])", re.IGNORECASE)),
    ("month_day", re.compile(rf"(?<![\w])({_G_NAMES})\s+({_D}{{1,2}})(?!{_D})", re.IGNORECASE)),
]


@dataclass(frozen=True)
class DateMention:
    """A date found in text: `text[start:end]`, its Gregorian ISO form and its precision."""

    start: int
    end: int
    text: str
    iso: str
    calendar: str  # "gregorian" or "solar_hijri"


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    """ISO string at the given precision; Solar Hijri years (1300–1499) are converted to Gregorian."""
    if not 1 <= (month or 1) <= 12 or not 1 <= (day or 1) <= 31:
        return None
    if 1300 <= year < 1500:
        try:
            g = JalaliDate(year, month or 1, day or 1).to_gregorian()
        except ValueError:
            return None
        if day is None:  # month precision: the Gregorian month in which the Solar month starts
            return f"{g.year:04d}-{g.month:02d}" if month else f"{g.year:04d}"
        return g.isoformat()
    if not 1900 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _month(name: str) -> tuple[int, bool]:
    """(month number, is Solar Hijri month name)."""
    key = name.lower()
    if key in _S_LOOKUP and key not in _G_LOOKUP:
        return _S_LOOKUP[key], True
    return _G_LOOKUP[key], False


def find_dates(text: str, default_year: int | None = None) -> list[DateMention]:
    """All dates in `text`, left to right, longest match first. Day-month mentions without a year
    take `default_year` when given and are skipped otherwise."""
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            groups = [fold_digits(g) for g in m.groups()]
            if kind == "numeric":
                year, month, day = int(groups[0]), int(groups[1]), int(groups[2])
            elif kind == "day_month_year":
                (month, _), day, year = _month(groups[1]), int(groups[0]), int(groups[2])
            elif kind == "month_day_year":
                (month, _), day, year = _month(groups[0]), int(groups[1]), int(groups[2])
            elif kind == "month_year":
                (month, _), day, year = _month(groups[0]), None, int(groups[1])
            else:
                if default_year is None:
                    continue
                name, d = (groups[1], groups[0]) if kind == "day_month" else (groups[0], groups[1])
                (month, _), day, year = _month(name), int(d), default_year
            iso = _iso(year, month, day)
            if iso is None:
                continue
            taken.append((m.start(), m.end()))
            calendar = "solar_hijri" if 1300 <= year < 1500 else "gregorian"
            found.append(DateMention(m.start(), m.end(), m.group(), iso, calendar))
    return sorted(found, key=lambda d: d.start)


def document_date(text: str) -> DateMention | None:
    """The document's date: the first full (day-precise) date in the text, else the first date."""
    dates = find_dates(text)
    full = [d for d in dates if len(d.iso) == 10]
    return (full or dates or [None])[0]
