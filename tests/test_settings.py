"""Settings: merging flags, environment and config file; every problem reported, located."""

import dataclasses
import json
from pathlib import Path

import pytest

from smoke import registry
from smoke.errors import UsageError
from smoke.inputs import parse_duration
from smoke.model import Phase, Severity
from smoke.settings import Given, build

KNOWN = {c.id: c.severity for c in registry.all_checks()}
SCOPES = registry.scopes()
GOOD = {
    "base_url": Given("http://127.0.0.1:20128/", "--base-url"),
    "api_key": Given("sk-test-key-value", "--api-key"),
    "model": Given("fake/fake-small", "--model"),
}


def _build(**extra: Given):
    return build({**GOOD, **extra}, known_checks=KNOWN, known_scopes=SCOPES)


def test_defaults_take_critical_provider_from_the_model_prefix_and_strip_the_trailing_slash():
    settings = _build()
    assert settings.base_url == "http://127.0.0.1:20128"
    assert settings.critical == ("fake",)
    assert settings.p1_scope == SCOPES
    assert settings.phase is Phase.PRE
    assert settings.request_timeout == 10.0


def test_every_problem_is_reported_at_once_with_its_origin():
    given = {
        "base_url": Given("ftp://router", "BASE_URL"),
        "p1_scope": Given("dashboard,billing", "--p1-scope"),
        "timeout": Given("ten", "--timeout"),
    }
    with pytest.raises(UsageError) as caught:
        build(given, known_checks=KNOWN, known_scopes=SCOPES)
    problems = caught.value.problems
    assert any(p.startswith("BASE_URL: 'ftp://router' is not an http(s) URL") for p in problems)
    assert any(p.startswith("--p1-scope: unknown P1 scope 'billing'") for p in problems)
    assert any(p.startswith("--timeout: 'ten' is not a duration") for p in problems)
    assert any("API key is missing" in p for p in problems)
    assert any("model is missing" in p for p in problems)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("router.example.com", "is not an http(s) URL"),
        ("http://", "has no host name"),
        ("https://user:pw@router.example.com", "must not carry a user or password"),
        ("https://router.example.com/?key=1", "must not carry a query"),
        ("http://router.example.com:99999", "invalid port"),
    ],
)
def test_malformed_base_urls_are_refused_with_a_reason(url, fragment):
    with pytest.raises(UsageError) as caught:
        _build(base_url=Given(url, "--base-url"))
    assert any(fragment in p for p in caught.value.problems)


def test_a_base_url_with_a_path_prefix_keeps_the_prefix():
    assert _build(base_url=Given("https://gw.example.com/9router/", "--base-url")).base_url == (
        "https://gw.example.com/9router"
    )


def test_p1_scope_accepts_all_none_and_lists():
    assert _build(p1_scope=Given("none", "--p1-scope")).p1_scope == frozenset()
    assert _build(p1_scope=Given("all", "--p1-scope")).p1_scope == SCOPES
    assert _build(p1_scope=Given("usage, dashboard", "--p1-scope")).p1_scope == {"usage", "dashboard"}


def test_config_file_values_apply_and_flags_win(tmp_path: Path):
    config = tmp_path / "smoke.yml"
    config.write_text(
        "version: 1\n"
        "critical_providers: [openai, cc]\n"
        "p1_scope: [usage]\n"
        "timeouts: {request_seconds: 4}\n"
        "thresholds: {max_inactive_share: 0.2, chat_max_tokens: 8}\n"
        "checks:\n  usage-pipeline: {severity: P0}\n"
        "skip: [cloud-sync]\n"
    )
    settings = _build(config=Given(str(config), "--config"), p1_scope=Given("dashboard", "--p1-scope"))
    assert settings.critical == ("openai", "cc")
    assert settings.p1_scope == {"dashboard"}  # the flag wins over the file
    assert settings.request_timeout == 4
    assert settings.max_inactive_share == 0.2
    assert settings.chat_max_tokens == 8
    assert settings.severity_of("usage-pipeline", Severity.P1) is Severity.P0
    assert settings.is_skipped("cloud-sync")


def test_config_errors_name_the_file_and_the_path_inside_it(tmp_path: Path):
    config = tmp_path / "smoke.json"
    config.write_text(json.dumps({"critical_providers": ["ok", 5], "thresholds": {"max_inactive_share": 2}}))
    with pytest.raises(UsageError) as caught:
        _build(config=Given(str(config), "--config"))
    problems = caught.value.problems
    assert f"{config}: critical_providers[1]: 5 is not of type 'string'" in problems
    assert any(p.startswith(f"{config}: thresholds.max_inactive_share:") for p in problems)


def test_unknown_check_ids_in_config_are_refused(tmp_path: Path):
    config = tmp_path / "smoke.yml"
    config.write_text("skip: [chat-completions]\n")
    with pytest.raises(UsageError) as caught:
        _build(config=Given(str(config), "--config"))
    assert any("'chat-completions' is not a check id" in p for p in caught.value.problems)


def test_invalid_yaml_and_missing_files_are_plain_errors(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("critical_providers: [a\n")
    with pytest.raises(UsageError) as caught:
        _build(config=Given(str(bad), "--config"))
    assert caught.value.problems == [f"{bad}: not valid YAML at line 2"]
    with pytest.raises(UsageError) as caught:
        _build(config=Given(str(tmp_path / "nope.yml"), "--config"))
    assert "does not exist" in caught.value.problems[0]


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{x}: &{x} [{', '.join([f'*{y}'] * 9)}]\n" for y, x in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bomb.yml", BILLION_LAUGHS, "its YAML aliases (*name) expand to more than 10000 values; write the values out"),
        ("cycle.yml", "skip: &s [*s]\n", "its YAML aliases refer to themselves (an endless value)"),
        ("deep.yml", "skip: " + "[" * 100_000 + "]" * 100_000 + "\n", "YAML nested too deeply to be a config file"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply to be a config file"),
        ("nan.yml", "thresholds: {max_inactive_share: .nan}\n", "not usable YAML: a number is NaN or Infinity"),
        ("nan.json", '{"thresholds": {"max_inactive_share": NaN}}', "not usable JSON: a number is too long, NaN"),
        ("huge.yml", "thresholds: {max_failed: " + "9" * 5000 + "}\n", "not usable YAML: a number is too long"),
    ],
)
def test_a_config_file_that_would_balloon_or_is_not_plain_data_is_a_usage_error(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    config = tmp_path / name
    config.write_text(text)
    with pytest.raises(UsageError) as caught:
        _build(config=Given(str(config), "--config"))
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(f"{config}: {problem}")


def test_yaml_anchors_and_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    config = tmp_path / "smoke.yml"
    config.write_text("timeouts: {request_seconds: &t 12, chat_seconds: *t}\n")
    settings = _build(config=Given(str(config), "--config"))
    assert (settings.request_timeout, settings.chat_timeout) == (12, 12)


def test_key_and_model_are_optional_when_their_checks_are_skipped():
    settings = build(
        {"base_url": GOOD["base_url"], "skip": Given("api-key-models,chat-completion", "--skip")},
        known_checks=KNOWN,
        known_scopes=SCOPES,
    )
    assert settings.api_key is None


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("1.5m", 90), ("1h", 3600), ("500ms", 0.5)])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


def test_secrets_lists_key_password_and_header_values():
    settings = _build(password=Given("pw-1234", "--password"), headers=Given(["X-Bypass=tok-5678"], "--header"))
    assert set(settings.secrets()) == {"sk-test-key-value", "pw-1234", "tok-5678"}
    assert settings.headers == {"X-Bypass": "tok-5678"}


def test_chats_get_their_own_longer_timeout_never_below_the_request_timeout(tmp_path: Path):
    assert _build().chat_timeout == 30.0
    config = tmp_path / "smoke.yml"
    config.write_text("timeouts: {request_seconds: 45, chat_seconds: 20}\n")
    assert _build(config=Given(str(config), "--config")).chat_timeout == 45


def test_every_config_default_is_declared_once_in_the_schema_and_is_what_a_run_gets(tmp_path: Path):
    from smoke import schemas
    from smoke.config_defaults import declared_defaults
    from smoke.http import RetryPolicy
    from smoke.settings import NUMBERS
    from smoke.watch.rules import DEFAULT_AUTH_LOOP_ROUNDS

    declared = declared_defaults()
    # Each default is valid where it is declared (a config of only the defaults passes the schema).
    config: dict = {}
    for path, value in declared.items():
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    assert list(schemas.validator("config").iter_errors(config)) == []
    settings = _build()
    for name, section, key, _kind in NUMBERS:
        assert getattr(settings, name) == declared[(section, key)], name
    assert settings.retry == RetryPolicy()
    assert (settings.retry.attempts, settings.retry.backoff_seconds) == (
        declared[("retries", "attempts")],
        declared[("retries", "backoff_seconds")],
    )
    post = settings.post
    assert post.error_budget.window_seconds == declared[("post", "error_budget", "window_seconds")]
    assert post.error_budget.max_failed == declared[("post", "error_budget", "max_failed")]
    assert post.accounts.max_unhealthy_share == declared[("post", "accounts", "max_unhealthy_share")]
    assert post.latency_floor_ms == declared[("post", "latency_floor_ms")]
    assert post.watch.auth_loop_rounds == declared[("post", "watch", "auth_loop_rounds")] == DEFAULT_AUTH_LOOP_ROUNDS
    # The same settings from a file that states every default.
    path = tmp_path / "defaults.json"
    path.write_text(json.dumps(config))
    assert dataclasses.replace(_build(config=Given(str(path), "--config")), config_path=None) == settings


def test_post_expectations_are_typed_values_from_the_file_with_the_flags_applied(tmp_path: Path):
    path = tmp_path / "post.yml"
    path.write_text(
        "post:\n  error_budget: {window_seconds: 120}\n  accounts: {max_unhealthy_share: 0.25}\n"
        "  latency_floor_ms: 50\n  watch: {auth_loop_rounds: 4}\n  routing: {comboStrategy: fusion}\n"
        "  critical_aliases: {fast: cc/claude-haiku}\n"
    )
    post = _build(
        config=Given(str(path), "--config"),
        fallback_strategy=Given("round-robin", "--fallback-strategy"),
        critical_combos=Given("main=cc/x|cx/y,solo", "--critical-combos"),
    ).post
    assert (post.error_budget.window_seconds, post.error_budget.max_failed) == (120.0, 5)
    assert isinstance(post.error_budget.window_seconds, float)
    assert post.accounts.max_unhealthy_share == 0.25
    assert (post.latency_floor_ms, post.watch.auth_loop_rounds) == (50, 4)
    assert post.routing == {"comboStrategy": "fusion", "fallbackStrategy": "round-robin"}
    assert post.critical_aliases == {"fast": "cc/claude-haiku"}
    assert post.critical_combos == {"main": ["cc/x", "cx/y"], "solo": None}
    with pytest.raises(AttributeError):
        post.latency_floor_ms = 1  # type: ignore[misc]
