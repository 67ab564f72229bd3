"""`coopqa serve`: the JSON API on a real server on loopback — the endpoints that need no model, their 4xx
answers (JSON, never a traceback), schemathesis against the served OpenAPI spec (no 5xx), and the committed
spec being current. The model endpoints get only bad input here (rejected before any model work); the
browser tests with the real model are in test_web_e2e.py."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from coopqa.api import CoopQA
from coopqa.summarize import RunStats
from coopqa.web import create_app, openapi_is_current
from test_answer import KARIMOV, Q_KARIMOV, FakeLLM, claims, number_of

FA = "004_5723fadb1fb4905d"
MEETING = f"{FA}:s5"  # the counsellor and the head of Kazakhstan's cinema centre met
AGREED = f"{FA}:s15"  # they agreed to sign a memorandum


def fa_summary() -> dict:
    """A hand-written visit summary of the Persian article (the stored-summary format; no model)."""
    return {
        "schema_version": 1, "doc_id": FA, "language": "fa", "title": "Cinema ties between Iran and Kazakhstan grow",
        "date": "2025-04-13", "date_text": "1404/01/24", "date_evidence": [f"{FA}:s1"],
        "location": {"city": "Astana", "country": "Kazakhstan", "evidence": [f"{FA}:s8"]},
        "countries": [{"name": "Iran", "evidence": [MEETING]}, {"name": "Kazakhstan", "evidence": [MEETING]}],
        "participants": [{"name": "Ali Akbar Talebi Matin", "name_original": "علی اکبر طالبیمتین",
                          "role": "cultural counsellor", "organization": None, "country": "Iran",
                          "evidence": [MEETING]}],
        "organizations": [], "follow_ups": [],
        "agreements": [{"kind": "MoU", "status": "planned", "parties": ["Iran", "Kazakhstan"],
                        "description": "cinema cooperation", "evidence": [AGREED]}],
        "cooperation_areas": [{"area": "co_production", "evidence": [f"{FA}:s7"]}],
        "summary": "Iran's cultural counsellor met the head of Kazakhstan's cinema support centre.",
        "summary_evidence": [MEETING], "dropped": [], "model": "hand-written", "elapsed_s": 0.0,
    }


@contextmanager
def live_server(coop: CoopQA) -> Iterator[str]:
    """The workspace of `coop` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(coop), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="module")
def web_home(seed_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed corpus with one stored (hand-written) summary, of the Persian article."""
    home = tmp_path_factory.mktemp("web") / "home"
    shutil.copytree(seed_home, home)
    CoopQA(home=home).summaries.put(FA, "hand-written", fa_summary(), RunStats())
    return home


@pytest.fixture(scope="module")
def base(web_home: Path) -> Iterator[str]:
    with live_server(CoopQA(home=web_home)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def error_of(response: httpx.Response, status: int) -> str:
    """The one-line error of a JSON error response with that status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]
    assert "Traceback" not in response.text
    return body["error"]


def test_health_docs_and_document_with_sentence_offsets(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["documents"] == 5 and health["summaries"] == 1
    rows = client.get("/api/docs").json()
    assert [r["doc_id"] for r in rows] == sorted(r["doc_id"] for r in rows) and FA in {r["doc_id"] for r in rows}
    assert {r["language"] for r in rows} == {"en", "ar", "fa"}
    doc = client.get(f"/api/docs/{FA}").json()
    assert doc["language"] == "fa" and doc["direction"] == "rtl" and len(doc["sentences"]) == 18
    for s in doc["sentences"]:
        assert doc["text"][s["start"]:s["end"]] == s["text"]
    meeting = next(s for s in doc["sentences"] if s["id"] == MEETING)
    assert "رایزن فرهنگی ایران در قزاقستان" in meeting["text"]
    english = next(r["doc_id"] for r in rows if r["language"] == "en")
    assert client.get(f"/api/docs/{english}").json()["direction"] == "ltr"


def test_search_ranks_the_persian_meeting_for_an_english_query(client):
    hits = client.get("/api/search", params={"q": "Iran's cultural counsellor in Kazakhstan met", "k": 5}).json()
    assert len(hits) == 5 and [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert MEETING in [h["id"] for h in hits]
    only_fa = client.get("/api/search", params={"q": "cinema", "k": 3, "lang": "fa"}).json()
    assert only_fa and {h["language"] for h in only_fa} == {"fa"}


def test_visits_and_briefing(client):
    visits = client.get("/api/visits").json()
    assert [v["doc_id"] for v in visits] == [FA]
    assert client.get(f"/api/visits/{FA}").json()["agreements"][0]["evidence"] == [AGREED]
    md = client.get("/api/brief", params={"country": "Kazakhstan"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "## Kazakhstan" in md.text and MEETING in md.text and "content-disposition" not in md.headers
    page = client.get("/api/brief", params={"format": "html", "download": "true"})
    assert page.headers["content-type"].startswith("text/html") and "<!doctype html>" in page.text
    assert page.headers["content-disposition"] == 'attachment; filename="briefing.html"'
    empty = client.get("/api/brief", params={"country": "Belarus"}).text
    assert "No summaries match." in empty


def test_page_and_its_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = [a for a in ("/static/app.js", "/static/app.css") if a in page.text]
    assert len(assets) == 2
    for asset in assets:
        assert client.get(asset).status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for cdn_page in ("/docs", "/redoc"):  # FastAPI's API pages would load their scripts from a CDN
        assert client.get(cdn_page).status_code == 404


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "says"), [
    ("get", "/api/docs/no-such-doc", {}, 404, "unknown document 'no-such-doc'"),
    ("get", "/api/visits/no-such-doc", {}, 404, "unknown document"),
    ("get", "/api/visits/001_0264cdd17540aec1", {}, 404, "no summary of '001_0264cdd17540aec1' yet"),
    ("get", "/api/search", {}, 422, "query.q"),
    ("get", "/api/search", {"params": {"q": "   "}}, 422, "query.q"),
    ("get", "/api/search", {"params": {"q": "film", "k": 0}}, 422, "query.k"),
    ("get", "/api/search", {"params": {"q": "film", "k": "many"}}, 422, "query.k"),
    ("get", "/api/search", {"params": {"q": "film", "lang": "de"}}, 422, "query.lang"),
    ("get", "/api/search", {"params": {"q": "x" * 5000}}, 422, "query.q"),
    ("get", "/api/brief", {"params": {"format": "pdf"}}, 422, "query.format"),
    ("get", "/api/brief", {"params": {"since": "yesterday"}}, 422, "query.since"),
    ("get", "/api/brief", {"params": {"until": "2024-02-30"}}, 400, "dates must be"),
    ("post", "/api/ask", {"json": {"question": ""}}, 422, "question"),
    ("post", "/api/ask", {"json": {"question": " \n\t "}}, 422, "question"),
    ("post", "/api/ask", {"json": {"question": "ق" * 10_000}}, 422, "question"),
    ("post", "/api/ask", {"json": {"question": "Who met?", "lang": "de"}}, 422, "lang"),
    ("post", "/api/ask", {"json": {"question": "Who met?", "k": 0}}, 422, "k"),
    ("post", "/api/ask", {"json": {"question": "Who met?", "model": "other"}}, 422, "model"),
    ("post", "/api/ask", {"json": {}}, 422, "question"),
    ("post", "/api/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
    ("post", "/api/ask/stream", {"json": {"question": ""}}, 422, "question"),
    ("post", "/api/ask/stream", {"json": {"question": "x" * 10_000}}, 422, "question"),
    ("get", "/api/ask", {}, 405, "Method Not Allowed"),
    ("get", "/no/such/page", {}, 404, "Not Found"),
])
def test_bad_requests_get_a_json_error(client, method, path, kwargs, status, says):
    message = error_of(client.request(method.upper(), path, **kwargs), status)
    assert says in message


def test_a_question_of_python_only_whitespace_is_a_400_without_model_work(client):
    """U+001F passes the schema's non-blank pattern but is whitespace to Python: a clear 400, no model call."""
    assert "empty question" in error_of(client.post("/api/ask", json={"question": "\x1f"}), 400)


def test_served_openapi_spec_is_the_committed_one(client):
    served = client.get("/openapi.json").json()
    assert set(served["paths"]) == {"/healthz", "/api/ask", "/api/ask/stream", "/api/search", "/api/docs",
                                    "/api/docs/{doc_id}", "/api/visits", "/api/visits/{doc_id}", "/api/brief"}
    assert openapi_is_current(), "schemas/openapi.json is stale: run `coopqa schema export`"


def test_schemathesis_finds_no_server_error(base, tmp_path):
    """Property-based requests from the served spec to every endpoint but the model's (bounded: ~10 s)."""
    cmd = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/openapi.json",
           "--exclude-path-regex", "^/api/ask", "--max-examples", "40", "--seed", "7", "--workers", "1",
           "--request-timeout", "30", "--report-dir", str(tmp_path)]
    run = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]


# ------------------------------------------------------------------ the model queue and streaming (fake model)


class SlowFakeLLM(FakeLLM):
    """A fake model that takes `delay` seconds a call and records how many calls ran at once."""

    def __init__(self, *replies, delay: float = 0.4):
        super().__init__(*replies)
        self.delay, self.running, self.peak = delay, 0, 0
        self.guard = threading.Lock()

    @contextmanager
    def busy(self) -> Iterator[None]:
        with self.guard:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.delay)
            yield
        finally:
            with self.guard:
                self.running -= 1

    def extract(self, messages, response_model, **params):
        with self.busy():
            return super().extract(messages, response_model, **params)

    def chat(self, messages, *, stream=False, **params):
        if not stream:
            with self.busy():
                return super().chat(messages, **params)

        def pieces() -> Iterator[str]:
            with self.busy():
                yield from super(SlowFakeLLM, self).chat(messages, stream=True, **params)

        return pieces()


@pytest.fixture(scope="module")
def fake_model(seed_home: Path) -> Iterator[tuple[str, SlowFakeLLM]]:
    coop = CoopQA(home=seed_home)
    coop.llm = SlowFakeLLM(lambda u: claims(("Anar Karimov, Azerbaijan's Culture Minister.", [number_of(u, KARIMOV)])))
    with live_server(coop) as url:
        yield url, coop.llm


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, event = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[6:])))
    return events


def test_concurrent_questions_queue_for_the_model_and_reads_do_not_wait(fake_model):
    url, llm = fake_model
    results: list[httpx.Response] = []

    def one() -> None:
        results.append(httpx.post(f"{url}/api/ask", json={"question": Q_KARIMOV}, timeout=60))

    threads = [threading.Thread(target=one) for _ in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(0.2)
    search = httpx.get(f"{url}/api/search", params={"q": "Karimov"}, timeout=60)
    search_s = time.perf_counter() - started
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    assert llm.peak == 1  # one model call at a time
    assert time.perf_counter() - started >= 4 * llm.delay  # so they did wait for each other
    assert search.status_code == 200 and search_s < 2 * llm.delay, search_s
    for r in results:
        body = r.json()
        assert not body["abstained"] and KARIMOV in body["citations"][0]["text"]


def test_streamed_answer_sends_drafts_then_the_same_answer(fake_model):
    url, _ = fake_model
    with httpx.stream("POST", f"{url}/api/ask/stream", json={"question": Q_KARIMOV}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    kinds = [e for e, _ in events]
    assert kinds[0] in ("queued", "start") and kinds[-1] == "answer" and kinds.count("draft") > 3, kinds
    draft = "".join(d["text"] for e, d in events if e == "draft")
    assert draft == "Anar Karimov, Azerbaijan's Culture Minister."
    answer = events[-1][1]
    plain = httpx.post(f"{url}/api/ask", json={"question": Q_KARIMOV}, timeout=60).json()
    assert {k: v for k, v in answer.items() if k != "elapsed_s"} == {k: v for k, v in plain.items() if k != "elapsed_s"}


def test_a_model_with_two_slots_gets_two_questions_at_once(seed_home):
    coop = CoopQA(home=seed_home, concurrency=2)
    coop.llm = SlowFakeLLM(lambda u: claims(("Anar Karimov, Azerbaijan's Culture Minister.", [number_of(u, KARIMOV)])))
    with live_server(coop) as url:
        threads = [threading.Thread(target=httpx.post, args=(f"{url}/api/ask",),
                                    kwargs={"json": {"question": Q_KARIMOV}, "timeout": 60}) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert coop.llm.peak == 2
