from coopqa.segment import segment
from coopqa.text import detect_language, normalize


def _texts(text: str) -> list[str]:
    return [s.text for s in segment(text, "d")]


def test_offsets_map_back_and_ids_are_stable() -> None:
    text = "Dr. Ali met Mr. Smith in the U.S. capital. They signed 2.5 deals!\nسلام؟ خوبی؛ بله۔ پایان"
    sents = segment(text, "doc")
    assert [s.id for s in sents] == [f"doc:s{n}" for n in range(1, len(sents) + 1)]
    for s in sents:
        assert text[s.start : s.end] == s.text
    assert _texts(text) == [
        "Dr. Ali met Mr. Smith in the U.S. capital.", "They signed 2.5 deals!", "سلام؟", "خوبی؛", "بله۔", "پایان",
    ]


def test_newlines_split_and_headline_kept() -> None:
    assert _texts("Tehran, Astana seal film deal\nIran and Kazakhstan signed it.") == [
        "Tehran, Astana seal film deal", "Iran and Kazakhstan signed it.",
    ]


def test_boilerplate_flagged_but_dateline_kept() -> None:
    text = "• 1404/01/24 - 09:47\n  • 42\n  • زمان مطالعه : 2 دقیقه\nمتن خبر اینجاست.\nMNA\nAbout Us\nAnything after."
    flags = {s.text: s.boilerplate for s in segment(text, "d")}
    assert flags["• 1404/01/24 - 09:47"] is False
    assert flags["• 42"] and flags["• زمان مطالعه : 2 دقیقه"] and flags["MNA"] and flags["About Us"]
    assert flags["Anything after."] is True
    assert flags["متن خبر اینجاست."] is False


def test_long_unpunctuated_text_is_capped() -> None:
    text = " ".join(["word"] * 400)
    sents = segment(text, "d")
    assert len(sents) > 1 and all(len(s.text) <= 600 for s in sents)
    assert all(text[s.start : s.end] == s.text for s in sents)


def test_normalize_folds_scripts() -> None:
    assert normalize("كريم") == normalize("کریم")
    assert normalize("مي‌شود") == normalize("می شود")
    assert normalize("۱۴۰۴") == normalize("١٤٠٤") == "1404"
    assert normalize("عَلِيّ") == normalize("علی")
    assert normalize("ســلام") == normalize("سلام")


def test_detect_language() -> None:
    assert detect_language("The minister visited Tehran.") == "en"
    assert detect_language("التقى رئيس منظمة السينما في ايران مع السفير وبحث الطرفان التعاون") == "ar"
    assert detect_language("رایزن فرهنگی ایران با رئیس مرکز سینمای ملی دیدار و گفتگو کرد") == "fa"
