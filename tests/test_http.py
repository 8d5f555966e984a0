"""smoke/http.py: the one client. Each way a request can go wrong, against the fault server (and a
real 9router where the real one can be put in the state)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from smoke import http, http_errors
from smoke.errors import DeadlineExceeded, NotAttempted, ProbeError
from smoke.failures import FailureKind
from smoke.http import Client, RetryPolicy, parse_retry_after
from smoke.secrets import Redactor, redactor
from tests.harness.faults import FaultServer, TLSFiles, closed_port_url, make_tls_files


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    """A fault server with no 9router behind it."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's waits between tries, recorded instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(http, "sleep", seen.append)
    return seen


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def client(base_url: str, **kw: Any) -> Client:
    kw.setdefault("timeout", 1.0)
    return Client(base_url, **kw)


def probe_error(call: Any) -> ProbeError:
    with pytest.raises(ProbeError) as info:
        call()
    return info.value


# --- sizes and slowness -------------------------------------------------------------------------


def test_a_body_announced_over_the_cap_is_refused_before_reading_it(faults: FaultServer) -> None:
    faults.set("/big", "big", size=2_000_000)
    error = probe_error(lambda: client(faults.base_url, max_body_bytes=1024 * 1024).get("/big"))
    assert (error.kind, error.status) == ("too-large", 200)
    assert str(error).startswith("GET /big announced a 2 MiB answer, over the gate's 1 MiB cap")


def test_a_chunked_body_is_cut_at_the_cap(faults: FaultServer) -> None:
    faults.set("/big", "big", size=3_000_000, chunked=True)
    error = probe_error(lambda: client(faults.base_url, max_body_bytes=1024 * 1024).get("/big"))
    assert error.kind == "too-large"
    assert "sent more than 1 MiB" in str(error)


def test_a_body_trickling_in_stops_at_the_timeout_even_though_every_byte_is_on_time(faults: FaultServer) -> None:
    faults.set("/slow", "trickle", interval=0.2)  # each byte well within the 1 s read timeout
    error = probe_error(lambda: client(faults.base_url).get("/slow"))
    assert error.kind == "timeout"
    assert "the answer was still arriving after 1s" in str(error)
    assert "bytes so far" in str(error)


def test_a_server_that_never_answers_is_a_timeout_naming_the_endpoint(faults: FaultServer) -> None:
    faults.set("/api/v1/models", "hang")
    error = probe_error(lambda: client(faults.base_url, timeout=0.5).get("/api/v1/models"))
    assert error.kind == "timeout"
    assert str(error) == (
        f"GET /api/v1/models: 127.0.0.1:{faults.port} accepted the connection but sent no answer within 0.5s; "
        "the server is hanging or overloaded"
    )


def test_a_timeout_caused_by_the_run_deadline_is_reported_as_the_deadline(faults: FaultServer) -> None:
    faults.set("*", "hang")
    late = client(faults.base_url, timeout=10.0, deadline=time.monotonic() + 0.3)
    with pytest.raises(DeadlineExceeded, match=r"^GET /x: the run deadline passed while waiting for the answer$"):
        late.get("/x")


def test_nothing_is_sent_after_the_deadline(faults: FaultServer) -> None:
    with pytest.raises(DeadlineExceeded, match="was not sent"):
        client(faults.base_url, deadline=time.monotonic() - 1).get("/x")
    assert faults.requests() == []


# --- broken connections and answers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "kind", "says"),
    [
        ("reset", "reset", "the connection broke while the answer was arriving (HTTP 200, cut short)"),
        ("drop", "reset", "closed the connection before answering"),
        ("garbage", "protocol", "answered something that is not HTTP"),
    ],
)
def test_a_broken_connection_is_one_sentence(faults: FaultServer, mode: str, kind: str, says: str) -> None:
    faults.set("/x", mode)
    error = probe_error(lambda: client(faults.base_url, retry=RetryPolicy(attempts=1)).get("/x"))
    assert error.kind == kind
    assert str(error).startswith("GET /x")
    assert says in str(error)


def test_a_refused_connection_says_so_and_is_retried(waits: list[float]) -> None:
    target = client(closed_port_url(), retry=RetryPolicy(attempts=3, backoff_seconds=0.25))
    error = probe_error(lambda: target.get("/api/v1/models"))
    assert error.kind == "refused"
    assert "connection refused by 127.0.0.1:" in str(error)
    assert [r.attempt for r in target.records] == [1, 2, 3]
    assert len(waits) == 2 and 0 <= waits[0] <= 0.25 and 0 <= waits[1] <= 0.5  # full jitter, doubling


@pytest.mark.parametrize(
    ("body", "kind", "says"),
    [
        (b"<!DOCTYPE html><html>Welcome</html>", "html", "answered an HTML page (HTTP 200) instead of JSON"),
        (b"", "empty", "answered HTTP 200 with an empty body"),
        (b'{"data": [', "json", "answered invalid JSON (HTTP 200, Expecting value at character 10 of 10)"),
        (b'\xff{"data": []}', "json", "not UTF-8 text (HTTP 200, byte 0xff at position 0)"),
        (b'{"data": {"id": 1}}', "schema", "unexpected shape: data: {'id': 1} is not of type 'array'"),
        (b'{"data": [{"id": "a"}, {"id": 7}]}', "schema", "unexpected shape: data[1].id: 7 is not of type 'string'"),
    ],
    ids=["html", "empty", "truncated", "not utf-8", "wrong type", "path of the break"],
)
def test_an_unusable_body_names_the_endpoint_and_what_broke(
    faults: FaultServer, body: bytes, kind: str, says: str
) -> None:
    faults.set("/api/v1/models", "body", body=body)
    response = client(faults.base_url).get("/api/v1/models")
    error = probe_error(lambda: response.json("models"))
    assert error.kind == kind
    assert str(error).startswith("GET /api/v1/models ")
    assert says in str(error)


# --- retries ------------------------------------------------------------------------------------


def test_a_503_with_retry_after_is_retried_after_that_many_seconds(faults: FaultServer, waits: list[float]) -> None:
    faults.set("/x", "status", status=503, retry_after="7", times=1)
    response = client(faults.base_url, retry=RetryPolicy(attempts=3, max_wait_seconds=10)).get("/x")
    assert (response.status, response.attempts) == (404, 2)  # the second try passed through
    assert waits == [7.0]


def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for(faults: FaultServer, waits: list[float]) -> None:
    faults.set("/x", "status", status=503, retry_after="120")
    response = client(faults.base_url).get("/x")
    assert (response.status, response.attempts, waits) == (503, 1, [])


def test_retries_never_run_past_the_deadline(faults: FaultServer, waits: list[float]) -> None:
    faults.set("/x", "status", status=502, retry_after="5")
    response = client(faults.base_url, deadline=time.monotonic() + 3).get("/x")
    assert (response.status, response.attempts, waits) == (502, 1, [])


@pytest.mark.parametrize("status", [500, 501, 429])
def test_only_502_503_504_are_retried(faults: FaultServer, waits: list[float], status: int) -> None:
    faults.set("/x", "status", status=status)
    response = client(faults.base_url).get("/x")
    assert (response.status, response.attempts, waits) == (status, 1, [])


@pytest.mark.parametrize(
    ("mode", "sent"),
    [("status", 1), ("reset", 1), ("garbage", 1), ("drop", 2)],
    ids=["answered 503", "reset mid-answer", "answered garbage", "closed before any byte"],
)
def test_a_post_is_sent_again_only_when_no_answer_byte_came_back(
    faults: FaultServer, waits: list[float], mode: str, sent: int
) -> None:
    faults.set("/v1/chat/completions", mode, status=503)
    target = client(faults.base_url)
    try:
        response = target.post("/v1/chat/completions", {"model": "m"})
        assert response.attempts == 1
    except ProbeError as error:
        assert error.answered is (sent == 1)
    assert faults.count("POST", "/v1/chat/completions") == sent
    assert len(waits) == sent - 1


def test_a_post_that_times_out_is_never_sent_again(faults: FaultServer, waits: list[float]) -> None:
    faults.set("/api/auth/login", "hang")
    error = probe_error(lambda: client(faults.base_url, timeout=0.3).post("/api/auth/login", {"password": "x"}))
    assert error.kind == "timeout"
    assert faults.count("POST", "/api/auth/login") == 1


def test_every_try_is_recorded_with_its_check(faults: FaultServer, waits: list[float]) -> None:
    faults.set("/x", "status", status=504, times=2)
    target = client(faults.base_url)
    token = http.current_check.set("models-reachable")
    try:
        target.get("/x?secret=1")
    finally:
        http.current_check.reset(token)
    assert [(r.check, r.method, r.path, r.status, r.attempt) for r in target.records] == [
        ("models-reachable", "GET", "/x", 504, 1),
        ("models-reachable", "GET", "/x", 504, 2),
        ("models-reachable", "GET", "/x", 404, 3),
    ]
    assert target.attempts_for("models-reachable") == 3
    assert target.attempts_for("chat-completion") == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert parse_retry_after("30") == 30.0
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 60
    assert parse_retry_after("yesterday") is None
    assert parse_retry_after(None) is None


# --- redirects ----------------------------------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed_and_the_credentials_stay_home(faults: FaultServer) -> None:
    with FaultServer() as elsewhere:
        other = elsewhere.origin.replace("127.0.0.1", "localhost")
        faults.set("/api/providers", "redirect", location=f"{other}/steal")
        target = client(faults.base_url)
        error = probe_error(lambda: target.get("/api/providers", cookies={"auth_token": "cookie-value-123"}))
        assert elsewhere.requests() == []
    assert (error.kind, error.status) == ("redirect", 302)
    assert f"a 302 redirect to another host ({other})" in str(error)
    assert error.location == f"another host ({other})"  # a field, never read back out of the sentence
    assert "the gate never follows redirects" in str(error)


def test_a_redirect_to_itself_is_named_a_loop(faults: FaultServer) -> None:
    faults.set("/api/settings", "redirect", status=301)
    error = probe_error(lambda: client(faults.base_url).get("/api/settings"))
    assert "a 301 redirect to /api/settings itself (a redirect loop)" in str(error)
    assert error.location == "/api/settings itself (a redirect loop)"


@pytest.mark.parametrize(
    ("location", "where"),
    [
        ("", "no Location at all"),
        ("/login?next=/api/usage", "/login"),
        ("https://sso.example.com/x", "another host (https://sso.example.com)"),
        ("//127.0.0.1:1/api/health", "/api/health itself (a redirect loop)"),
    ],
)
def test_a_redirect_carries_where_it_pointed_as_a_field(location: str, where: str) -> None:
    error = http_errors.redirect_error("GET /api/health", 302, "/api/health", location, "http://127.0.0.1:1")
    assert (error.kind, error.status, error.location) == ("redirect", 302, where)
    assert f"a 302 redirect to {where}; " in str(error)


@pytest.mark.parametrize("kind", list(FailureKind))
@pytest.mark.parametrize("idempotent", [True, False])
@pytest.mark.parametrize("answered", [True, False])
def test_another_try_is_decided_by_the_kind_s_transient_trait(
    kind: FailureKind, idempotent: bool, answered: bool
) -> None:
    error = ProbeError(kind, "x", answered=answered)
    expected = kind.transient and (idempotent or not answered)
    assert Client._worth_another_try(error, idempotent) is expected


# --- TLS ----------------------------------------------------------------------------------------


def test_tls_from_an_unknown_ca_says_what_to_pass(tls_files: TLSFiles) -> None:
    with FaultServer(tls=tls_files) as server:
        server.set("*", "body", json_body={"ok": True})
        error = probe_error(lambda: client(server.base_url).get("/api/health"))
        assert error.kind == "tls"
        assert "could not be verified (issued by an unknown CA)" in str(error)
        assert "--ca-bundle FILE" in str(error) and "--insecure" in str(error)
        assert client(server.base_url, verify=str(tls_files.ca_cert)).get("/api/health").json() == {"ok": True}
        assert client(server.base_url, verify=False).get("/api/health").json() == {"ok": True}


def test_https_to_a_plain_http_port_says_so(faults: FaultServer) -> None:
    error = probe_error(lambda: client(faults.base_url.replace("http:", "https:")).get("/x"))
    assert error.kind == "tls"
    assert "does not speak TLS on this port" in str(error)


# --- secrets in answers -------------------------------------------------------------------------


def test_keys_in_an_answer_are_registered_with_the_redactor_before_any_check_sees_them(
    faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = Redactor()
    monkeypatch.setattr(http, "redactor", fresh)
    keys = [{"key": "sk-custom-key-000001", "isActive": True}, {"key": "not-key-shaped-1"}]
    body = {"keys": keys, "byApiKey": {"sk-another-key-0002|m|p": {}}}
    faults.set("/api/keys", "body", json_body=body)
    client(faults.base_url).get("/api/keys").json("keys")
    assert fresh.known() == ["sk-another-key-0002", "sk-custom-key-000001"]  # only key-shaped values


def test_a_key_in_a_broken_answer_cannot_be_printed_through_the_error(faults: FaultServer) -> None:
    faults.set("/api/keys", "body", body=b'{"keys":[{"key":"sk-plain-custom-key-987","name":"ci"')
    error = probe_error(lambda: client(faults.base_url).get("/api/keys").json("keys"))
    assert "sk-plain-custom-key-987" in redactor.known()
    assert "plain-custom" not in str(error)  # the excerpt is masked before it is cut


def test_the_client_ignores_proxy_settings_from_the_environment(
    faults: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    monkeypatch.setenv("NO_PROXY", "")
    assert client(faults.base_url).get("/x").status == 404  # went straight to the server


def test_a_real_9router_answers_through_the_client_with_its_own_shapes(router_stack: Any, tmp_path: Path) -> None:
    target = client(router_stack.base_url, timeout=10.0)
    assert target.get("/api/health").json("health") == {"ok": True}
    models = target.get("/api/v1/models", headers={"Authorization": f"Bearer {router_stack.api_key}"})
    assert "fake/fake-small" in [m["id"] for m in models.json("models")["data"]]
    unknown = target.get("/no-such-page")
    assert unknown.status == 404
    assert probe_error(lambda: unknown.json()).kind == "html"  # Next.js's 404 page


# --- a dead target is judged once -----------------------------------------------------------------


def test_after_a_refusal_no_request_is_sent_and_each_names_the_one_cause(waits: list[float]) -> None:
    target = client(closed_port_url())
    first = probe_error(lambda: target.get("/api/version"))
    assert first.kind == "refused" and target.dead.cause is first
    for send in (lambda: target.get("/api/v1/models"), lambda: target.post("/v1/chat/completions", {})):
        with pytest.raises(NotAttempted) as info:
            send()
        assert str(info.value) == f"not attempted: {first}"
    assert [r.path for r in target.records] == ["/api/version"] * 3  # the GET's own tries only


def test_a_target_that_never_answered_is_dead_after_one_timeout(faults: FaultServer) -> None:
    faults.set("*", "hang")
    target = client(faults.base_url, timeout=0.3)
    probe_error(lambda: target.get("/api/health"))
    started = time.monotonic()
    with pytest.raises(NotAttempted):
        target.post("/api/auth/login", {"password": "x"})
    assert time.monotonic() - started < 0.05
    assert faults.count("POST", "/api/auth/login") == 0


def test_after_an_answer_a_hanging_read_marks_only_its_endpoint(faults: FaultServer) -> None:
    faults.set("/slow", "hang")
    faults.set("/ok", "status", status=200)
    target = client(faults.base_url, timeout=0.3)
    assert target.get("/ok").status == 200
    probe_error(lambda: target.get("/slow"))
    with pytest.raises(NotAttempted):
        target.get("/slow?again=1")
    assert target.get("/ok").status == 200
    assert target.dead.cause is None


def test_the_readiness_wait_is_neither_stopped_nor_counted_by_the_judgement() -> None:
    target = client(closed_port_url())
    for _ in range(2):
        error = probe_error(lambda: target.request("GET", "/api/health", resend=False, judge=False))
        assert error.kind == "refused"
    assert target.dead.cause is None and len(target.records) == 2


# --- every wait bounded, every parse total ------------------------------------------------------


def test_headers_trickling_in_end_at_the_timeout_not_per_read(faults: FaultServer) -> None:
    faults.set("/x", "slow-headers", interval=0.05)  # each byte far within the 1 s read timeout
    started = time.monotonic()
    error = probe_error(lambda: client(faults.base_url).get("/x"))
    assert time.monotonic() - started < 1.3
    assert (error.kind, error.status, error.answered) == ("timeout", None, True)
    assert "bytes of its answer's headers within 1s" in str(error)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"a": Infinity}', "Infinity, which is not a JSON number"),
        (b'{"a": NaN}', "NaN, which is not a JSON number"),
        (b'{"a": ' + b"1" * 5000 + b"}", "a 5000-digit number"),
        (b'{"a": 1e400}', "the number 1e400, too large for a float"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels"),
    ],
)
def test_json_the_gate_cannot_trust_is_a_probe_error(raw: bytes, says: str) -> None:
    response = http.Response("GET", "/x", 200, {}, raw, 1)
    error = probe_error(response.json)
    assert error.kind == "json"
    assert str(error).startswith("GET /x answered JSON the gate refuses to read (HTTP 200): ")
    assert says in str(error)


def test_lone_surrogates_are_replaced_and_pairs_kept() -> None:
    response = http.Response("GET", "/x", 200, {}, b'{"k\\udc00": ["\\ud800", "\\ud83d\\ude00"]}', 1)
    assert response.json() == {"k\ufffd": ["\ufffd", "\U0001f600"]}


@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000, "Mon, 99 Foo 99999 99:99:99 GMT", "-1"])
def test_a_retry_after_of_any_shape_is_read_without_raising(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0
