"""The reads a round makes besides its checks, for the escalation signals: the alias/combo
mappings (routing divergence) and the opt-in provider re-test (a failure that survives one).
"""

from __future__ import annotations

from collections.abc import Sequence

from smoke.context import RunContext
from smoke.errors import NeedsDashboardAuth, ProbeError
from smoke.http import current_check
from smoke.model import Status
from smoke.watch.rules import CheckObservation, Round
from smoke.wording import one_line


def divergence(ctx: RunContext, cookie: str | None) -> list[str]:
    """The configured alias/combo mappings the server routes differently."""
    from smoke.checks.alias_combo import mapping_divergence

    token = current_check.set("alias-mapping")
    try:
        return mapping_divergence(ctx)
    except (NeedsDashboardAuth, ProbeError) as exc:
        return [f"mappings not readable: {one_line(str(exc), 160)}"] if cookie else []
    finally:
        current_check.reset(token)


class ProviderRetest:
    """Opt-in (--provider-retest): once per failure episode, POST /api/providers/{id}/test for the
    critical providers, so that a failure that comes back the same can be told apart."""

    def __init__(self) -> None:
        self.count = 0  # re-tests sent over the whole watch
        self._this_episode = False

    def maybe(self, ctx: RunContext, round_: Round, eligible: Sequence[str], cookie: str | None) -> list[str]:
        """Re-test in the first round of an episode where an `eligible` check fails; one note per
        connection tested."""
        failing = any(round_.observations.get(c, CheckObservation(Status.PASS, "")).failing for c in eligible)
        if not failing:
            self._this_episode = False
            return []
        if self._this_episode:
            return []
        self._this_episode = True
        from smoke import inventory

        token = current_check.set("provider-retest")
        notes = []
        try:
            connections = ctx.providers()
            cookies = {"auth_token": cookie} if cookie else None
            for name in ctx.settings.critical:
                for conn in [c for c in connections if inventory.matches(c, name)]:
                    response = ctx.client.post(f"/api/providers/{conn['id']}/test", {}, cookies=cookies)
                    self.count += 1
                    label = conn.get("name") or conn["id"]
                    if response.status == 200:
                        body = response.json("provider-test")
                        state = "valid" if body.get("valid") else f"invalid: {body.get('error')}"
                        notes.append(f"{label}: {state}")
                    else:
                        notes.append(f"{label}: HTTP {response.status}")
        except (NeedsDashboardAuth, ProbeError) as exc:
            notes.append(f"re-test not possible: {one_line(str(exc), 160)}")
        finally:
            current_check.reset(token)
        return notes
