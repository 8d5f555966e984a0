"""Connection matching and health: the rules provider-inventory and account-state share."""

from datetime import UTC, datetime, timedelta

from smoke.inventory import active_locks, health, matches, model_prefix

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SOON = (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
PAST = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
NODE = {
    "id": "c1",
    "name": "fake-conn-1",
    "provider": "openai-compatible-chat-d50b",
    "isActive": True,
    "providerSpecificData": {"prefix": "fake", "nodeName": "Fake Upstream"},
}
CLAUDE = {"id": "c2", "name": "work", "provider": "claude", "isActive": True}


def test_a_critical_provider_matches_by_id_alias_node_prefix_or_node_name():
    assert matches(CLAUDE, "claude") and matches(CLAUDE, "cc") and matches(CLAUDE, "CC")
    assert not matches(CLAUDE, "cx")
    assert matches(NODE, "fake") and matches(NODE, "Fake Upstream") and matches(NODE, "openai-compatible-chat-d50b")
    assert model_prefix(NODE) == "fake" and model_prefix(CLAUDE) == "cc"


def test_only_locks_in_the_future_count():
    conn = {**NODE, "modelLock_fake-small": SOON, "modelLock_fake-large": PAST, "modelLock___all": None}
    assert set(active_locks(conn, NOW)) == {"fake-small"}


def test_health_rules():
    assert health(NODE, NOW).healthy
    assert health({**NODE, "isActive": False}, NOW).reason == "disabled (isActive=false)"
    assert not health({**NODE, "testStatus": "error", "errorCode": 502}, NOW).healthy
    assert not health({**NODE, "testStatus": "expired"}, NOW).healthy
    # unavailable only counts while a lock is active, as in 9router's own dashboard
    assert health({**NODE, "testStatus": "unavailable"}, NOW).healthy
    assert not health({**NODE, "testStatus": "unavailable", "modelLock___all": SOON}, NOW).healthy
    # a lock on another model leaves the connection serving; a lock on the probe model does not
    locked_small = {**NODE, "modelLock_fake-small": SOON}
    assert health(locked_small, NOW, "fake-large").healthy
    assert not health(locked_small, NOW, "fake-small").healthy
    # rateLimitedUntil is ignored by 0.5.x routing, so it is ignored here too
    assert health({**NODE, "rateLimitedUntil": SOON}, NOW).healthy
