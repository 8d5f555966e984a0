"""The one redaction layer: everything that leaves the process passes through it.

What is registered (nothing else is, whatever a server sends):
- the secrets the user gave: API key, dashboard password, extra header values (`add`);
- the session cookie the login set (`add_session`);
- full 9router API keys read from `/api/keys` and usage's `byApiKey` map (`harvest`), only when
  they have the key shape (`sk-` and at least 13 more key characters), and at most
  `MAX_HARVESTED` of them per run.
Any 9router key or JWT is also masked by its shape, registered or not.

Two strengths of masking, so a server can never steer what our artifacts say:
- `redact_value` / `redact_data` / `redact_report` mask *values* (messages, evidence, versions)
  with every registered secret, before anything is rendered. Dict keys, ids, statuses and the
  verdict are never touched.
- `redact` is the pass over rendered text and console lines. It only masks what cannot be one of
  our own words: key and JWT shapes, harvested keys, the user's secrets of 8 characters or more,
  and a cookie that looks like a token. Markup and outputs stay well-formed whatever is masked.
Each secret is masked raw, URL-encoded, base64-encoded, and as JSON, XML/HTML and Markdown-table
escaping would write it.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
import threading
from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from smoke.model import RunReport, WatchSection

MASK = "***"

# A full 9router API key: sk-<machineId16>-<6>-<8 hex> today; older and upstream keys are sk-<token>.
# Masked from 12 characters on, so a key or JWT cut short by anyone (a message cut at N characters)
# leaves no 12-character piece. No word boundary in front: a server can glue a key to other text
# ("xxsk-..."), and none of our own words contains "sk-" or "eyJ" (base64 of '{"').
_JWT = r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
_SHAPES = re.compile(r"sk-[A-Za-z0-9_-]{9,}|eyJ[A-Za-z0-9_-]{9,}(?:\.[A-Za-z0-9_-]+)*")
# What is left of a key or JWT cut at the end of a text (a capped body, an excerpt).
_CUT_SHAPE = re.compile(r"(?:sk-[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_.-]*)\Z")
# At most 100 characters: a real key has 35, and a bound keeps the masking regex shallow.
_HARVEST_SHAPE = re.compile(r"sk-[A-Za-z0-9_-]{13,97}")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")

MIN_SECRET_LENGTH = 4  # masked inside values from here; shorter ones only where they are a whole value
MIN_TEXT_SECRET_LENGTH = 8  # a given secret this long is also masked in rendered text
MAX_HARVESTED = 1000  # keys registered from answers per run; beyond, their shape still masks them
MAX_VISITED = 100_000  # JSON containers looked at per answer, so a huge answer costs milliseconds
MAX_SECRET_LENGTH = 4096  # longer values are not credentials we send
PIECE = 12  # no piece this long of a secret may show: its prefixes from this length on are masked too
_LOCAL_NO_KEY = "local-no-key"  # how usage history names keyless local calls: not a secret
# Values that are our own vocabulary (statuses, verdicts, severities): never masked as a whole.
_OWN_WORDS = frozenset({"pass", "fail", "error", "skip", "P0", "P1", "pre", "post", "true", "false", "none", "all"})
# Raw-text fallback for bodies too broken to parse (a truncated /api/keys answer).
_TEXT_KEY_FIELD = re.compile(r'"key"\s*:\s*"(sk-[A-Za-z0-9_-]{13,})"')
_TEXT_BY_KEY = re.compile(r'"(sk-[A-Za-z0-9_-]{13,})\|[^"]*"\s*:')


@dataclasses.dataclass(frozen=True)
class _Patterns:
    value: re.Pattern[str] | None  # every registered form
    text: re.Pattern[str] | None  # forms that can never be one of our own words
    whole: frozenset[str]  # secrets too short to mask inside text


class Redactor:
    """Holds the registered secrets and masks them (and key-shaped strings) in text and data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, bool] = {}  # secret -> safe to mask in rendered text
        self._harvested = 0
        self._patterns = _Patterns(None, None, frozenset())

    # --- registration -------------------------------------------------------------------------

    def add(self, secret: str | None) -> None:
        """Register a secret the user gave (API key, password, header value)."""
        self.add_many([secret])

    def add_many(self, secrets: Iterable[str | None]) -> None:
        """Register several given secrets at once (one rebuild of the patterns)."""
        self._register({str(s): len(str(s)) >= MIN_TEXT_SECRET_LENGTH for s in secrets if s})

    def add_session(self, cookie: str | None) -> None:
        """Register the session cookie. The server chose it, so it is masked in rendered text only
        when it looks like a token (a JWT, or 16+ token characters mixing cases and digits)."""
        if cookie:
            self._register({cookie: _token_like(cookie)})

    def harvest(self, data: Any) -> None:
        """Register the full API keys a 9router answer carries: `keys[].key` (/api/keys) and the
        `<full key>|<model>|<provider>` keys of usage's `byApiKey` map. Nothing else in any answer
        is registered, and only key-shaped values are."""
        if self._harvested < MAX_HARVESTED:
            self._add_harvested(_keys_in(data, MAX_HARVESTED - self._harvested))

    def harvest_text(self, text: str) -> None:
        """The same for a body that could not be parsed: quoted `key` fields and byApiKey-style keys."""
        if self._harvested >= MAX_HARVESTED or '"sk-' not in text:
            return
        found: list[str] = []
        for pattern in (_TEXT_KEY_FIELD, _TEXT_BY_KEY):
            for match in pattern.finditer(text):
                found.append(match.group(1))
                if len(found) >= MAX_HARVESTED:
                    break
        self._add_harvested(found)

    def _add_harvested(self, keys: Iterable[str]) -> None:
        fresh = {k: True for k in keys if is_key(k)}
        with self._lock:
            room = MAX_HARVESTED - self._harvested
            fresh = {k: v for k, v in list(fresh.items())[: max(room, 0)] if k not in self._known}
            self._harvested += len(fresh)
        self._register(fresh)

    def _register(self, secrets: dict[str, bool]) -> None:
        with self._lock:
            fresh = {s: safe for s, safe in secrets.items() if len(s) <= MAX_SECRET_LENGTH and not self._known.get(s)}
            if not fresh:
                return
            self._known.update(fresh)
            self._patterns = _build(self._known)

    def known(self, *, in_text: bool = False) -> list[str]:
        """The raw secrets registered so far (for tests that scan artifacts); with `in_text`, only
        those masked in rendered text too (a short or server-chosen one is masked in values only)."""
        with self._lock:
            return sorted(s for s, safe in self._known.items() if safe or not in_text)

    def reset(self) -> None:
        with self._lock:
            self._known.clear()
            self._harvested = 0
            self._patterns = _Patterns(None, None, frozenset())

    # --- masking ------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Rendered text or a console line: mask key/JWT shapes and the secrets that cannot be one
        of our own words. Never changes markup, keys or the verdict words."""
        if not text:
            return text
        pattern = self._patterns.text
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _SHAPES.sub(MASK, text)

    def redact_value(self, text: str) -> str:
        """One value (a message, a version, an evidence string): mask every registered secret."""
        if not text or text in _OWN_WORDS:
            return text
        patterns = self._patterns
        if text in patterns.whole:
            return MASK
        if patterns.value is not None:
            text = patterns.value.sub(MASK, text)
        return _SHAPES.sub(MASK, text)

    def redact_data(self, value: Any) -> Any:
        """JSON-like data: values redacted as values; dict keys only as rendered text (so keys
        stay keys), two keys that mask alike kept apart."""
        if isinstance(value, str):
            return self.redact_value(value)
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                name = self.redact(key) if isinstance(key, str) else key
                while name in out:
                    name = f"{name}'"
                out[name] = self.redact_data(item)
            return out
        if isinstance(value, (list, tuple)):
            return [self.redact_data(v) for v in value]
        return value

    def excerpt(self, text: str, limit: int) -> str:
        """At most `limit` characters of `text` (plus "..."), masked before it is cut, and with a
        key or secret cut in two at the edge masked too."""
        with self._lock:  # checks register keys from other threads
            longest = max((len(s) for s in self._known), default=0) * 6 + 64  # room for the widest form
        window = self.redact_value(text[: limit + longest])
        if len(text) <= limit and len(window) <= limit:
            return _CUT_SHAPE.sub(MASK, window)  # the body itself may end in a cut key
        return self.mask_cut_edge(window[:limit]) + "..."

    def mask_cut_edge(self, text: str) -> str:
        """Mask a key/JWT start or the start of a registered secret that ends the text."""
        text = _CUT_SHAPE.sub(MASK, text)
        tail = text[-MAX_SECRET_LENGTH:]
        with self._lock:
            known = list(self._known)
        for secret in known:
            for size in range(min(len(secret) - 1, len(tail)), MIN_SECRET_LENGTH - 1, -1):
                if tail.endswith(secret[:size]):
                    return text[:-size] + MASK
        return text

    def redact_report(self, run: RunReport) -> RunReport:
        """A copy of the run with every free-text value redacted; ids, statuses, severities, scope
        and the verdict as they were."""
        outcomes = [
            dataclasses.replace(
                o,
                title=self.redact_value(o.title),
                result=dataclasses.replace(
                    o.result,
                    message=self.redact_value(o.result.message),
                    evidence=self.redact_data(o.result.evidence),
                ),
            )
            for o in run.outcomes
        ]
        return dataclasses.replace(
            run,
            base_url=self.redact_value(run.base_url),
            version=self.redact_value(run.version) if run.version is not None else None,
            model=self.redact_value(run.model) if run.model is not None else None,
            outcomes=outcomes,
            notes=[self.redact_value(n) for n in run.notes],
            interrupted=self.redact_value(run.interrupted) if run.interrupted else run.interrupted,
            readiness=self.redact_data(run.readiness) if run.readiness is not None else None,
            watch=self._redact_watch(run.watch),
        )

    def _redact_watch(self, watch: WatchSection | None) -> WatchSection | None:
        if watch is None:
            return None
        return dataclasses.replace(watch, **{k: self.redact_data(v) for k, v in watch.as_json().items()})


def is_key(value: Any) -> bool:
    """Whether `value` has the shape of a full 9router API key (what `harvest` accepts)."""
    return isinstance(value, str) and len(value) <= MAX_SECRET_LENGTH and _HARVEST_SHAPE.fullmatch(value) is not None


def _token_like(value: str) -> bool:
    if re.fullmatch(_JWT, value):
        return True
    return (
        _TOKEN.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def safe_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """A check's evidence as reports may keep it: raw bodies and answers holding keys are replaced.

    Checks should keep only the fields they need; this is the backstop. Any key inside is
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


def _keys_in(data: Any, limit: int) -> list[str]:
    """Key-shaped `keys[].key` values and `byApiKey` map keys in JSON-like data, at most `limit`.

    Iterative, one pass, stops at `limit`: a 350,000-entry key list costs a fraction of a second.
    """
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", data)]
    visited = 0
    while stack and len(found) < limit and visited < MAX_VISITED:
        name, value = stack.pop()
        visited += 1
        if isinstance(value, dict):
            if name == "byapikey":
                heads = (k.split("|", 1)[0] for k in islice(value, MAX_VISITED) if isinstance(k, str))
                found += [k for k in heads if is_key(k)]
            elif name == "keys[]" and is_key(value.get("key")):
                found.append(value["key"])
            items = islice(value.items(), MAX_VISITED)
            stack.extend((str(k).lower(), v) for k, v in items if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            item_name = "keys[]" if name == "keys" else ""
            stack.extend((item_name, v) for v in islice(value, MAX_VISITED) if isinstance(v, (dict, list)))
    return [f for f in found[:limit] if f != _LOCAL_NO_KEY]


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
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _build(known: dict[str, bool]) -> _Patterns:
    value_forms: set[str] = set()
    text_forms: set[str] = set()
    whole = set()
    for secret, text_safe in known.items():
        if len(secret) < MIN_SECRET_LENGTH:
            whole.add(secret)
            continue
        forms = _forms_of(secret)
        if is_key(secret):
            # The shape already masks a key raw, escaped (nothing to escape) and cut; keep its base64.
            forms = {f for f in forms if not f.startswith("sk-")}
        else:
            # A secret cut short elsewhere (a message cut at N characters) starts with a long prefix.
            forms |= {secret[:n] for n in range(PIECE, min(len(secret), 64))}
        value_forms |= forms
        if text_safe:
            text_forms |= {f for f in forms if len(f) >= MIN_TEXT_SECRET_LENGTH}
    return _Patterns(_alternation(value_forms), _alternation(text_forms), frozenset(whole))


def _alternation(words: set[str]) -> re.Pattern[str] | None:
    """One regex matching any of `words`, longest first, built as a trie so that a thousand keys
    with a shared prefix cost one scan, not a thousand."""
    if not words:
        return None
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_regex(trie))


def _trie_regex(node: dict[str, Any]) -> str:
    branches = []
    for char, child in sorted(node.items()):
        if char == "":
            continue
        # Follow a chain of single children as one literal (keeps the nesting shallow).
        literal = char
        while len(child) == 1 and "" not in child:
            (char, child), *_ = child.items()
            literal += char
        branches.append(re.escape(literal) + _trie_regex(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


# Process-wide: the CLI registers the run's secrets once; every writer calls `redact`.
redactor = Redactor()
redact = redactor.redact
redact_value = redactor.redact_value
redact_data = redactor.redact_data
redact_report = redactor.redact_report
