"""smoke/untrusted.py: one function per sink, as tables of hostile input -> what the sink gets."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET

import pytest

from smoke import untrusted
from smoke.secrets import redactor
from smoke.untrusted import (
    ConsoleGuard,
    for_code_span,
    for_console,
    for_console_block,
    for_html,
    for_json,
    for_markdown,
    for_xml,
    write_trusted,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("0.5.69", "0.5.69"),
        ("\n::set-output name=verdict::pass", "\\n::set-output name=verdict::pass"),
        ("\r::error::x", "\\r::error::x"),
        ("::stop-commands::tok", "\\::stop-commands::tok"),
        ("  \t::warning::x", "  \\t::warning::x"),
        ("\u3000::error::x", "\u3000\\::error::x"),  # .NET TrimStart also trims Unicode spaces
        ("##[warning]x", "##\\[warning]x"),
        ("ok ##[group]x ##[endgroup]", "ok ##\\[group]x ##\\[endgroup]"),
        ("a\x00b\x07c\x1b[31m\x7f", "a\\x00b\\x07c\\x1b[31m\\x7f"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("nel\x85 ls\u2028 ps\u2029 rlo\u202e", "nel\\x85 ls\\u2028 ps\\u2029 rlo\\u202e"),
        ("`<img src=x>` | ok ✓", "`<img src=x>` | ok ✓"),
    ],
)
def test_for_console_gives_one_inert_line(text: str, shown: str) -> None:
    assert for_console(text) == shown
    assert "\n" not in for_console(text) and "\r" not in for_console(text)
    for_console(text).encode("utf-8")  # never a lone surrogate


def test_for_console_block_defuses_every_line_and_keeps_the_lines() -> None:
    text = 'title\n::error::x\r::warning::y\r\n  "v": "##[warning]z"\ttab'
    assert for_console_block(text).split("\n") == [
        "title",
        "\\::error::x",
        "\\::warning::y",
        '  "v": "##\\[warning]z"\ttab',
    ]


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("HTTP 503", "HTTP 503"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("</details><!-- x", "&lt;/details&gt;&lt;\\!-- x"),
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("![i](x.png)", "\\!\\[i\\](x.png)"),
        ("a | b\nc", "a \\| b c"),
        ("`code` *bold* _it_ ~~s~~", "\\`code\\` \\*bold\\* \\_it\\_ \\~\\~s\\~\\~"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. item", "\\1. item"),
        ("ping @octo-org/team and www.evil.example", "ping @\u200bocto-org/team and www.evil.example"),
        ("a & b &lt;", "a &amp; b &amp;lt;"),
        ("nul\x00 \ud800", "nul\\\\x00 \\\\ud800"),
    ],
)
def test_for_markdown_is_text_in_a_line_or_a_table_cell(text: str, markdown: str) -> None:
    assert for_markdown(text) == markdown


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("0.5.69", "`0.5.69`"),
        ("a`b", "``a`b``"),
        ("``x```", "```` ``x``` ````"),
        ("`", "`` ` ``"),
        ("<img src=x> | y", "`<img src=x> | y`"),
        ("line\nbreak\x00", "`line break\\x00`"),
        ("", "_(empty)_"),
    ],
)
def test_for_code_span_cannot_be_closed_by_the_text(text: str, span: str) -> None:
    assert for_code_span(text) == span


def test_a_code_span_in_a_table_cell_escapes_the_pipe() -> None:
    assert for_code_span("a|b", table=True) == "`a\\|b`"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
        ('a "q" [l](u) `c`', "a &quot;q&quot; &#91;l&#93;(u) &#96;c&#96;"),
        ("two\n\nlines", "two lines"),
    ],
)
def test_for_html_is_text_inside_raw_html(text: str, shown: str) -> None:
    assert for_html(text) == shown


@pytest.mark.parametrize(
    ("text", "xml"),
    [
        ("plain & <tag>", "plain & <tag>"),  # the XML writer escapes these itself
        ("nul\x00 bell\x07 vt\x0b", "nul\\x00 bell\\x07 vt\\x0b"),
        ("lone \ud800 \udfff", "lone \\ud800 \\udfff"),
        ("non-char \ufffe\uffff", "non-char \\ufffe\\uffff"),
        ("tab\tnl\ncr\r ok ✓ \U0001f600", "tab\tnl\ncr\r ok ✓ \U0001f600"),
    ],
)
def test_for_xml_keeps_only_characters_xml_can_hold(text: str, xml: str) -> None:
    assert for_xml(text) == xml
    element = ET.Element("e", attrib={"a": for_xml(text)})
    element.text = for_xml(text)
    ET.fromstring(ET.tostring(element, encoding="unicode"))  # well-formed


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("lone \ud800", "lone \ufffd"),
        ({"k\udc00": ["\ud800", 1, 2.5, None, True]}, {"k\ufffd": ["\ufffd", 1, 2.5, None, True]}),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        pytest.param(10**5000, f"<an integer of {(10**5000).bit_length()} bits>", id="5001-digit int"),
        ((1, "a"), [1, "a"]),
    ],
)
def test_for_json_always_serialises(value: object, clean: object) -> None:
    assert for_json(value) == clean
    json.dumps(for_json(value), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_for_json_makes_nan_a_string_and_bounds_nesting() -> None:
    assert for_json(math.nan) == "nan"
    deep: object = "bottom"
    for _ in range(500):
        deep = [deep]
    kept = for_json(deep)
    depth = 0
    while isinstance(kept, list):
        kept, depth = kept[0], depth + 1
    assert depth == 32 and "nested deeper than 32" in str(kept)


def test_every_sink_masks_a_secret_before_escaping_it() -> None:
    secret = "pa<ss>|w_o*rd`-0123456789"
    redactor.add(secret)
    try:
        for sink in (for_console, for_markdown, for_code_span, for_html, for_xml, for_console_block):
            shown = sink(f"said {secret}")
            assert "0123456789" not in shown and "pa<ss>" not in shown and "pa&lt;ss" not in shown, sink
            assert any(mask in shown for mask in ("***", "\\*\\*\\*", "&#42;&#42;&#42;")), (sink, shown)
    finally:
        redactor.reset()


# ---- the console guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writes", "shown"),
    [
        (["ok\n"], "ok\n"),
        (["a\n::error::x\n"], "a\n\\::error::x\n"),
        (["a\r::error::x\r\nb\n"], "a\n\\::error::x\nb\n"),
        (["  ::warning::x\n"], "  \\::warning::x\n"),
        (["x ##[warning]y\n"], "x ##\\[warning]y\n"),
        (["nul\x00 \ud800 esc\x1b\n"], "nul\\x00 \\ud800 esc\\x1b\n"),
        # One command split over writes and flushes: the line start is judged on the whole line.
        ([":", "FLUSH", ":error::x\n"], "\\::error::x\n"),
        ([" ", "FLUSH", ":", "FLUSH", ":x\n"], " \\::x\n"),
        (["a#", "FLUSH", "#", "FLUSH", "[b]\n"], "a##\\[b]\n"),
        (["text", "FLUSH", "::not at a line start\n"], "text::not at a line start\n"),
        (["a\r", "\nb\n"], "a\nb\n"),
    ],
)
def test_the_guard_defuses_every_line_whatever_the_writes(writes: list[str], shown: str) -> None:
    sink = io.StringIO()
    guard = ConsoleGuard(sink)
    for text in writes:
        if text == "FLUSH":
            guard.flush()
        else:
            guard.write(text)
    guard.close_line()
    assert sink.getvalue() == shown


def test_only_write_trusted_gets_a_command_past_the_guard() -> None:
    sink = io.StringIO()
    guard = ConsoleGuard(sink)
    guard.write("partial")
    write_trusted(guard, "::group::ours\n")
    guard.write("::endgroup::\n")
    assert sink.getvalue() == "partial\n::group::ours\n\\::endgroup::\n"


def test_the_guard_is_a_text_stream_as_click_expects() -> None:
    guard = ConsoleGuard(io.StringIO())
    with pytest.raises(TypeError):
        guard.write(b"")  # type: ignore[arg-type]
    assert guard.encoding == "utf-8" and guard.isatty() is False


def test_guard_console_wraps_both_streams_once_and_restores_them(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    saved = sys.stdout, sys.stderr
    with untrusted.guard_console():
        assert isinstance(sys.stdout, ConsoleGuard) and isinstance(sys.stderr, ConsoleGuard)
        inner = sys.stdout
        with untrusted.guard_console():
            assert sys.stdout is inner  # no second guard
        print("::set-output name=x::y")
        print("tail without newline", end="")
    assert (sys.stdout, sys.stderr) == saved
    assert capsys.readouterr().out == "\\::set-output name=x::y\ntail without newline\n"
