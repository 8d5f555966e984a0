"""The one redaction layer: everything that leaves the process passes through `redact`.

It knows the secrets it was told about (API key, password, cookie, extra header values), every
key a 9router answer carried (`harvest`: /api/keys, the `byApiKey` map of usage history), and
any 9router key or JWT by its shape. Each is masked raw, URL-encoded, base64-encoded, and as
JSON, XML/HTML and Markdown-table escaping would write it.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"

# Full 9router API keys: sk-<machineId16>-<6>-<8 hex> (new) and older sk-<hex> forms.
_KEY_SHAPES = [
    re.compile(r"sk-[0-9a-f]{16}-[0-9a-z]{6}-[0-9a-f]{8}", re.I),
    re.compile(r"sk-[A-Za-z0-9_-]{20,}"),
    # JWTs, such as the auth_token cookie.
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
]
_MIN_SECRET_LENGTH = 4
# Field names whose string values are credentials in 9router answers (0.4.x sent some of them).
_SECRET_FIELDS = frozenset(
    {"apikey", "accesstoken", "refreshtoken", "idtoken", "password", "secret", "clientsecret", "token"}
)
_LOCAL_NO_KEY = "local-no-key"  # how usage history names keyless local calls: not a secret
# The same fields in raw text, for bodies too broken to parse (a truncated /api/keys answer).
_TEXT_FIELDS = re.compile(
    r'"(?:key|apiKey|accessToken|refreshToken|idToken|password|secret|clientSecret|token)"\s*:\s*"([^"\\]{8,})"'
)
_TEXT_BY_KEY = re.compile(r'"([^"|\\]{8,})\|[^"]*"\s*:')


class Redactor:
    """Holds the known secrets and masks them (and key-shaped strings) in text and data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str | None) -> None:
        """Remember a secret. Values too short to mask without destroying text are refused."""
        self.add_many([secret])

    def add_many(self, secrets: Iterable[str | None]) -> None:
        """Remember several secrets at once (one rebuild of the pattern)."""
        fresh = {str(s) for s in secrets if s and len(str(s)) >= _MIN_SECRET_LENGTH}
        with self._lock:
            fresh -= self._known
            if not fresh:
                return
            self._known |= fresh
            for secret in fresh:
                self._forms.update(_forms_of(secret))
            # Longest first so a secret inside another secret's form cannot leave a tail.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def known(self) -> list[str]:
        """The raw secrets registered so far (for tests that scan artifacts)."""
        with self._lock:
            return sorted(self._known)

    def secrets(self) -> list[str]:
        """Every form that is masked: raw, encoded and escaped."""
        with self._lock:
            return sorted(self._forms)

    def reset(self) -> None:
        with self._lock:
            self._known.clear()
            self._forms.clear()
            self._pattern = None

    def harvest(self, data: Any) -> None:
        """Register every credential a 9router answer carries, wherever it sits in `data`.

        `/api/keys` lists full keys (`keys[].key`); usage history keys its `byApiKey` map by
        `<full key>|<model>|<provider>`; 0.4.x providers carried `apiKey`/tokens.
        """
        self.add_many(_credentials_in(data))

    def harvest_text(self, text: str) -> None:
        """The same for a body that could not be parsed: quoted key fields and byApiKey-style keys."""
        if '"' not in text:
            return
        found = [m.group(1) for m in _TEXT_FIELDS.finditer(text)]
        start = text.find('"byApiKey"')
        if start >= 0:
            # Only this map's keys start with a key; byEndpoint's start with a path.
            end = text.find('"byEndpoint"', start)
            section = text[start : end if end > 0 else len(text)]
            found += [m.group(1) for m in _TEXT_BY_KEY.finditer(section) if m.group(1) != _LOCAL_NO_KEY]
        self.add_many(found)

    def redact(self, text: str) -> str:
        """Mask every known secret form and every key-shaped string in `text`."""
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for shape in _KEY_SHAPES:
            text = shape.sub(MASK, text)
        return text

    def redact_data(self, value: Any) -> Any:
        """Redact strings anywhere in JSON-like data, dict keys included."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_data(v) for v in value]
        return value


def safe_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """A check's evidence as reports may keep it: raw bodies and answers holding keys are replaced.

    Checks should keep only the fields they need; this is the backstop. Any credential inside is
    registered first, so the check's message cannot print it either.
    """
    redactor.harvest(evidence)
    return {key: _kept(value) for key, value in evidence.items()}


def _kept(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes of a raw answer, not kept>"
    if hasattr(value, "body") and hasattr(value, "status"):
        return "<a raw HTTP answer, not kept>"
    if isinstance(value, dict):
        if "byApiKey" in value or _is_key_list(value.get("keys")):
            return "<a 9router answer that holds API keys, not kept>"
        return {k: _kept(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_kept(v) for v in value]
    return value


def _is_key_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) and "key" in v for v in value)


def _credentials_in(data: Any) -> list[str]:
    """Credential strings in JSON-like data (iterative, and cheap: 10,000 connections take ~50 ms)."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, dict):
            if name == "byapikey":
                found += [k.split("|", 1)[0] for k in value if isinstance(k, str)]
            if name == "keys[]" and isinstance(value.get("key"), str):
                found.append(value["key"])
            for key, item in value.items():
                if isinstance(item, str):
                    if len(item) >= 8 and str(key).lower() in _SECRET_FIELDS:
                        found.append(item)
                elif isinstance(item, (dict, list)):
                    stack.append((str(key).lower(), item))
        elif isinstance(value, list):
            item_name = name + "[]" if name == "keys" else ""
            stack.extend((item_name, v) for v in value if isinstance(v, (dict, list)))
    return [f for f in found if f != _LOCAL_NO_KEY]


def _forms_of(secret: str) -> set[str]:
    """The secret as it may appear in text: raw, URL-encoded, base64 at any alignment, and as
    JSON strings, XML/HTML and Markdown table cells escape it."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        secret.replace("|", "\\|"),
    }
    raw = secret.encode()
    for offset in range(3):
        # Base64 of the secret embedded at any byte offset (e.g. "Basic user:pass") shares a
        # stable middle; drop the characters that depend on the neighbouring bytes.
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        start = (offset * 4 + 2) // 3
        core = encoded[start : len(encoded) - 2]
        if len(core) >= 6:
            forms.add(core)
            forms.add(core.replace("+", "-").replace("/", "_"))
    return {f for f in forms if len(f) >= _MIN_SECRET_LENGTH}


# Process-wide: the CLI registers the run's secrets once; every writer calls `redact`.
redactor = Redactor()
redact = redactor.redact
redact_data = redactor.redact_data
