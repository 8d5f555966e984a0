"""One HTTP client for every probe: timeouts, a global deadline, capped bodies, no redirects,
bounded retries of transient reads, per-endpoint JSON Schema validation, and one plain sentence
for every way a request can go wrong.
"""

from __future__ import annotations

import contextvars
import json
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from smoke import schemas
from smoke.errors import DeadlineExceeded, ProbeError

# Which check a request belongs to, so flaky retries are attributed to the right result.
current_check: contextvars.ContextVar[str] = contextvars.ContextVar("current_check", default="-")

TRANSIENT_STATUSES = frozenset({502, 503, 504})
USER_AGENT = "9router-smoke"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for idempotent reads only; a chat or login is never resent."""

    attempts: int = 3  # total tries, first one included
    backoff_seconds: float = 0.25  # base of exponential backoff with full jitter
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
        """The body as text for messages: decoded leniently, whitespace squeezed, cut short."""
        text = " ".join(self.body.decode("utf-8", "replace").split())
        return text if len(text) <= limit else text[:limit] + "..."

    def looks_like_html(self) -> bool:
        head = self.body[:512].lstrip().lower()
        return self.content_type == "text/html" or head.startswith((b"<!doctype", b"<html"))

    def json(self, schema: str | None = None) -> Any:
        """Decode the body as JSON, optionally validated against `schemas/<schema>.json`."""
        if self.looks_like_html():
            raise ProbeError(
                "html",
                f"{self.endpoint} answered an HTML page (HTTP {self.status}) instead of JSON: "
                "a proxy, login wall or placeholder page is in front of 9router; "
                "check --base-url points at 9router itself",
                status=self.status,
            )
        if not self.body.strip():
            raise ProbeError(
                "empty",
                f"{self.endpoint} answered HTTP {self.status} with an empty body",
                status=self.status,
            )
        try:
            data = json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ProbeError(
                "json",
                f"{self.endpoint} answered bytes that are not UTF-8 text (HTTP {self.status})",
                status=self.status,
            ) from None
        except json.JSONDecodeError as exc:
            raise ProbeError(
                "json",
                f"{self.endpoint} answered invalid JSON (HTTP {self.status}, {exc.msg} at "
                f"character {exc.pos}): {self.text(80)!r}",
                status=self.status,
            ) from None
        if schema is not None:
            problem = schemas.response_problem(schema, data)
            if problem:
                raise ProbeError(
                    "schema",
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
    max_body_bytes: int = 8 * 1024 * 1024
    verify: bool | str = True
    extra_headers: dict[str, str] = field(default_factory=dict)
    records: list[RequestRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False  # never route the target through an ambient proxy
        self._session.headers["User-Agent"] = USER_AGENT
        self._lock = threading.Lock()
        if self.verify is False:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def close(self) -> None:
        self._session.close()

    def get(self, path: str, **kwargs: Any) -> Response:
        """An idempotent read: transient failures are retried within the policy and deadline."""
        return self.request("GET", path, retry=True, **kwargs)

    def post(self, path: str, payload: Any, **kwargs: Any) -> Response:
        """A write (login, chat, sync): sent once, never retried."""
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
    ) -> Response:
        attempts = self.retry.attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(method, path, json_body, headers, cookies, attempt)
            except ProbeError as exc:
                if attempt < attempts and exc.kind in {"refused", "reset"}:
                    self._pause(self._backoff(attempt), path, method)
                    continue
                raise
            if attempt < attempts and response.status in TRANSIENT_STATUSES:
                wait = response.retry_after()
                wait = self._backoff(attempt) if wait is None else wait
                if wait <= self.retry.max_wait_seconds and self._time_left() > wait + 0.5:
                    self._pause(wait, path, method)
                    continue
            response.attempts = attempt
            return response

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, self.retry.backoff_seconds * (2 ** (attempt - 1)))

    def _pause(self, seconds: float, path: str, method: str) -> None:
        if self._time_left() <= seconds:
            raise DeadlineExceeded(f"{method} {path}: the run deadline passed while retrying")
        time.sleep(seconds)

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
    ) -> Response:
        endpoint = f"{method} {path}"
        budget = min(self.timeout, self._time_left())
        if budget <= 0:
            raise DeadlineExceeded(f"{endpoint} was not sent: the run deadline had passed")
        all_headers = {"Accept": "application/json", **self.extra_headers, **(headers or {})}
        started = time.monotonic()
        status: int | None = None
        try:
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
                status = raw.status_code
                body = self._read_capped(raw, endpoint, started, budget)
                response = Response(
                    method=method,
                    path=path,
                    status=raw.status_code,
                    headers={k.lower(): v for k, v in raw.headers.items()},
                    body=body,
                    elapsed_ms=_ms_since(started),
                )
        except requests.RequestException as exc:
            raise _probe_error(exc, endpoint, self.base_url, budget) from None
        finally:
            self._record(method, path, status, started, attempt)
        if 300 <= response.status < 400:
            raise _redirect_error(response, self.base_url)
        return response

    def _read_capped(self, raw: requests.Response, endpoint: str, started: float, budget: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in raw.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise ProbeError(
                    "too-large",
                    f"{endpoint} sent more than {self.max_body_bytes // (1024 * 1024)} MiB; "
                    "the gate stopped reading (is --base-url pointing at 9router?)",
                    status=raw.status_code,
                )
            # A body that trickles in slower than the timeout must not hang the gate.
            if time.monotonic() - started > budget:
                raise ProbeError(
                    "timeout",
                    f"{endpoint} body was still arriving after {budget:.0f}s "
                    "(the server sends too slowly); check the server or raise the timeout",
                    status=raw.status_code,
                )
            chunks.append(chunk)
        return b"".join(chunks)

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
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _probe_error(exc: requests.RequestException, endpoint: str, base: str, budget: float) -> ProbeError:
    """Map a requests exception to one plain sentence naming the endpoint and the fix."""
    host = urlsplit(base).netloc
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return ProbeError(
            "tls",
            f"{endpoint}: the TLS certificate of {host} could not be verified ({_tls_reason(text)}); "
            "pass --ca-bundle FILE for a private CA, or --insecure to skip verification",
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ProbeError(
            "timeout",
            f"{endpoint}: no connection to {host} within {budget:.0f}s; "
            "check the address, firewall and that 9router is running",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ProbeError(
            "timeout",
            f"{endpoint}: {host} accepted the connection but sent no answer within "
            f"{budget:.0f}s; the server is hanging or overloaded",
        )
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return ProbeError("reset", f"{endpoint}: the connection broke while the answer was arriving")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if any(
            s in text
            for s in (
                "name or service not known",
                "nodename nor servname",
                "temporary failure in name resolution",
                "failed to resolve",
                "no address associated",
                "getaddrinfo failed",
            )
        ):
            return ProbeError(
                "dns",
                f"{endpoint}: the host name in {host} does not resolve; check --base-url",
            )
        if "refused" in text:
            return ProbeError(
                "refused",
                f"{endpoint}: connection refused by {host}; is 9router running there and is --base-url right?",
            )
        if "reset" in text or "aborted" in text or "remote end closed" in text or "broken" in text:
            return ProbeError("reset", f"{endpoint}: {host} closed the connection before answering")
        return ProbeError("connect", f"{endpoint}: could not connect to {host} ({_first_line(exc)})")
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return ProbeError("url", f"{endpoint}: the URL is not usable ({_first_line(exc)}); check --base-url")
    return ProbeError("connect", f"{endpoint}: request failed ({_first_line(exc)})")


def _redirect_error(response: Response, base: str) -> ProbeError:
    location = response.headers.get("location", "")
    target = urlsplit(location)
    here = urlsplit(base)
    elsewhere = target.netloc and target.netloc != here.netloc
    where = f"another host ({target.netloc})" if elsewhere else (location.split("?")[0] or "nowhere")
    return ProbeError(
        "redirect",
        f"{response.endpoint} answered a {response.status} redirect to {where}; the gate never "
        "follows redirects (the key or cookie could leak); set --base-url to the final address",
        status=response.status,
    )


def _tls_reason(text: str) -> str:
    if "self-signed" in text or "self signed" in text:
        return "self-signed certificate"
    if "unable to get local issuer" in text or "unknown ca" in text:
        return "issued by an unknown CA"
    if "hostname" in text or "doesn't match" in text:
        return "certificate does not match the host name"
    if "expired" in text:
        return "certificate expired"
    return "verification failed"


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
