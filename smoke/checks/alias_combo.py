"""Post §5: critical aliases and combos. Each alias points where intended (/api/models/alias),
each combo has its intended members in order (/api/combos), every member is routable, and one
small chat per alias and combo succeeds; the report names the member that answered.

Two 9router rules shape the comparison: an alias target must use the provider id (a custom node's
prefix does not route there, its node id does), while combo members may use node prefixes.

A member is routable when it answered or the key's /v1/models lists it. 9router 0.5.18 lists no
custom node's models (only alias targets), so there an unlisted custom-node member is "not
verified", never "not routable".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smoke import inventory
from smoke.checks.chat_completion import chat_once
from smoke.context import RunContext
from smoke.errors import NeedsDashboardAuth, ProbeError
from smoke.model import Phase, Result, Severity, Status
from smoke.registry import check
from smoke.wording import one_line

NO_EXPECTATIONS = (
    "no critical aliases or combos configured: pass --critical-aliases ALIAS=PROVIDER/MODEL / "
    "--critical-combos NAME=M1|M2, or post.critical_aliases / post.critical_combos in the config file"
)


@dataclass(frozen=True)
class Names:
    """How provider names resolve: node prefixes and built-in aliases -> provider id."""

    node_prefixes: dict[str, str]  # "fake" -> "openai-compatible-chat-<uuid>"

    def provider(self, name: str, *, node_prefixes: bool = True) -> str:
        lowered = name.lower()
        if lowered in inventory.PROVIDER_ALIASES:
            return inventory.PROVIDER_ALIASES[lowered]
        if node_prefixes and lowered in self.node_prefixes:
            return self.node_prefixes[lowered]
        return name

    def target(self, model_id: str, *, node_prefixes: bool = True) -> str:
        """`cc/x` -> `claude/x`; with `node_prefixes`, `fake/x` -> `<node id>/x` too."""
        provider, sep, model = model_id.partition("/")
        return f"{self.provider(provider, node_prefixes=node_prefixes)}/{model}" if sep else model_id


def names_from(connections: list[dict[str, Any]]) -> Names:
    prefixes = {}
    for conn in connections:
        prefix = (conn.get("providerSpecificData") or {}).get("prefix")
        if prefix:
            prefixes[str(prefix).lower()] = str(conn.get("provider", ""))
    return Names(prefixes)


def alias_problems(expected: dict[str, str], actual: dict[str, str], names: Names) -> list[str]:
    """Critical aliases that are missing or point elsewhere (the server's target taken literally)."""
    problems = []
    for alias, wanted in expected.items():
        have = actual.get(alias)
        if have is None:
            problems.append(f"alias {alias} is missing (expected -> {wanted})")
            continue
        if names.target(have, node_prefixes=False) == names.target(wanted):
            continue
        hint = ""
        provider = have.split("/", 1)[0].lower()
        if provider in names.node_prefixes:
            hint = f"; {provider} is a node prefix, which does not route in an alias: use {names.target(have)}"
        problems.append(f"alias {alias} -> {have}, expected {wanted}{hint}")
    return problems


def combo_problems(expected: dict[str, list[str] | None], actual: list[dict[str, Any]], names: Names) -> list[str]:
    """Critical combos that are missing or whose members differ (order matters: it is the fallback order)."""
    found = {str(c.get("name")): [str(m) for m in c.get("models") or []] for c in actual}
    problems = []
    for combo, wanted in expected.items():
        have = found.get(combo)
        if have is None:
            problems.append(f"combo {combo} is missing")
        elif wanted is not None and [names.target(m) for m in have] != [names.target(m) for m in wanted]:
            problems.append(f"combo {combo} has [{', '.join(have)}], expected [{', '.join(wanted)}]")
    return problems


def same_model(answered: str | None, model_id: str) -> bool:
    """Whether an answer's `model` is this provider/model (providers may add a date suffix)."""
    if not answered:
        return False
    wanted = model_id.split("/", 1)[-1]
    return answered == wanted or answered.startswith(wanted + "-") or wanted.startswith(answered + "-")


def answering_member(members: list[str], answered: str | None) -> tuple[int, str] | None:
    """(position, member) of the combo member that answered, by the answer's model name."""
    for index, member in enumerate(members):
        if same_model(answered, member):
            return index, member
    return None


def read_mappings(ctx: RunContext) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """GET /api/models/alias and /api/combos."""
    aliases = ctx.management_get("/api/models/alias", "aliases")["aliases"]
    combos = ctx.management_get("/api/combos", "combos")["combos"]
    return {str(k): str(v) for k, v in aliases.items()}, combos


def mapping_divergence(ctx: RunContext) -> list[str]:
    """Where the server's aliases and combos differ from the configured ones (no chat sent)."""
    expected_aliases = dict(ctx.settings.post.critical_aliases)
    expected_combos = dict(ctx.settings.post.critical_combos)
    if not expected_aliases and not expected_combos:
        return []
    aliases, combos = read_mappings(ctx)
    names = names_from(ctx.providers())
    return alias_problems(expected_aliases, aliases, names) + combo_problems(expected_combos, combos, names)


@check(
    "alias-combo",
    title="Critical aliases and combos: mappings and one chat each",
    phases=(Phase.POST,),
    severity=Severity.P1,
    scope="alias-combo",
    after=("dashboard-login",),
    checklist="post-deploy 5",
)
def alias_combo(ctx: RunContext) -> Result:
    expected_aliases: dict[str, str] = dict(ctx.settings.post.critical_aliases)
    expected_combos: dict[str, list[str] | None] = dict(ctx.settings.post.critical_combos)
    if not expected_aliases and not expected_combos:
        return Result.skipped(NO_EXPECTATIONS)
    aliases, combos = read_mappings(ctx)
    names = names_from(ctx.providers())
    problems = alias_problems(expected_aliases, aliases, names) + combo_problems(expected_combos, combos, names)
    members = {str(c.get("name")): [str(m) for m in c.get("models") or []] for c in combos}
    evidence: dict[str, Any] = {"aliases": {}, "combos": {}}
    answers: list[str] = []
    answered_targets: set[str] = set()  # provider-id targets that just answered a chat: routable

    for alias, wanted in expected_aliases.items():
        info: dict[str, Any] = {"expected": wanted, "actual": aliases.get(alias)}
        evidence["aliases"][alias] = info
        if alias not in aliases:
            continue  # reported above; a chat would only answer "Invalid model format"
        result, chat = chat_once(ctx, alias)
        info.update(status=chat["status"], answered_by=chat.get("answered_by"), latency_ms=chat["latency_ms"])
        if result.status is not Status.PASS:
            problems.append(f"chat via alias {alias} failed: {one_line(result.message, 200)}")
        elif not same_model(chat.get("answered_by"), wanted):
            problems.append(f"alias {alias} was answered by {chat.get('answered_by')}, expected {wanted}")
        else:
            answered_targets.add(names.target(aliases[alias], node_prefixes=False))
            answers.append(f"{alias}: answered by {chat.get('answered_by')}")

    for combo in expected_combos:
        info = {"expected": expected_combos[combo], "actual": members.get(combo)}
        evidence["combos"][combo] = info
        if combo not in members:
            continue
        result, chat = chat_once(ctx, combo)
        answered = chat.get("answered_by")
        info.update(status=chat["status"], answered_by=answered, latency_ms=chat["latency_ms"])
        if result.status is not Status.PASS:
            problems.append(f"chat via combo {combo} failed (no member answered): {one_line(result.message, 200)}")
            continue
        found = answering_member(members[combo], answered)
        if found is None:
            problems.append(f"combo {combo} was answered by {answered}, which is none of its members")
            continue
        position, member = found
        answered_targets.add(names.target(member))
        info.update(member=member, fallback_used=position > 0)
        if position == 0:
            answers.append(f"{combo}: answered by its first member {member}")
        else:
            answers.append(f"{combo}: first member failed, fell back to {member} (member {position + 1})")

    listed = _routable(ctx, names)
    complete = listed is not None and _lists_custom_nodes(ctx.version(), listed, answered_targets)
    unverified: list[str] = []
    for combo in expected_combos:
        for member in members.get(combo, []):
            target = names.target(member)
            if target in answered_targets or (listed is not None and target in listed):
                continue
            if listed is None or (not complete and inventory.is_custom_node(target.split("/", 1)[0])):
                unverified.append(f"{combo} member {member}")
            else:
                problems.append(
                    f"combo {combo} member {member} is not routable (not in the key's model list): "
                    "a fallback to it would fail"
                )
    note = ""
    if unverified:
        why = (
            "the key's model list could not be read"
            if listed is None
            else "this 9router's /v1/models does not list custom nodes' models"
        )
        note = f"; not verified as routable ({why}, and they did not answer): {', '.join(unverified)}"
        evidence["unverified_members"] = unverified

    evidence["problems"] = problems
    if problems:
        tail = f" (worked: {'; '.join(answers)})" if answers else ""
        return Result.failed("; ".join(problems) + tail + note, **evidence)
    return Result.passed(("; ".join(answers) or "mappings as configured") + note, **evidence)


def _routable(ctx: RunContext, names: Names) -> set[str] | None:
    """The key's model list as provider-id targets, or None when it cannot be read."""
    try:
        response = ctx.key_models()
        if response.status != 200:
            return None
        ids = [str(m["id"]) for m in response.json("models")["data"]]
    except (NeedsDashboardAuth, ProbeError):
        return None
    return {names.target(i) for i in ids}


def _lists_custom_nodes(version: str | None, listed: set[str], answered: set[str]) -> bool:
    """Whether an unlisted custom-node member can be called unroutable from the list.

    No when the version predates listing them, or when a custom-node target that just answered is
    missing from the list (the list is then shown to be incomplete, whatever the version says).
    """
    if any(inventory.is_custom_node(t.split("/", 1)[0]) and t not in listed for t in answered):
        return False
    return inventory.lists_custom_node_models(version)
