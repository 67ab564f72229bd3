"""The web workspace in a real browser: Playwright driving Debian's Chromium (headless) against `coopqa serve`
on loopback. A screenshot of each step goes to tests/artifacts/.

Without the model: the reader, a visit card's evidence links and the briefing view (a hand-written stored
summary). With the real model (`-m llm`): an English question about the Persian article streams its answer,
its citation opens the Persian sentence highlighted right-to-left, and a card of a summary the model wrote
links each field to its evidence."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coopqa.api import CoopQA
from coopqa.summarize import RunStats
from test_web import AGREED, FA, fa_summary, live_server

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("COOPQA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
QUESTION = ("What did Iran's cultural counsellor in Kazakhstan and the head of Kazakhstan's state cinema support "
            "centre agree to do?")
PERSIAN = "[\u0600-\u06ff]"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium with apt-get (it failed here)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 860}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    yield page
    context.close()
    assert not errors, errors  # no script error, nothing fetched that failed (or from off this machine)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def assert_highlighted(page, sid: str, persian: bool = True) -> dict:
    """The reader shows sentence `sid` highlighted and scrolled into view, in the right-to-left Persian article,
    isolated with dir="auto" (so it is laid out right to left when it has Persian letters; `persian`: it must)."""
    page.wait_for_selector(f'#reader-text .sent.hl[data-sid="{sid}"]')
    info = page.evaluate("""() => {
        const hl = [...document.querySelectorAll('#reader-text .sent.hl')];
        const article = document.querySelector('#reader-text');
        const box = hl[0].getBoundingClientRect(), pane = document.querySelector('#reader').getBoundingClientRect();
        return {count: hl.length, sid: hl[0].dataset.sid, text: hl[0].textContent, dir: article.getAttribute('dir'),
                lang: article.lang, direction: getComputedStyle(hl[0]).direction, own_dir: hl[0].getAttribute('dir'),
                visible: box.top >= pane.top && box.top < pane.bottom, doc: article.dataset.doc};
    }""")
    assert info["count"] == 1 and info["sid"] == sid and info["doc"] == FA, info
    assert info["dir"] == "rtl" and info["lang"] == "fa" and info["own_dir"] == "auto" and info["visible"], info
    has_persian = bool(re.search(PERSIAN, info["text"]))
    assert has_persian or not persian, info
    if has_persian:  # a line of digits alone has no direction of its own
        assert info["direction"] == "rtl", info
    return info


# ---------------------------------------------------------------- without the model


@pytest.fixture(scope="module")
def site(seed_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("web-e2e") / "home"
    shutil.copytree(seed_home, home)
    coop = CoopQA(home=home)
    coop.summaries.put(FA, "hand-written", fa_summary(), RunStats())
    with live_server(coop) as url:
        yield url


def test_visit_card_evidence_opens_the_persian_sentence_and_briefing_downloads(page, site):
    page.goto(site)
    page.wait_for_selector("#doc-list li a")
    assert page.locator("#status").inner_text() == "5 articles · 1 summaries"
    shot(page, "web-1-workspace")

    page.click("nav button[data-view=visits]")
    card = page.locator(f'details.card[data-doc="{FA}"]')
    card.locator("summary").click()
    assert card.get_attribute("open") is not None
    labels = card.locator("dt").all_inner_texts()
    assert labels[:3] == ["Date", "Place", "Parties"] and "Agreements" in labels and "Areas" in labels
    shot(page, "web-2-visit-card")

    agreement = card.locator("dt:text('Agreements') + dd a.ev").first
    assert agreement.get_attribute("data-sid") == AGREED
    agreement.click()
    info = assert_highlighted(page, AGREED)
    assert "تفاهمنامه" in info["text"] and page.url.endswith(f"#doc={FA}&s={AGREED.replace(':', '%3A')}")
    shot(page, "web-3-evidence")

    page.click("nav button[data-view=brief]")
    frame = page.frame_locator("#brief-frame")
    frame.locator("h2", has_text="Kazakhstan").wait_for()
    md = page.request.get(site + page.get_attribute("#download-md", "href"))
    assert md.ok and md.headers["content-disposition"] == 'attachment; filename="briefing.md"'
    assert "## Kazakhstan" in md.text()
    html = page.request.get(site + page.get_attribute("#download-html", "href"))
    assert html.ok and "<!doctype html>" in html.text()
    shot(page, "web-4-briefing")


def test_reader_keeps_mixed_lines_isolated_and_reports_bad_ids(page, site):
    page.goto(f"{site}/#doc={FA}&s={FA}:s1")
    page.wait_for_selector(f'#reader-text .sent.hl[data-sid="{FA}:s1"]')
    dirs = page.eval_on_selector_all("#reader-text .sent", "els => els.map(e => e.getAttribute('dir'))")
    assert len(dirs) == 18 and set(dirs) == {"auto"}  # each sentence isolated, its direction its own
    page.goto(f"{site}/#doc=no-such-doc")
    page.wait_for_function("document.querySelector('#reader-empty p').textContent.includes('unknown document')")


def test_an_empty_question_is_not_sent_and_a_server_error_is_shown(page, site):
    page.goto(site)
    page.click("#ask-button")  # the empty textarea is `required`: nothing is sent
    assert page.locator(".msg").count() == 0
    page.fill("#question", "x" * 4000)
    page.evaluate("document.querySelector('#question').removeAttribute('maxlength')")
    page.fill("#question", "x" * 4001)
    page.click("#ask-button")
    page.wait_for_selector(".msg.bot[data-state=error]")
    assert "at most 4000 characters" in page.locator(".msg.bot").inner_text()


# ---------------------------------------------------------------- with the real model


@pytest.fixture(scope="module")
def real_site(seed_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seed corpus with the real model (no response cache) and its own summary of the Persian article."""
    from test_llm import _real_settings

    root = tmp_path_factory.mktemp("web-real")
    shutil.copytree(seed_home, root / "home")
    coop = CoopQA(_real_settings(root).model_copy(update={"home": root / "home", "cache": False, "n_ctx": 4096}))
    coop.summarize(FA)
    with live_server(coop) as url:
        yield url


@pytest.mark.llm
def test_english_question_streams_and_its_citation_opens_the_persian_sentence(page, real_site):
    page.goto(real_site)
    page.fill("#question", QUESTION)
    page.click("#ask-button")
    page.wait_for_selector(".msg.bot:not([data-state=pending])", timeout=600_000)  # the draft, or the end
    shot(page, "web-5-streaming")
    page.wait_for_selector(".msg.bot:is([data-state=done], [data-state=abstained], [data-state=error])",
                           timeout=600_000)
    bubble = page.locator(".msg.bot")
    assert bubble.get_attribute("data-state") == "done", bubble.inner_text()
    assert int(bubble.get_attribute("data-drafts") or 0) > 3, "the answer did not stream in"
    cites = bubble.locator("p.answer a.cite")
    assert cites.count() >= 1
    persian = [c for c in cites.all() if c.get_attribute("data-sid").startswith(FA + ":")]
    assert persian, bubble.inner_text()
    sid = persian[0].get_attribute("data-sid")
    persian[0].click()
    assert_highlighted(page, sid)
    shot(page, "web-6-citation")


@pytest.mark.llm
def test_card_of_a_model_written_summary_links_fields_to_evidence(page, real_site):
    page.goto(real_site)
    page.click("nav button[data-view=visits]")
    card = page.locator(f'details.card[data-doc="{FA}"]')
    card.locator("summary").click()
    shot(page, "web-7-model-card")
    fields = card.locator("dd")
    followed = []
    for n in range(fields.count()):  # each field's (first) evidence link
        link = fields.nth(n).locator("a.ev").first
        if not link.count():
            continue
        sid = link.get_attribute("data-sid")
        assert sid.startswith(FA + ":s"), sid
        link.click()
        followed.append(assert_highlighted(page, sid, persian=False))
        if n == 1:
            shot(page, "web-8-model-evidence")
    assert len(followed) >= 2, card.inner_text()
    assert any(re.search(PERSIAN, f["text"]) for f in followed)
