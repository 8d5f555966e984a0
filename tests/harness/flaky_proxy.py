"""A TCP proxy that resets a share of new connections before any answer: a flaky network.

:class:`FlakyProxy` listens on 127.0.0.1 and pipes bytes both ways to a target (a real 9router).
Each new connection is reset at once (RST, nothing read, nothing answered) with probability
``reset_share``, from a seeded random generator so a failing run can be replayed. Connections that
survive are plain pipes: keep-alive, bodies and timing are the target's own.

    with FlakyProxy(stack.base_url, reset_share=0.1, seed=7) as proxy:
        run the gate against proxy.base_url
        proxy.resets, proxy.connections
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
from urllib.parse import urlsplit

_CHUNK = 65536


class FlakyProxy:
    """Resets `reset_share` of new connections before any byte; pipes the rest to `target`."""

    def __init__(self, target: str, *, reset_share: float = 0.1, seed: int = 0) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.reset_share = reset_share
        self._random = random.Random(seed)
        self.connections = 0  # accepted so far
        self.resets = 0  # of which reset before any answer
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # the accept loop looks for stop() this often
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def counts(self) -> tuple[int, int]:
        """(connections, resets) so far."""
        with self._lock:
            return self.connections, self.resets

    def start(self) -> FlakyProxy:
        self._thread = threading.Thread(target=self._accept_loop, name="flaky-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        self._listener.close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> FlakyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                reset = self._random.random() < self.reset_share
                self.resets += reset
            if reset:
                _reset(client)
                continue
            threading.Thread(target=self._pipe_pair, args=(client,), daemon=True).start()

    def _pipe_pair(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=10)
        except OSError:
            _reset(client)
            return
        client.settimeout(None)
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        for sock in (client, upstream):
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until either side closes, then half-close the other way."""
    with contextlib.suppress(OSError):
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0): the client sees ECONNRESET, not an orderly end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
