"""pytest plugin: after every test, scan everything the test produced for the known secrets.

Registered from tests/conftest.py (``pytest_plugins``). A hit fails the test at teardown, naming
the secret's kind, the form it appeared in and where, never the secret itself.

Known secrets (8 characters or more; shorter ones cannot be told from ordinary text), per test:

- what the test harness created or used during the test: API keys (``RouterAdmin.create_key``/
  ``api_keys``), dashboard passwords (``login``/``set_password``), the ``auth_token`` cookies the
  admin received, and the key and password of every ``Stack`` fixture the test used;
- every secret the gate's redactor learnt during the test and masks in rendered text (configured
  secrets, a token-like session cookie, keys harvested from answers); the redactor is emptied
  before each test, as each gate run is a process of its own;
- anything the test passes to :func:`register`.

Scoping to the test keeps the scan fast (every login mints a new cookie); a secret the test never
touched cannot be in what it produced.

Scanned: every file under the test's ``tmp_path`` (reports, summaries, GitHub output files...;
9router data folders excepted), the captured stdout/stderr/log of each phase, whatever the test read
through ``capsys``/``capfd``, the output of in-process CLI runs (``smoke.cli.main``), of
``subprocess.run``/``communicate`` with captured output, of click's ``CliRunner``, and any text
passed to :func:`record`.

Forms: raw, URL-encoded (``%XX`` and ``+``), JSON-escaped, base64/base64url at any alignment, and
any 12-character piece of a longer secret (a key cut in the middle of a message).
A test whose inputs must hold a secret (a file it writes for the gate to read) marks them:
``@pytest.mark.secret_inputs("inputs.env")`` exempts those file names under ``tmp_path``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

MIN_LENGTH = 8
PIECE = 12  # a piece this long of a longer secret (a key cut in a message) counts as a leak too
MIN_PIECE_VARIETY = 5  # distinct characters a piece needs to identify its secret
MAX_FILE_BYTES = 32 * 1024 * 1024
# Files a 9router DATA_DIR holds: the server's own store of keys, not an artifact of ours.
_DATA_DIR_MARKERS = ("jwt-secret", "machine-id")

_lock = threading.Lock()
_secrets: dict[str, str] = {}  # value -> what it is, for the current test
_texts: list[tuple[str, str]] = []  # (where, text) produced during the current test


def register(value: Any, what: str) -> None:
    """Treat `value` as a secret from now on (`what` names it in failure messages)."""
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        with _lock:
            _secrets.setdefault(value, what)


def record(where: str, text: Any) -> None:
    """Scan `text` (str or bytes) at the end of the current test, as output produced at `where`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(text, str) and text:
        with _lock:
            _texts.append((where, text))


@dataclass(frozen=True)
class Hit:
    what: str
    form: str
    where: str

    def __str__(self) -> str:
        return f"{self.what} appeared {self.form} in {self.where}"


def forms(secret: str) -> dict[str, str]:
    """Every way the secret can be written into an artifact, by name."""
    found = {
        "raw": secret,
        "URL-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "JSON-escaped": json.dumps(secret)[1:-1],
    }
    raw = secret.encode()
    for offset in range(3):
        # Embedded at any byte offset ("Basic user:secret"), base64 keeps a stable middle.
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        core = encoded[(offset * 4 + 2) // 3 : len(encoded) - 2]
        if len(core) >= MIN_LENGTH:
            found[f"base64 (offset {offset})"] = core
            found[f"base64url (offset {offset})"] = core.replace("+", "-").replace("/", "_")
    # Forms identical to the raw one add nothing.
    return {name: form for name, form in found.items() if name == "raw" or form != secret}


def scan(texts: list[tuple[str, str]], secrets: dict[str, str]) -> list[Hit]:
    """Every (secret, form, place) found; one hit per secret and place."""
    hits: list[Hit] = []
    for value, what in secrets.items():
        variants = forms(value)
        pieces = [value[i : i + PIECE] for i in range(len(value) - PIECE + 1)] if len(value) > PIECE else []
        # "000000000000" of a made-up test key is also in any float: only pieces that identify count.
        pieces = [piece for piece in pieces if len(set(piece)) >= MIN_PIECE_VARIETY]
        for where, text in texts:
            for name, form in variants.items():
                if form in text:
                    hits.append(Hit(what, name, where))
                    break
            else:
                if any(piece in text for piece in pieces):
                    hits.append(Hit(what, f"as a {PIECE}-character piece", where))
    return hits


# --- what a test produced ------------------------------------------------------------------------


def _files(root: Path, exempt: set[str]) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if not any((path / marker).exists() for marker in _DATA_DIR_MARKERS):
                yield from _files(path, exempt)
        elif path.is_file() and path.name not in exempt and path.stat().st_size <= MAX_FILE_BYTES:
            yield path


def _produced(item: pytest.Item, reports: list[pytest.TestReport]) -> list[tuple[str, str]]:
    texts = list(_texts)
    sections: dict[str, str] = {}
    for report in reports:  # later reports repeat earlier phases' sections
        sections.update(report.sections)
    texts += sections.items()
    marker = item.get_closest_marker("secret_inputs")
    exempt = set(marker.args) if marker else set()
    funcargs = getattr(item, "funcargs", None) or {}
    tmp_path = funcargs.get("tmp_path")
    if isinstance(tmp_path, Path):
        for path in _files(tmp_path, exempt):
            texts.append((str(path.relative_to(tmp_path)), path.read_bytes().decode("utf-8", "replace")))
    return texts


def _redactor_known() -> set[str]:
    from smoke.secrets import redactor

    # Secrets masked in rendered text too. A short one or a server-chosen cookie that is not
    # token-like ("testcase") is masked only inside values: it may be one of our own words.
    return set(redactor.known(in_text=True))


def _known(item: pytest.Item) -> dict[str, str]:
    with _lock:
        known = dict(_secrets)
    funcargs = getattr(item, "funcargs", None) or {}
    for name, value in funcargs.items():
        for attr, what in (("api_key", "API key"), ("password", "dashboard password")):
            secret = getattr(value, attr, None)
            if isinstance(secret, str) and len(secret) >= MIN_LENGTH and type(value).__name__ == "Stack":
                known.setdefault(secret, f"the {what} of fixture {name}")
    for secret in _redactor_known():
        if len(secret) >= MIN_LENGTH:
            known.setdefault(secret, "a secret the gate's redactor learnt")
    return known


# --- hooks ---------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "secret_inputs(*names): files under tmp_path that hold secrets on purpose (test inputs)"
    )
    _watch_harness()
    _watch_outputs()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Start each test with no secrets and no output of its own, and the gate's redactor empty:
    in production every run is a process of its own, so one test's secrets must not mask (or
    be expected in) another's output."""
    from smoke.secrets import redactor

    with _lock:
        _secrets.clear()
        _texts.clear()
    redactor.reset()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report: pytest.TestReport = yield
    reports: list[pytest.TestReport] = item.stash.setdefault(_REPORTS, [])
    reports.append(report)
    if report.when == "teardown":
        hits = scan(_produced(item, reports), _known(item))
        if hits:
            report.outcome = "failed"
            lines = "\n".join(f"  - {hit}" for hit in hits[:20])
            report.longrepr = f"secret scan: a known secret leaked into what this test produced:\n{lines}"
    return report


_REPORTS = pytest.StashKey[list[pytest.TestReport]]()


# --- where secrets and outputs come from ---------------------------------------------------------


def _wrap(owner: Any, name: str, after: Any) -> None:
    """Replace owner.name with a wrapper that calls `after(result, *args, **kwargs)`."""
    original = getattr(owner, name)
    if getattr(original, "_secret_scan", False):
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        after(result, *args, **kwargs)
        return result

    wrapper._secret_scan = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _watch_harness() -> None:
    from tests.harness.router import RouterAdmin

    def after_login(result: Any, admin: RouterAdmin, password: str, *a: Any, **k: Any) -> None:
        register(password, "a dashboard password (RouterAdmin.login)")
        register(admin.session.cookies.get("auth_token"), "the auth_token cookie (RouterAdmin.login)")

    def after_set_password(result: Any, admin: RouterAdmin, new: str, current: str | None = None) -> None:
        register(new, "a dashboard password (RouterAdmin.set_password)")

    def after_create_key(result: Any, *a: Any, **k: Any) -> None:
        register(result[1], "an API key (RouterAdmin.create_key)")

    def after_api_keys(result: Any, *a: Any, **k: Any) -> None:
        for entry in result or []:
            register(entry.get("key"), "an API key (RouterAdmin.api_keys)")

    _wrap(RouterAdmin, "login", after_login)
    _wrap(RouterAdmin, "set_password", after_set_password)
    _wrap(RouterAdmin, "create_key", after_create_key)
    _wrap(RouterAdmin, "api_keys", after_api_keys)


def _watch_outputs() -> None:
    import sys

    import smoke.cli

    def after_main(result: Any, *a: Any, **k: Any) -> None:
        # In-process runs print to whatever sys.stdout is (a redirect's StringIO, pytest's capture).
        for label, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
            getvalue = getattr(stream, "getvalue", None)
            if callable(getvalue):
                record(f"{label} of smoke.cli.main", getvalue())

    def after_readouterr(result: Any, *a: Any, **k: Any) -> None:
        record("stdout read through capsys/capfd", result.out)
        record("stderr read through capsys/capfd", result.err)

    def after_run(result: Any, *a: Any, **k: Any) -> None:
        record("stdout of subprocess.run", getattr(result, "stdout", None))
        record("stderr of subprocess.run", getattr(result, "stderr", None))

    def after_communicate(result: Any, *a: Any, **k: Any) -> None:
        out, err = result
        record("stdout of a subprocess", out)
        record("stderr of a subprocess", err)

    def after_invoke(result: Any, *a: Any, **k: Any) -> None:
        record("output of CliRunner.invoke", getattr(result, "output", None))
        with contextlib.suppress(ValueError):  # stderr mixed into output
            record("stderr of CliRunner.invoke", result.stderr)

    _wrap(smoke.cli, "main", after_main)
    _wrap(pytest.CaptureFixture, "readouterr", after_readouterr)
    _wrap(subprocess, "run", after_run)
    _wrap(subprocess.Popen, "communicate", after_communicate)
    try:
        from click.testing import CliRunner
    except ImportError:
        return
    _wrap(CliRunner, "invoke", after_invoke)
