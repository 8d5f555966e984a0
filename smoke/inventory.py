"""Reading 9router provider connections: which provider a name means, and whether a connection
can serve traffic now. Pure functions, shared by provider-inventory and the post-deploy checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smoke.wording import clock_time

# Built-in provider aliases (alias -> provider id), from 9router 0.5.69's provider registry.
PROVIDER_ALIASES = {
    "ag": "antigravity",
    "cc": "claude",
    "cl": "cline",
    "cu": "cursor",
    "cx": "codex",
    "gc": "gemini-cli",
    "gcli": "grok-cli",
    "gh": "github",
    "if": "iflow",
    "kc": "kilocode",
    "kr": "kiro",
    "oc": "opencode",
    "qd": "qoder",
    "zd": "zed",
}
ALIAS_OF = {provider: alias for alias, provider in PROVIDER_ALIASES.items()}

# A custom node's provider id (`openai-compatible-chat-<uuid>`). 9router before 0.5.55 leaves such
# ids out of /v1/models (seen on 0.5.18; 0.5.55 lists them): only alias targets are listed there.
CUSTOM_NODE_ID = re.compile(r"[-_][0-9a-f]{8,}$")
LISTS_CUSTOM_NODE_MODELS_FROM = (0, 5, 55)

BROKEN_TEST_STATUSES = frozenset({"error", "expired"})
LOCK_PREFIX = "modelLock_"
ALL_MODELS_LOCK = "modelLock___all"


def matches(connection: dict[str, Any], name: str) -> bool:
    """Does `name` (provider id, built-in alias, node name or node prefix) mean this connection?"""
    wanted = name.strip().lower()
    provider = str(connection.get("provider", "")).lower()
    node = connection.get("providerSpecificData") or {}
    candidates = {
        provider,
        ALIAS_OF.get(provider, ""),
        str(node.get("prefix") or "").lower(),
        str(node.get("nodeName") or "").lower(),
    }
    return wanted in candidates or PROVIDER_ALIASES.get(wanted) == provider


def model_prefix(connection: dict[str, Any]) -> str:
    """The prefix this connection's models carry in /v1/models (`fake`, `cc`, `openai`...)."""
    node = connection.get("providerSpecificData") or {}
    provider = str(connection.get("provider", ""))
    return str(node.get("prefix") or ALIAS_OF.get(provider) or provider)


def upstream_model(model: str | None) -> str | None:
    """`fake/fake-small` -> `fake-small`: locks are keyed by the upstream model name."""
    if not model or "/" not in model:
        return None
    return model.split("/", 1)[1]


def is_custom_node(provider_id: str) -> bool:
    """Whether a provider id is a custom node's (`openai-compatible-chat-<uuid>`)."""
    return bool(CUSTOM_NODE_ID.search(provider_id.strip().lower()))


def lists_custom_node_models(version: str | None) -> bool:
    """Whether this 9router's /v1/models lists custom nodes' models (unknown versions: assumed yes)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version or "")[:3])
    return not numbers or numbers >= LISTS_CUSTOM_NODE_MODELS_FROM


def listed_prefixes(name: str) -> set[str] | None:
    """Without the connection list: the model prefixes `name` can list under, or None when only
    /api/providers can tell (a custom node's provider id or a node name maps to a prefix the
    server chose)."""
    lowered = name.strip().lower()
    if is_custom_node(lowered) or not re.fullmatch(r"[a-z0-9._-]+", lowered):
        return None
    return {lowered, ALIAS_OF.get(lowered, lowered), PROVIDER_ALIASES.get(lowered, lowered)}


def parse_time(value: Any) -> datetime | None:
    """ISO time (or epoch ms) as an aware UTC datetime; None when absent or unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value / 1000, UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def active_locks(connection: dict[str, Any], now: datetime) -> dict[str, datetime]:
    """Model locks (`modelLock_<model>`, `modelLock___all`) that expire after `now`."""
    locks = {}
    for key, value in connection.items():
        if key.startswith(LOCK_PREFIX):
            until = parse_time(value)
            if until is not None and until > now:
                locks["*" if key == ALL_MODELS_LOCK else key[len(LOCK_PREFIX) :]] = until
    return locks


@dataclass(frozen=True)
class Health:
    """Whether one connection can take traffic now, and why not."""

    connection_id: str
    name: str
    healthy: bool
    reason: str  # "ok" or what is wrong, in a few words
    locked_models: tuple[str, ...] = ()


def health(connection: dict[str, Any], now: datetime, model: str | None = None) -> Health:
    """A connection is healthy when active, not failed a test, and not locked for `model`.

    A lock on one other model does not make it unhealthy (it still serves the rest); a lock on
    every model (`modelLock___all`) or on `model` does. `unavailable` only counts while a lock is
    active, as in 9router's own dashboard.
    """
    ident = str(connection.get("id", "?"))
    name = str(connection.get("name") or connection.get("displayName") or ident)
    locks = active_locks(connection, now)
    locked = tuple(sorted(locks))
    if connection.get("isActive") is False:
        return Health(ident, name, False, "disabled (isActive=false)", locked)
    status = str(connection.get("testStatus") or "")
    if status in BROKEN_TEST_STATUSES:
        code = connection.get("errorCode")
        return Health(
            ident,
            name,
            False,
            f"testStatus={status}" + (f", errorCode={code}" if code else ""),
            locked,
        )
    if "*" in locks:
        return Health(ident, name, False, f"every model locked until {clock_time(locks['*'])}", locked)
    if model and model in locks:
        return Health(ident, name, False, f"{model} locked until {clock_time(locks[model])}", locked)
    return Health(ident, name, True, "ok", locked)
