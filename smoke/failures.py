"""Every way a probe can fail, each kind declared once with its traits.

A `ProbeError` (smoke/errors.py) carries one `FailureKind`. Whoever groups kinds reads a trait
instead of keeping its own set: the client's retries (`transient`), the dead-target judgement
(`no_connection`), the runner's fail-or-error mapping (`could_not_run`) and common-cause note
(`shared_cause`), the readiness wait's hint (`nothing_answered`) and poll log (`seen`).

A StrEnum: `kind == "timeout"` holds, and the value is what reports and JSON evidence show
(`probe_error`), so the public strings are the members' values and never change.
"""

from __future__ import annotations

from enum import StrEnum

# Trait flags of a member's row, so the table below reads as a table.
TRANSIENT = "transient"
NO_CONNECTION = "no_connection"
NOTHING_ANSWERED = "nothing_answered"
COULD_NOT_RUN = "could_not_run"
SHARED_CAUSE = "shared_cause"
SEEN_ALONE = "seen_alone"


class FailureKind(StrEnum):
    """A short, machine-readable class of probe failure, with what the gate does about it.

    Traits:
      transient         worth another try: the request produced no answer (a GET is retried; a POST
                        is resent only when no answer byte came back)
      no_connection     nothing listens at the origin: every later request would meet the same failure
      nothing_answered  no answer came from the target (readiness: was the preview deployed at all?)
      could_not_run     the check could not run as configured (TLS trust, a bad URL or header):
                        the check is an `error`, not a `fail`
      shared_cause      transport-level: several checks failing the same way are one problem, said once
      seen              a few words for what a poll saw (the readiness log); the error has the sentence
      seen_alone        `seen` stands alone; otherwise it describes the answer: `HTTP 502 with <seen>`
    """

    transient: bool
    no_connection: bool
    nothing_answered: bool
    could_not_run: bool
    shared_cause: bool
    seen: str
    seen_alone: bool

    # value          seen (poll log)                              traits
    REFUSED = "refused", "connection refused", TRANSIENT, NO_CONNECTION, NOTHING_ANSWERED, SHARED_CAUSE, SEEN_ALONE
    DNS = "dns", "the host name does not resolve", NO_CONNECTION, NOTHING_ANSWERED, SHARED_CAUSE, SEEN_ALONE
    CONNECT = "connect", "no connection", NO_CONNECTION, NOTHING_ANSWERED, SHARED_CAUSE, SEEN_ALONE
    TIMEOUT = "timeout", "no answer before the request timeout", NOTHING_ANSWERED, SHARED_CAUSE, SEEN_ALONE
    RESET = "reset", "the connection closed without an answer", TRANSIENT, NOTHING_ANSWERED, SHARED_CAUSE, SEEN_ALONE
    TLS = "tls", "the TLS certificate was not accepted", COULD_NOT_RUN, SHARED_CAUSE, SEEN_ALONE
    URL = "url", "", COULD_NOT_RUN
    PROTOCOL = "protocol", "", SHARED_CAUSE
    REDIRECT = "redirect", "", SHARED_CAUSE
    HTTP = "http", ""
    HTML = "html", "an HTML page", SHARED_CAUSE
    EMPTY = "empty", "an empty body", SHARED_CAUSE
    JSON = "json", "invalid JSON"
    SCHEMA = "schema", "JSON of an unexpected shape"
    TOO_LARGE = "too-large", "an answer larger than the size cap", SHARED_CAUSE, SEEN_ALONE

    def __new__(cls, value: str, seen: str, *traits: str) -> FailureKind:
        member = str.__new__(cls, value)
        member._value_ = value
        for trait in (TRANSIENT, NO_CONNECTION, NOTHING_ANSWERED, COULD_NOT_RUN, SHARED_CAUSE, SEEN_ALONE):
            setattr(member, trait, trait in traits)
        member.seen = seen or f"an unusable answer ({value})"
        return member

    @classmethod
    def parse(cls, value: object) -> FailureKind | None:
        """The kind a string names (as kept in evidence or an observation); None for anything else."""
        try:
            return cls(value)
        except (ValueError, TypeError):
            return None
