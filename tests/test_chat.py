"""`coopqa chat`: follow-ups rewritten from the history, streaming drafts on a terminal, plain text otherwise,
/sources, /json, /quit — in-process with a fake model (through a real pseudo-terminal) and end to end with the
real model in a pseudo-terminal (`-m llm`)."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coopqa.api import CoopQA
from coopqa.chat import ChatSession
from test_answer import KARIMOV, FakeLLM, claims, number_of

Q1 = "Which Azerbaijani minister visited the Iranian Film and Audiovisual Organization?"
FOLLOW = "and whom else did he meet?"
STANDALONE = "Whom else did Anar Karimov meet during his visit to Iran?"
MUKHTARPUR = "Anar Karimov also met with the head of the National Library and Archives of Iran"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def coop(seed_home: Path) -> CoopQA:
    return CoopQA(home=seed_home)


def fake() -> FakeLLM:
    def answer(user: str) -> dict:
        if "Whom else" in user:
            return claims(("Anar Karimov also met Alirza Mukhtarpur, head of the National Library and Archives "
                           "of Iran.", [number_of(user, MUKHTARPUR)]))
        return claims(("Anar Karimov, the Culture Minister.", [number_of(user, KARIMOV)]))

    llm = FakeLLM(answer)
    llm.chat_reply = STANDALONE
    return llm


def asked(llm: FakeLLM) -> list[str]:
    """The questions the answer engine put to the model."""
    return [re.search(r"Question: (.*)", c[-1]["content"]).group(1) for c in llm.calls
            if "Question: " in c[-1]["content"]]


def test_plain_session_with_follow_up_sources_json_quit(coop):
    llm = fake()
    out = io.StringIO()
    session = ChatSession(coop, llm, out=out)
    session.run(io.StringIO(f"{Q1}\n{FOLLOW}\n/sources\n/json\n/quit\nnever asked\n"))
    text = out.getvalue()
    assert not ANSI.search(text) and "draft" not in text and "you>" not in text  # plain text off a terminal
    assert "Anar Karimov, the Culture Minister [1]." in text
    assert f"→ {STANDALONE}" in text
    assert asked(llm) == [Q1, STANDALONE]  # the follow-up was answered as the standalone question
    rewrite = next(c for c in llm.calls if "Last question:" in c[-1]["content"])
    assert "Anar Karimov, the Culture Minister" in rewrite[-1]["content"] and FOLLOW in rewrite[-1]["content"]
    assert "Alirza Mukhtarpur" in text
    # /sources: the full sentence with its document
    sid = session.history[-1].result["citations"][0]["id"]
    assert f"{sid} — 002_d149433968036d4b (English, 2022-06-24)\n" in text
    assert f"    {coop.document('002_d149433968036d4b').sentence(sid).text}\n" in text
    last = json.loads(text[text.index("{\n"):text.rindex("}") + 1])
    assert last["question"] == FOLLOW and last["standalone_question"] == STANDALONE
    assert last["citations"][0]["id"] == sid and MUKHTARPUR in last["citations"][0]["text"]
    assert "never asked" not in json.dumps(asked(llm))
    assert len(session.history) == 2


def test_rewrite_falls_back_to_the_question_when_unusable(coop):
    llm = fake()
    llm.chat_reply = "Here is the question:\nWhom else did he meet?\nHope this helps"
    session = ChatSession(coop, llm, out=io.StringIO())
    session.turn(Q1)
    assert session.standalone(FOLLOW) == FOLLOW
    llm.chat_reply = "با چه کسی دیگری دیدار کرد؟"  # another language than the question's
    assert session.standalone(FOLLOW) == FOLLOW


def _read_until(fd: int, pattern: str, timeout: float, seen: list[str]) -> str:
    """Read from a pty master until `pattern` (regex) matches the text read so far."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = "".join(seen)
        if re.search(pattern, ANSI.sub("", text)):
            return text
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen.append(os.read(fd, 65536).decode("utf-8", "replace"))
            except OSError:
                break
    raise AssertionError(f"timed out waiting for {pattern!r}; got:\n{ANSI.sub('', ''.join(seen))[-3000:]}")


def test_terminal_session_streams_drafts(coop):
    """In-process through a real pseudo-terminal: prompts, streamed draft, styled answer, follow-up."""
    llm = fake()
    master, slave = pty.openpty()
    term_out = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    term_in = os.fdopen(os.dup(slave), "r", encoding="utf-8")
    session = ChatSession(coop, llm, out=term_out)
    worker = threading.Thread(target=session.run, args=(term_in,), daemon=True)
    worker.start()
    seen: list[str] = []
    try:
        _read_until(master, r"you> $", 30, seen)
        os.write(master, f"{Q1}\n".encode())
        _read_until(master, r"Culture Minister \[1\]\.[\s\S]*you> $", 60, seen)
        os.write(master, f"{FOLLOW}\n".encode())
        _read_until(master, r"Mukhtarpur[\s\S]*\[1\][\s\S]*you> $", 60, seen)
        os.write(master, b"/quit\n")
        worker.join(10)
    finally:
        os.close(master)
        term_in.close()
        term_out.close()
    text = "".join(seen)
    plain = ANSI.sub("", text)
    assert ANSI.search(text)  # styled on a terminal
    assert "draft: Anar Karimov, the Culture Minister." in plain  # streamed before verification
    assert f"→ {STANDALONE}" in plain
    assert not worker.is_alive()


# ------------------------------------------------------------------------------------------ real model


@pytest.mark.llm
def test_real_chat_in_a_pseudo_terminal(tmp_path, seed_home):
    """`coopqa chat` as a process on a pseudo-terminal, real model: a question, a follow-up, /sources."""
    import shutil

    from test_llm import _real_settings

    home = tmp_path / "chat-home"
    shutil.copytree(seed_home, home)
    gguf = _real_settings(tmp_path).gguf
    env = {**os.environ, "COOPQA_GGUF": str(gguf), "COOPQA_CACHE": "false", "COOPQA_N_CTX": "4096"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "coopqa", "--home", str(home), "chat"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen: list[str] = []
    try:
        _read_until(master, r"you> $", 60, seen)
        os.write(master, b"Which ministers signed the Iran-Kazakhstan film memorandum?\n")
        _read_until(master, r"\[1\][\s\S]*you> $", 240, seen)
        os.write(master, b"And where was it signed?\n")
        _read_until(master, r"\u2192 [\s\S]*you> $", 240, seen)
        os.write(master, b"/sources\n")
        _read_until(master, r"003_d9e8c2260bf3591a[\s\S]*you> $", 30, seen)
        os.write(master, b"/quit\n")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    plain = ANSI.sub("", "".join(seen))
    first = plain[plain.index("film memorandum?"):plain.index("And where")]
    assert re.search(r"Salehi|Balayeva", first), plain
    follow = plain[plain.index("And where"):]
    assert "\u2192" in follow and re.search(r"Kazakh|Astana", follow), plain
