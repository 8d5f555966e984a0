"""Read one Server-Sent Events answer: a POST, then its events as they arrive, each with the time
it came, within a whole-stream time budget, a byte cap and an event cap.

`Client` reads whole bodies; a stream must be judged event by event (time to first token, what
came before the end), so it is read here, with the client's base URL, headers, TLS settings and
deadline, and recorded in the client's request log like every other request. Sent once, never
retried: a stream is a paid request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3

from smoke.errors import DeadlineExceeded
from smoke.http import USER_AGENT, Client, RequestRecord, current_check
from smoke.http_errors import transport_error
from smoke.wording import duration

MAX_STREAM_BYTES = 1024 * 1024  # a `max_tokens` 32 answer is a few KB in any dialect
MAX_EVENTS = 2000
MAX_ERROR_BYTES = 64 * 1024  # a non-200 answer is read this far for its error text


@dataclass(frozen=True)
class Event:
    """One SSE event: its `event:` name (None when unnamed), its joined `data:` lines, when it came."""

    name: str | None
    data: str
    at_ms: int  # since the request was sent

    def json(self) -> Any:
        """The data as JSON, or None when it is not JSON (e.g. `[DONE]`)."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


@dataclass
class Stream:
    """A streamed answer as read: status, headers, the events, and how the reading ended."""

    endpoint: str
    status: int
    content_type: str
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    error_body: bytes = b""  # the (capped) body of a non-200 answer
    total_ms: int = 0
    cut: str | None = None  # why reading stopped before the server ended the stream, as a sentence
    partial_event: bool = False  # the stream ended in the middle of an event (no blank line after it)


def post_stream(
    client: Client,
    path: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    max_bytes: int = MAX_STREAM_BYTES,
    max_events: int = MAX_EVENTS,
) -> Stream:
    """POST `payload` and read the SSE answer to its end, `timeout` bounding the whole stream.

    A transport failure before the answer starts raises ProbeError (DeadlineExceeded when the run
    deadline, not the timeout, cut it). Once the status line is in, every way the reading can stop
    early (time budget, caps, a broken connection) is kept in `Stream.cut` with the events read
    so far, because what arrived before the cut is the evidence.
    """
    endpoint = f"POST {path.split('?')[0]}"
    time_left = float("inf") if client.deadline is None else client.deadline - time.monotonic()
    if time_left <= 0:
        raise DeadlineExceeded(f"{endpoint} was not sent: the run deadline had passed")
    budget = min(timeout, time_left)
    cut_by_deadline = budget < timeout
    all_headers = {"Accept": "text/event-stream", "User-Agent": USER_AGENT, **client.extra_headers, **(headers or {})}
    session = requests.Session()
    session.trust_env = False  # never route the target through an ambient proxy
    started = time.monotonic()
    status: int | None = None
    try:
        with session.post(
            client.base_url + path,
            json=payload,
            headers=all_headers,
            timeout=(min(budget, 10.0), budget),
            allow_redirects=False,
            stream=True,
            verify=client.verify,
        ) as raw:
            status = raw.status_code
            stream = Stream(
                endpoint=endpoint,
                status=raw.status_code,
                content_type=raw.headers.get("content-type", "").split(";")[0].strip().lower(),
                headers={k.lower(): v for k, v in raw.headers.items()},
            )
            if raw.status_code != 200 or stream.content_type != "text/event-stream":
                stream.error_body = _read_some(raw, MAX_ERROR_BYTES, started, budget)
            else:
                _read_events(raw, stream, started, budget, max_bytes, max_events)
            stream.total_ms = _ms_since(started)
    except requests.RequestException as exc:
        error = transport_error(exc, endpoint, client.base_url, budget)
        if cut_by_deadline and error.kind == "timeout":
            raise DeadlineExceeded(f"{endpoint}: the run deadline passed while waiting for the answer") from None
        raise error from None
    finally:
        session.close()
        client.records.append(
            RequestRecord(
                check=current_check.get(),
                method="POST",
                path=path.split("?")[0],
                status=status,
                elapsed_ms=_ms_since(started),
                attempt=1,
                started=started,
            )
        )
    if stream.cut and cut_by_deadline and "time" in stream.cut:
        stream.cut += " (the run deadline, not --timeout, ended it)"
    return stream


def parse(lines: Iterator[str], started: float) -> Iterator[Event]:
    """SSE events from decoded lines (without line ends), per the WHATWG event-stream rules."""
    name: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Event(name, "\n".join(data), _ms_since(started))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive)
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value or None
        elif key == "data":
            data.append(value)


def _read_events(
    raw: requests.Response, stream: Stream, started: float, budget: float, max_bytes: int, max_events: int
) -> None:
    """Fill `stream.events` until the server ends the stream or a limit is hit (then `stream.cut`)."""
    state = _LineState()
    try:
        for event in parse(_lines(raw, state, started, budget, max_bytes), started):
            stream.events.append(event)
            if len(stream.events) >= max_events:
                stream.cut = f"stopped reading after {max_events} events, the gate's cap"
                return
    except _Cut as cut:
        stream.cut = str(cut)
        return
    stream.partial_event = state.pending


class _Cut(Exception):
    """Reading stopped early; the message says why."""


@dataclass
class _LineState:
    pending: bool = False  # bytes after the last blank line: an event was cut in the middle


def _lines(raw: requests.Response, state: _LineState, started: float, budget: float, max_bytes: int) -> Iterator[str]:
    """Decoded lines as they arrive (CRLF, LF or CR line ends), enforcing the budget and the byte cap."""
    buffer = b""
    size = 0
    for chunk in _chunks(raw, started, budget):
        size += len(chunk)
        if size > max_bytes:
            raise _Cut(f"stopped reading after {max_bytes // 1024} KiB, the gate's cap for one stream")
        buffer += chunk
        while True:
            cut_at = min((i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0), default=-1)
            if cut_at < 0:
                break
            if buffer[cut_at : cut_at + 1] == b"\r" and cut_at + 1 == len(buffer):
                break  # a CR at the end of the chunk: its LF may follow in the next one
            line, sep = buffer[:cut_at], buffer[cut_at : cut_at + 1]
            skip = 2 if sep == b"\r" and buffer[cut_at + 1 : cut_at + 2] == b"\n" else 1
            buffer = buffer[cut_at + skip :]
            state.pending = line != b""
            yield line.decode("utf-8", "replace")
    if buffer.strip():
        state.pending = True
        yield buffer.rstrip(b"\r").decode("utf-8", "replace")  # the last line, unterminated


def _chunks(raw: requests.Response, started: float, budget: float) -> Iterator[bytes]:
    """Network reads until EOF; the time budget covers the whole stream, not each read."""
    connection = getattr(raw.raw, "connection", None)
    while True:
        left = budget - (time.monotonic() - started)
        if left <= 0:
            raise _Cut(f"the stream was still open after {duration(budget)} (the whole-stream time budget)")
        sock = getattr(connection, "sock", None)
        if sock is not None:
            sock.settimeout(max(left, 0.01))  # a stalled stream cannot outlive the budget
        try:
            chunk = raw.raw.read1(65536, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise _Cut(
                f"the stream stalled and was still open after {duration(budget)} (the whole-stream time budget)"
            ) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, OSError):
            raise _Cut("the connection broke in the middle of the stream") from None
        if not chunk:
            return
        yield chunk


def _read_some(raw: requests.Response, limit: int, started: float, budget: float) -> bytes:
    """Up to `limit` bytes of a non-stream answer (for its error text), within the budget."""
    body = b""
    try:
        for chunk in _chunks(raw, started, budget):
            body += chunk
            if len(body) >= limit:
                return body[:limit]
    except _Cut:
        pass
    return body


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
