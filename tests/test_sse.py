"""smoke/sse.py: the SSE parser, and post_stream against the fake upstream's real SSE (no router)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from smoke.errors import DeadlineExceeded, ProbeError
from smoke.http import Client
from smoke.sse import parse, post_stream
from tests.harness.upstream import FakeUpstream

CHAT = {"model": "fake-small", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 8, "stream": True}


def test_parse_joins_data_lines_keeps_names_and_skips_comments() -> None:
    lines = iter(["event: a", "data: one", "data: two", "", ": keep-alive", "", "data:x", "", "event: lonely", ""])
    events = list(parse(lines, time.monotonic()))
    assert [(e.name, e.data) for e in events] == [("a", "one\ntwo"), (None, "x")]


def test_post_stream_reads_every_event_with_its_time(upstream: FakeUpstream) -> None:
    client = Client(upstream.url)
    stream = post_stream(client, "/v1/chat/completions", CHAT, timeout=5)
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    assert [e.data for e in stream.events][-1] == "[DONE]"
    assert len(stream.events) == 4 and stream.cut is None and not stream.partial_event
    assert [r.path for r in client.records] == ["/v1/chat/completions"]  # in the request log, sent once


def test_first_chunk_delay_shows_in_the_event_times(upstream: FakeUpstream) -> None:
    upstream.set_stream("none", first_chunk_delay=0.6)
    stream = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=5)
    assert stream.events[0].at_ms >= 550


def test_a_truncated_stream_ends_without_done(upstream: FakeUpstream) -> None:
    upstream.set_stream("truncated")
    stream = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=5)
    assert len(stream.events) == 2 and all(e.data != "[DONE]" for e in stream.events)
    assert stream.cut is None  # the server closed it: the grammar, not the reader, judges that


def test_non_stream_answers_keep_working_while_streams_are_broken(upstream: FakeUpstream) -> None:
    upstream.set_stream("error")
    response = Client(upstream.url).post("/v1/chat/completions", {**CHAT, "stream": False})
    assert response.status == 200 and response.json()["choices"][0]["message"]["content"] == "pong"


def test_the_time_budget_bounds_the_whole_stream(upstream: FakeUpstream) -> None:
    upstream.set_stream("none", first_chunk_delay=3)
    started = time.monotonic()
    stream = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=0.8)
    assert time.monotonic() - started < 2.0
    assert stream.cut is not None and "0.8" in stream.cut and stream.events == []


def test_byte_and_event_caps_stop_reading(upstream: FakeUpstream) -> None:
    few = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=5, max_events=2)
    assert len(few.events) == 2 and "2 events" in (few.cut or "")
    small = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=5, max_bytes=100)
    assert "cap" in (small.cut or "")


def test_an_error_status_keeps_the_body_for_its_message(upstream: FakeUpstream) -> None:
    upstream.set_mode("500")
    stream = post_stream(Client(upstream.url), "/v1/chat/completions", CHAT, timeout=5)
    assert stream.status == 500 and b"fake upstream internal error" in stream.error_body and stream.events == []


def test_a_refused_connection_is_a_probe_error_and_is_recorded() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}")
    with pytest.raises(ProbeError) as raised:
        post_stream(client, "/v1/messages", {}, timeout=2)
    assert raised.value.kind == "refused" and client.records[0].status is None


def test_no_request_after_the_run_deadline(upstream: FakeUpstream) -> None:
    client = Client(upstream.url, deadline=time.monotonic() - 1)
    with pytest.raises(DeadlineExceeded):
        post_stream(client, "/v1/chat/completions", CHAT, timeout=5)
    assert upstream.chat_requests == 0


@pytest.fixture
def crlf_server() -> Iterator[str]:
    """A raw server sending CRLF-separated events split across writes, then an unterminated event."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
            for part in (b'data: {"a":1}\r', b"\n\r\n", b'data: {"b"', b":2}\r\n\r\ndata: half"):
                conn.sendall(part)
                time.sleep(0.02)
            conn.shutdown(socket.SHUT_WR)  # a clean end of the body (no reset)
            time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    thread.join(5)
    server.close()


def test_crlf_line_ends_split_across_reads_and_a_cut_event(crlf_server: str) -> None:
    stream = post_stream(Client(crlf_server), "/x", {}, timeout=5)
    assert [e.json() for e in stream.events] == [{"a": 1}, {"b": 2}]
    assert stream.partial_event  # "data: half" never got its blank line
