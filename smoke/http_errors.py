"""Every way a request can fail, as one plain sentence naming the endpoint and what to do.

Used by smoke/http.py; kept apart so the wording can be read (and reviewed) in one place.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

from smoke.errors import ProbeError
from smoke.failures import FailureKind
from smoke.wording import duration

_DNS_FAILURE = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "failed to resolve",
    "no address associated",
    "getaddrinfo failed",
    "name resolution",
)
_NOT_HTTP = ("badstatusline", "line too long", "got more than", "invalid http", "headerparsingerror")


def transport_error(exc: requests.RequestException, endpoint: str, base: str, budget: float) -> ProbeError:
    """Map a requests exception to one plain sentence naming the endpoint and the fix."""
    host = urlsplit(base).netloc
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        reason = _tls_reason(text)
        if reason == "not-tls":
            return ProbeError(
                FailureKind.TLS,
                f"{endpoint}: {host} does not speak TLS on this port; use http:// in --base-url, or the TLS port",
            )
        return ProbeError(
            FailureKind.TLS,
            f"{endpoint}: the TLS certificate of {host} could not be verified ({reason}); "
            "pass --ca-bundle FILE for a private CA, or --insecure to skip verification",
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ProbeError(
            FailureKind.TIMEOUT,
            f"{endpoint}: no connection to {host} within {duration(budget)}; "
            "check the address, firewall and that 9router is running",
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ProbeError(
            FailureKind.TIMEOUT,
            f"{endpoint}: {host} accepted the connection but sent no answer within "
            f"{duration(budget)}; the server is hanging or overloaded",
        )
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return ProbeError(FailureKind.RESET, f"{endpoint}: the connection broke while the answer was arriving")
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return ProbeError(
            FailureKind.URL, f"{endpoint}: a request header is not valid ({_first_line(exc)}); check --header"
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        if any(s in text for s in _DNS_FAILURE):
            return ProbeError(
                FailureKind.DNS, f"{endpoint}: the host name in {host} does not resolve; check --base-url"
            )
        if "refused" in text:
            return ProbeError(
                FailureKind.REFUSED,
                f"{endpoint}: connection refused by {host}; is 9router running there and is --base-url right?",
            )
        if any(s in text for s in _NOT_HTTP):
            return ProbeError(
                FailureKind.PROTOCOL,
                f"{endpoint}: {host} answered something that is not HTTP; is --base-url the right port and scheme?",
            )
        if "reset" in text or "aborted" in text or "remote end closed" in text or "broken" in text:
            return ProbeError(FailureKind.RESET, f"{endpoint}: {host} closed the connection before answering")
        return ProbeError(FailureKind.CONNECT, f"{endpoint}: could not connect to {host} ({_first_line(exc)})")
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return ProbeError(FailureKind.URL, f"{endpoint}: the URL is not usable ({_first_line(exc)}); check --base-url")
    return ProbeError(FailureKind.CONNECT, f"{endpoint}: request failed ({_first_line(exc)})")


def redirect_error(endpoint: str, status: int, path: str, location: str, base: str) -> ProbeError:
    """A 3xx is never followed: the key or cookie must not go wherever the Location points."""
    here = urlsplit(base)
    target = urlsplit(urljoin(base + path, location)) if location else None
    if target is None:
        where = "no Location at all"
    elif target.netloc != here.netloc or target.scheme != here.scheme:
        where = f"another host ({target.scheme}://{target.netloc})"
    elif target.path == urlsplit(base + path).path:
        where = f"{target.path} itself (a redirect loop)"
    else:
        where = target.path or "/"
    return ProbeError(
        FailureKind.REDIRECT,
        f"{endpoint} answered a {status} redirect to {where}; the gate never "
        "follows redirects (the key or cookie could leak); set --base-url to the final address",
        status=status,
        location=where,
    )


def _tls_reason(text: str) -> str:
    if "wrong version number" in text or "record layer failure" in text or "unknown protocol" in text:
        return "not-tls"
    if "self-signed" in text or "self signed" in text:
        return "self-signed certificate"
    if "unable to get local issuer" in text or "unknown ca" in text:
        return "issued by an unknown CA"
    if "hostname" in text or "doesn't match" in text or "mismatch" in text:
        return "certificate does not match the host name"
    if "expired" in text:
        return "certificate expired"
    return "verification failed"


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
