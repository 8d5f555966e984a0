"""Settings: flags, environment and config file merged into one frozen, validated object.

Precedence: flag > environment (or action input) > config file > default. Every problem is
collected and reported at once, each naming where the bad value came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoke.errors import UsageError
from smoke.http import RetryPolicy
from smoke.inputs import (
    ca_bundle_problem,
    check_base_url,
    line_break_problems,
    load_config_file,
    output_problem,
    parse_duration,
    parse_header,
    parse_list,
    parse_scope,
    sendable,
)
from smoke.model import Check, CheckOutcome, Phase, Result, Severity

# Client dialects `--clients` selects; each is the check `client-<name>` (smoke/checks/client_*.py).
CLIENT_NAMES = ("openai-stream", "anthropic", "responses", "gemini")


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
    # A chat waits on an LLM, and 9router itself retries a failing upstream 3 times 3 s apart:
    # 10 s would cry wolf, so chats get their own, longer timeout.
    chat_timeout: float = 30.0
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


def build(given: dict[str, Given], *, known_checks: dict[str, Severity], known_scopes: set[str]) -> Settings:
    """Merge, validate and freeze. Raises UsageError listing every problem."""
    problems: list[str] = line_break_problems(given)  # before anything can echo such a value
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
        base_url, problem = check_base_url(str(g.value))
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
        scope_label, scopes, problem = parse_scope(g.value, known_scopes)
        if problem:
            problems.append(f"{g.origin}: {problem}")

    timeouts = _section(config, "timeouts")
    request_timeout = _number(timeouts.get("request_seconds"), 10.0)
    deadline = _number(timeouts.get("deadline_seconds"), 300.0)
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

    retries = _section(config, "retries")
    thresholds = _section(config, "thresholds")
    overrides: dict[str, dict[str, Any]] = {k: v for k, v in _section(config, "checks").items() if isinstance(v, dict)}
    config_skip = config.get("skip") if isinstance(config.get("skip"), list) else []
    skip = {str(s) for s in config_skip}
    known = ", ".join(sorted(known_checks))
    for check_id in sorted(set(overrides) | skip):
        if check_id not in known_checks:
            where = f"{config_path}: {'checks' if check_id in overrides else 'skip'}"
            problems.append(f"{where}: {check_id!r} is not a check id (known: {known})")
    if (g := given.get("skip")) is not None:
        flag_skip = set(parse_list(str(g.value)))
        problems += [
            f"{g.origin}: {check_id!r} is not a check id (known: {known})"
            for check_id in sorted(flag_skip - set(known_checks))
        ]
        skip |= flag_skip

    headers: dict[str, str] = {}
    if (g := given.get("headers")) is not None:
        values = g.value if isinstance(g.value, (list, tuple)) else [g.value]
        # One header per line, also inside one --header value: a newline must never reach a header.
        entries = [line for item in values for line in str(item).splitlines()]
        for number, entry in enumerate(entries, 1):
            if not str(entry).strip():
                continue
            name, value, problem = parse_header(str(entry), number)
            if problem:
                problems.append(f"{g.origin}: {problem}")
                continue
            headers[name] = value

    ca_bundle = None
    if (g := given.get("ca_bundle")) is not None:
        ca_bundle = str(g.value)
        if (problem := ca_bundle_problem(Path(ca_bundle))) is not None:
            problems.append(f"{g.origin}: {problem}")
        if (i := given.get("insecure")) is not None and i.value:
            problems.append(
                f"{i.origin} turns TLS verification off, so {g.origin} would be ignored: pass one of them, "
                "not both (--ca-bundle is the safe one)"
            )

    baseline = None
    if (g := given.get("baseline")) is not None:
        baseline = Path(str(g.value))
        if not baseline.is_file():
            problems.append(f"{g.origin}: baseline report {baseline} does not exist")
        else:
            from smoke import baseline as baseline_report  # post-deploy: a bad report is a usage error

            problems += baseline_report.problems(baseline, g.origin)

    api_key = _text(given.get("api_key"))
    if api_key is not None and (not sendable(api_key) or any(c.isspace() for c in api_key)):
        problems.append(
            f"{given['api_key'].origin}: the API key contains spaces, control or non-Latin-1 characters "
            "(not shown); copy it again from the dashboard's API Keys page"
        )
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

    outputs: dict[Path, str] = {}
    for name, example in (("junit", "junit.xml"), ("summary", "summary.md"), ("report", "report.json")):
        if (g := given.get(name)) is None:
            continue
        target = Path(str(g.value))
        if (problem := output_problem(target, example)) is not None:
            problems.append(f"{g.origin}: {problem}")
        elif target.resolve() in outputs:
            problems.append(f"{g.origin}: {target} is also {outputs[target.resolve()]}; give each report its own file")
        outputs[target.resolve()] = g.origin

    post, found = _post_expectations(dict(_section(config, "post")), given)
    problems += found

    clients, client_models, found = _clients(pick("clients"), config.get("clients"), config_path)
    problems += found
    if clients and api_key is None and {"api-key-models", "chat-completion"} <= skipped:  # else reported above
        problems.append("the API key is missing: pass --api-key KEY (or set API_KEY); the --clients probes need one")
    for name in clients:
        if client_models.get(name) is None and model_value is None and "chat-completion" in skipped:
            problems.append(
                f"no model for client {name}: pass --model PROVIDER/MODEL (or set MODEL), or give it one in the "
                f"config file (clients: {{{name}: {{model: ...}}}})"
            )

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
        chat_timeout=max(_number(timeouts.get("chat_seconds"), 30.0), request_timeout),
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
        post=post,
        config_path=config_path,
        clients=clients,
        client_models=client_models,
    )


# Post-deploy flags that override the config file's `post` section (routing-config, alias-combo).
_ROUTING_FLAGS = {"fallback_strategy": "fallbackStrategy", "combo_strategy": "comboStrategy"}
_ROUTING_CHOICES = {
    "fallbackStrategy": ("fill-first", "round-robin"),
    "comboStrategy": ("fallback", "round-robin", "fusion"),
}


def _post_expectations(post: dict[str, Any], given: dict[str, Given]) -> tuple[dict[str, Any], list[str]]:
    """The `post` section with --fallback-strategy, --sticky-limit, --combo-strategy,
    --critical-aliases (ALIAS=PROVIDER/MODEL,...) and --critical-combos (NAME=M1|M2,... or NAME) applied."""
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
    return post, problems


def _clients(
    chosen: Given | None, configured: Any, config_path: Path | None
) -> tuple[tuple[str, ...], dict[str, str], list[str]]:
    """Selected client dialects (flag/env `CLIENTS` or config `clients:`) and per-client models.

    The value is `all`, `none` or a comma list (a list in the config); the config may instead map
    each name to `{model: PROVIDER/MODEL}` (or null for --model). A flag selects; the config's
    models still apply to what it selects."""
    problems: list[str] = []
    models: dict[str, str] = {}
    if isinstance(configured, dict):
        for name, options in configured.items():
            model = options.get("model") if isinstance(options, dict) else None
            if isinstance(model, str) and model.strip():
                models[str(name)] = model.strip()
    if chosen is None:
        return (), models, problems
    value = chosen.value
    if isinstance(value, dict):
        names = [str(n) for n in value]
    elif isinstance(value, list):
        names = [str(n).strip() for n in value if str(n).strip()]
    else:
        names = parse_list(str(value))
    if names in (["all"], ["none"]):
        names = list(CLIENT_NAMES) if names == ["all"] else []
    unknown = [n for n in names if n not in CLIENT_NAMES]
    if unknown:
        problems.append(
            f"{chosen.origin}: {', '.join(repr(n) for n in unknown)} not a client (known: all, none, "
            f"{', '.join(CLIENT_NAMES)})"
        )
    for name, model in models.items():
        if name not in CLIENT_NAMES:
            problems.append(f"{config_path}: clients: {name!r} is not a client (known: {', '.join(CLIENT_NAMES)})")
        elif not re.fullmatch(r"[^\s/]+(/[^\s]+)?", model):
            problems.append(f"{config_path}: clients: {name}: {model!r} is not a model id (example: cc/claude-haiku)")
    return tuple(n for n in CLIENT_NAMES if n in names), models, problems


def _section(config: dict[str, Any], key: str) -> dict[str, Any]:
    """A mapping section of the config file; {} when absent or of the wrong type (already reported)."""
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: Any, default: float) -> float:
    """A config number; the default when absent or not a number (the schema already reported it)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _text(g: Given | None) -> str | None:
    if g is None:
        return None
    value = str(g.value).strip()
    return value or None
