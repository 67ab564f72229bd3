"""Find dates in English, Arabic and Persian text; Solar Hijri dates are converted with persiantools."""

import re
from dataclasses import dataclass

from persiantools.jdatetime import JalaliDate

from coopqa.text import fold_digits, normalize

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
    ("day_month", re.compile(rf"(?<![\w])({_D}{{1,2}})\s+({_G_NAMES}|{_S_NAMES})(?![\w])", re.IGNORECASE)),
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


def _solar_year(month: int, day: int, gregorian_year: int) -> int:
    """The Solar Hijri year whose `day` of `month` falls in `gregorian_year` (19 Aban in 2024 is 1403's;
    Dey 11 to the end of Esfand fall in the Gregorian year after the Solar one starts)."""
    for year in (gregorian_year - 621, gregorian_year - 622):
        try:
            if JalaliDate(year, month, day).to_gregorian().year == gregorian_year:
                return year
        except ValueError:
            continue
    return gregorian_year - 621


def _month(name: str) -> tuple[int, bool]:
    """(month number, is Solar Hijri month name)."""
    key = name.lower()
    if key in _S_LOOKUP and key not in _G_LOOKUP:
        return _S_LOOKUP[key], True
    return _G_LOOKUP[key], False


def _pattern_dates(text: str, default_year: int | None = None) -> list[DateMention]:
    """Dates written with digits or month names, left to right, longest match first. Day-month mentions
    without a year take `default_year` (Gregorian; a Solar Hijri day-month takes the Solar year in which that
    day falls in it) when given and are skipped otherwise."""
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
                (month, solar), day = _month(name), int(d)
                year = _solar_year(month, day, default_year) if solar else default_year
            iso = _iso(year, month, day)
            if iso is None:
                continue
            taken.append((m.start(), m.end()))
            calendar = "solar_hijri" if 1300 <= year < 1500 else "gregorian"
            found.append(DateMention(m.start(), m.end(), m.group(), iso, calendar))
    return sorted(found, key=lambda d: d.start)


# ---------------------------------------------------------------- every date form

# Arabic news often doubles a month name: Syriac/Levantine and Gregorian, «12 تشرين الثاني/نوفمبر 2024».
_LEVANTINE = "كانون الثاني|كانون الأول|كانون الاول|شباط|آذار|اذار|نيسان|أيار|ايار|حزيران|تموز|آب|اب|أيلول|ايلول|" \
             "تشرين الأول|تشرين الاول|تشرين الثاني"
_GREGORIAN_AR = "يناير|فبراير|مارس|أبريل|ابريل|إبريل|مايو|يونيو|يونيه|يوليو|يوليه|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|" \
                "نوفمبر|ديسمبر"
_LEV_FIRST = re.compile(rf"(?:{_LEVANTINE})\s*/\s*(?=(?:{_GREGORIAN_AR}))")
_GREG_FIRST = re.compile(rf"(?<=[^\W\d_])(\s*/\s*(?:{_LEVANTINE}))(?!\w)")


def find_dates(text: str, default_year: int | None = None) -> list[DateMention]:
    """All dates in `text`, left to right: digits and month names (day-month mentions without a year take
    `default_year` when given), Arabic double month names ('تشرين الثاني/نوفمبر': the first name is blanked
    to spaces, so offsets — and `text` as written — are those of the original), and dates written in words."""
    blanked = _LEV_FIRST.sub(lambda m: " " * len(m.group()), text)
    blanked = _GREG_FIRST.sub(lambda m: " " * len(m.group()), blanked)
    found = [DateMention(m.start, m.end, text[m.start:m.end], m.iso, m.calendar)
             for m in _pattern_dates(blanked, default_year)]
    if not any(len(m.iso) == 10 for m in found) and re.search("[\u0600-\u06ff]", text):
        words = word_dates(text)  # full dates in words replace the partial ones they contain
        found = [m for m in found if not any(w.start < m.end and m.start < w.end for w in words)]
        found = sorted(found + words, key=lambda m: m.start)
    return found


# Dates written in words (formal Arabic and Persian): «الرابع من شهر شباط/فبراير عام ألفين وخمسة وعشرين»,
# «بیست و یکم مهر ماه هزار و چهارصد و سه». Word forms are matched after coopqa.text.normalize.
_CARDINALS = {
    # Arabic (masculine/feminine, nominative/oblique)
    "واحد": 1, "واحده": 1, "اثنان": 2, "اثنین": 2, "اثنتان": 2, "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4,
    "خمس": 5, "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثمان": 8, "ثمانی": 8, "ثمانیه": 8, "تسع": 9,
    "تسعه": 9, "عشر": 10, "عشره": 10, "عشرون": 20, "عشرین": 20, "ثلاثون": 30, "ثلاثین": 30, "اربعون": 40,
    "اربعین": 40, "خمسون": 50, "خمسین": 50, "ستون": 60, "ستین": 60, "سبعون": 70, "سبعین": 70, "ثمانون": 80,
    "ثمانین": 80, "تسعون": 90, "تسعین": 90, "مائه": 100, "مئه": 100, "ماىه": 100, "الف": 1000, "الفان": 2000,
    "الفین": 2000,
    # Persian
    "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8, "نه": 9, "ده": 10,
    "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "شانزده": 16, "هفده": 17, "هجده": 18,
    "هیجده": 18, "نوزده": 19, "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60, "هفتاد": 70,
    "هشتاد": 80, "نود": 90, "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300, "چهارصد": 400, "پانصد": 500,
    "ششصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900, "هزار": 1000,
}
_ORDINALS = {
    "اول": 1, "اولی": 1, "ثانی": 2, "ثالث": 3, "رابع": 4, "خامس": 5, "سادس": 6, "سابع": 7, "ثامن": 8, "تاسع": 9,
    "عاشر": 10, "حادی": 1, "یکم": 1, "دوم": 2, "سوم": 3, "سیم": 30, "سی ام": 30,
}
_MONTHS_NORMALIZED: list[tuple[tuple[str, ...], int, bool]] = []
for _m, _names in {
    1: ["ینایر", "کانون الثانی", "ژانویه"], 2: ["فبرایر", "شباط", "فوریه"], 3: ["مارس", "اذار"],
    4: ["ابریل", "نیسان", "اوریل"], 5: ["مایو", "ایار"], 6: ["یونیو", "یونیه", "حزیران", "ژوین"],
    7: ["یولیو", "یولیه", "تموز", "ژوییه"], 8: ["اغسطس", "اب", "اوت"], 9: ["سبتمبر", "ایلول", "سپتامبر"],
    10: ["اکتوبر", "تشرین الاول", "اکتبر"], 11: ["نوفمبر", "تشرین الثانی", "نوامبر"],
    12: ["دیسمبر", "کانون الاول", "دسامبر"],
}.items():
    _MONTHS_NORMALIZED += [(tuple(n.split()), _m, False) for n in _names]
for _m, _name in enumerate(["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "ابان", "اذر", "دی",
                            "بهمن", "اسفند"], 1):
    if _name != "اذر":  # Persian آذر (Solar month 9) and Arabic آذار (March) differ after normalisation
        _MONTHS_NORMALIZED.append(((_name,), _m, True))
_MONTHS_NORMALIZED.append((("اذر",), 9, True))
_FILLER_WORDS = frozenset({"من", "شهر", "ماه", "عام", "سنه", "سال", "لعام", "لسنه", "روز", "یوم", "الموافق"})


def _number_value(words: list[str]) -> int | None:
    """Cardinal or ordinal number words (Arabic or Persian, conjunction و loose or attached) → value."""
    total, current, seen = 0, 0, False
    for raw in words:
        w = raw[1:] if raw.startswith("و") and len(raw) > 2 and raw not in _CARDINALS else raw
        if w == "و":
            continue
        w = w[2:] if w.startswith("ال") and w[2:] in {**_ORDINALS, **_CARDINALS} else w
        value = _CARDINALS.get(w, _ORDINALS.get(w))
        if value is None and w.endswith("م") and w[:-1] in _CARDINALS:  # Persian ordinal: بیست و یکم
            value = _CARDINALS[w[:-1]]
        if value is None and w.isdigit() and len(words) == 1:  # a year in digits after a day in words
            value = int(w)
        if value is None:
            return None
        seen = True
        if value == 1000 and w in ("الف", "هزار"):
            total += (current or 1) * 1000
            current = 0
        elif value == 10 and w == "عشر" and current and current < 10:  # Arabic teens: الحادي عشر
            current += 10
        else:
            current += value
    return total + current if seen else None


def _month_at(words: list[str], i: int) -> tuple[int, bool, int] | None:
    """(month, is Solar Hijri, number of words) of a month name starting at words[i]."""
    for names, month, solar in sorted(_MONTHS_NORMALIZED, key=lambda x: -len(x[0])):
        n = len(names)
        cand = [w[2:] if w.startswith("ال") and w[2:] == names[k] else w for k, w in enumerate(words[i:i + n])]
        if tuple(cand) == names:
            return month, solar, n
    return None


def word_dates(text: str) -> list[DateMention]:
    """Dates whose day and year are written in words, next to a month name (Arabic or Persian)."""
    spans = [(normalize(m.group()), m.start(), m.end()) for m in re.finditer(r"[^\s/،,.؛:()«»\-–—]+", text)]
    words = [w for w, _, _ in spans]
    found = []
    for i in range(len(words)):
        hit = _month_at(words, i)
        if hit is None:
            continue
        month, solar, n = hit
        j = i  # the day: number words just before the month (skipping من / شهر)
        while j > 0 and words[j - 1] in _FILLER_WORDS:
            j -= 1
        start = j
        while start > 0 and start > j - 5 and _number_value(words[start - 1:j]) is not None:
            start -= 1
        day = _number_value(words[start:j]) if start < j else None
        k = i + n  # the year: number words after the month (skipping ماه / عام / سال), or a second month name
        if k < len(words) and (again := _month_at(words, k)):
            k += again[2]
        while k < len(words) and words[k] in _FILLER_WORDS:
            k += 1
        end = k
        while end < len(words) and end < k + 8 and _number_value(words[k:end + 1]) is not None:
            end += 1
        year = _number_value(words[k:end]) if end > k else None
        if not (day and year and 1 <= day <= 31 and (1300 <= year < 1500 or 1900 <= year <= 2100)):
            continue
        if solar and not 1300 <= year < 1500:
            continue
        iso = _iso(year, month, day)  # Solar Hijri converted by persiantools
        if iso:
            found.append(DateMention(spans[start][1], spans[end - 1][2], text[spans[start][1]:spans[end - 1][2]], iso,
                                     "solar_hijri" if 1300 <= year < 1500 else "gregorian"))
    return found


def document_date(text: str) -> DateMention | None:
    """The document's date: the first full (day-precise) date in the text, else the first date."""
    dates = find_dates(text)
    full = [d for d in dates if len(d.iso) == 10]
    return (full or dates or [None])[0]
