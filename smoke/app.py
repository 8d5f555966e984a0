"""One gate run, start to finish: client, checks, verdict, reports, exit code.

The CLI and the GitHub Action entry point both end up here; there is no second path.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from smoke import readiness, registry, schemas
from smoke.ci import in_github_actions
from smoke.context import RunContext
from smoke.exitcodes import ExitCode, exit_code
from smoke.http import Client, current_check
from smoke.model import RunReport, is_paid
from smoke.secrets import redact, redact_report, redactor
from smoke.settings import Settings

# Report writers: needed only after the verdict, so imported in the background while the checks
# wait for the server (junit_xml and xml.dom alone are ~10 ms) instead of after the last answer.
REPORT_MODULES = ("smoke.verdict", "smoke.reports", "smoke.reports.console")


def preload(modules: tuple[str, ...], delay: float = 0.03) -> threading.Thread:
    """Import `modules` in a background thread after `delay` seconds (the first requests leave
    first). A module that fails to import fails again, in the right place, when it is used."""

    def load() -> None:
        time.sleep(delay)
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="report-warm-up", daemon=True)
    thread.start()
    return thread


def send_first(ctx: RunContext, selected: dict[str, Any]) -> None:
    """Send the slowest requests that need no login before anything else, each in its own thread.

    The chat leaves first: 9router hashes the login password (bcrypt) on its event loop, and a chat
    that arrives after the login waits for that hash before it is forwarded upstream (measured:
    about 190 ms longer with a 500 ms upstream). api-key-models' keyed GET /api/v1/models needs no
    cookie either (only its /api/keys read does). Both are memoised reads: the checks pick up these
    answers, or their errors, and each request is attributed to its check (retries, attempts).
    """
    from smoke.checks.chat_completion import send_probe_chat

    reads: list[tuple[str, Callable[[], Any]]] = []
    if "chat-completion" in selected:
        reads.append(("chat-completion", lambda: send_probe_chat(ctx)))
    if "api-key-models" in selected and ctx.settings.api_key:
        reads.append(("api-key-models", ctx.key_models))
    for check_id, read in reads:
        threading.Thread(target=_read_for, args=(check_id, read), name=f"first-{check_id}", daemon=True).start()


def _read_for(check_id: str, read: Callable[[], Any]) -> None:
    current_check.set(check_id)
    with contextlib.suppress(Exception):  # raised again, in the check, by the memo
        read()


# Response schemas every run reads, the critical path's first (chat, usage history). They are
# built in the background while the login (~150 ms of server time) is in flight.
WARM_SCHEMAS = tuple(
    f"responses/{name}" for name in ("usage-history", "chat", "models", "providers", "keys", "settings", "version")
)


@dataclass
class GateRun:
    """What a run produced: the report, the exit code, and the requests it sent."""

    report: RunReport
    exit_code: ExitCode
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def make_client(settings: Settings, deadline: float) -> Client:
    verify: bool | str = settings.ca_bundle or True
    if settings.insecure:
        verify = False
    return Client(
        base_url=settings.base_url,
        timeout=settings.request_timeout,
        deadline=deadline,
        retry=settings.retry,
        verify=verify,
        extra_headers=dict(settings.headers),
    )


def report_paths(settings: Settings) -> dict[str, Path | None]:
    """Where the report files go (None: not written), for write_all and the GitHub outputs."""
    return {"report": settings.report, "junit": settings.junit, "summary": settings.summary}


def request_rows(client: Client, since: float | None = None) -> list[dict[str, Any]]:
    """The client's requests for the request audit. With `since` (the checks' monotonic start),
    each row also says when it was sent, `start_ms` after it: the run's timeline."""
    rows = []
    for record in client.records:
        row = {k: v for k, v in asdict(record).items() if k != "started"}
        if since is not None:
            row["start_ms"] = int((record.started - since) * 1000)
        rows.append(row)
    return rows


def publish_to_github(
    report: RunReport, exit_code: int, paths: dict[str, Path | None], requests: list[dict[str, Any]], out: TextIO
) -> list[str]:
    """In GitHub Actions: step outputs, job summary, annotations and log groups (smoke/reports/github.py).
    Returns one sentence per thing that failed; nothing outside Actions."""
    if not in_github_actions():
        return []
    from smoke.reports import github

    return github.publish(report, exit_code=exit_code, paths=paths, requests=requests, out=out)


def run_notes(settings: Settings, cause: str | None, waited: readiness.Readiness | None) -> list[str]:
    """The report's notes, in order: the one cause shared by the failures, the wait, an --insecure warning."""
    notes = [cause] if cause is not None else []
    if waited is not None:
        notes.append(waited.note(settings.base_url))
    if settings.insecure:
        notes.append("TLS certificates were not verified (--insecure): fine for a preview, never for production")
    return notes


def run_gate(settings: Settings, out: TextIO | None = None) -> GateRun:
    """Run the checks of `settings.phase`, write the reports, and return the outcome.

    SIGINT/SIGTERM while the checks run end the run at once with partial reports and exit code
    130/143 (smoke/runner.py, Interrupts).
    """
    from smoke.runner import Interrupts

    with Interrupts() as interrupts:
        return _run(settings, out, interrupts)


def _run(settings: Settings, out: TextIO | None, interrupts: Any) -> GateRun:
    out = out or sys.stdout  # looked up per call: tests and wrappers redirect it
    redactor.add_many(settings.secrets())
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    # --wait-for-ready comes before the checks and on top of their deadline: a 5m wait must not
    # eat the time the checks get.
    wait = settings.wait_for_ready or 0.0
    deadline = started + wait + settings.deadline
    client = make_client(settings, deadline)
    ctx = RunContext(settings, client)
    checks = [c for c in registry.for_phase(settings.phase) if settings.selected(c.id)]  # --clients opts in
    from smoke.runner import Runner, common_cause

    waited = None
    if wait > 0:
        waited = readiness.wait_until_ready(client, wait, settings.expect_version)
        if (seen := waited.version) is not None:
            ctx.once("version", lambda: seen)  # report the version the wait saw, without a second read
        deadline = time.monotonic() + settings.deadline
        client.deadline = deadline
    started = time.monotonic()  # duration_ms is the checks' time; the wait is reported on its own
    runner = Runner(ctx, checks, deadline)
    interrupts.watch(runner)
    if waited is not None and not waited.ready:
        # Nothing healthy answered: every check is "not run" rather than N copies of "refused".
        outcomes = readiness.not_run(checks, settings, waited)
        version_seen = None
    else:
        send_first(ctx, runner.selected)
        # The version is informative: read it alongside the checks, never wait past the deadline.
        version_reader = threading.Thread(target=ctx.version, name="version", daemon=True)
        version_reader.start()
        schemas.warm_up(WARM_SCHEMAS)
        preload(REPORT_MODULES + (("smoke.reports.junit",) if settings.junit else ()))
        outcomes = runner.run()
        version_reader.join(runner.time_left())
        version_seen = ctx.version() if not version_reader.is_alive() else None
    from smoke import verdict
    from smoke.reports import console, write_all

    decided = verdict.decide(outcomes, settings.p1_scope)
    report = RunReport(
        phase=settings.phase,
        base_url=settings.base_url,
        version=version_seen,
        outcomes=list(decided.outcomes),
        verdict=decided.verdict,
        p1_scope=sorted(settings.p1_scope),
        started_at=started_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        model=settings.model,
        notes=run_notes(settings, common_cause(outcomes), waited),
        interrupted=(waited.ended_early if waited is not None else None) or runner.interrupted,
        paid_requests=sum(1 for r in client.records if is_paid(r.method, r.path)),
        readiness=waited.as_json() if waited is not None else None,
    )
    report = redact_report(report)  # values masked before any sink renders them
    client.close()
    requests = request_rows(client, since=started)
    paths = report_paths(settings)
    problems = write_all(report, paths, requests)
    out.write(redact(console.render(report)) + "\n")
    for crash in runner.crashes:
        sys.stderr.write(crash)
    code = exit_code(decided.passed, signum=interrupts.signum, crashed=bool(runner.crashes), unwritten=bool(problems))
    problems += publish_to_github(report, code, paths, requests, out)
    return GateRun(report, code, requests, problems)
