"""Settings: flags, environment and config file merged into one frozen, validated object.

Precedence: flag > environment (or action input) > config file > default. Every problem is
collected and reported at once, each naming where the bad value came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from smoke import schemas
from smoke.errors import UsageError
from smoke.http import RetryPolicy
from smoke.model import Phase, Severity


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
    request_timeout: float = 10.0
    deadline: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_inactive_share: float = 0.5
    usage_wait: float = 10.0
    chat_max_tokens: int = 32
    latency_factor: float = 3.0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    ca_bundle: str | None = None
    insecure: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    wait_for_ready: float | None = None
    expect_version: str | None = None
    baseline: Path | None = None
    post: dict[str, Any] = field(default_factory=dict)
    config_path: Path | None = None

    def secrets(self) -> list[str]:
        """Values that must never appear in any output."""
        values = [self.api_key, self.password, *self.headers.values()]
        return [v for v in values if v]

    def severity_of(self, check_id: str, default: Severity) -> Severity:
        value = self.overrides.get(check_id, {}).get("severity")
        return Severity(value) if value else default

    def scope_of(self, check_id: str, default: str) -> str:
        return self.overrides.get(check_id, {}).get("scope") or default

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


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `1.5m`, `10m`, `1h`, `500ms` -> seconds. Raises ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 10m, 1h)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_list(text: str) -> list[str]:
    """Comma or newline separated list, blanks dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def load_config_file(path: Path, origin: str) -> tuple[dict[str, Any], list[str]]:
    """Read and validate a YAML/JSON config file. Returns (data, located problems)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, [f"{origin}: config file {path} does not exist"]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{origin}: config file {path} cannot be read ({exc.__class__.__name__})"]
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        return {}, [f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}{line}"]
    if data is None:
        data = {}
    found = [f"{path}: {p}" for p in schemas.problems("config", data)]
    return (data if isinstance(data, dict) else {}), found


def build(given: dict[str, Given], *, known_checks: dict[str, Severity], known_scopes: set[str]) -> Settings:
    """Merge, validate and freeze. Raises UsageError listing every problem."""
    problems: list[str] = []
    config: dict[str, Any] = {}
    config_path: Path | None = None
    if "config" in given:
        config_path = Path(given["config"].value)
        config, found = load_config_file(config_path, given["config"].origin)
        problems += found

    def pick(name: str, config_key: str | None = None) -> Given | None:
        if name in given:
            return given[name]
        key = config_key or name
        if key in config:
            return Given(config[key], f"{config_path}: {key}")
        return None

    phase = Phase(given["phase"].value) if "phase" in given else Phase.PRE

    base_url = ""
    if (g := given.get("base_url")) is None:
        problems.append("the target is missing: pass --base-url URL (or set BASE_URL)")
    else:
        base_url, problem = _check_base_url(str(g.value))
        if problem:
            problems.append(f"{g.origin}: {problem}")

    model = pick("model")
    model_value = str(model.value) if model else None
    if model_value is not None and not re.fullmatch(r"[^\s/]+(/[^\s]+)?", model_value):
        problems.append(f"{model.origin}: {model_value!r} is not a model id (example: cc/claude-sonnet-4-5)")

    critical: list[str] = []
    if (g := pick("critical_providers")) is not None:
        critical = g.value if isinstance(g.value, list) else parse_list(str(g.value))

    scope_label, scopes = "all", set(known_scopes)
    if (g := pick("p1_scope")) is not None:
        scope_label, scopes, problem = _parse_scope(g.value, known_scopes)
        if problem:
            problems.append(f"{g.origin}: {problem}")

    timeouts = config.get("timeouts", {})
    request_timeout = float(timeouts.get("request_seconds", 10.0))
    deadline = float(timeouts.get("deadline_seconds", 300.0))
    for name, setter in (("timeout", "request"), ("deadline", "deadline")):
        if (g := given.get(name)) is not None:
            try:
                seconds = parse_duration(g.value)
                if seconds <= 0:
                    raise ValueError(f"{g.value!r} must be more than zero")
            except ValueError as exc:
                problems.append(f"{g.origin}: {exc}")
                continue
            if setter == "request":
                request_timeout = seconds
            else:
                deadline = seconds

    wait_for_ready = None
    if (g := given.get("wait_for_ready")) is not None:
        try:
            wait_for_ready = parse_duration(g.value)
        except ValueError as exc:
            problems.append(f"{g.origin}: {exc}")

    retries = config.get("retries", {})
    thresholds = config.get("thresholds", {})
    overrides: dict[str, dict[str, Any]] = dict(config.get("checks", {}))
    skip = set(config.get("skip", []))
    if (g := given.get("skip")) is not None:
        skip |= set(parse_list(str(g.value)))
    for check_id in sorted(set(overrides) | skip):
        if check_id not in known_checks:
            problems.append(
                f"{config_path or 'skip'}: {check_id!r} is not a check id (known: {', '.join(sorted(known_checks))})"
            )

    headers: dict[str, str] = {}
    if (g := given.get("headers")) is not None:
        entries = g.value if isinstance(g.value, (list, tuple)) else str(g.value).splitlines()
        for entry in entries:
            if not str(entry).strip():
                continue
            name, sep, value = str(entry).partition("=")
            if not sep:
                name, sep, value = str(entry).partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name.strip()):
                # Never echo the value: it is usually a secret.
                problems.append(f"{g.origin}: a header must be NAME=VALUE (got one named {name.strip()[:40]!r})")
                continue
            headers[name.strip()] = value.strip()

    ca_bundle = None
    if (g := given.get("ca_bundle")) is not None:
        ca_bundle = str(g.value)
        if not Path(ca_bundle).is_file():
            problems.append(f"{g.origin}: CA bundle {ca_bundle} does not exist")

    baseline = None
    if (g := given.get("baseline")) is not None:
        baseline = Path(str(g.value))
        if not baseline.is_file():
            problems.append(f"{g.origin}: baseline report {baseline} does not exist")

    api_key = _text(given.get("api_key"))
    skipped = skip | {k for k, v in overrides.items() if v.get("skip")}
    if api_key is None and not {"api-key-models", "chat-completion"} <= skipped:
        problems.append(
            "the API key is missing: pass --api-key KEY (or set API_KEY); "
            "the key and chat probes need a key from the dashboard's API Keys page"
        )
    if model_value is None and "chat-completion" not in skipped:
        problems.append(
            "the model is missing: pass --model PROVIDER/MODEL (or set MODEL), "
            "a model known to be healthy, e.g. cc/claude-sonnet-4-5-20250929"
        )

    def path_of(name: str) -> Path | None:
        g = given.get(name)
        return Path(str(g.value)) if g is not None else None

    if problems:
        raise UsageError(problems)

    return Settings(
        phase=phase,
        base_url=base_url,
        api_key=api_key,
        model=model_value,
        password=_text(given.get("password")),
        critical_providers=tuple(critical),
        p1_scope=frozenset(scopes),
        p1_scope_label=scope_label,
        junit=path_of("junit"),
        summary=path_of("summary"),
        report=path_of("report"),
        request_timeout=request_timeout,
        deadline=deadline,
        retry=RetryPolicy(
            attempts=int(retries.get("attempts", 3)),
            backoff_seconds=float(retries.get("backoff_seconds", 0.25)),
        ),
        max_inactive_share=float(thresholds.get("max_inactive_share", 0.5)),
        usage_wait=float(thresholds.get("usage_wait_seconds", 10.0)),
        chat_max_tokens=int(thresholds.get("chat_max_tokens", 32)),
        latency_factor=float(thresholds.get("latency_factor", 3.0)),
        overrides=overrides,
        skip=frozenset(skip),
        ca_bundle=ca_bundle,
        insecure=bool(given["insecure"].value) if "insecure" in given else False,
        headers=headers,
        wait_for_ready=wait_for_ready,
        expect_version=_text(given.get("expect_version")),
        baseline=baseline,
        post=dict(config.get("post", {})),
        config_path=config_path,
    )


def _text(g: Given | None) -> str | None:
    if g is None:
        return None
    value = str(g.value).strip()
    return value or None


def _check_base_url(raw: str) -> tuple[str, str | None]:
    """Normalise the base URL (no trailing slash); say what is wrong with it, if anything."""
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return "", f"{raw!r} is not an http(s) URL (example: https://router.example.com)"
    if not parts.hostname:
        return "", f"{raw!r} has no host name (example: https://router.example.com)"
    if parts.username or parts.password:
        return "", "the URL must not carry a user or password; use --password for the dashboard"
    if parts.query or parts.fragment:
        return (
            "",
            f"the URL must not carry a query or fragment ({parts.scheme}://{parts.netloc}{parts.path})",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "", f"{raw!r} has an invalid port"
    return text.rstrip("/"), None


def _parse_scope(value: Any, known: set[str]) -> tuple[str, set[str], str | None]:
    items = value if isinstance(value, list) else parse_list(str(value))
    lowered = [str(i).strip().lower() for i in items]
    if lowered == ["all"]:
        return "all", set(known), None
    if lowered == ["none"] or not lowered:
        return "none", set(), None
    unknown = [i for i in lowered if i not in known]
    if unknown:
        return (
            "",
            set(),
            (
                f"unknown P1 scope {', '.join(map(repr, unknown))} "
                f"(use all, none, or a list of: {', '.join(sorted(known))})"
            ),
        )
    return ",".join(lowered), set(lowered), None
