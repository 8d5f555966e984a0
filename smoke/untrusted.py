"""Text from the server or from an input is data: one function per place it is shown.

Every function masks secrets first (so an escape can never hide a secret from the redactor), then
neutralises what that sink would otherwise obey:

- console (stdout/stderr, read by the GitHub runner): no line break, no control character (shown
  escaped: `\\n`, `\\x00`, `\\ud800`), no `::command` at a line start, no `##[` anywhere
  (actions/runner: `::name::` after leading whitespace, `##[name]` anywhere in a line; a line ends
  at `\\n`, `\\r\\n` or a lone `\\r`).
- Markdown/HTML (job summary, PR comment): HTML escaped, Markdown punctuation escaped, one line,
  `|` escaped for tables; code spans whose fence no backtick in the text can close.
- XML 1.0 (JUnit): characters XML cannot hold are shown escaped.
- JSON data (report): lone surrogates replaced, non-finite floats and huge ints made strings,
  nesting bounded, so `json.dumps(..., allow_nan=False)` and UTF-8 encoding never raise.

`ConsoleGuard` is the sink-side backstop: `guard_console()` wraps sys.stdout and sys.stderr for the
whole program, so a print that forgot `for_console` still cannot start a workflow command. The
gate's own workflow commands go through `write_trusted`, the only way past it.
"""

from __future__ import annotations

import html
import io
import math
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

from smoke.secrets import redact

# What a terminal, the runner or a reader must not get raw: C0/C1 controls, DEL, Unicode line and
# paragraph separators, bidi overrides (they reorder what a reader sees), BOM, lone surrogates
# (they cannot be encoded), non-characters.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff\ufffe\uffff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Where the GitHub runner (and StreamReader.ReadLine) ends a line.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MAX_DEPTH = 32  # JSON nesting kept in reports; deeper data is summarised
_MAX_INT_BITS = 10_000  # ~3000 digits; Python refuses to print ints over 4300 digits


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, keep: str = "") -> str:
    """`text` with every unsafe character shown as an escape (`\\n`, `\\x1b`, `\\ud800`), except `keep`."""
    value = str(text)
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape_char(m), value)
    return _UNSAFE.sub(_escape_char, value)


def defuse_line(line: str) -> str:
    """One console line that the runner cannot read as a workflow command (`::x::` or `##[x]`)."""
    line = line.replace("##[", "##\\[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def for_console(text: object) -> str:
    """Server or input text for one console line: redacted, one line, no workflow command."""
    return defuse_line(visible(redact(str(text))))


def for_console_block(text: object) -> str:
    """Multi-line server text (evidence, tracebacks) for the console: each line defused."""
    lines = _LINE_BREAK.split(redact(str(text)))
    return "\n".join(defuse_line(visible(line, keep="\t")) for line in lines)


# ---- Markdown / HTML --------------------------------------------------------------------------

# Markdown punctuation that can start emphasis, code, links, images, tables or strikethrough.
_MD_PUNCT = re.compile(r"([\\`*_\[\]{}|~!#])")
# GitHub pings a user or a team for @name, also in a PR comment made from the summary: a zero-width
# space after the @ keeps the text readable and pings nobody. Bare URLs are left as they are: a
# link whose text is its target hides nothing, and the URL stays copyable.
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_ZWSP = "\u200b"
# A line that starts with one of these would open a block (list, quote, heading, rule).
_BLOCK_START = re.compile(r"^(\s*)([-+>=]|\d+[.)])")


# Inside raw HTML GitHub reads no Markdown, but a blank line would end the block: entities keep
# link and code syntax inert either way.
_HTML_MARKDOWN = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;", "*": "&#42;", "_": "&#95;"})


def for_html(text: object) -> str:
    """Text inside raw HTML (a `<summary>` line): one line, entities escaped, no tag can open."""
    one_line = " ".join(visible(redact(str(text)), keep="\n\r\t").split())
    escaped = html.escape(one_line, quote=True).translate(_HTML_MARKDOWN)
    return _MENTION.sub("@" + _ZWSP, escaped)


def for_markdown(text: object) -> str:
    """Server or input text inline in Markdown, also in a table cell: no HTML, no link, no image,
    no emphasis, no code span, no line break, `|` cannot end the cell."""
    one_line = " ".join(visible(redact(str(text)), keep="\n\r\t").split())
    escaped = html.escape(one_line, quote=False)
    escaped = _MD_PUNCT.sub(r"\\\1", escaped)
    escaped = _MENTION.sub("@" + _ZWSP, escaped)
    return _BLOCK_START.sub(r"\1\\\2", escaped)


def for_code_span(text: object, *, table: bool = False) -> str:
    """A complete code span holding `text` literally: the fence is one backtick longer than any
    run of backticks inside, so the text cannot close it. `table=True` escapes `|` for a cell
    (GitHub splits cells before it reads code spans)."""
    one_line = " ".join(visible(redact(str(text)), keep="\n\r\t").split())
    if not one_line:
        return "_(empty)_"
    if table:
        one_line = one_line.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def code_fence(text: str, info: str = "") -> list[str]:
    """A fenced code block for `text`: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = "\n".join(visible(line, keep="\t") for line in _LINE_BREAK.split(redact(text)))
    return [f"{fence}{info}", body, fence]


# ---- XML --------------------------------------------------------------------------------------

# Not allowed in XML 1.0 (https://www.w3.org/TR/xml/#charsets), plus the discouraged C1 controls.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def for_xml(text: object) -> str:
    """Text for an XML 1.0 attribute or element: characters XML cannot hold are shown escaped."""
    return _XML_ILLEGAL.sub(_escape_char, redact(str(text)))


# ---- JSON -------------------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def for_json(value: Any, _depth: int = 0) -> Any:
    """JSON-like data that always serialises: lone surrogates become U+FFFD (keys too), NaN and
    infinities and ints too long to print become strings, nesting deeper than 32 is summarised.
    Not redacted here: the report writer redacts the data as a whole."""
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if _depth >= _MAX_DEPTH and isinstance(value, (dict, list, tuple)):
        return f"<nested deeper than {_MAX_DEPTH} levels, not kept>"
    if isinstance(value, dict):
        return {_json_text(str(k)): for_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [for_json(v, _depth + 1) for v in value]
    return _json_text(str(value))


# ---- the console backstop ---------------------------------------------------------------------


class ConsoleGuard(io.TextIOBase):
    """A text stream that defuses every line written through it (see defuse_line), escapes
    control characters and lone surrogates, and passes the gate's own commands through
    `write_trusted`. Lines are held until complete; `flush()` writes a partial line only up to
    where it can no longer become a command."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.RLock()  # checks run in threads; a line must not mix two writers' state
        self._pending = ""
        self._line_started = False  # part of the current line was already written by flush()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # Like a real text stream: click probes with write(b"") to tell text from binary.
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            data = self._pending + text
            tail = "\r" if data.endswith("\r") else ""  # maybe the first half of "\r\n": wait for the next write
            parts = _LINE_BREAK.split(data[: len(data) - len(tail)])
            self._pending = parts.pop() + tail
            if parts:
                self.stream.write("".join(self._safe(line) + "\n" for line in parts))
        return len(text)

    def _safe(self, piece: str) -> str:
        """A piece of the current line made safe; the line start is judged only once."""
        text = visible(piece, keep="\t")
        # The line start was judged when its first piece was written.
        text = text.replace("##[", "##\\[") if self._line_started else defuse_line(text)
        self._line_started = False
        return text

    def _held(self, pending: str) -> int:
        """How much of a partial line must wait: what could still become `::` at the line start or `##[`."""
        if not self._line_started and pending.lstrip() in ("", ":"):
            return len(pending)
        return min(2, len(pending) - len(pending.rstrip("#")))

    def flush(self) -> None:
        with self._lock:
            pending = self._pending
            if pending.endswith("\r"):
                self.stream.write(self._safe(pending[:-1]) + "\n")
                self._pending = ""
            else:
                cut = len(pending) - self._held(pending)
                if cut > 0:
                    self.stream.write(self._safe(pending[:cut]))
                    self._line_started = True
                    self._pending = pending[cut:]
            self.stream.flush()

    def write_trusted(self, text: str) -> None:
        """The gate's own workflow commands, written as they are, each at a line start."""
        with self._lock:
            if self._pending or self._line_started:
                self.stream.write(self._safe(self._pending.rstrip("\r")) + "\n")
                self._pending = ""
            self.stream.write(text)
            self.stream.flush()

    def close_line(self) -> None:
        """Write out what is held (when the guard is taken down)."""
        with self._lock:
            if self._pending:
                self.stream.write(self._safe(self._pending.rstrip("\r")) + "\n")
                self._pending = ""
            self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "errors", None) or "strict"


def guarded(stream: TextIO) -> TextIO:
    """`stream` behind a ConsoleGuard (unless it already is one)."""
    if isinstance(stream, ConsoleGuard):
        return stream
    # Through a _Tee or similar wrapper that already writes to a guard: no second guard needed.
    if isinstance(getattr(stream, "stream", None), ConsoleGuard):
        return stream
    return ConsoleGuard(stream)  # type: ignore[return-value]


def write_trusted(stream: TextIO, text: str) -> None:
    """Write the gate's own workflow commands (already escaped by their builder) past the guard."""
    if isinstance(stream, ConsoleGuard):
        stream.write_trusted(text)
    else:
        stream.write(text)
        stream.flush()


@contextmanager
def guard_console() -> Iterator[None]:
    """sys.stdout and sys.stderr behind a ConsoleGuard for the duration (restored after)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = guarded(sys.stdout), guarded(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, ConsoleGuard) and stream not in saved:
                with suppress(OSError, ValueError):  # a closed stream at exit
                    stream.close_line()
        sys.stdout, sys.stderr = saved
