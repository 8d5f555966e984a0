"""Connection matching and health: the rules provider-inventory and account-state share."""

from datetime import UTC, datetime, timedelta

import pytest

from smoke import inventory
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


@pytest.mark.parametrize(
    ("provider", "custom"),
    [
        ("openai-compatible-chat-17788602-5ce4-4c74-8570-4b6cf8f86711", True),
        ("anthropic-compatible-3f5f8a48", True),
        ("openai", False),
        ("gemini-cli", False),
        ("gpt-4o-mini", False),
    ],
)
def test_a_custom_node_is_told_by_its_hex_tail(provider: str, custom: bool) -> None:
    assert inventory.is_custom_node(provider) is custom


@pytest.mark.parametrize(
    ("version", "lists"),
    [("0.5.18", False), ("v0.5.54", False), ("0.5.55", True), ("0.5.69", True), ("0.6.0", True), (None, True)],
)
def test_custom_node_models_are_listed_from_0_5_55_and_unknown_versions_are_assumed_new(
    version: str | None, lists: bool
) -> None:
    assert inventory.lists_custom_node_models(version) is lists


def test_without_the_inventory_only_names_that_are_their_own_prefix_can_be_looked_for() -> None:
    assert inventory.listed_prefixes("fake") == {"fake"}
    assert inventory.listed_prefixes("claude") == {"claude", "cc"}
    assert inventory.listed_prefixes("CC") == {"cc", "claude"}
    assert inventory.listed_prefixes("openai-compatible-chat-3f5f8a48-a77e-47d4-994c-bd3da3c27d35") is None
    assert inventory.listed_prefixes("Fake Upstream") is None  # a node name: its prefix is the server's choice
