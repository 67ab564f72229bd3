"""The one path to the model: an OpenAI-compatible server (embedded llama.cpp or remote) via `openai` + `instructor`.

    llm = LLM(settings)
    visit = llm.extract(messages, Visit)            # schema-constrained JSON, validated, retried, cached
    text = llm.chat(messages)                       # free text; llm.chat(..., stream=True) yields chunks
    llm.last                                        # CallStats of the last call (tokens, seconds, tokens/s)

With `settings.base_url` unset, xllamacpp's llama.cpp server runs in this process on 127.0.0.1 (a free port,
a random API key), started on first use, once per process, and stopped at exit. Every failure surfaces as
`LLMError` whose str() is one line for the user; callers working per document catch it and move on.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.v2.core.hooks import Hooks
from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from coopqa.files import atomic_write
from coopqa.model_files import LLMError, ModelError, ModelOutputError, default_gguf_path, resolve_gguf
from coopqa.settings import Settings

__all__ = [
    "DEFAULT_CHAT_MAX_TOKENS",
    "DEFAULT_EXTRACT_MAX_TOKENS",
    "LLM",
    "CallStats",
    "EmbeddedServer",
    "LLMError",
    "ModelError",
    "cache_key",
    "embedded_server",
    "embedded_slots",
    "health_check",
    "model_info",
    "shutdown_embedded",
]

# instructor logs "Max retries exceeded" at ERROR level; we turn failures into LLMError ourselves, so keep
# Python's last-resort handler from printing it (an app that configures logging still sees it).
logging.getLogger("instructor").addHandler(logging.NullHandler())
log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Messages = str | Sequence[Mapping[str, Any]]

DEFAULT_EXTRACT_MAX_TOKENS = 1024
DEFAULT_CHAT_MAX_TOKENS = 512
CACHE_VERSION = 1
MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,  # response_format json_schema -> llama.cpp grammar-constrained
    "md_json": instructor.Mode.MD_JSON,
    "json": instructor.Mode.JSON,
    "tools": instructor.Mode.TOOLS,
}


# --------------------------------------------------------------------------------------------- embedded server


class EmbeddedServer:
    """xllamacpp's llama.cpp server inside this process, listening on 127.0.0.1:<free port>."""

    def __init__(self, gguf: Path, *, model: str, threads: int, n_ctx: int, parallel: int = 1,
                 verbose: bool = False) -> None:
        import xllamacpp  # only the embedded backend needs it

        self.gguf = Path(gguf)
        self.model = model
        self.api_key = secrets.token_urlsafe(24)  # keep other local users off the port
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf)
        params.model_alias = [model]
        params.n_parallel = parallel
        params.n_ctx = n_ctx * parallel  # llama.cpp splits n_ctx across slots: each request gets n_ctx
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the OS picks a free port
        params.api_keys = [self.api_key]
        params.ui = False
        params.verbosity = 3 if verbose else 0
        started = time.perf_counter()
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ModelError(
                f"llama.cpp could not load {self.gguf} (not a valid GGUF, or not enough memory for "
                f"n_ctx={n_ctx}); set COOPQA_GGUF to a working model or COOPQA_BASE_URL to a server"
            ) from exc
        self.startup_s = time.perf_counter() - started
        self.base_url = f"{self._server.listening_address}/v1"
        log.info("embedded llama.cpp server at %s (%s) started in %.1fs", self.base_url, model, self.startup_s)

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop the server (joins its threads; idempotent)."""
        server, self._server = self._server, None
        del server  # the C++ destructor stops the HTTP loop and frees the model

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_servers: dict[tuple, EmbeddedServer] = {}
_servers_lock = threading.Lock()
_instances: weakref.WeakSet[LLM] = weakref.WeakSet()


def _embedded_model_name(settings: Settings, gguf: Path) -> str:
    return settings.model or gguf.name


def embedded_slots(settings: Settings) -> int:
    """Requests the embedded server decodes at once: COOPQA_PARALLEL, raised to the batch concurrency."""
    return max(settings.parallel, settings.concurrency)


def embedded_server(settings: Settings) -> EmbeddedServer:
    """The process-wide embedded server for these settings, started (and the GGUF joined) on first use."""
    gguf = resolve_gguf(settings)
    key = (str(gguf.resolve()), _embedded_model_name(settings, gguf), settings.threads, settings.n_ctx,
           embedded_slots(settings))
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.running:
            server = EmbeddedServer(
                gguf, model=key[1], threads=settings.threads, n_ctx=settings.n_ctx, parallel=key[4],
                verbose=os.environ.get("COOPQA_LLAMA_VERBOSE", "") not in ("", "0"),
            )
            _servers[key] = server
        return server


def shutdown_embedded() -> None:
    """Stop every embedded server of this process (registered with atexit).

    Our HTTP clients are closed first: a connection left open (e.g. an abandoned stream) can otherwise hold
    llama.cpp's shutdown for ~30 s.
    """
    for llm in list(_instances):
        llm.close()
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


atexit.register(shutdown_embedded)


# --------------------------------------------------------------------------------------------- stats


@dataclass
class CallStats:
    """What the last call cost. Tokens and llama.cpp timings are summed over instructor's attempts."""

    kind: str  # "extract" | "chat"
    model: str
    cached: bool = False
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    prompt_n: int = 0  # prompt tokens llama.cpp actually evaluated (prompt_tokens minus its prompt-cache hits)
    prompt_ms: float | None = None  # llama.cpp's own timings (None from servers that don't report them)
    predicted_n: int = 0
    predicted_ms: float | None = None
    finish_reason: str | None = None

    @property
    def prompt_tps(self) -> float | None:
        """Prompt-processing tokens/s as measured by llama.cpp (excludes the prompt cache)."""
        return None if not self.prompt_ms else self.prompt_n * 1000.0 / self.prompt_ms

    @property
    def generation_tps(self) -> float | None:
        """Generation tokens/s as measured by llama.cpp."""
        return None if not self.predicted_ms else self.predicted_n * 1000.0 / self.predicted_ms

    def add(self, response: Any) -> None:
        """Account one raw completion (or the final chunk of a stream)."""
        self.attempts += 1
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0
        timings = (getattr(response, "model_extra", None) or {}).get("timings")
        if isinstance(timings, dict):
            self.prompt_ms = (self.prompt_ms or 0.0) + float(timings.get("prompt_ms") or 0.0)
            self.predicted_ms = (self.predicted_ms or 0.0) + float(timings.get("predicted_ms") or 0.0)
            self.prompt_n += int(timings.get("prompt_n") or 0)
            self.predicted_n += int(timings.get("predicted_n") or 0)
        choices = getattr(response, "choices", None)
        if choices:
            self.finish_reason = choices[0].finish_reason or self.finish_reason

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["prompt_tps"], d["generation_tps"] = self.prompt_tps, self.generation_tps
        return d


# --------------------------------------------------------------------------------------------- errors


def _one_line(text: object, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return _one_line(err["message"])
        return _one_line(err)
    return _one_line(exc.message)


def _describe(exc: BaseException) -> str:
    """A validation failure in a few words: `loc: message` for the first errors, without pydantic's URLs."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in errors[:3])
        return _one_line(text + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""), 200)
    return _one_line(exc, 200)


def _retryable(status: int) -> bool:
    """Statuses the openai client resends (with backoff): request timeout, conflict, rate limit, server errors."""
    return status in (408, 409, 429) or status >= 500


def _as_llm_error(exc: BaseException, *, base_url: str, timeout: float, what: str, max_tokens: int,
                  retries: int = 0) -> LLMError:
    """One line for the user; `retries` is how often a failed request was resent before giving up."""
    tried = f" (retried {retries} times)" if retries else ""
    for e in _causes(exc):
        if isinstance(e, LLMError):
            return e
        if isinstance(e, openai.APITimeoutError):
            return LLMError(f"the LLM did not answer within {timeout:g}s ({base_url}){tried}; raise COOPQA_TIMEOUT_S")
        if isinstance(e, openai.APIConnectionError):
            reason = _one_line(e.__cause__) if e.__cause__ else "connection error"
            return LLMError(f"cannot reach the LLM server at {base_url}: {reason}{tried}")
        if isinstance(e, openai.APIStatusError):
            return LLMError(f"the LLM server at {base_url} answered {e.status_code}: {_server_message(e)}"
                            + (tried if _retryable(e.status_code) else ""))
        if isinstance(e, IncompleteOutputException):
            return ModelOutputError(f"the model's {what} hit max_tokens={max_tokens} before it was complete; "
                                    "raise max_tokens or shorten the input", _content(e.last_completion))
    if isinstance(exc, InstructorRetryException):
        last = exc.failed_attempts[-1].exception if exc.failed_attempts else exc
        return ModelOutputError(f"the model's output was not a valid {what} after {exc.n_attempts} attempt(s): "
                        f"{_describe(last)}")
    return LLMError(f"LLM call failed ({type(exc).__name__}): {_one_line(exc)}")


def _content(completion: Any) -> str | None:
    """The message text of a chat completion, or None."""
    try:
        return completion.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return None


# --------------------------------------------------------------------------------------------- cache


def cache_key(model: str, messages: Sequence[Mapping[str, Any]], schema: Mapping[str, Any] | None,
              params: Mapping[str, Any]) -> str:
    """sha256 over (model, messages, JSON schema, request params) in a canonical JSON form."""
    payload = {"v": CACHE_VERSION, "model": model, "messages": list(messages), "schema": schema,
               "params": dict(params)}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per entry under `root/<k[:2]>/<k>.json`, written atomically; unreadable entries are misses."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with open(self.path(key), encoding="utf-8") as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and entry.get("v") == CACHE_VERSION else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps({"v": CACHE_VERSION, **entry}, ensure_ascii=False))
        except OSError as exc:  # a cache that can't be written must not fail the call
            log.warning("LLM cache write failed (%s): %s", path, exc)


# --------------------------------------------------------------------------------------------- LLM


def _as_messages(messages: Messages) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [dict(m) for m in messages]


def _as_plain(result: Any, response_model: type[M]) -> M:
    """instructor returns an instance of a subclass it made (so `==` with a plain `response_model` fails) and
    keeps the raw completion on it; give callers exactly `response_model`, as a cache hit does."""
    if type(result) is response_model:
        return result
    plain = response_model.__new__(response_model)
    fields = response_model.model_fields
    object.__setattr__(plain, "__dict__", {k: v for k, v in result.__dict__.items() if k in fields})
    object.__setattr__(plain, "__pydantic_fields_set__", set(result.__pydantic_fields_set__))
    object.__setattr__(plain, "__pydantic_extra__", result.__pydantic_extra__)
    object.__setattr__(plain, "__pydantic_private__", result.__pydantic_private__)
    return plain


def _bounded(max_tokens: int | None, default: int) -> int:
    value = default if max_tokens is None else int(max_tokens)
    if value <= 0:
        raise ValueError(f"max_tokens must be positive, got {value}")
    return value


class LLM:
    """Structured extraction and free-text chat against one OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._local = threading.local()  # `last` per thread: batch work calls one LLM from several threads
        self.cache = ResponseCache(self.settings.cache_dir / "llm")
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._instructor: Any = None
        self._base_url: str | None = None
        self._model: str | None = None
        self._server: EmbeddedServer | None = None
        _instances.add(self)

    @property
    def last(self) -> CallStats | None:
        """Stats of this thread's last call."""
        return getattr(self._local, "last", None)

    @last.setter
    def last(self, stats: CallStats | None) -> None:
        self._local.last = stats

    # -- connection --------------------------------------------------------------------------------------------

    def _connect(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            s = self.settings
            if s.base_url:
                base_url, api_key = s.base_url.rstrip("/"), s.api_key or "not-needed"
            else:
                self._server = embedded_server(s)
                base_url, api_key, self._model = self._server.base_url, self._server.api_key, self._server.model
            # openai's own retry loop resends a request on 408/409/429/5xx, timeouts and dropped connections
            # with exponential backoff and jitter (Retry-After honoured); instructor retries only invalid output.
            client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=s.timeout_s,
                                   max_retries=s.request_retries)
            if self._model is None:
                self._base_url = base_url
                self._model = s.model or self._remote_model(client, base_url)
            self._base_url = base_url
            self._instructor = instructor.from_openai(client, mode=MODES[s.llm_mode])
            self._client = client

    def _remote_model(self, client: openai.OpenAI, base_url: str) -> str:
        """No COOPQA_MODEL for a remote server: use the first model it lists (llama-server has one)."""
        try:
            models = client.models.list().data
        except Exception as exc:
            raise _as_llm_error(exc, base_url=base_url, timeout=self.settings.timeout_s, what="model list",
                                max_tokens=0, retries=self.settings.request_retries) from exc
        if not models:
            raise LLMError(f"the LLM server at {base_url} lists no models; set COOPQA_MODEL")
        return models[0].id

    @property
    def base_url(self) -> str:
        self._connect()
        assert self._base_url is not None
        return self._base_url

    @property
    def model(self) -> str:
        """The model name sent to the server; for the embedded one known without starting it."""
        if self._model is None:
            if self.settings.base_url:
                self._connect()
            else:
                self._model = _embedded_model_name(self.settings, default_gguf_path(self.settings))
        assert self._model is not None
        return self._model

    @property
    def startup_s(self) -> float | None:
        """Seconds the embedded server took to load (None for a remote server)."""
        return self._server.startup_s if self._server else None

    def close(self) -> None:
        """Close the HTTP client (the embedded server lives on for the process; see shutdown_embedded)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = self._instructor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect_s(self) -> float:
        """Connect (starting the embedded server if needed); the seconds spent, kept out of CallStats.seconds."""
        t0 = time.perf_counter()
        self._connect()
        return time.perf_counter() - t0

    def _use_cache(self, cache: bool | None) -> bool:
        return self.settings.cache if cache is None else cache

    def _fail(self, exc: BaseException, what: str, max_tokens: int) -> LLMError:
        return _as_llm_error(exc, base_url=self._base_url or "?", timeout=self.settings.timeout_s, what=what,
                             max_tokens=max_tokens, retries=self.settings.request_retries)

    # -- structured output -------------------------------------------------------------------------------------

    def extract(
        self,
        messages: Messages,
        response_model: type[M],
        *,
        max_tokens: int | None = DEFAULT_EXTRACT_MAX_TOKENS,
        temperature: float | None = None,
        max_retries: int | None = None,
        context: dict[str, Any] | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> M:
        """Fill `response_model` from the model's answer to `messages`.

        Decoding is constrained to the model's JSON schema (settings.llm_mode="json_schema"); a reply that
        fails validation is sent back with the error, up to settings.max_retries times. `context` is passed
        to the model's validators (and is part of the cache key). Raises LLMError.
        """
        msgs = _as_messages(messages)
        limit = _bounded(max_tokens, DEFAULT_EXTRACT_MAX_TOKENS)
        request = {"temperature": self.settings.temperature if temperature is None else temperature,
                   "max_tokens": limit, **params}
        retries = self.settings.max_retries if max_retries is None else max_retries
        what = response_model.__name__
        try:
            model = self.model  # for the embedded server, known without starting it
        except Exception as exc:
            raise self._fail(exc, what, limit) from exc
        stats = CallStats(kind="extract", model=model)
        started = time.perf_counter()
        key = cache_key(model, msgs, response_model.model_json_schema(),
                        {**request, "mode": self.settings.llm_mode, "context": context})
        if self._use_cache(cache) and (entry := self.cache.get(key)) is not None:
            try:
                result = response_model.model_validate_json(json.dumps(entry["output"]), context=context)
            except (ValidationError, KeyError, TypeError):
                result = None  # the model class changed under the same schema: recompute
            if result is not None:
                stats.cached, stats.seconds = True, time.perf_counter() - started
                self.last = stats
                return result
        hooks = Hooks()
        hooks.on("completion:response", stats.add)
        try:
            started += self._connect_s()
            result = self._instructor.chat.completions.create(
                model=model, messages=msgs, response_model=response_model, max_retries=retries,
                context=context, hooks=hooks, **request,
            )
        except Exception as exc:
            stats.seconds = time.perf_counter() - started
            self.last = stats
            raise self._fail(exc, what, limit) from exc
        result = _as_plain(result, response_model)
        stats.seconds = time.perf_counter() - started
        self.last = stats
        if self._use_cache(cache):
            self.cache.put(key, {"kind": "extract", "model": model, "response_model": what,
                                 "created": time.time(), "output": json.loads(result.model_dump_json(by_alias=True)),
                                 "stats": stats.as_dict()})
        return result

    # -- free text ---------------------------------------------------------------------------------------------

    def chat(
        self,
        messages: Messages,
        *,
        stream: bool = False,
        max_tokens: int | None = DEFAULT_CHAT_MAX_TOKENS,
        temperature: float | None = None,
        cache: bool | None = None,
        **params: Any,
    ) -> str | Iterator[str]:
        """The model's reply as text, or (stream=True) an iterator of text chunks. Raises LLMError.

        A reply cut off by max_tokens is returned as is; `llm.last.finish_reason == "length"` tells.
        """
        msgs = _as_messages(messages)
        limit = _bounded(max_tokens, DEFAULT_CHAT_MAX_TOKENS)
        request = {"temperature": self.settings.temperature if temperature is None else temperature,
                   "max_tokens": limit, **params}
        try:
            model = self.model
        except Exception as exc:
            raise self._fail(exc, "reply", limit) from exc
        key = cache_key(model, msgs, None, request)
        use_cache = self._use_cache(cache)
        stats = CallStats(kind="chat", model=model)
        started = time.perf_counter()
        if use_cache and isinstance(text := (self.cache.get(key) or {}).get("output"), str):
            stats.cached, stats.seconds = True, time.perf_counter() - started
            self.last = stats
            return iter([text]) if stream else text
        if stream:
            return self._stream(msgs, request, key if use_cache else None, stats, limit)
        try:
            started += self._connect_s()
            response = self._client.chat.completions.create(  # type: ignore[union-attr]
                model=model, messages=msgs, **request)
        except Exception as exc:
            stats.seconds = time.perf_counter() - started
            self.last = stats
            raise self._fail(exc, "reply", limit) from exc
        stats.add(response)
        stats.seconds = time.perf_counter() - started
        self.last = stats
        text = response.choices[0].message.content or ""
        if use_cache:
            self._put_chat(key, text, stats)
        return text

    def _stream(self, msgs: list[dict[str, Any]], request: dict[str, Any], key: str | None, stats: CallStats,
                limit: int) -> Iterator[str]:
        parts: list[str] = []
        self.last = stats
        started = time.perf_counter()  # the request goes out on the first next()
        try:
            started += self._connect_s()
            with self._client.chat.completions.create(  # type: ignore[union-attr]
                model=stats.model, messages=msgs, stream=True, stream_options={"include_usage": True}, **request
            ) as chunks:
                for chunk in chunks:
                    if chunk.choices:
                        piece = chunk.choices[0].delta.content or ""
                        stats.finish_reason = chunk.choices[0].finish_reason or stats.finish_reason
                        if piece:
                            parts.append(piece)
                            yield piece
                    if chunk.usage is not None:
                        stats.add(chunk)
        except Exception as exc:
            raise self._fail(exc, "reply", limit) from exc
        finally:
            stats.seconds = time.perf_counter() - started
        if key is not None:
            self._put_chat(key, "".join(parts), stats)

    def _put_chat(self, key: str, text: str, stats: CallStats) -> None:
        self.cache.put(key, {"kind": "chat", "model": stats.model, "created": time.time(), "output": text,
                             "stats": stats.as_dict()})


# --------------------------------------------------------------------------------------------- info / health


def model_info(settings: Settings) -> dict[str, Any]:
    """What `coopqa model` shows, without starting anything."""
    if settings.base_url:
        return {"backend": "remote", "base_url": settings.base_url, "model": settings.model, "gguf": None,
                "gguf_exists": None, "running": None, "startup_s": None, "mode": settings.llm_mode,
                "timeout_s": settings.timeout_s}
    gguf = default_gguf_path(settings)
    running = [s for s in list(_servers.values()) if s.running and s.gguf == gguf]
    return {"backend": "embedded", "base_url": running[0].base_url if running else None,
            "model": _embedded_model_name(settings, gguf), "gguf": str(gguf), "gguf_exists": gguf.is_file(),
            "running": bool(running), "startup_s": running[0].startup_s if running else None,
            "mode": settings.llm_mode, "threads": settings.threads, "n_ctx": settings.n_ctx,
            "parallel": embedded_slots(settings), "timeout_s": settings.timeout_s}


def health_check(settings: Settings) -> tuple[bool, str, float]:
    """Start/reach the model and run a one-line prompt: (ok, one-line message, seconds including startup)."""
    started = time.perf_counter()
    with LLM(settings) as llm:
        try:
            reply = llm.chat("Reply with the single word OK.", max_tokens=8, cache=False)
            where = f"{llm.model} at {llm.base_url}"
        except LLMError as exc:
            return False, str(exc), time.perf_counter() - started
        startup, stats = llm.startup_s, llm.last
    seconds = time.perf_counter() - started
    reply = _one_line(reply, 40)
    if not reply:
        return False, f"{where} returned an empty reply", seconds
    extra = f", startup {startup:.1f}s" if startup is not None else ""
    if stats and stats.generation_tps:
        extra += f", generation {stats.generation_tps:.1f} tokens/s"
    return True, f"{where} replied {reply!r} in {seconds:.1f}s{extra}", seconds
