"""Batch work with up to N items in flight: a thread pool (the openai client is thread-safe; the model
server queues or batches what it receives), results handed back as they finish."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_all(fn: Callable[[T], R], items: Iterable[T], workers: int = 1
            ) -> Iterator[tuple[T, R | None, Exception | None]]:
    """(item, fn(item), None) or (item, None, the exception) for every item, in the order they finish.

    With one worker the items run in order in the calling thread. Leaving the loop early (an exception,
    Ctrl-C, `break`) cancels the items not yet started; those already running finish in the background.
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        for item in items:
            try:
                result = fn(item)
            except Exception as exc:
                yield item, None, exc
            else:
                yield item, result, None
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="coopqa-batch")
    try:
        futures = {pool.submit(fn, item): item for item in items}
        for future in as_completed(futures):
            exc = future.exception()
            if exc is not None and not isinstance(exc, Exception):
                raise exc
            yield futures[future], None if exc else future.result(), exc  # type: ignore[misc]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
