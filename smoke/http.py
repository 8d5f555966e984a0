"""One HTTP client for every probe: timeouts, a global deadline, capped bodies, no redirects,
bounded retries of transient reads, per-endpoint JSON Schema validation, and one plain sentence
for every way a request can go wrong.

Retry policy (README, "Retries that do not hide flakiness"): idempotent reads (GET) are retried
on a refused or broken connection or a 502/503/504, at most `RetryPolicy.attempts` tries, with
exponential backoff and full jitter, honouring Retry-After up to `max_wait_seconds`, never past the
run deadline. A POST (login, chat, sync) is sent a second time only when the first try got no
answer byte at all (refused, or reset before anything came back): a resent login counts towards
9router's lockout and a resent chat may be billed twice, so an answered POST is never resent.

Every wait is bounded: `timeout` is a wall-clock budget for the whole request (connect, headers,
body), enforced by a watchdog that shuts the socket down (smoke/http_budget.py), not a per-read
timeout a trickling server can renew forever. A target that does not answer is judged once per
run (`Client.dead`, smoke/dead_target.py): requests that would meet the same dead origin or
endpoint raise NotAttempted instead of waiting their own timeout, and requests still waiting for
a first byte stop. Every JSON answer is parsed totally (`Response.json`, smoke/json_total.py):
non-finite or huge numbers, deep nesting and lone surrogates become a ProbeError, never another
exception.
"""

from __future__ import annotations

import contextvars
import json
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from smoke import json_total, schemas
from smoke.config_defaults import config_default
from smoke.dead_target import DeadTarget
from smoke.errors import DeadlineExceeded, NotAttempted, ProbeError
from smoke.failures import FailureKind
from smoke.http_budget import GuardedAdapter, RequestGuard, current_guard
from smoke.http_errors import redirect_error, transport_error
from smoke.secrets import redactor
from smoke.wording import duration

# Which check a request belongs to, so flaky retries are attributed to the right result.
current_check: contextvars.ContextVar[str] = contextvars.ContextVar("current_check", default="-")
# How the client waits between tries (a module attribute so tests can record the waits instead).
sleep = time.sleep

TRANSIENT_STATUSES = frozenset({502, 503, 504})
# Total tries of a POST whose first try got no answer byte: once more, never a third time (a
# wrong password then reaches the server at most twice per run; 9router locks after 5).
POST_ATTEMPTS = 2
_DIGITS = re.compile("[0-9]+")  # str.isdigit() also accepts "²", which int() refuses
USER_AGENT = "9router-smoke"
# The largest answer read. 9router's biggest (/api/providers) is about 0.5 KB per connection, so
# 10,000 connections fit; a 10 MB page from a misrouted URL does not.
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for idempotent reads only; a chat or login is never resent."""

    # Defaults declared in the config schema (retries.attempts, retries.backoff_seconds).
    attempts: int = int(config_default("retries", "attempts"))  # total tries, first one included
    backoff_seconds: float = float(config_default("retries", "backoff_seconds"))  # exponential backoff, full jitter
    max_wait_seconds: float = 10.0  # never wait longer than this between tries


@dataclass
class Response:
    """A fully read, size-capped HTTP answer."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int
    attempts: int = 1

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self, limit: int = 300) -> str:
        """The body as text for messages: decoded leniently, whitespace squeezed, cut short.

        Any key the body carries is registered with the redactor first, and the text is masked
        before it is cut (a key cut in two at the edge is masked too), so an excerpt of a broken
        /api/keys or usage answer cannot print one, nor a piece of one.
        """
        text = " ".join(self.body.decode("utf-8", "replace").split())
        redactor.harvest_text(text)
        return redactor.excerpt(text, limit)

    def looks_like_html(self) -> bool:
        head = self.body[:512].lstrip().lower()
        return self.content_type == "text/html" or head.startswith((b"<!doctype", b"<html"))

    def json(self, schema: str | None = None) -> Any:
        """Decode the body as JSON, optionally validated against `schemas/<schema>.json`."""
        if self.looks_like_html():
            raise ProbeError(
                FailureKind.HTML,
                f"{self.endpoint} answered an HTML page (HTTP {self.status}) instead of JSON: "
                "a proxy, login wall or placeholder page is in front of 9router; "
                "check --base-url points at 9router itself",
                status=self.status,
            )
        if not self.body.strip():
            raise ProbeError(
                FailureKind.EMPTY,
                f"{self.endpoint} answered HTTP {self.status} with an empty body",
                status=self.status,
            )
        try:
            data = json_total.parse(self.body)
        except json_total.Unusable as exc:
            raise ProbeError(
                FailureKind.JSON,
                f"{self.endpoint} answered JSON the gate refuses to read (HTTP {self.status}): {exc}",
                status=self.status,
            ) from None
        except UnicodeDecodeError as exc:
            raise ProbeError(
                FailureKind.JSON,
                f"{self.endpoint} answered bytes that are not UTF-8 text (HTTP {self.status}, "
                f"byte 0x{self.body[exc.start]:02x} at position {exc.start}); JSON must be UTF-8",
                status=self.status,
            ) from None
        except json.JSONDecodeError as exc:
            raise ProbeError(
                FailureKind.JSON,
                f"{self.endpoint} answered invalid JSON (HTTP {self.status}, {exc.msg} at "
                f"character {exc.pos} of {len(self.body)}): {self.text(80)!r}",
                status=self.status,
            ) from None
        # Keys in the answer (/api/keys, usage's byApiKey) become secrets before any check sees them.
        redactor.harvest(data)
        if schema is not None:
            problem = schemas.response_problem(schema, data)
            if problem:
                raise ProbeError(
                    FailureKind.SCHEMA,
                    f"{self.endpoint} answered JSON of an unexpected shape: {problem}",
                    status=self.status,
                )
        return data

    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


@dataclass
class RequestRecord:
    """One request as sent: for the benchmark's critical path and the request audit."""

    check: str
    method: str
    path: str
    status: int | None
    elapsed_ms: int
    attempt: int
    started: float


@dataclass
class Client:
    """A 9router client bound to one base URL and one run deadline."""

    base_url: str
    timeout: float = 10.0
    deadline: float | None = None  # time.monotonic() after which no request starts
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_body_bytes: int = MAX_BODY_BYTES
    verify: bool | str = True
    extra_headers: dict[str, str] = field(default_factory=dict)
    records: list[RequestRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False  # never route the target through an ambient proxy
        self._session.headers["User-Agent"] = USER_AGENT
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, GuardedAdapter())
        self._lock = threading.Lock()
        self._host = urlsplit(self.base_url).netloc
        self.dead = DeadTarget()
        self._active: set[RequestGuard] = set()  # requests in flight, cut short when the target is judged dead
        if self.verify is False:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def close(self) -> None:
        self._session.close()

    def get(self, path: str, **kwargs: Any) -> Response:
        """An idempotent read: transient failures are retried within the policy and deadline."""
        return self.request("GET", path, retry=True, **kwargs)

    def post(self, path: str, payload: Any, **kwargs: Any) -> Response:
        """A write (login, chat, sync): sent a second time only if the first try got no answer at all."""
        return self.request("POST", path, json_body=payload, retry=False, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        retry: bool = False,
        timeout: float | None = None,
        resend: bool = True,
        judge: bool = True,
    ) -> Response:
        """Send one request; `timeout` overrides the client's for it.

        With `retry`, transient failures and 502/503/504 are tried again within the policy. Without
        it, the request is sent a second time only when the first try got no answer byte at all
        (refused or reset before anything came back), unless `resend` is False. With `judge` a
        request to a target already judged dead is not sent (NotAttempted), and a failure that shows
        the target dead is remembered. The readiness wait passes neither: its polls are its retries,
        and it polls a target that is expected to be down for a while.
        """
        endpoint = f"{method} {path.split('?')[0]}"
        if judge and (cause := self.dead.cause_for(endpoint)) is not None:
            raise NotAttempted(cause)
        attempts = self.retry.attempts if retry else POST_ATTEMPTS if resend else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(method, path, json_body, headers, cookies, attempt, timeout)
            except ProbeError as exc:
                another = attempt < attempts and self._worth_another_try(exc, retry)
                if another and not (judge and self.dead.cause_for(endpoint)) and self._can_wait(self._backoff(attempt)):
                    continue
                if judge and self.dead.judge(endpoint, exc, connected=not exc.kind.no_connection):
                    self._abandon_waiting(exc)
                raise  # the real reason, not "no time left to retry"
            self.dead.answered()
            if retry and attempt < attempts and response.status in TRANSIENT_STATUSES:
                wait = response.retry_after()
                if self._can_wait(self._backoff(attempt) if wait is None else wait):
                    continue
            response.attempts = attempt
            return response

    def _abandon_waiting(self, cause: ProbeError) -> None:
        """The target was just judged dead: stop waiting for requests that have not had a byte back."""
        with self._lock:
            waiting = list(self._active)
        for guard in waiting:
            guard.abandon(cause)

    @staticmethod
    def _worth_another_try(error: ProbeError, idempotent: bool) -> bool:
        """A GET after any transient failure; anything else only when no answer byte came back."""
        return error.kind.transient and (idempotent or not error.answered)

    def _can_wait(self, seconds: float) -> bool:
        """Wait before the next try if the policy and the deadline allow it; False when they do not."""
        if seconds > self.retry.max_wait_seconds or self._time_left() <= seconds + 0.5:
            return False
        sleep(seconds)
        return True

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, self.retry.backoff_seconds * (2 ** (attempt - 1)))

    def _time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _send_once(
        self,
        method: str,
        path: str,
        json_body: Any,
        headers: dict[str, str] | None,
        cookies: dict[str, str] | None,
        attempt: int,
        timeout: float | None = None,
    ) -> Response:
        endpoint = f"{method} {path}"
        time_left = self._time_left()
        if time_left <= 0:
            raise DeadlineExceeded(f"{endpoint} was not sent: the run deadline had passed")
        limit = timeout or self.timeout
        budget = min(limit, time_left)
        cut_by_deadline = budget < limit
        all_headers = {"Accept": "application/json", **self.extra_headers, **(headers or {})}
        started = time.monotonic()
        status: int | None = None
        size = 0
        guard = RequestGuard(budget)
        token = current_guard.set(guard)
        with self._lock:
            self._active.add(guard)
        try:
            guard.start()
            with self._session.request(
                method,
                self.base_url + path,
                json=json_body,
                headers=all_headers,
                cookies=cookies,
                timeout=(min(budget, 10.0), budget),
                allow_redirects=False,
                stream=True,
                verify=self.verify,
            ) as raw:
                # http.client takes the EOF of a shut-down socket for the end of the headers.
                if not guard.head_arrived():
                    raise self._overrun(endpoint, None, budget, guard)
                status = raw.status_code
                try:
                    body = self._read_capped(raw, endpoint, started, budget)
                finally:
                    guard.disarm()
                size = len(body)
                if guard.cut:  # a close-delimited body cut by the watchdog looks complete: it is not
                    raise self._overrun(endpoint, status, budget, guard)
                response = Response(
                    method=method,
                    path=path,
                    status=raw.status_code,
                    headers={k.lower(): v for k, v in raw.headers.items()},
                    body=body,
                    elapsed_ms=_ms_since(started),
                )
        except requests.RequestException as exc:
            guard.disarm()
            if guard.cut:
                overrun = self._overrun(endpoint, status, budget, guard)
                raise _deadline_instead(overrun, endpoint, cut_by_deadline) from None
            error = transport_error(exc, endpoint, self.base_url, budget)
            error.answered = guard.received > 0
            raise _deadline_instead(error, endpoint, cut_by_deadline) from None
        except ProbeError as exc:
            guard.disarm()
            if guard.cut and exc.kind is not FailureKind.TIMEOUT:
                exc = self._overrun(endpoint, status, budget, guard, size)
            exc.answered = exc.answered or guard.received > 0
            raise _deadline_instead(exc, endpoint, cut_by_deadline) from None
        finally:
            guard.disarm()
            current_guard.reset(token)
            with self._lock:
                self._active.discard(guard)
            self._record(method, path, status, started, attempt)
        if 300 <= response.status < 400:
            raise redirect_error(
                response.endpoint, response.status, response.path, response.headers.get("location", ""), self.base_url
            )
        return response

    def _overrun(
        self, endpoint: str, status: int | None, budget: float, guard: RequestGuard, size: int = 0
    ) -> ProbeError:
        """The watchdog ended the request: one sentence for how far the answer had come."""
        if (cause := guard.abandoned) is not None:
            return ProbeError(
                cause.kind,
                f"{endpoint}: no answer after {duration(guard.elapsed())}, when the target was judged dead: {cause}",
            )
        if status is not None:
            return ProbeError(
                FailureKind.TIMEOUT,
                f"{endpoint}: the answer was still arriving after {duration(budget)} "
                f"({size or guard.received} bytes so far); the server sends too slowly; check it, or raise --timeout",
                status=status,
            )
        if guard.received:
            return ProbeError(
                FailureKind.TIMEOUT,
                f"{endpoint}: {self._host} sent only {guard.received} bytes of its answer's headers within "
                f"{duration(budget)}; the server sends too slowly or is hanging; check it, or raise --timeout",
                answered=True,
            )
        return ProbeError(
            FailureKind.TIMEOUT,
            f"{endpoint}: {self._host} accepted the connection but sent no answer within "
            f"{duration(budget)}; the server is hanging or overloaded",
        )

    def _read_capped(self, raw: requests.Response, endpoint: str, started: float, budget: float) -> bytes:
        """Read the body as it arrives, stopping at the size cap and at the time budget."""
        declared = raw.headers.get("content-length", "")
        if _DIGITS.fullmatch(declared) and (len(declared) > 15 or int(declared) > self.max_body_bytes):
            size = f"{_mib(int(declared))}" if len(declared) <= 15 else f"{len(declared)}-digit-byte"
            raise self._too_large(endpoint, raw.status_code, f"announced a {size} answer")
        chunks: list[bytes] = []
        size = 0
        for chunk in _chunks(raw, endpoint, budget):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large(endpoint, raw.status_code, f"sent more than {_mib(self.max_body_bytes)}")
            # A body that trickles in must not hold the gate past the timeout: read1 returns
            # whatever each packet brings, so this runs at least once per packet.
            if time.monotonic() - started > budget:
                raise ProbeError(
                    FailureKind.TIMEOUT,
                    f"{endpoint}: the answer was still arriving after {duration(budget)} ({size} bytes so far); "
                    "the server sends too slowly; check it, or raise --timeout",
                    status=raw.status_code,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, endpoint: str, status: int, what: str) -> ProbeError:
        return ProbeError(
            FailureKind.TOO_LARGE,
            f"{endpoint} {what}, over the gate's {_mib(self.max_body_bytes)} cap, so it stopped reading; "
            "9router's answers are far smaller: is --base-url pointing at 9router?",
            status=status,
        )

    def _record(self, method: str, path: str, status: int | None, started: float, attempt: int) -> None:
        record = RequestRecord(
            check=current_check.get(),
            method=method,
            path=path.split("?")[0],
            status=status,
            elapsed_ms=_ms_since(started),
            attempt=attempt,
            started=started,
        )
        with self._lock:
            self.records.append(record)

    def attempts_for(self, check_id: str) -> int:
        """The most tries any request of `check_id` needed (1 when none was retried)."""
        with self._lock:
            tries = [r.attempt for r in self.records if r.check == check_id]
        return max(tries, default=1)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return float(value)  # a 5000-digit value is inf: longer than any wait, never waited for
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _chunks(raw: requests.Response, endpoint: str, budget: float) -> Iterator[bytes]:
    """The decoded body, one network read at a time, with transport errors as ProbeError."""
    stream = raw.raw
    try:
        while True:
            chunk = stream.read1(65536, decode_content=True)
            if not chunk:
                return
            yield chunk
    except urllib3.exceptions.ReadTimeoutError:
        raise ProbeError(
            FailureKind.TIMEOUT,
            f"{endpoint}: the answer stopped arriving for {duration(budget)} after it had started; "
            "the server is hanging mid-answer",
            status=raw.status_code,
        ) from None
    except urllib3.exceptions.DecodeError:
        raise ProbeError(
            FailureKind.PROTOCOL,
            f"{endpoint}: the answer's {raw.headers.get('content-encoding', 'content')} encoding is corrupt",
            status=raw.status_code,
        ) from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError):
        raise ProbeError(
            FailureKind.RESET,
            f"{endpoint}: the connection broke while the answer was arriving (HTTP {raw.status_code}, cut short)",
            status=raw.status_code,
        ) from None


def _deadline_instead(error: ProbeError, endpoint: str, cut_by_deadline: bool) -> ProbeError | DeadlineExceeded:
    """A timeout caused by the run deadline (not the per-request timeout) is the deadline's doing."""
    if cut_by_deadline and error.kind is FailureKind.TIMEOUT:
        return DeadlineExceeded(f"{endpoint}: the run deadline passed while waiting for the answer")
    return error
