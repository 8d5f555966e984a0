"""The wall-clock budget of one request, and whether any answer byte came back.

requests' read timeout applies to each recv, so a server sending one byte a second could hold a
request forever. `RequestGuard` starts a timer when the request starts; when the budget is spent
(or the target was judged dead meanwhile, `abandon`) it shuts the connection's socket down, which
ends a blocked send or read at once. It also counts the answer bytes received, so
the client knows whether a failed POST got any answer (an answered POST is never sent again).

`GuardedAdapter` is requests' adapter with connection pools that hand each connection to the
current guard (`current_guard`, set by the client around each request) and read answers through
a counting reader.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import io
import socket
import threading
import time
from typing import Any

import urllib3.connection
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from smoke.errors import ProbeError

# The wall-clock guard of the request this thread is sending (set by Client._send_once).
current_guard: contextvars.ContextVar[RequestGuard | None] = contextvars.ContextVar("current_guard", default=None)


class RequestGuard:
    """The wall-clock budget of one request: when it is spent, a timer shuts the socket down."""

    RECHECK_SECONDS = 0.05  # while the connection is still being made, look again this often

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.received = 0
        self.expired = False
        self.abandoned: ProbeError | None = None  # the cause, when the target was judged dead meanwhile
        self.headed = False  # the answer's status line and headers are in: a judgement no longer stops it
        self._started = time.monotonic()
        self._conn: Any = None
        self._done = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._arm(self.seconds)

    @property
    def cut(self) -> bool:
        """Whether the request was ended from outside (its budget spent, or the target judged dead)."""
        return self.expired or self.abandoned is not None

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def abandon(self, cause: ProbeError) -> None:
        """Stop waiting for an answer whose head has not come back (nothing yet, or headers still
        trickling in): another request showed the target dead."""
        with self._lock:
            if self._done or self.headed:
                return
            self.abandoned = cause
            if self._shutdown():
                return
        self._arm(self.RECHECK_SECONDS)  # still connecting: shut it down as soon as there is a socket

    def head_arrived(self) -> bool:
        """Record that the answer's head is in; False when the request was already cut."""
        with self._lock:
            if self.expired or self.abandoned is not None:
                return False
            self.headed = True
            return True

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn

    def disarm(self) -> None:
        with self._lock:
            self._done = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _arm(self, seconds: float) -> None:
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        with self._lock:
            if self._done:
                return
            self._timer = timer
        timer.start()

    def _expire(self) -> None:
        with self._lock:  # held while shutting down: disarm() cannot hand the connection on meanwhile
            if self._done:
                return
            self.expired = True
            if self._shutdown():
                return
        self._arm(self.RECHECK_SECONDS)  # no socket yet: the connect timeout bounds this

    def _shutdown(self) -> bool:
        """Shut the connection's socket down (lock held); False when there is no socket yet."""
        sock = getattr(self._conn, "sock", None)
        if sock is None:
            return False
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS
        return True


class _CountingReader(io.RawIOBase):
    """A socket reader that adds every byte it reads to the current request's guard."""

    def __init__(self, raw: io.RawIOBase, guard: RequestGuard) -> None:
        self._raw = raw
        self._guard = guard

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        count = self._raw.readinto(buffer)
        if count:
            self._guard.received += count
        return count

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _CountingResponse(http.client.HTTPResponse):
    """http.client's response, reading through a _CountingReader when a guard is current."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        guard = current_guard.get()
        if guard is not None:
            plain, self.fp = self.fp, io.BufferedReader(_CountingReader(sock.makefile("rb", buffering=0), guard))
            plain.close()


class _HTTPConnection(urllib3.connection.HTTPConnection):
    response_class = _CountingResponse


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = _CountingResponse


class _GuardedPool:
    """Hands each connection to the current request's guard as it is taken from the pool."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        if (guard := current_guard.get()) is not None:
            guard.attach(conn)
        return conn


class _HTTPPool(_GuardedPool, HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_GuardedPool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with pools whose connections the request guard can see and count."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
