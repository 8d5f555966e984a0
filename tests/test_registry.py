"""The check registry: public ids, phases, severities and scopes as the issues fix them; a check is one
module, and every list, table and report reads it from its declaration."""

import contextlib
import io
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from smoke import cli, registry
from smoke.model import Check, Phase, Result, Severity, Watched
from smoke.settings import Settings
from smoke.watch import DEFAULT_TRIGGER, trigger_of, watch_set
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack

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


# ---- one file per check, everything else read from its declaration ---------------------------

ROOT = Path(__file__).resolve().parents[1]
WATCH_TABLE_HEAD = "| Check | Sev | Scope | Passes when |"
CHECKLIST_PART = re.compile(r"pre-deploy [1-7]|post-deploy [1-5]|[A-Za-z ]+ \(--[a-z-]+\)")


def test_each_check_lives_in_the_module_named_after_its_id():
    for check in registry.all_checks():
        assert check.run.__module__ == "smoke.checks." + check.id.replace("-", "_"), check.id


def test_a_module_under_smoke_checks_is_one_check_or_a_helper_that_registers_none():
    by_module = Counter(c.run.__module__ for c in registry.all_checks())
    for path in (ROOT / "smoke" / "checks").glob("*.py"):
        if path.stem != "__init__":
            assert by_module.get(f"smoke.checks.{path.stem}", 0) <= 1, path.name


def test_every_check_names_the_checklist_section_it_implements():
    for check in registry.all_checks():
        parts = check.checklist.split(", ")
        assert all(CHECKLIST_PART.fullmatch(p) for p in parts), (check.id, check.checklist)


def test_the_checks_listing_shows_each_checks_checklist_section(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["checks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "PHASES", "SEV", "SCOPE", "CHECKLIST", "TITLE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    for check in registry.all_checks():
        assert f"  {check.checklist}  " in rows[check.id], check.id
    assert "  pre-deploy 5, post-deploy 1  " in rows["chat-completion"]


def test_the_baseline_comparison_waits_for_every_other_check_of_its_run():
    post = registry.for_phase(Phase.POST)
    baseline = registry.get("baseline-regression")
    assert baseline is not None and baseline.runs_last
    assert set(registry.waits_for(baseline, post)) == {c.id for c in post} - {"baseline-regression"}


def test_runs_last_waits_for_the_others_but_not_for_another_last_one():
    def make(check_id: str, *, runs_last: bool = False, after: tuple[str, ...] = ()) -> Check:
        return Check(check_id, "t", frozenset({Phase.POST}), Severity.P0, "core", _passes, after, runs_last)

    first, second = make("a"), make("b", after=("a",))
    last, also_last = make("z", runs_last=True, after=("b",)), make("y", runs_last=True)
    run = [first, second, last, also_last]
    assert registry.waits_for(second, run) == ("a",)
    assert registry.waits_for(last, run) == ("b", "a")
    assert registry.waits_for(also_last, run) == ("a", "b")


def test_the_watch_set_and_rollback_triggers_are_the_checklists_as_declared_on_the_checks():
    checks = registry.all_checks()
    assert [c.id for c in checks if c.watch is Watched.ALWAYS] == [
        "models-reachable",
        "dashboard-login",
        "api-key-models",
        "chat-completion",
        "account-state",
    ]
    assert [c.id for c in checks if c.watch is Watched.IF_P0] == [
        "client-openai-stream",
        "client-anthropic",
        "client-responses",
        "client-gemini",
    ]
    assert {c.id: trigger_of(c.id) for c in checks if c.watch is Watched.ALWAYS} == {
        "models-reachable": "P0 gate failure: /api/v1/models down",
        "api-key-models": "P0 gate failure: the API key path fails",
        "chat-completion": "P0 gate failure: the chat probe fails",
        "account-state": "no healthy account for a critical provider",
        "dashboard-login": "dashboard login broken",
    }
    assert trigger_of("client-gemini") == DEFAULT_TRIGGER


def test_the_watch_takes_a_client_probe_only_when_selected_and_made_p0():
    settings = Settings(
        phase=Phase.POST,
        base_url="http://127.0.0.1:9",
        clients=("anthropic", "gemini"),
        overrides={"client-anthropic": {"severity": "P0"}},
    )
    chosen, left_out = watch_set(settings, registry.all_checks())
    assert [c.id for c in chosen] == [
        "models-reachable",
        "api-key-models",
        "chat-completion",
        "account-state",
        "client-anthropic",
    ]
    assert left_out == {
        "dashboard-login": "no dashboard password given",
        "client-gemini": "P1: the watch repeats only P0 probes (make it P0 under checks:)",
    }


def places_missing(check: Check) -> list[str]:
    """The generated tables and listings that do not name `check` (each must, for every check)."""
    readme = (ROOT / "README.md").read_text()
    readme_table = readme[readme.index("<!-- checks:start -->") : readme.index("<!-- checks:end -->")]
    watch_doc = (ROOT / "docs" / "watch.md").read_text()
    watch_table = watch_doc[watch_doc.index(WATCH_TABLE_HEAD) :].split("\n\n")[0]
    named = re.compile(rf"(?<![\w-]){re.escape(check.id)}(?![\w-])")
    missing = []
    if Phase.PRE in check.phases and f"| `{check.id}` |" not in readme_table:
        missing.append("README.md check table")
    if Phase.POST in check.phases and f"`{check.id}`" not in readme_table + watch_table:
        missing.append("docs/watch.md post-deploy check table")
    if not named.search((ROOT / "docs" / "requests.md").read_text()):
        missing.append("docs/requests.md")
    for fmt in ("table", "json"):
        listing = io.StringIO()
        with contextlib.redirect_stdout(listing):
            assert cli.main(["checks", "--format", fmt]) == 0
        if not named.search(listing.getvalue()):
            missing.append(f"`9router-smoke checks --format {fmt}`")
    return missing


def test_every_check_is_in_every_generated_table_and_in_docs_requests():
    assert {c.id: places_missing(c) for c in registry.all_checks() if places_missing(c)} == {}


# ---- a newcomer's post-deploy check, added in one place -------------------------------------

THROWAWAY = "throwaway-probe"


@pytest.fixture
def throwaway(monkeypatch: pytest.MonkeyPatch) -> dict[str, float | bool]:
    """A throwaway check declared with @check only (the registry is restored afterwards). It takes
    `delay` seconds, so a comparison that did not wait for it would miss its result."""
    behaviour: dict[str, float | bool] = {"fail": False, "delay": 0.0}
    registry.all_checks()
    monkeypatch.setattr(registry, "CHECKS", dict(registry.CHECKS))

    @registry.check(
        THROWAWAY,
        title="Throwaway: a newcomer's check",
        phases=(Phase.PRE, Phase.POST),
        severity=Severity.P0,
        checklist="post-deploy 1",
        watch=Watched.ALWAYS,
        watch_trigger="the throwaway probe fails",
    )
    def throwaway_probe(ctx: object) -> Result:
        time.sleep(float(behaviour["delay"]))
        if behaviour["fail"]:
            return Result.failed("the throwaway probe broke")
        return Result.passed("the throwaway probe works")

    return behaviour


def test_a_check_added_in_one_place_is_listed_run_reported_compared_and_watched(
    throwaway: dict[str, float | bool], router_stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Listed, and the completeness test names every table its author still has to fill in.
    assert cli.main(["checks"]) == 0
    assert THROWAWAY in capsys.readouterr().out
    added = registry.get(THROWAWAY)
    assert added is not None
    assert places_missing(added) == [
        "README.md check table",
        "docs/watch.md post-deploy check table",
        "docs/requests.md",
    ]

    # Run before the deploy (it passes), then after it (it fails late): every report has it, and
    # the baseline comparison waited for it without anyone adding it to a list.
    (tmp_path / "pre").mkdir()
    (tmp_path / "post").mkdir()
    pre = run_gate(tmp_path / "pre", *stack_args(router_stack))
    assert pre.exit_code == 0, pre.stdout
    assert pre.status(THROWAWAY) == "pass"
    throwaway.update(fail=True, delay=1.5)
    post = run_gate(
        tmp_path / "post",
        "--phase",
        "post",
        *stack_args(router_stack),
        "--baseline",
        str(tmp_path / "pre" / "report.json"),
    )
    assert post.exit_code == 1, post.stdout
    assert post.check(THROWAWAY)["status"] == "fail" and THROWAWAY in post.report["blocking"]
    assert f'name="{THROWAWAY}"' in post.junit
    assert THROWAWAY in post.summary and THROWAWAY in post.stdout
    compared = post.check("baseline-regression")
    assert compared["status"] == "fail"
    assert f"{THROWAWAY}: pass -> fail: the throwaway probe broke" in compared["message"]

    # Declared watch=ALWAYS: every round reruns it, and its sustained failure is the rollback,
    # under the trigger it declared.
    throwaway.update(delay=0.0)
    (tmp_path / "watch").mkdir()
    watched = run_gate(
        tmp_path / "watch",
        *stack_args(router_stack),
        "--duration",
        "5s",
        "--interval",
        "0.5s",
        "--sustain",
        "1s",
        command="watch",
    )
    assert watched.exit_code == 1, watched.stdout
    rollback = watched.report["watch"]["rollback"]
    assert (rollback["check"], rollback["trigger"]) == (THROWAWAY, "the throwaway probe fails")


def _passes(ctx: object) -> Result:
    return Result.passed("ok")
