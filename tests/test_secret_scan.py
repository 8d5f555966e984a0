"""tests/secret_scan.py: the plugin that fails any test whose artifacts hold a known secret."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

from tests.secret_scan import Hit, forms, scan

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-demo+secret/value=1"


def test_every_form_of_a_secret_is_found_and_named() -> None:
    texts = [
        ("raw.txt", f"x {SECRET} y"),
        ("url.txt", f"?key={quote(SECRET, safe='')}"),
        ("basic.txt", "Authorization: Basic " + base64.b64encode(f"ci:{SECRET}".encode()).decode()),
        ("json.txt", '{"a": "sk-demo+secret\\/value=1"}'.replace("\\/", "/")),
        ("clean.txt", "sk-demo+*** masked"),
    ]
    hits = scan(texts, {SECRET: "the demo key"})
    assert [(h.where, h.form) for h in hits] == [
        ("raw.txt", "raw"),
        ("url.txt", "URL-encoded"),
        ("basic.txt", "base64 (offset 0)"),
        ("json.txt", "raw"),
    ]
    assert str(hits[1]) == "the demo key appeared URL-encoded in url.txt"
    assert all(SECRET not in str(h) for h in hits)  # a failure message never shows the secret


def test_a_twelve_character_piece_of_a_secret_is_a_hit_and_a_shorter_one_is_not() -> None:
    key = "sk-46ca45c89e338549-hbfj50-80cf9cef"
    texts = [
        ("cut.txt", 'invalid JSON: \'{"key":"sk-46ca45c89e338549-hb...\''),
        ("short.txt", "apiKeyMasked sk-46ca4***"),
    ]
    hits = scan(texts, {key: "a key"})
    assert [(h.where, h.form) for h in hits] == [("cut.txt", "as a 12-character piece")]
    assert scan([("float", 'time="0.9530000000000002"')], {"sk-0000000000000000-wrong0-00000000": "k"}) == []


def test_forms_cover_base64_at_every_alignment_and_url_safe() -> None:
    found = forms("a-long-enough-secret")
    for prefix in (b"", b"u", b"us", b"user:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(prefix + b"a-long-enough-secret").decode()
            assert any(form in encoded for name, form in found.items() if name.startswith("base64")), prefix


def test_a_hit_is_one_line_per_secret_and_place() -> None:
    hits = scan([("a", SECRET * 3), ("b", "nothing")], {SECRET: "k", "other-secret-1": "o"})
    assert hits == [Hit("k", "raw", "a")]


def test_the_plugin_fails_a_test_that_leaks_and_passes_one_that_masks(tmp_path: Path) -> None:
    """A real pytest session with only this plugin: one test writes a secret into a report file and
    one prints it base64-encoded (both fail at teardown), one writes it masked (passes)."""
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            f"""
            import base64
            from tests import secret_scan

            SECRET = {SECRET!r}

            def test_writes_the_key_into_a_report(tmp_path):
                secret_scan.register(SECRET, "the demo key")
                (tmp_path / "report.json").write_text('{{"key": "' + SECRET + '"}}')

            def test_prints_it_base64(capsys):
                secret_scan.register(SECRET, "the demo key")
                print(base64.b64encode(("ci:" + SECRET).encode()).decode())

            def test_masks_it(tmp_path):
                secret_scan.register(SECRET, "the demo key")
                (tmp_path / "report.json").write_text('{{"key": "***"}}')
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.secret_scan", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 1, out
    assert "3 passed, 2 errors" in out  # the leaky tests pass, then fail at teardown
    assert "ERROR at teardown of test_writes_the_key_into_a_report" in out
    assert "the demo key appeared raw in report.json" in out
    assert "the demo key appeared base64 (offset 0) in Captured stdout call" in out  # "ci:" is 3 bytes
