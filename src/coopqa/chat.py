"""`coopqa chat`: an interactive, history-aware question session over the corpus.

Each question goes through the same engine as `coopqa ask` (coopqa.answer): verified claims with
citations, or an abstention. A follow-up ("and what did they agree?") is first rewritten into a standalone
question from the conversation so far (prompts/answer_standalone.md). On a terminal the model's claims are
streamed as they are generated (marked as a draft), then the verified answer replaces them in the record;
when stdout is not a terminal the session prints plain text, answers only.

Commands: /sources (the last answer's cited sentences in full, with their documents), /json (the last
answer's JSON), /help, /quit (or Ctrl-D).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from coopqa.answer import LANGUAGE_NAMES, AnswerEngine
from coopqa.model_files import LLMError
from coopqa.prompts import load_prompt
from coopqa.text import detect_language
from coopqa.types import CoopqaError

if TYPE_CHECKING:
    from coopqa.api import CoopQA

HISTORY_TURNS = 3  # turns of history shown to the rewriter
HELP = "Ask a question in English, Arabic or Persian. /sources  /json  /help  /quit"
_DIM, _BOLD, _CYAN, _RESET = "\x1b[2m", "\x1b[1m", "\x1b[36m", "\x1b[0m"


@dataclass
class Turn:
    question: str
    standalone: str
    result: dict


@dataclass
class ChatSession:
    """One conversation: `session.turn(question)` answers with the history taken into account."""

    coop: CoopQA
    llm: Any = None
    k: int | None = None
    lang: str | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    tty: bool | None = None
    history: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = AnswerEngine(self.coop, self.llm) if self.llm is not None else self.coop.answers
        if self.tty is None:
            self.tty = bool(getattr(self.out, "isatty", lambda: False)())

    # -- output ----------------------------------------------------------------------------------------------

    def _write(self, text: str, style: str = "") -> None:
        if self.tty and style:
            text = f"{style}{text}{_RESET}"
        self.out.write(text)
        self.out.flush()

    def _line(self, text: str = "", style: str = "") -> None:
        self._write(text, style)
        self._write("\n")

    # -- one turn --------------------------------------------------------------------------------------------

    def standalone(self, question: str) -> str:
        """The question rewritten to stand alone given the history (unchanged without history, or when the
        rewrite is unusable: empty, several lines, or in another language)."""
        if not self.history:
            return question
        turns = self.history[-HISTORY_TURNS:]
        convo = "\n".join(f"Q: {t.standalone}\nA: {_plain(t.result['answer'])}" for t in turns)
        messages = [{"role": "system", "content": load_prompt("answer_standalone")},
                    {"role": "user", "content": f"Conversation:\n{convo}\n\nLast question: {question}"}]
        try:
            text = str(self.engine.llm.chat(messages, max_tokens=80))
        except LLMError:
            return question
        text = text.strip().strip('"«»“”').strip()
        if text.lower().startswith(("standalone question:", "question:")):
            text = text.split(":", 1)[1].strip()
        if not text or "\n" in text or len(text) > 4 * len(question) + 200:
            return question
        if detect_language(text) != detect_language(question):
            return question
        return text

    def turn(self, question: str) -> dict:
        """Answer one question (a follow-up is rewritten first); prints the draft and the answer."""
        language = self.lang if self.lang not in (None, "auto") else detect_language(question)
        standalone = self.standalone(question)
        if standalone != question:
            self._line(f"  → {standalone}", _DIM)
        on_draft = None
        drafted: list[str] = []
        if self.tty:
            def on_draft(piece: str) -> None:
                if not drafted:
                    self._write("  draft: ", _DIM)
                drafted.append(piece)
                self._write(piece, _DIM)

        result = self.engine.ask(standalone, k=self.k, lang=language, on_draft=on_draft)
        if drafted:
            self._line()
        result = {**result, "question": question, "standalone_question": standalone}
        self.history.append(Turn(question, standalone, result))
        self.show(result)
        return result

    def show(self, result: dict) -> None:
        self._line(result["answer"], _BOLD)
        for c in result["citations"]:
            text = " ".join(c["text"].split())
            short = text if len(text) <= 140 else text[:139] + "…"
            self._line(f"  [{c['marker']}] {c['id']}  {short}", _CYAN)

    def sources(self) -> None:
        """The last answer's cited sentences in full, with their documents."""
        if not self.history:
            self._line("No answer yet.")
            return
        result = self.history[-1].result
        if not result["citations"]:
            self._line("The last answer cites nothing.")
            return
        for c in result["citations"]:
            doc = self.coop.document(c["doc_id"])
            meta = ", ".join(x for x in (LANGUAGE_NAMES.get(doc.language, doc.language), doc.date) if x)
            self._line(f"[{c['marker']}] {c['id']} — {doc.doc_id} ({meta})", _BOLD)
            if doc.title:
                self._line(f"    {doc.title}", _DIM)
            if doc.path:
                self._line(f"    {doc.path}", _DIM)
            self._line(f"    {c['text']}")

    # -- the loop --------------------------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Process one input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            command = line.split()[0].lower()
            if command in ("/quit", "/exit", "/q"):
                return False
            if command == "/sources":
                self.sources()
            elif command == "/json":
                self._line(json.dumps(self.history[-1].result if self.history else {}, ensure_ascii=False,
                                      indent=2))
            elif command == "/help":
                self._line(HELP)
            else:
                self._line(f"unknown command {command}; {HELP}")
            return True
        try:
            self.turn(line)
        except (CoopqaError, LLMError) as exc:
            self._line(f"error: {exc}")
        return True

    def run(self, stdin: TextIO | None = None) -> None:
        """Read questions until /quit or end of input."""
        stdin = stdin or sys.stdin
        interactive = self.tty and bool(getattr(stdin, "isatty", lambda: False)())
        if self.tty:
            self._line(f"coopqa chat — {HELP}", _DIM)
        while True:
            if interactive:
                self._write("you> ", _BOLD)
            line = stdin.readline()
            if not line:
                if interactive:
                    self._line()
                break
            if not self.handle(line):
                break
            if self.tty:
                self._line()


def _plain(answer: str) -> str:
    """An answer without its citation markers (for the rewriter)."""
    import re

    return " ".join(re.sub(r"\s*\[\d+\]", "", answer).split())
