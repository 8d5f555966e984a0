"""Post §1: no regression against the pre-deploy run (`--baseline PRE_REPORT.json`).

Runs after every other post check and compares their results in this run with the baseline's:
a check that passed before and fails now, a model gone from the key's list, a chat much slower.
"""

from __future__ import annotations

from dataclasses import dataclass

from smoke import baseline as baseline_report
from smoke import registry
from smoke.context import RunContext
from smoke.model import Phase, Result, Severity, Status
from smoke.registry import check

MAX_LISTED = 20

NO_BASELINE = (
    "no baseline given: nothing to compare with. Save the pre-deploy run with "
    "`9router-smoke run --phase pre --report pre.json` and pass `--baseline pre.json` here"
)


@dataclass(frozen=True)
class Change:
    """One difference between the baseline and now, side by side."""

    what: str  # check id, "models" or "chat latency"
    before: str
    now: str
    regression: bool = True  # False: an improvement or an unchanged failure, reported for context

    def line(self) -> str:
        return f"{self.what}: {self.before} -> {self.now}"


def compare_checks(base: baseline_report.Baseline, results: dict[str, Result]) -> list[Change]:
    """Checks present in both runs whose status changed, plus failures that did not go away."""
    changes = []
    for check_id, before in base.checks.items():
        now = results.get(check_id)
        if now is None or now.status is Status.SKIP or before.status == "skip":
            continue
        was_ok, is_ok = before.status == "pass", now.status is Status.PASS
        if was_ok and not is_ok:
            changes.append(Change(check_id, "pass", f"{now.status.value}: {_short(now.message)}"))
        elif not was_ok and is_ok:
            changes.append(Change(check_id, f"{before.status}: {_short(before.message)}", "pass", regression=False))
        elif not was_ok and not is_ok:
            changes.append(
                Change(check_id, f"{before.status} (already before)", now.status.value, regression=False),
            )
    return changes


def compare_models(before: list[str] | None, now: list[str] | None) -> Change | None:
    """Models the key listed before and does not list now (None when either list is unknown)."""
    if before is None or now is None:
        return None
    gone = [m for m in before if m not in set(now)]
    if not gone:
        return None
    shown = ", ".join(gone[:MAX_LISTED]) + (f" and {len(gone) - MAX_LISTED} more" if len(gone) > MAX_LISTED else "")
    return Change("models", f"{len(before)} listed", f"{len(gone)} gone: {shown}")


def compare_latency(
    before_ms: int | None, now_ms: int | None, factor: float, floor_ms: int, what: str = "chat latency"
) -> Change | None:
    """A chat (or a first token) slower than `factor` x the baseline and by more than `floor_ms` (None otherwise)."""
    if before_ms is None or now_ms is None:
        return None
    limit = max(before_ms * factor, before_ms + floor_ms)
    if now_ms <= limit:
        return None
    return Change(
        what,
        f"{before_ms} ms",
        f"{now_ms} ms (more than {factor:g}x and {floor_ms} ms slower; limit {limit:.0f} ms)",
    )


@check(
    "baseline-regression",
    title="No regression against the pre-deploy report (--baseline)",
    phases=(Phase.POST,),
    severity=Severity.P0,
    runs_last=True,  # reads every other check's result in this run: a new post check is compared too
    checklist="post-deploy 1",
)
def baseline_regression(ctx: RunContext) -> Result:
    path = ctx.settings.baseline
    if path is None:
        return Result.skipped(NO_BASELINE)
    try:
        base = baseline_report.load(path)
    except baseline_report.BaselineError as exc:
        return Result.errored(str(exc))

    changes = compare_checks(base, ctx.results)
    models_now = _models_now(ctx)
    models_before = base.model_ids()
    if (gone := compare_models(models_before, models_now)) is not None:
        changes.append(gone)
    chat = ctx.results.get("chat-completion")
    latency_now = chat.evidence.get("latency_ms") if chat is not None and chat.status is Status.PASS else None
    factor = ctx.settings.latency_factor
    floor_ms = ctx.settings.post.latency_floor_ms
    if (slow := compare_latency(base.chat_latency_ms(), latency_now, factor, floor_ms)) is not None:
        changes.append(slow)

    ttft = _first_token_times(base, ctx.results)
    for check_id, (before_ms, now_ms) in ttft.items():
        late = compare_latency(before_ms, now_ms, factor, floor_ms, f"{check_id} time to first token")
        if late is not None:
            changes.append(late)

    regressions = [c for c in changes if c.regression]
    evidence = {
        "baseline": str(path),
        "baseline_run": base.label,
        "side_by_side": [{"what": c.what, "before": c.before, "now": c.now} for c in changes],
        "models_before": len(models_before) if models_before is not None else None,
        "models_now": len(models_now) if models_now is not None else None,
        "chat_latency_ms": {"before": base.chat_latency_ms(), "now": latency_now, "factor": factor},
    }
    if ttft:
        evidence["ttft_ms"] = {check_id: {"before": b, "now": n} for check_id, (b, n) in ttft.items()}
    if regressions:
        return Result.failed(
            f"{len(regressions)} regression(s) since {base.label}: " + "; ".join(c.line() for c in regressions),
            **evidence,
        )
    compared = [c for c in base.checks if c in ctx.results and ctx.results[c].status is not Status.SKIP]
    parts = [f"{len(compared)} check(s) compared"]
    if models_before is not None and models_now is not None:
        parts.append(f"all {len(models_before)} baseline models still listed")
    if base.chat_latency_ms() is not None and latency_now is not None:
        parts.append(
            f"chat {latency_now} ms (before {base.chat_latency_ms()} ms; slower than x{factor:g} and +{floor_ms} ms "
            "would be a regression)"
        )
    compared_ttft = [f"{i} {n} ms (before {b} ms)" for i, (b, n) in ttft.items() if b is not None and n is not None]
    if compared_ttft:
        parts.append("first token " + ", ".join(compared_ttft))
    context = [c.line() for c in changes]
    tail = f"; unchanged or better: {'; '.join(context)}" if context else ""
    return Result.passed(f"no regression since {base.label}: {', '.join(parts)}{tail}", **evidence)


def _first_token_times(
    base: baseline_report.Baseline, results: dict[str, Result]
) -> dict[str, tuple[int | None, int | None]]:
    """Time to first token (ms) of each client probe that ran now, before and now (None: no passing probe)."""
    times = {}
    for check_id in _client_checks():
        now, before = results.get(check_id), base.checks.get(check_id)
        if now is None or now.status is Status.SKIP:
            continue
        now_ms = now.evidence.get("ttft_ms") if now.status is Status.PASS else None
        before_ms = before.evidence.get("ttft_ms") if before is not None and before.status == "pass" else None
        times[check_id] = (_ms(before_ms), _ms(now_ms))
    return times


def _client_checks() -> list[str]:
    """Client-dialect probes (scope `clients`): their time to first token is compared like the chat's latency."""
    return [c.id for c in registry.all_checks() if c.scope == "clients"]


def _ms(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _models_now(ctx: RunContext) -> list[str] | None:
    """The key's full model list this run (the memoised read of api-key-models), if it passed."""
    result = ctx.results.get("api-key-models")
    if result is None or result.status is not Status.PASS:
        return None
    data = ctx.key_models().json("models")["data"]
    return [str(m["id"]) for m in data]


def _short(text: str, limit: int = 160) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
