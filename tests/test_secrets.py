"""smoke/secrets.py: every form a secret can take in our outputs is masked, and keys a 9router
answer carries become secrets before anything can print them."""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from smoke.context import RunContext
from smoke.http import Client
from smoke.model import CheckOutcome, Phase, Result, RunReport, Severity
from smoke.reports import render_all, write_all
from smoke.secrets import MASK, Redactor, redactor
from smoke.settings import Settings

SECRET = 'hunter2-Pa$$|<word>&"quoted"'


@pytest.fixture
def fresh() -> Redactor:
    """A redactor of its own (the process-wide one keeps the run's secrets)."""
    r = Redactor()
    r.add(SECRET)
    return r


def _b64_embedded(prefix: bytes, secret: str, *, urlsafe: bool = False) -> str:
    raw = prefix + secret.encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        json.dumps(SECRET)[1:-1],
        html.escape(SECRET),
        html.escape(SECRET, quote=False),
        SECRET.replace("|", "\\|"),
        _b64_embedded(b"", SECRET),
        _b64_embedded(b"u:", SECRET),  # Basic auth, secret at offset 2
        _b64_embedded(b"ci:", SECRET, urlsafe=True),  # offset 3, URL-safe alphabet
    ],
    ids=["raw", "url-encoded", "form-encoded", "json", "xml", "xml text", "markdown cell", "base64", "basic auth",
         "base64url"],
)  # fmt: skip
def test_every_encoding_of_a_known_secret_is_masked(fresh: Redactor, form: str) -> None:
    text = f"before {form} after"
    masked = fresh.redact(text)
    assert masked.startswith("before ") and masked.endswith(" after")
    assert MASK in masked
    # Nothing long enough to identify the secret survives.
    assert SECRET[:8] not in masked and form not in masked


def test_a_secret_too_short_to_mask_safely_is_not_registered() -> None:
    r = Redactor()
    r.add("abc")
    assert r.known() == []
    assert r.redact("abc abc") == "abc abc"


def test_key_and_jwt_shapes_are_masked_without_being_registered() -> None:
    r = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJhdXRoZW50aWNhdGVkIjp0cnVlfQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    text = f"key sk-46ca45c89e338549-hbfj50-80cf9cef cookie auth_token={jwt}"
    assert r.redact(text) == f"key {MASK} cookie auth_token={MASK}"


def test_structured_data_is_redacted_in_keys_and_values(fresh: Redactor) -> None:
    data = {"byApiKey": {f"{SECRET}|m|p": {"keyName": "ci"}}, "list": [SECRET, 3, None]}
    assert fresh.redact_data(data) == {"byApiKey": {f"{MASK}|m|p": {"keyName": "ci"}}, "list": [MASK, 3, None]}


def test_keys_listed_by_api_keys_are_harvested() -> None:
    r = Redactor()
    r.harvest({"keys": [{"id": "1", "key": "first-custom-key-1", "name": "ci"}, {"id": "2", "key": "second-key-22"}]})
    assert r.known() == ["first-custom-key-1", "second-key-22"]


def test_keys_in_usage_history_by_api_key_are_harvested_but_not_other_maps() -> None:
    r = Redactor()
    r.harvest(
        {
            "byApiKey": {"usage-key-1234|fake-small|prov": {}, "local-no-key|fake-small|prov": {}},
            "byEndpoint": {"/v1/chat/completions|fake-small|prov": {}},
            "settings": {"key": "vision"},  # a "key" field outside the key list is not a credential
        }
    )
    assert r.known() == ["usage-key-1234"]


def test_credential_fields_anywhere_are_harvested() -> None:
    r = Redactor()
    r.harvest(
        {"connections": [{"id": "c1", "apiKey": "upstream-key-1", "providerSpecificData": {"accessToken": "t" * 20}}]}
    )
    assert r.known() == ["t" * 20, "upstream-key-1"]


def test_keys_in_a_truncated_body_are_harvested_from_the_text() -> None:
    r = Redactor()
    r.harvest_text('{"keys":[{"key":"cut-off-key-123","name":"ci"},{"key":"sk-9')
    r.harvest_text('{"totalRequests":1,"byApiKey":{"usage-text-key-1|m|p":{"requests":1},"local-no-key|m|p":{}},'
                   '"byEndpoint":{"/v1/chat/completions|m|p":{}')  # fmt: skip
    assert r.known() == ["cut-off-key-123", "usage-text-key-1"]


def _report(evidence: dict[str, Any], message: str = "ok") -> RunReport:
    outcome = CheckOutcome("usage-pipeline", "Usage", Severity.P1, "usage", Result.failed(message, **evidence), 5)
    return RunReport(Phase.PRE, "http://127.0.0.1:1", "0.5.69", [outcome], "fail", ["usage"], "2026-01-01T00:00:00", 5)


def test_a_raw_usage_body_in_evidence_cannot_leak_its_keys_through_any_report(
    router_stack: Any, tmp_path: Path
) -> None:
    """Even a check that (wrongly) put the whole /api/usage/history body in its evidence leaks nothing:
    the keys were registered the moment the client parsed the answer."""
    settings = Settings(phase=Phase.PRE, base_url=router_stack.base_url, password=router_stack.password)
    client = Client(router_stack.base_url, timeout=10.0)
    ctx = RunContext(settings, client)
    login = client.post("/api/auth/login", {"password": router_stack.password})
    ctx.set_cookie(login.headers["set-cookie"].split("auth_token=", 1)[1].split(";", 1)[0])
    body = ctx.management_get("/api/usage/history", "usage-history")
    raw = client.get("/api/usage/history", cookies={"auth_token": ctx.cookie}).body.decode()
    assert router_stack.api_key in raw  # 9router does put the full key in this answer
    report = _report({"history": body, "raw": raw, "cookie": ctx.cookie}, message=f"saw {raw[:2000]}")
    paths = {name: tmp_path / f"out.{name}" for name in ("report", "junit", "summary")}
    assert write_all(report, paths) == []
    for path in paths.values():
        text = path.read_text()
        assert router_stack.api_key not in text
        assert ctx.cookie not in text
        assert quote(router_stack.api_key, safe="") not in text
    assert router_stack.api_key not in "".join(render_all(report).values())


def test_the_run_registers_every_configured_secret() -> None:
    settings = Settings(
        phase=Phase.PRE,
        base_url="http://127.0.0.1:1",
        api_key="sk-configured-key-1",
        password="dashboard-password-1",
        headers={"X-Bypass": "bypass-token-1"},
    )
    assert sorted(settings.secrets()) == ["bypass-token-1", "dashboard-password-1", "sk-configured-key-1"]
    redactor.add_many(settings.secrets())
    assert redactor.redact("dashboard-password-1 bypass-token-1") == f"{MASK} {MASK}"


def test_a_check_cannot_put_a_raw_body_or_a_key_list_into_its_evidence() -> None:
    """The runner's backstop: whatever a check returns, reports get no raw answer and no key list,
    and a key inside is masked in the check's own message too."""
    from smoke.http import Response
    from smoke.model import Check, Status
    from smoke.runner import Runner

    history = {"totalRequests": 2, "byApiKey": {"odd-shaped-key-42|fake-small|p": {"requests": 2}}}
    raw = Response("GET", "/api/keys", 200, {}, b'{"keys":[{"key":"odd-shaped-key-43"}]}', 5)

    def careless(ctx: RunContext) -> Result:
        return Result.passed(
            "saw odd-shaped-key-42",
            history=history,
            keys={"keys": [{"key": "odd-shaped-key-43", "isActive": True}]},
            body=raw.body,
            response=raw,
            nested={"ok": [1, {"total": 2}]},
        )

    check = Check("careless", "A careless check", frozenset({Phase.PRE}), Severity.P1, "usage", careless)
    settings = Settings(phase=Phase.PRE, base_url="http://127.0.0.1:1")
    ctx = RunContext(settings, Client(settings.base_url))
    [outcome] = Runner(ctx, [check], deadline=time.monotonic() + 30).run()
    assert outcome.status is Status.PASS
    assert outcome.result.evidence == {
        "history": "<a 9router answer that holds API keys, not kept>",
        "keys": "<a 9router answer that holds API keys, not kept>",
        "body": "<38 bytes of a raw answer, not kept>",
        "response": "<a raw HTTP answer, not kept>",
        "nested": {"ok": [1, {"total": 2}]},
    }
    assert redactor.redact(outcome.result.message) == f"saw {MASK}"
