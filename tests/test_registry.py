"""The check registry: public ids, phases, severities and scopes as the issues fix them."""

import pytest

from smoke import registry
from smoke.model import Phase, Result, Severity

PRE = {
    "models-reachable": ("P0", "core"),
    "dashboard-login": ("P1", "dashboard"),
    "provider-inventory": ("P0", "core"),
    "api-key-models": ("P0", "core"),
    "chat-completion": ("P0", "core"),
    "usage-pipeline": ("P1", "usage"),
    "cloud-sync": ("P1", "cloud-sync"),
}


def test_the_seven_pre_deploy_checks_keep_their_public_ids_severities_and_scopes():
    pre = {c.id: (c.severity.value, c.scope) for c in registry.for_phase(Phase.PRE)}
    assert {k: v for k, v in pre.items() if k in PRE} == PRE


def test_pre_deploy_checks_run_in_checklist_order():
    ids = [c.id for c in registry.for_phase(Phase.PRE) if c.id in PRE]
    assert ids == list(PRE)


def test_a_duplicate_id_fails_at_registration():
    with pytest.raises(ValueError, match="duplicate check id 'chat-completion'"):
        registry.check("chat-completion", title="x", phases=(Phase.PRE,), severity=Severity.P0)(
            lambda ctx: Result.passed("x")
        )


def test_every_declared_dependency_names_a_real_check():
    ids = {c.id for c in registry.all_checks()}
    for check in registry.all_checks():
        assert set(check.after) <= ids, check.id
        assert set(check.prepare_before) <= ids, check.id
