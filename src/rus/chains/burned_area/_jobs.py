"""A job queue shared by one helper thread and the thread that fills it.

The chain's raster writes (GDAL compresses with the GIL released) run on a helper thread while
the main thread cleans, counts, vectorises and draws; when the main thread is done it takes the
writes that are still queued instead of waiting idle. On two cores that keeps both busy to the
end, where a fixed pool of one writer left a core idle and a pool of two competed with the main
thread while it still had work.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class SharedQueue:
    """Run submitted callables on one helper thread; :meth:`help_and_wait` joins in."""

    def __init__(self, name: str = "rus-writer") -> None:
        self._jobs: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self._jobs = deque()
        self._lock = threading.Lock()
        self._helper: threading.Thread | None = None
        self._name = name

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``fn(*args, **kwargs)``; start the helper thread if it is not running."""
        fut: Future[Any] = Future()
        with self._lock:
            self._jobs.append((fut, fn, args, kwargs))
            if self._helper is None:
                self._helper = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._helper.start()
        return fut

    def _next(self, helper: bool) -> tuple[Future[Any], Callable[..., Any], Any, Any] | None:
        with self._lock:
            if self._jobs:
                return self._jobs.popleft()
            if helper:
                self._helper = None  # under the lock: a later submit starts a new helper
            return None

    def _drain(self, helper: bool) -> None:
        while (job := self._next(helper)) is not None:
            fut, fn, args, kwargs = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the waiter
                fut.set_exception(exc)

    def _run(self) -> None:
        self._drain(helper=True)

    def help_and_wait(self) -> None:
        """Run queued jobs on this thread until none is left, then wait for the helper."""
        self._drain(helper=False)
        with self._lock:
            helper = self._helper
        if helper is not None:
            helper.join()
