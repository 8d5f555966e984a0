"""What each published 9router version does differently, for tests that must pass on all of them.

One row per version the suite knows (reference section 14). Tests read :data:`RUNNING` (the
version the harness starts: ``NINEROUTER_VERSION``, default 0.5.69) instead of pinning one, and
judge a locked route with :func:`locked_answer` instead of expecting 0.5.69's 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.harness.router import VERSION

NEWEST = "0.5.69"


@dataclass(frozen=True)
class Traits:
    """One version's behaviours that change what a gate or a test sees."""

    version: str
    lists_custom_node_models: bool  # /v1/models lists a custom node's upstream models
    auth_status_authenticated: bool  # GET /api/auth/status has `authenticated`
    chat_refuses_wrong_key: bool  # requireApiKey defaults to true: a wrong key gets 401 from chat
    always_503_when_locked: bool  # every route locked by upstream failures: 503, else the upstream's status
    observability_default: bool  # request-details filled without ENABLE_REQUEST_LOGS
    refuses_remote_default_password: bool  # a non-local login with 123456 gets 403 mustChangePassword
    headroom_setting: bool  # /api/settings has headroomTimeoutMs

    @property
    def model_count(self) -> int:
        """Models the provisioned stack's key lists: fake-small, fake-large and the combo.

        A version that skips custom nodes lists only the alias target and the combo.
        """
        return 3 if self.lists_custom_node_models else 2


TRAITS = {
    "0.5.18": Traits("0.5.18", False, False, False, False, True, False, False),
    "0.5.55": Traits("0.5.55", True, True, True, False, False, True, False),
    "0.5.59": Traits("0.5.59", True, True, True, False, False, True, True),
    "0.5.69": Traits("0.5.69", True, True, True, True, False, True, True),
}
OLDER = tuple(v for v in TRAITS if v != NEWEST)


def traits(version: str) -> Traits:
    """The row for `version`; an unknown version is refused so a new one gets a row, not a guess."""
    if version not in TRAITS:
        raise KeyError(f"9router {version} has no row in tests/harness/versions.py: add its traits first")
    return TRAITS[version]


RUNNING = traits(VERSION)


def locked_answer(response: Any) -> bool:
    """Whether a chat answer says every route is locked: not 200, and a lock or a Retry-After.

    0.5.69 answers 503; 0.5.59 and older pass the upstream's 500/429/502 through (with
    Retry-After set). Works for a ``requests.Response``.
    """
    if response.status_code == 200:
        return False
    text = response.text.lower()
    return bool(response.headers.get("Retry-After")) or "unavailable" in text or "locked" in text


def locked_status(upstream_status: int) -> int:
    """The status the running version's chat answers once upstream failures (`upstream_status`)
    have locked every route: 503 on 0.5.69, the upstream's own status before."""
    return 503 if RUNNING.always_503_when_locked else upstream_status
