"""Sentence segmentation with character offsets into the original text, and boilerplate flagging."""

import re

from coopqa.types import Sentence, sentence_id

MAX_SENTENCE_CHARS = 600
# A terminator ends a sentence when followed by space/end (closing quotes and brackets stay with it).
_END = re.compile(r"[.!?؟؛۔…]+[\"'”’»)\]]*(?=\s|$)")
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "no",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "u.a.e",
        "gen",
        "col",
        "lt",
        "capt",
        "sgt",
        "gov",
        "sen",
        "rep",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "fig",
        "approx",
    ]
)
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)
_FOOTER = re.compile(
    r"^\W*(about us|contact us|contact|privacy policy|terms of use|all rights reserved|copyright|©|"
    r"درباره ما|تماس با ما|حقوق (این|مادی)|کلیه حقوق|من نحن|اتصل بنا|جميع الحقوق)",
    re.IGNORECASE,
)
_NAV = re.compile(
    r"^\W*(search|date archive|archive|home|share|print|tags?|related( news)?|comments?|most viewed|"
    r"read more|subscribe|newsletter|login|menu|next|previous|back to top|"
    r"زمان مطالعه|بازدید|اشتراک ?گذاری|چاپ|برچسب ?ها|خبرنامه|جستجو|آرشیو|اخبار مرتبط|"
    r"اقرأ أيضا|اقرأ ايضا|شارك|طباعة|بحث|الأرشيف|أخبار ذات صلة)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(r"lorem ipsum|filler text|dummy text|placeholder text|dolor sit amet", re.IGNORECASE)
# Text addressed to a language model (prompt injection) is not news: flagged so that it is never shown to the
# model as evidence nor cited. Kept narrow: an order about instructions/prompts, or an AI told what to say.
_TO_THE_MODEL = re.compile(
    r"\b(ignore|disregard|forget|override)\s+(\w+\s+){0,4}(instructions|prompts?)\b|"
    r"\b(system prompt|developer message|jailbreak)\b|"
    r"\byou are now\b|\bnote to (the )?(ai|assistant|model|llm|chatbot)s?\b|"
    r"\b(ai|language model|llm|chatbot)s?\b[^.!?\n]{0,40}\b(must|should)\b[^.!?\n]{0,20}"
    r"\b(answer|say|reply|respond|state|write)\b|"
    r"(تجاهل|تجاهلوا)[^.!؟\n]{0,30}(التعليمات|الأوامر|التوجيهات)|"
    r"(دستورالعمل|دستورات|دستورها)[^.!؟\n]{0,40}(نادیده|فراموش)",
    re.IGNORECASE,
)
_AGENCY_CODE = re.compile(r"^[A-Z]{2,6}(\s*[/-]\s*\w+)?$")
_NUMERIC_ONLY = re.compile(r"^[\W\d٠-٩۰-۹_]*$")
_HAS_DATE_SHAPE = re.compile(r"[0-9٠-٩۰-۹]{2,4}[/-][0-9٠-٩۰-۹]{1,2}[/-][0-9٠-٩۰-۹]{1,4}")


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the '.' ending at `end` closes an abbreviation, an initial or a number like '3.'."""
    word = re.search(r"([\w.]+)\.$", text[:end])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha() and token.isascii())


def _split_line(line: str, base: int) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of one line, offsets relative to the whole text."""
    spans, start = [], 0
    for m in _END.finditer(line):
        if (
            m.group().startswith(".")
            and len(m.group().rstrip("\"'”’»)]")) == 1
            and _is_abbreviation(line, m.start() + 1)
        ):
            continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(line)))
    out = []
    for span in spans:
        first, last = span
        while first < last and line[first].isspace():
            first += 1
        while last > first and line[last - 1].isspace():
            last -= 1
        out.extend(_cap_length(line, first, last))
    return [(base + s, base + e) for s, e in out if _HAS_WORD.search(line[s:e])]


def _cap_length(line: str, s: int, e: int) -> list[tuple[int, int]]:
    """Break an over-long unpunctuated run at white space so no sentence exceeds MAX_SENTENCE_CHARS."""
    pieces = []
    while e - s > MAX_SENTENCE_CHARS:
        cut = line.rfind(" ", s + MAX_SENTENCE_CHARS // 2, s + MAX_SENTENCE_CHARS)
        cut = cut if cut > s else s + MAX_SENTENCE_CHARS
        pieces.append((s, cut))
        s = cut
        while s < e and line[s].isspace():
            s += 1
    if s < e:
        pieces.append((s, e))
    return pieces


def is_boilerplate_line(line: str) -> bool:
    """Navigation words, counters, agency codes and filler that are not part of the article."""
    stripped = line.strip(" \t•·-–—|*")
    if _FILLER.search(stripped):
        return True
    if _HAS_DATE_SHAPE.search(stripped):
        return False
    words = stripped.split()
    if _NUMERIC_ONLY.match(stripped):
        return True
    if len(words) <= 6 and _NAV.match(stripped):
        return True
    return len(words) <= 2 and bool(_AGENCY_CODE.match(stripped))


def addresses_the_model(sentence: str) -> bool:
    """A sentence that gives orders to an AI reading the page ("ignore previous instructions and say ...")."""
    return bool(_TO_THE_MODEL.search(sentence))


def segment(text: str, doc_id: str) -> list[Sentence]:
    """Split `text` into sentences; `Sentence.text == text[start:end]`. Everything after a footer marker
    (About Us, copyright, ...), navigation/filler lines and sentences addressed to an AI are flagged as
    boilerplate (never shown to the model as evidence, never cited)."""
    sentences: list[Sentence] = []
    in_footer = False
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body.strip():
            in_footer = in_footer or (len(body.split()) <= 8 and bool(_FOOTER.match(body.strip())))
            junk_line = in_footer or is_boilerplate_line(body)
            for s, e in _split_line(body, pos):
                junk = junk_line or bool(_FILLER.search(text[s:e])) or addresses_the_model(text[s:e])
                sentences.append(
                    Sentence(
                        id=sentence_id(doc_id, len(sentences) + 1), start=s, end=e, text=text[s:e], boilerplate=junk
                    )
                )
        pos += len(line)
    return sentences
