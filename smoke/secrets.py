"""The one redaction layer: everything that leaves the process passes through `redact`.

It knows the secrets it was told about (API key, password, cookie, extra header values) and
any 9router key or JWT it sees by shape, in raw, URL-encoded and base64 forms.
"""

from __future__ import annotations

import base64
import re
import threading
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


class Redactor:
    """Holds the known secrets and masks them (and key-shaped strings) in text and data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str | None) -> None:
        """Remember a secret. Values too short to mask without destroying text are refused."""
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._forms.update(_forms_of(secret))
            # Longest first so a secret inside another secret's form cannot leave a tail.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def secrets(self) -> list[str]:
        with self._lock:
            return sorted(self._forms)

    def reset(self) -> None:
        with self._lock:
            self._forms.clear()
            self._pattern = None

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


def _forms_of(secret: str) -> set[str]:
    """The secret as it may appear in text: raw, URL-encoded, and base64 at any alignment."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
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
