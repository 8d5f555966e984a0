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

from smoke import secrets
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


def test_a_secret_too_short_to_mask_inside_text_is_masked_only_as_a_whole_value() -> None:
    r = Redactor()
    r.add("abc")
    assert r.known() == ["abc"]
    assert r.redact_value("abc") == MASK
    assert r.redact_value("abc abc") == "abc abc"
    assert r.redact("abc") == "abc"  # rendered text: never


def test_a_given_secret_under_eight_characters_is_masked_in_values_not_in_rendered_text() -> None:
    r = Redactor()
    r.add("123456")
    assert r.redact_value("login with 123456 refused") == f"login with {MASK} refused"
    assert r.redact('<testcase time="0.123456"/>') == '<testcase time="0.123456"/>'


def test_key_and_jwt_shapes_are_masked_without_being_registered() -> None:
    r = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJhdXRoZW50aWNhdGVkIjp0cnVlfQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    text = f"key sk-46ca45c89e338549-hbfj50-80cf9cef cookie auth_token={jwt}"
    assert r.redact(text) == f"key {MASK} cookie auth_token={MASK}"
    assert r.redact("glued:xxsk-46ca45c89e338549-hb") == f"glued:xx{MASK}"  # glued to other text


def test_data_is_redacted_in_values_and_keys_stay_keys(fresh: Redactor) -> None:
    fresh.add("fail")  # a (silly) given secret that is also one of our words
    data = {"byApiKey": {f"{SECRET}|m|p": {"keyName": "ci"}}, "list": [SECRET, 3, None], "fail": "fail", "x": "failed"}
    assert fresh.redact_data(data) == {
        "byApiKey": {f"{MASK}|m|p": {"keyName": "ci"}},
        "list": [MASK, 3, None],
        "fail": "fail",
        "x": f"{MASK}ed",
    }


def test_two_keys_that_mask_alike_are_kept_apart() -> None:
    r = Redactor()
    data = {"sk-46ca45c89e338549-hbfj50-80cf9cef": 1, "sk-46ca45c89e338549-zzzz50-80cf9cef": 2}
    assert r.redact_data(data) == {MASK: 1, f"{MASK}'": 2}


KEY_1 = "sk-46ca45c89e338549-hbfj50-80cf9cef"
KEY_2 = "sk-46ca45c89e338549-zq81k0-0a1b2c3d"


def test_keys_listed_by_api_keys_are_harvested_when_key_shaped() -> None:
    r = Redactor()
    r.harvest({"keys": [{"id": "1", "key": KEY_1, "name": "ci"}, {"id": "2", "key": "fail"}, {"key": "testcase"}]})
    assert r.known() == [KEY_1]


def test_keys_in_usage_history_by_api_key_are_harvested_but_not_other_maps() -> None:
    r = Redactor()
    r.harvest(
        {
            "byApiKey": {f"{KEY_2}|fake-small|prov": {}, "local-no-key|fake-small|prov": {}, "checks|m|p": {}},
            "byEndpoint": {"/v1/chat/completions|fake-small|prov": {}},
            "settings": {"key": "vision"},  # a "key" field outside the key list is not a credential
        }
    )
    assert r.known() == [KEY_2]


@pytest.mark.parametrize("field", ["token", "secret", "password", "apiKey", "accessToken", "clientSecret"])
def test_credential_named_fields_of_an_answer_register_nothing(field: str) -> None:
    """A public answer decides nothing about what we mask: `{"token": "fail"}` must not hide our verdict."""
    r = Redactor()
    r.harvest({field: "blocking", "nested": [{field: "testcase-and-more"}], "keys": ["checks", {"key": "verdict"}]})
    assert r.known() == []
    assert r.redact("verdict=fail blocking testcase") == "verdict=fail blocking testcase"


def test_harvesting_is_capped_in_number_and_time() -> None:
    r = Redactor()
    keys = [{"key": f"sk-{i:013d}"} for i in range(50_000)] + [{"key": f"k{i:07d}"} for i in range(300_000)]
    started = time.monotonic()
    r.harvest({"keys": keys})
    r.harvest({"keys": [{"key": KEY_1}]})  # the cap is per run: nothing more is registered
    assert len(r.known()) == secrets.MAX_HARVESTED and KEY_1 not in r.known()
    assert r.redact(f"x {KEY_1} sk-0000000049999 y") == f"x {MASK} {MASK} y"  # the shape still masks
    assert time.monotonic() - started < 5


def test_keys_sharing_prefixes_cannot_break_the_pattern() -> None:
    """A hostile /api/keys: every key a prefix of the next (a naive trie would nest 85 groups deep)."""
    r = Redactor()
    r.harvest({"keys": [{"key": "sk-" + "a" * n} for n in range(13, 98)]})
    assert len(r.known()) == 85
    assert r.redact_value("x " + "sk-" + "a" * 50 + " y") == f"x {MASK} y"


def test_keys_in_a_truncated_body_are_harvested_from_the_text() -> None:
    r = Redactor()
    r.harvest_text(f'{{"keys":[{{"key":"{KEY_1}","name":"ci"}},{{"key":"fail"}},{{"key":"sk-9')
    r.harvest_text(f'{{"totalRequests":1,"byApiKey":{{"{KEY_2}|m|p":{{"requests":1}},"local-no-key|m|p":{{}}}},'
                   '"byEndpoint":{"/v1/chat/completions|m|p":{}')  # fmt: skip
    assert r.known() == sorted([KEY_1, KEY_2])


def test_the_session_cookie_is_masked_in_rendered_text_only_when_it_looks_like_a_token() -> None:
    r = Redactor()
    r.add_session("testcase")
    r.add_session("Xy7-session-Value-42")
    assert r.redact("<testcase name=x/> Xy7-session-Value-42") == f"<testcase name=x/> {MASK}"
    assert r.redact_value("testcase") == MASK  # as a value it is still hidden


@pytest.mark.parametrize("limit", [5, 20, 29, 30, 31, 40, 200])
def test_an_excerpt_is_masked_before_it_is_cut(limit: int) -> None:
    r = Redactor()
    r.harvest({"keys": [{"key": KEY_1}]})
    text = f"error near {KEY_1} in the body"
    cut = r.excerpt(text, limit)
    assert not _has_piece(cut, KEY_1, 5)
    assert len(cut) <= limit + len("...")


def test_an_excerpt_masks_an_unregistered_key_cut_at_the_edge() -> None:
    r = Redactor()
    body = '{"keys":[{"key":"sk-46ca45c89e338549-hb'  # the body itself ends inside a key
    assert r.excerpt(body, 300) == '{"keys":[{"key":"' + MASK
    assert r.excerpt(body + "fj50-80cf9cef", 38) == '{"keys":[{"key":"' + MASK + "..."


def test_an_excerpt_masks_the_start_of_a_given_secret_at_the_edge() -> None:
    r = Redactor()
    r.add("correct horse battery staple")
    assert r.excerpt("password was correct horse battery staple", 22) == f"password was {MASK}..."


def _has_piece(text: str, secret: str, size: int) -> bool:
    return any(secret[i : i + size] in text for i in range(len(secret) - size + 1))


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

    history = {"totalRequests": 2, "byApiKey": {"sk-odd-shaped-key-42|fake-small|p": {"requests": 2}}}
    raw = Response("GET", "/api/keys", 200, {}, b'{"keys":[{"key":"sk-odd-shaped-key-43"}]}', 5)

    def careless(ctx: RunContext) -> Result:
        return Result.passed(
            "saw sk-odd-shaped-key-42",
            history=history,
            keys={"keys": [{"key": "sk-odd-shaped-key-43", "isActive": True}]},
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
        "body": "<41 bytes of a raw answer, not kept>",
        "response": "<a raw HTTP answer, not kept>",
        "nested": {"ok": [1, {"total": 2}]},
    }
    assert redactor.redact(outcome.result.message) == f"saw {MASK}"


def test_a_secret_cut_short_elsewhere_leaves_no_twelve_character_piece() -> None:
    """Messages cut at N characters by other modules (schema problems, error excerpts) cut before
    our masking runs: a long prefix of a given secret, and any key or JWT start, is masked too."""
    r = Redactor()
    r.add("correct horse battery staple")
    assert r.redact("x correct horse b...") == f"x {MASK}..."
    assert r.redact("x 'sk-46ca45c89e3...") == f"x '{MASK}..."
    assert r.redact("x eyJhbGciOiJIUzI1...") == f"x {MASK}..."
    assert r.redact("x sk-46ca4***") == "x sk-46ca4***"  # 9router's own masked form stays readable
