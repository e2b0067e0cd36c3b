"""Where uploads are decoded: a few worker processes at low CPU priority, never the event loop.

Decoding a 5-minute MP3 takes about 0.4 s of CPU. Done on the event loop it stalls every status
poll; done in threads it competes with the loop for the GIL (and a low-priority thread holding the
GIL stalls the loop behind it). Here at most UPLOAD_DECODE_CONCURRENCY uploads are decoded at once,
each in a process of its own running at nice +10, so the API process and its event loop get a core
first; the others wait their turn. A decoder that crashes on a hostile file takes only its worker
process down: the pool is replaced and the upload is refused as undecodable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
NICENESS = 10


class DecoderCrashed(Exception):
    """The decoding process died twice on the same call (the file crashes the decoder)."""


def _start_worker() -> None:
    """In each decoding process: lower its priority, and end it if the API process goes away."""
    # Raising one's own niceness needs no privilege; a platform without it just skips this.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICENESS)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    # A worker holds its own end of the task pipe, so it never sees the API die: it looks instead.
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


class Decoder:
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        # spawn: never fork the API process, whose threads may hold locks at that moment.
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.concurrency, mp_context=self._context, initializer=_start_worker
        )

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` in a decoding process; it and its arguments must be picklable.

        Raises what ``function`` raised, or DecoderCrashed.
        """
        call = functools.partial(function, *args)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, call)
            except BrokenProcessPool:
                # Every call in flight fails with the pool: each gets one more try on a new one.
                self._replace(pool)
                logger.error("a decoding process died (attempt %d)", attempt)
        raise DecoderCrashed()

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the processes (a decode in progress finishes first: at most a few seconds)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
