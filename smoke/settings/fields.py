"""What a run is configured with: `Settings` (frozen, validated by `build`) and `Given` values.

Every config-file number is declared once: its default is the schema's (smoke/config_defaults.py)
and NUMBERS names the Settings field it sets; `build` walks that table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoke.config_defaults import config_default
from smoke.http import RetryPolicy
from smoke.model import Check, CheckOutcome, Phase, Result, Severity
from smoke.settings.post import PostExpectations

# Client dialects `--clients` selects; each is the check `client-<name>` (smoke/checks/client_*.py).
CLIENT_NAMES = ("openai-stream", "anthropic", "responses", "gemini")

# Config-file numbers: (Settings field, config section, key, type). Flags that set the same thing
# (--timeout, --deadline) win over the file; the defaults are the schema's.
NUMBERS: tuple[tuple[str, str, str, type[int] | type[float]], ...] = (
    ("request_timeout", "timeouts", "request_seconds", float),
    ("chat_timeout", "timeouts", "chat_seconds", float),
    ("deadline", "timeouts", "deadline_seconds", float),
    ("max_inactive_share", "thresholds", "max_inactive_share", float),
    ("usage_wait", "thresholds", "usage_wait_seconds", float),
    ("chat_max_tokens", "thresholds", "chat_max_tokens", int),
    ("latency_factor", "thresholds", "latency_factor", float),
)
NUMBER_DEFAULTS: dict[str, Any] = {name: kind(config_default(section, key)) for name, section, key, kind in NUMBERS}


@dataclass(frozen=True)
class Given:
    """A raw value and where it came from (`--base-url`, `BASE_URL`, `input base-url`...)."""

    value: Any
    origin: str


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated before the first request."""

    phase: Phase
    base_url: str
    api_key: str | None = None
    model: str | None = None
    password: str | None = None
    critical_providers: tuple[str, ...] = ()
    p1_scope: frozenset[str] = frozenset()
    p1_scope_label: str = "all"
    junit: Path | None = None
    summary: Path | None = None
    report: Path | None = None
    request_timeout: float = NUMBER_DEFAULTS["request_timeout"]
    # A chat waits on an LLM, and 9router itself retries a failing upstream 3 times 3 s apart:
    # the request timeout would cry wolf, so chats get their own, longer timeout.
    chat_timeout: float = NUMBER_DEFAULTS["chat_timeout"]
    deadline: float = NUMBER_DEFAULTS["deadline"]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_inactive_share: float = NUMBER_DEFAULTS["max_inactive_share"]
    usage_wait: float = NUMBER_DEFAULTS["usage_wait"]
    chat_max_tokens: int = NUMBER_DEFAULTS["chat_max_tokens"]
    latency_factor: float = NUMBER_DEFAULTS["latency_factor"]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    ca_bundle: str | None = None
    insecure: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    wait_for_ready: float | None = None
    expect_version: str | None = None
    baseline: Path | None = None
    post: PostExpectations = field(default_factory=PostExpectations)
    config_path: Path | None = None
    clients: tuple[str, ...] = ()  # selected client dialects (CLIENT_NAMES)
    client_models: dict[str, str] = field(default_factory=dict)  # per-client model from the config file

    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        values = [self.api_key, self.password, *self.headers.values()]
        return [v for v in values if v]

    def severity_of(self, check_id: str, default: Severity) -> Severity:
        value = self.overrides.get(check_id, {}).get("severity")
        return Severity(value) if value else default

    def scope_of(self, check_id: str, default: str) -> str:
        return self.overrides.get(check_id, {}).get("scope") or default

    def outcome(self, check: Check, result: Result, duration_ms: int) -> CheckOutcome:
        """A check's result with the severity and scope in force for this run (config overrides)."""
        return CheckOutcome(
            id=check.id,
            title=check.title,
            severity=self.severity_of(check.id, check.severity),
            scope=self.scope_of(check.id, check.scope),
            result=result,
            duration_ms=duration_ms,
        )

    def selected(self, check_id: str) -> bool:
        """False for a client-dialect check (`client-*`) that --clients did not select: it is left out."""
        return not check_id.startswith("client-") or check_id.removeprefix("client-") in self.clients

    def client_model(self, name: str) -> str | None:
        """The model a client-dialect probe asks for: its own from the config, else --model."""
        return self.client_models.get(name) or self.model

    def is_skipped(self, check_id: str) -> bool:
        return check_id in self.skip or bool(self.overrides.get(check_id, {}).get("skip"))

    @property
    def critical(self) -> tuple[str, ...]:
        """Critical providers: as configured, else the prefix of --model (`cc/x` -> `cc`)."""
        if self.critical_providers:
            return self.critical_providers
        if self.model and "/" in self.model:
            return (self.model.split("/", 1)[0],)
        return ()
