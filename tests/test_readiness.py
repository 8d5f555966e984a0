"""The wait for a fresh deployment (smoke/readiness.py), against a small scripted fake.

The fake plays the states a real 9router cannot easily be put in: a platform's placeholder page,
502/503 from an edge, a redirect to a login page, `{"ok": false}`, a hang. The real server's own
states (refused, late start, wrong version) are in tests/test_preview.py. A fake clock that only
moves when the wait sleeps makes every schedule exact without measuring time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from smoke import readiness
from smoke.app import run_notes
from smoke.errors import ProbeError
from smoke.failures import FailureKind
from smoke.http import Client
from smoke.model import Phase, Severity, Status
from smoke.readiness import Readiness, version_matches, wait_until_ready
from smoke.registry import for_phase
from smoke.settings import Settings
from smoke.wording import duration

OK = (200, "application/json", b'{"ok":true}', {})
PLACEHOLDER = (
    502,
    "text/html",
    b"<!doctype html><html><head><title>\n  Deployment is building </title></head><body>wait</body></html>",
    {},
)


def version(v: str) -> tuple[int, str, bytes, dict[str, str]]:
    return (200, "application/json", json.dumps({"currentVersion": v, "latestVersion": None}).encode(), {})


class Script:
    """Answers per path, in order; the last answer repeats. Records every request."""

    def __init__(self, **paths: list[tuple[int, str, bytes, dict[str, str]]]) -> None:
        self.paths = {"/api/" + name: list(answers) for name, answers in paths.items()}
        self.log: list[str] = []
        self.hang = 0.0
        self.lock = threading.Lock()

    def next(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        with self.lock:
            self.log.append(path)
            answers = self.paths.get(path) or [(404, "text/html", b"<html>not found</html>", {})]
            return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def fake() -> Iterator[tuple[Script, str]]:
    """A started fake; tests set `script.paths` before polling it."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            if script.hang:
                time.sleep(script.hang)
            status, ctype, body, headers = script.next(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (hang test)
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class FakeTime:
    """A clock that moves only when the wait sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 4))
        self.now += seconds


def wait(base_url: str, limit: float, expect: str | None = None, timeout: float = 5.0) -> tuple[Readiness, FakeTime]:
    """Run the wait against `base_url` on a fake clock; the client's records stay on `WAITS`."""
    fake_time = FakeTime()
    client = Client(base_url=base_url, timeout=timeout)
    try:
        result = wait_until_ready(client, limit, expect, clock=fake_time.clock, sleep=fake_time.sleep)
    finally:
        client.close()
    WAITS.append(client)
    return result, fake_time


WAITS: list[Client] = []


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- the wait ------------------------------------------------------------------------------


def test_a_target_that_is_already_healthy_is_ready_after_one_request_without_sleeping(fake):
    script, url = fake
    script.paths = {"/api/health": [OK]}
    result, clock = wait(url, 30)
    assert (result.ready, result.attempts, clock.sleeps) == (True, 1, [])
    assert result.note(url) == 'wait-for-ready: ready at once ({"ok": true} on the first request)'


def test_the_wait_rides_out_a_placeholder_a_503_and_an_html_200_then_is_ready(fake):
    script, url = fake
    script.paths = {
        "/api/health": [
            PLACEHOLDER,
            (503, "application/json", b"", {"Retry-After": "3"}),
            (200, "text/html; charset=utf-8", b"<html><body>Coming soon</body></html>", {}),
            OK,
        ]
    }
    result, clock = wait(url, 60)
    assert result.ready and result.attempts == 4
    assert [entry["seen"] for entry in result.as_json()["history"]] == [
        'HTTP 502 with an HTML page titled "Deployment is building"',
        "HTTP 503 with an empty body",
        "HTTP 200 with an HTML page",
        '{"ok": true}',
    ]
    # Backoff 0.5 s, then x1.5; the 503's Retry-After (3 s) replaces the shorter step.
    assert clock.sleeps == [0.5, 3.0, 1.125]
    assert "ready after 4.6s and 4 attempts" in result.note(url)
    assert 'before that: HTTP 502 with an HTML page titled "Deployment is building" x1' in result.note(url)


def test_a_closed_port_gives_up_at_the_limit_with_one_sentence_naming_what_it_saw():
    url = closed_port_url()
    result, clock = wait(url, 2)
    assert not result.ready
    assert result.attempts == 4
    assert sum(clock.sleeps) == 2  # never sleeps past the limit; the last poll is at the limit
    sentence = result.gave_up(url)
    assert sentence.startswith(f"{url} was not ready after 2s (4 attempts): GET /api/health never answered")
    assert "last seen: connection refused." in sentence
    assert "check that the preview was deployed" in sentence
    assert result.as_json()["history"] == [{"seen": "connection refused", "attempts": 4}]


def test_the_backoff_grows_to_five_seconds_and_stays_there():
    result, clock = wait(closed_port_url(), 60)
    assert clock.sleeps[:4] == [0.5, 0.75, 1.125, 1.6875]
    assert max(clock.sleeps) == readiness.MAX_DELAY
    assert clock.sleeps == sorted(clock.sleeps[:-1]) + clock.sleeps[-1:]
    assert sum(clock.sleeps) == pytest.approx(60)
    assert result.attempts == len(clock.sleeps) + 1


def test_polls_are_single_requests_labelled_wait_for_ready_in_the_request_audit():
    result, _ = wait(closed_port_url(), 1)
    records = WAITS[-1].records
    assert len(records) == result.attempts
    assert {(r.check, r.method, r.path, r.attempt) for r in records} == {("wait-for-ready", "GET", "/api/health", 1)}


def test_the_wait_goes_on_until_the_expected_version_answers(fake):
    script, url = fake
    script.paths = {"/api/health": [OK], "/api/version": [version("0.5.68"), version("0.5.68"), version("0.5.69")]}
    result, _ = wait(url, 60, expect="v0.5.69")
    assert result.ready and result.version_matched
    assert result.version == "0.5.69"
    assert result.as_json()["history"] == [
        {"seen": "9router 0.5.68 (expected v0.5.69)", "attempts": 2},
        {"seen": "9router 0.5.69", "attempts": 1},
    ]
    assert "(9router 0.5.69; before that: 9router 0.5.68 (expected v0.5.69) x2)" in result.note(url)


def test_an_old_version_until_the_limit_is_healthy_but_unmatched_and_says_both(fake):
    script, url = fake
    script.paths = {"/api/health": [OK], "/api/version": [version("0.5.68")]}
    result, _ = wait(url, 3, expect="0.5.69")
    assert result.ready  # the checks run; deployment-identity fails the gate
    assert result.version_matched is False
    assert result.note(url) == (
        "wait-for-ready: healthy, but 9router 0.5.68 still answered after 3s, not 0.5.69 (see deployment-identity)"
    )


def test_an_unreadable_version_keeps_the_wait_going_and_is_named(fake):
    script, url = fake
    script.paths = {"/api/health": [OK], "/api/version": [(401, "application/json", b'{"error":"Unauthorized"}', {})]}
    result, _ = wait(url, 1, expect="0.5.69")
    assert result.version is None and result.version_matched is False
    assert result.last_seen == "healthy, but /api/version: HTTP 401: Unauthorized"


def test_a_protected_preview_says_to_pass_the_bypass_header(fake):
    script, url = fake
    script.paths = {"/api/health": [(401, "text/html", b"<html><title>Authentication Required</title></html>", {})]}
    result, _ = wait(url, 0.5)
    assert result.last_seen == 'HTTP 401 with an HTML page titled "Authentication Required"'
    assert "pass the platform's bypass header with --header NAME=VALUE" in result.gave_up(url)


def test_a_redirect_to_a_login_host_is_named_and_not_followed(fake):
    script, url = fake
    login = (307, "text/plain", b"", {"Location": "https://login.example.com/sso?token=abc"})
    script.paths = {"/api/health": [login]}
    result, _ = wait(url, 0.5)
    assert result.last_seen.startswith("HTTP 307 redirect to another host")
    assert "login.example.com" in result.last_seen and "token" not in result.last_seen
    assert "--header NAME=VALUE" in result.hint()
    assert script.log == ["/api/health"] * result.attempts  # nothing else was requested


@pytest.mark.parametrize(
    ("error", "seen"),
    [
        # A redirect is named from its structured location, whatever its sentence says.
        (ProbeError("redirect", "any wording at all", status=302, location="/login"), "HTTP 302 redirect to /login"),
        (ProbeError("redirect", "any wording at all", status=301), "HTTP 301 redirect"),
        (ProbeError("refused", "GET /api/health: connection refused by x"), "connection refused"),
        (
            ProbeError("too-large", "GET /api/health sent more than 8 MiB", status=200),
            "an answer larger than the size cap",
        ),
        (
            ProbeError("schema", "GET /api/health answered JSON of...", status=200),
            "HTTP 200 with JSON of an unexpected shape",
        ),
        (
            ProbeError("protocol", "GET /api/health: corrupt encoding", status=200),
            "HTTP 200 with an unusable answer (protocol)",
        ),
        (ProbeError("protocol", "GET /api/health: not HTTP"), "an unusable answer (protocol)"),
    ],
)
def test_a_poll_s_failure_is_told_in_its_kind_s_few_words(error: ProbeError, seen: str) -> None:
    assert readiness._short(error, error.status) == seen


@pytest.mark.parametrize("kind", list(FailureKind))
def test_the_hint_for_nothing_answering_follows_the_kind_s_trait(kind: FailureKind) -> None:
    waited = Readiness(limit=30)
    waited.record(readiness.Observation(kind.seen, kind))
    assert ("Nothing answered" in waited.hint()) is kind.nothing_answered


@pytest.mark.parametrize(
    ("answer", "seen"),
    [
        ((200, "application/json", b'{"ok":false}', {}), 'HTTP 200 {"ok": false}'),
        ((500, "application/json", b'{"error":"[DB] No SQLite driver available"}', {}), "HTTP 500: [DB] No SQLite"),
        ((200, "application/json", b'{"ok":tru', {}), "HTTP 200 with invalid JSON"),
        ((404, "text/html", b"<html>404</html>", {}), "HTTP 404 with an HTML page"),
    ],
)
def test_answers_that_are_not_ready_are_described_in_a_few_words(fake, answer, seen):
    script, url = fake
    script.paths = {"/api/health": [answer]}
    result, _ = wait(url, 0)
    assert result.attempts == 1
    assert result.last_seen.startswith(seen)


def test_a_hanging_target_is_described_as_no_answer(fake):
    script, url = fake
    script.paths = {"/api/health": [OK]}
    script.hang = 1.0
    result, _ = wait(url, 0, timeout=0.2)
    assert not result.ready
    assert result.last_seen == "no answer before the request timeout"


# ---- small pieces --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0.4s"), (2, "2s"), (21.43, "21.4s"), (60, "1m"), (90, "1m 30s"), (300, "5m"), (3600, "60m")],
)
def test_durations_read_the_way_a_person_writes_them(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("expected", "seen", "match"),
    [
        ("0.5.69", "0.5.69", True),
        ("v0.5.69", "0.5.69", True),
        (" 0.5.69 ", "v0.5.69", True),
        ("0.5.69", "0.5.68", False),
        ("0.5.6", "0.5.69", False),
        ("0.5.69", None, False),
    ],
)
def test_versions_match_exactly_apart_from_a_leading_v(expected, seen, match):
    assert version_matches(expected, seen) is match


def test_a_target_that_never_got_ready_reports_every_selected_check_as_not_run():
    settings = Settings(phase=Phase.PRE, base_url="http://preview.example", skip=frozenset({"cloud-sync"}))
    checks = for_phase(Phase.PRE)
    waited = Readiness(limit=300, attempts=60)
    waited.record(readiness.Observation("connection refused", "refused"))
    outcomes = readiness.not_run(checks, settings, waited)
    assert [o.id for o in outcomes] == [c.id for c in checks]
    by_id = {o.id: o for o in outcomes}
    assert by_id["cloud-sync"].status is Status.SKIP
    assert by_id["deployment-identity"].severity is Severity.P0
    errors = [o for o in outcomes if o.id != "cloud-sync"]
    assert {o.status for o in errors} == {Status.ERROR}
    assert {o.result.message for o in errors} == {
        "not run: the target was not ready after 5m (last seen: connection refused)"
    }


def test_the_wait_goes_into_the_report_as_a_first_note_a_json_section_and_an_early_end():
    settings = Settings(phase=Phase.PRE, base_url="http://preview.example", insecure=True)
    waited = Readiness(limit=30)
    waited.record(readiness.Observation("HTTP 502 with an HTML page", "html", 502))
    waited.waited = 30.2
    assert run_notes(settings, None, waited)[0].startswith("wait-for-ready: ")  # first, with no shared cause
    notes = run_notes(settings, "9 checks failed for one reason: refused", waited)
    assert notes[0] == "9 checks failed for one reason: refused"
    assert notes[1].startswith("wait-for-ready: http://preview.example was not ready after 30s (1 attempt)")
    assert "the deployment is still starting or crashed" in notes[1]
    assert notes[2].startswith("TLS certificates were not verified (--insecure)")
    assert waited.ended_early == "not ready after 30s; last seen: HTTP 502 with an HTML page"
    assert waited.as_json() == {
        "limit_ms": 30000,
        "waited_ms": 30200,
        "attempts": 1,
        "ready": False,
        "last_seen": "HTTP 502 with an HTML page",
        "expected_version": None,
        "version": None,
        "version_matched": None,
        "history": [{"seen": "HTTP 502 with an HTML page", "attempts": 1}],
    }
