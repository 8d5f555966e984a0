"""`build`: flags, environment (or action inputs) and the config file merged into Settings.

Precedence: flag > environment (or action input) > config file > default. Every problem is
collected and reported at once, each naming where the bad value came from.
"""

from __future__ import annotations

import re
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
from smoke.model import Phase, Severity
from smoke.settings.clients import select_clients
from smoke.settings.fields import NUMBER_DEFAULTS, NUMBERS, Given, Settings
from smoke.settings.post import from_config, post_expectations


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

    # The config file's numbers (NUMBERS: each absent one is its declared default), then the flags.
    numbers = {
        name: kind(_number(_section(config, section).get(key), NUMBER_DEFAULTS[name]))
        for name, section, key, kind in NUMBERS
    }
    for name, field_name in (("timeout", "request_timeout"), ("deadline", "deadline")):
        if (g := given.get(name)) is not None:
            try:
                seconds = parse_duration(g.value)
                if seconds <= 0:
                    raise ValueError(f"{g.value!r} must be more than zero")
            except ValueError as exc:
                problems.append(f"{g.origin}: {exc}")
                continue
            numbers[field_name] = seconds
    numbers["chat_timeout"] = max(numbers["chat_timeout"], numbers["request_timeout"])

    wait_for_ready = None
    if (g := given.get("wait_for_ready")) is not None:
        try:
            wait_for_ready = parse_duration(g.value)
        except ValueError as exc:
            problems.append(f"{g.origin}: {exc}")

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

    post, found = post_expectations(_section(config, "post"), given)
    problems += found

    clients, client_models, found = select_clients(pick("clients"), config.get("clients"), config_path)
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
        **numbers,
        retry=from_config(RetryPolicy, _section(config, "retries")),
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
