"""Post-deploy expectations: the config file's `post` section as typed, frozen values.

Each number's default is the schema's (smoke/config_defaults.py); `from_config` walks the fields,
so a new expectation is one field here and one property in schema/config.json. The flags that
set expectations (--fallback-strategy, --sticky-limit, --combo-strategy, --critical-aliases,
--critical-combos) are applied by `post_expectations`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from smoke.config_defaults import config_default
from smoke.inputs import parse_list

if TYPE_CHECKING:
    from smoke.settings.fields import Given

T = TypeVar("T")


@dataclass(frozen=True)
class ErrorBudget:
    """post.error_budget (error-budget)."""

    window_seconds: float = float(config_default("post", "error_budget", "window_seconds"))
    max_failed: int = int(config_default("post", "error_budget", "max_failed"))


@dataclass(frozen=True)
class AccountLimits:
    """post.accounts (account-state)."""

    max_unhealthy_share: float = float(config_default("post", "accounts", "max_unhealthy_share"))


@dataclass(frozen=True)
class WatchLimits:
    """post.watch (the `watch` command's escalation signal)."""

    auth_loop_rounds: int = int(config_default("post", "watch", "auth_loop_rounds"))


@dataclass(frozen=True)
class PostExpectations:
    """What the post-deploy checks compare the router with."""

    critical_aliases: dict[str, str] = field(default_factory=dict)  # alias -> PROVIDER/MODEL
    critical_combos: dict[str, list[str] | None] = field(default_factory=dict)  # name -> members, or None
    routing: dict[str, Any] = field(default_factory=dict)  # keys as in GET /api/settings
    error_budget: ErrorBudget = field(default_factory=ErrorBudget)
    accounts: AccountLimits = field(default_factory=AccountLimits)
    latency_floor_ms: int = int(config_default("post", "latency_floor_ms"))
    watch: WatchLimits = field(default_factory=WatchLimits)


def from_config(cls: type[T], section: Mapping[str, Any]) -> T:
    """A frozen settings dataclass from its config section: each field's value, else its declared
    default. A value of the wrong type keeps the default (the schema has already reported it)."""
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        raw = section.get(f.name)
        if f.default_factory is not MISSING:
            empty = f.default_factory()
            if is_dataclass(empty):
                values[f.name] = from_config(type(empty), raw if isinstance(raw, Mapping) else {})
            elif isinstance(raw, Mapping):
                values[f.name] = dict(raw)
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and isinstance(f.default, (int, float)):
            values[f.name] = type(f.default)(raw)
    return cls(**values)


# Post-deploy flags that override the config file's `post` section (routing-config, alias-combo).
_ROUTING_FLAGS = {"fallback_strategy": "fallbackStrategy", "combo_strategy": "comboStrategy"}
_ROUTING_CHOICES = {
    "fallbackStrategy": ("fill-first", "round-robin"),
    "comboStrategy": ("fallback", "round-robin", "fusion"),
}


def post_expectations(section: Mapping[str, Any], given: Mapping[str, Given]) -> tuple[PostExpectations, list[str]]:
    """The `post` section with --fallback-strategy, --sticky-limit, --combo-strategy,
    --critical-aliases (ALIAS=PROVIDER/MODEL,...) and --critical-combos (NAME=M1|M2,... or NAME) applied."""
    post = dict(section)
    problems: list[str] = []
    routing = dict(post.get("routing", {}))
    for flag, key in _ROUTING_FLAGS.items():
        if (g := given.get(flag)) is not None:
            value = str(g.value).strip()
            if value not in _ROUTING_CHOICES[key]:
                problems.append(f"{g.origin}: {value!r} is not one of {', '.join(_ROUTING_CHOICES[key])}")
            routing[key] = value
    if (g := given.get("sticky_limit")) is not None:
        try:
            routing["stickyRoundRobinLimit"] = int(str(g.value))
            if routing["stickyRoundRobinLimit"] < 1:
                raise ValueError
        except ValueError:
            problems.append(f"{g.origin}: {g.value!r} is not a whole number of 1 or more")
    if routing:
        post["routing"] = routing
    if (g := given.get("critical_aliases")) is not None:
        aliases = dict(post.get("critical_aliases", {}))
        for item in parse_list(str(g.value)):
            alias, _, target = (part.strip() for part in item.partition("="))
            if not alias or not re.fullmatch(r"[^\s/]+/\S+", target):
                problems.append(f"{g.origin}: {item!r} must be ALIAS=PROVIDER/MODEL (example: fast=cc/claude-haiku)")
                continue
            aliases[alias] = target
        post["critical_aliases"] = aliases
    if (g := given.get("critical_combos")) is not None:
        combos = dict(post.get("critical_combos", {}))
        for item in parse_list(str(g.value)):
            name, sep, members = (part.strip() for part in item.partition("="))
            listed = [m.strip() for m in members.split("|") if m.strip()]
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or (sep and not listed):
                problems.append(f"{g.origin}: {item!r} must be NAME or NAME=MEMBER1|MEMBER2 (example: main=cc/x|cx/y)")
                continue
            combos[name] = listed or None
        post["critical_combos"] = combos
    return from_config(PostExpectations, post), problems
