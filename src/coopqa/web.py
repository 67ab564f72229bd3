"""`coopqa serve`: the web workspace (a static page, src/coopqa/static/) and a JSON HTTP API over
`coopqa.api.CoopQA`.

The local model serves one request at a time, so every model call goes through one queue (`ModelQueue`):
questions wait their turn, in arrival order, instead of failing (with COOPQA_CONCURRENCY=N, for a server
with N slots, N at a time); reads (documents, search, summaries, briefings) never wait for it. Errors are
JSON, `{"error": "one line"}` (4xx for bad requests, 503 when the model fails), never a traceback. The
OpenAPI spec is served at /openapi.json and kept in schemas/openapi.json (`coopqa schema export`; a test
fails when it is stale).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from coopqa import __version__
from coopqa.api import CoopQA
from coopqa.files import is_current, write_generated
from coopqa.model_files import LLMError
from coopqa.settings import SCHEMAS_DIR
from coopqa.store import StoreError
from coopqa.types import CoopqaError, Sentence
from coopqa.visit import VisitSummary

STATIC_DIR = Path(__file__).with_name("static")
OPENAPI_FILE = "openapi.json"
MAX_QUESTION = 4000  # characters; a longer question is a 422, not a model call
MAX_QUERY = 1000
RTL_LANGUAGES = ("ar", "fa")
DATE_PATTERN = r"^[12]\d{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
log = logging.getLogger("coopqa.web")
T = TypeVar("T")


# ---------------------------------------------------------------- API models


class ErrorOut(BaseModel):
    error: str = Field(description="One line saying what went wrong.")


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION, pattern=r"\S",
                          description="English, Arabic or Persian.")
    k: int | None = Field(None, ge=1, le=100, description="Retrieved sentences to consider.")
    lang: Literal["auto", "en", "ar", "fa"] = Field("auto", description="Answer language (auto: the question's).")


class CitationOut(BaseModel):
    marker: int
    id: str = Field(description="'<doc_id>:s<N>'")
    doc_id: str
    text: str = Field(description="The cited sentence, verbatim.")


class AnswerOut(BaseModel):
    """The answer contract (output-contract.md); fields may be added, never renamed."""

    model_config = ConfigDict(extra="allow")

    schema_version: int
    question: str
    language: str
    answer: str = Field(description="Text with inline markers like [1] [2].")
    abstained: bool
    citations: list[CitationOut]
    retrieved: list[str]
    model: str
    elapsed_s: float


class HitOut(BaseModel):
    rank: int
    id: str
    doc_id: str
    score: float
    language: str
    text: str


class DocRow(BaseModel):
    doc_id: str
    language: str
    date: str | None
    title: str | None
    sentences: int


class DocumentOut(BaseModel):
    doc_id: str
    language: str
    direction: Literal["ltr", "rtl"] = Field(description="Writing direction of the article's language.")
    title: str
    date: str | None
    date_text: str | None
    source: str | None
    text: str = Field(description="The original text; each sentence is text[start:end].")
    sentences: list[Sentence]


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    documents: int
    summaries: int
    model_queue: int = Field(description="Model requests running or waiting.")


# ---------------------------------------------------------------- the model queue


class ModelQueue:
    """Runs blocking model work in worker threads, `capacity` calls at a time (the model's slots), in arrival
    order; waiting callers hold no thread. A caller cancelled while waiting leaves the queue."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._limiter: anyio.CapacityLimiter | None = None
        self.pending = 0

    async def run(self, func: Callable[[], T]) -> T:
        if self._limiter is None:  # created on the server's event loop
            self._limiter = anyio.CapacityLimiter(self.capacity)
        self.pending += 1
        try:
            return await anyio.to_thread.run_sync(func, limiter=self._limiter)
        finally:
            self.pending -= 1


# ---------------------------------------------------------------- errors


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split()), **extra}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k not in ("input", "ctx", "url")} for e in exc.errors()]
        first = exc.errors()[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        blank = first.get("type") == "string_pattern_mismatch" and first.get("ctx", {}).get("pattern") == r"\S"
        message = "must not be blank" if blank else first.get("msg", "")
        return _error(422, f"invalid request: {where}: {message}", detail=jsonable_encoder(errors))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        response = _error(exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(CoopqaError)
    async def bad_request(_: Request, exc: CoopqaError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(LLMError)
    async def model_failed(_: Request, exc: LLMError) -> JSONResponse:
        return _error(503, f"the model failed: {exc}")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error", exc_info=exc)
        return _error(500, "internal error (see the server log)")


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in codes}


# ---------------------------------------------------------------- the app


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(coop: CoopQA | None = None) -> FastAPI:
    """The workspace and API over `coop` (default: CoopQA from the environment)."""
    coop = coop or CoopQA()
    queue = ModelQueue(coop.settings.concurrency)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(lambda: coop.retriever.table)  # open the index before requests share it
        yield

    app = FastAPI(title="coopqa", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  summary="Cited answers, visit summaries and briefings over a multilingual news corpus.")
    # (no /docs or /redoc: FastAPI's pages load their scripts from a CDN; the spec is at /openapi.json)
    app.state.coop, app.state.queue = coop, queue
    _install_error_handlers(app)

    def document_or_404(doc_id: str) -> Any:
        doc = coop.store.document(doc_id)
        if doc is None:
            raise HTTPException(404, f"unknown document '{doc_id}'")
        return doc

    @app.get("/healthz", response_model=HealthOut, tags=["meta"])
    def healthz() -> dict:
        """Liveness, corpus size and the model queue's length (never starts the model)."""
        return {"status": "ok", "version": __version__, "documents": len(coop.docs()),
                "summaries": len(coop.summaries.all()), "model_queue": queue.pending}

    @app.post("/api/ask", response_model=AnswerOut, responses=_responses(400, 503), tags=["questions"])
    async def ask(body: AskIn) -> dict:
        """Answer a question with verified citations (the answer contract), or abstain. Waits its turn for
        the model."""
        return await queue.run(lambda: coop.ask(body.question, k=body.k, lang=body.lang))

    @app.post("/api/ask/stream", tags=["questions"], responses={
        200: {"description": "Server-sent events: `queued` {ahead}, `start` {}, `draft` {text} (the model's "
                             "unverified words as they come), then `answer` (the answer contract) or "
                             "`error` {error}.", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **_responses(400)})
    async def ask_stream(body: AskIn) -> StreamingResponse:
        """The same answer as POST /api/ask, streamed as server-sent events while the model writes."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(event: str, data: Any) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (event, data))

        def work() -> dict:
            put("start", {})
            return coop.ask(body.question, k=body.k, lang=body.lang, on_draft=lambda text: put("draft", {"text": text}))

        async def stream() -> AsyncIterator[str]:
            if queue.pending:
                yield _sse("queued", {"ahead": queue.pending})
            task = asyncio.ensure_future(queue.run(work))
            try:
                while True:
                    getter = asyncio.ensure_future(events.get())
                    await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    yield _sse(*getter.result())
                while not events.empty():
                    yield _sse(*events.get_nowait())
                try:
                    yield _sse("answer", jsonable_encoder(task.result()))
                except (CoopqaError, LLMError) as exc:
                    yield _sse("error", {"error": " ".join(str(exc).split())})
                except Exception as exc:
                    log.exception("internal error", exc_info=exc)
                    yield _sse("error", {"error": "internal error (see the server log)"})
            finally:
                task.cancel()  # the client left: a waiting request leaves the queue

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/search", response_model=list[HitOut], responses=_responses(400), tags=["corpus"])
    def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, pattern=r"\S", description="Any language.")],
        k: Annotated[int, Query(ge=1, le=100)] = 5,
        lang: Annotated[Literal["en", "ar", "fa"] | None, Query(description="Only articles in this language.")]
        = None,
    ) -> list[dict]:
        """Ranked citable sentences for a query."""
        return [{"rank": n, "id": h.id, "doc_id": h.doc_id, "score": round(h.score, 4), "language": h.language,
                 "text": h.text} for n, h in enumerate(coop.search(q, k, lang), 1)]

    @app.get("/api/docs", response_model=list[DocRow], tags=["corpus"])
    def docs() -> list[dict]:
        """The indexed articles."""
        return coop.docs()

    @app.get("/api/docs/{doc_id}", response_model=DocumentOut, responses=_responses(404), tags=["corpus"])
    def document(doc_id: str) -> dict:
        """An article's original text and its sentences with character offsets (the citable units)."""
        doc = document_or_404(doc_id)
        return {**doc.model_dump(), "title": doc.title or "",
                "direction": "rtl" if doc.language in RTL_LANGUAGES else "ltr"}

    @app.get("/api/visits", response_model=list[VisitSummary], tags=["summaries"])
    def visits() -> list[dict]:
        """The stored visit summaries (`coopqa summarize`), newest first; undated ones last."""
        return sorted(coop.summaries.all(), key=lambda s: (s.get("date") is not None, s.get("date") or ""),
                      reverse=True)

    @app.get("/api/visits/{doc_id}", response_model=VisitSummary, responses=_responses(404), tags=["summaries"])
    def visit(doc_id: str) -> dict:
        """The stored visit summary of an article; every field cites its evidence sentences."""
        document_or_404(doc_id)
        summary = coop.summaries.load(doc_id)
        if summary is None:
            raise HTTPException(404, f"no summary of '{doc_id}' yet: run `coopqa summarize {doc_id}`")
        return summary

    @app.get("/api/brief", tags=["summaries"], responses={
        200: {"description": "The briefing.", "content": {"text/markdown": {"schema": {"type": "string"}},
                                                           "text/html": {"schema": {"type": "string"}}}},
        **_responses(400, 404)})
    def brief(
        country: Annotated[str | None, Query(max_length=100, description="Only this partner (any language).")]
        = None,
        since: Annotated[str | None, Query(pattern=DATE_PATTERN, description="YYYY[-MM[-DD]]")] = None,
        until: Annotated[str | None, Query(pattern=DATE_PATTERN, description="YYYY[-MM[-DD]]")] = None,
        fmt: Annotated[Literal["md", "html"], Query(alias="format", description="Markdown or a self-contained page.")]
        = "md",
        download: Annotated[bool, Query(description="Offer the briefing as a file.")] = False,
    ) -> Response:
        """A briefing over the stored summaries: newest first, by partner country, every statement cited."""
        if not coop.summaries.all():
            raise HTTPException(404, "no summaries yet: run `coopqa summarize --all` first")
        text = coop.briefing(country=country, since=since, until=until, fmt=fmt)
        headers = {"Content-Disposition": f'attachment; filename="briefing.{fmt}"'} if download else None
        if fmt == "html":
            return HTMLResponse(text, headers=headers)
        return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


# ---------------------------------------------------------------- the committed spec


def openapi_text() -> str:
    return json.dumps(create_app(CoopQA()).openapi(), ensure_ascii=False, indent=2) + "\n"


def export_openapi(dest: Path | None = None) -> Path:
    """Write the OpenAPI spec (default schemas/openapi.json) and return its path."""
    return write_generated(dest or SCHEMAS_DIR / OPENAPI_FILE, openapi_text())


def openapi_is_current(path: Path | None = None) -> bool:
    return is_current(path or SCHEMAS_DIR / OPENAPI_FILE, openapi_text())


def serve(coop: CoopQA, host: str, port: int) -> None:
    """Run the workspace until interrupted (an unusable --home fails here, with one line)."""
    import uvicorn

    coop.docs()
    uvicorn.run(create_app(coop), host=host, port=port, log_level="info")
