"""smoke/failures.py: every failure kind with its traits, as one table.

A change here changes what the gate retries, judges dead, calls an error rather than a fail, or
folds into one common-cause note; the table makes such a change a visible, reviewed edit.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from smoke.errors import ProbeError
from smoke.failures import FailureKind as K


class Traits(NamedTuple):
    transient: bool
    no_connection: bool
    nothing_answered: bool
    could_not_run: bool
    shared_cause: bool
    seen_alone: bool
    seen: str


T, F = True, False
# kind            transient  no_conn  nothing  could_not  shared  alone  seen (the readiness poll log)
TABLE = {
    "refused": Traits(T, T, T, F, T, T, "connection refused"),
    "dns": Traits(F, T, T, F, T, T, "the host name does not resolve"),
    "connect": Traits(F, T, T, F, T, T, "no connection"),
    "timeout": Traits(F, F, T, F, T, T, "no answer before the request timeout"),
    "reset": Traits(T, F, T, F, T, T, "the connection closed without an answer"),
    "tls": Traits(F, F, F, T, T, T, "the TLS certificate was not accepted"),
    "url": Traits(F, F, F, T, F, F, "an unusable answer (url)"),
    "protocol": Traits(F, F, F, F, T, F, "an unusable answer (protocol)"),
    "redirect": Traits(F, F, F, F, T, F, "an unusable answer (redirect)"),
    "http": Traits(F, F, F, F, F, F, "an unusable answer (http)"),
    "html": Traits(F, F, F, F, T, F, "an HTML page"),
    "empty": Traits(F, F, F, F, T, F, "an empty body"),
    "json": Traits(F, F, F, F, F, F, "invalid JSON"),
    "schema": Traits(F, F, F, F, F, F, "JSON of an unexpected shape"),
    "too-large": Traits(F, F, F, F, T, T, "an answer larger than the size cap"),
}


def test_the_table_names_every_kind_and_only_those() -> None:
    assert [k.value for k in K] == list(TABLE)


@pytest.mark.parametrize("value", list(TABLE))
def test_each_kind_carries_its_traits(value: str) -> None:
    kind = K(value)
    assert (
        Traits(
            kind.transient,
            kind.no_connection,
            kind.nothing_answered,
            kind.could_not_run,
            kind.shared_cause,
            kind.seen_alone,
            kind.seen,
        )
        == TABLE[value]
    )


def test_a_kind_is_its_public_string() -> None:
    # Evidence (`probe_error`), the JSON report and code outside smoke/ compare plain strings.
    assert K.TOO_LARGE == "too-large" and f"{K.TIMEOUT}" == "timeout" and str(K.HTML) == "html"


def test_nothing_listening_means_nothing_answered() -> None:
    assert all(k.nothing_answered for k in K if k.no_connection)


@pytest.mark.parametrize(("value", "expected"), [("reset", K.RESET), ("ready", None), (None, None), ({}, None)])
def test_parse_names_a_kind_or_none(value: object, expected: K | None) -> None:
    assert K.parse(value) is expected


def test_a_probe_error_takes_a_kind_or_its_string_and_refuses_any_other() -> None:
    assert ProbeError("refused", "x").kind is K.REFUSED
    assert ProbeError(K.DNS, "x").kind is K.DNS
    with pytest.raises(ValueError, match="refuse"):
        ProbeError("refuse", "a typo is a bug in the gate, not a new kind")
