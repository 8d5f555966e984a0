"""The docs stay true: every shell example in README.md and docs/*.md runs here, or says why not.

A ```console block is run against a real 9router (fake upstream, 127.0.0.1) as one bash script,
with the demo's environment: BASE_URL, API_KEY, MODEL, DASHBOARD_PASSWORD and UPSTREAM_URL (the
fake upstream; `curl -X POST $UPSTREAM_URL/__mode -d '{"mode":"500"}'` breaks it). Each `$ ` line
is a command (a trailing backslash continues it); the lines after it are what it must print,
stdout and stderr together. Compared after normalising what changes between runs (ports, times,
milliseconds, timestamps, temp paths, runs of spaces). In the shown output a line `...` stands for
any number of lines, and `...` inside a line for any text.

`<!-- docs-test: fresh -->` on the line before a block runs it on a server of its own (for
examples that break or change the router); otherwise it uses the shared read-only server.
`<!-- docs-test: config -->` before a ```yaml block validates it as a gate config file.

Any other shell block (sh, bash, shell, or text with `$ ` lines) must be preceded by
`<!-- not-run: WHY -->`: it needs something this machine has not got (a CI runner, a registry,
a remote router), and the reader sees the same reason in the text around it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from smoke import cli
from smoke.inputs import load_config_file
from tests.harness.router import Stack

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages other branches are writing; a link to one of them may dangle until those branches merge.
PENDING_PAGES: set[str] = set()  # pages linked before they are written (none now)

FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
SHELL_INFOS = {"sh", "bash", "shell", "console", "zsh"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<why>\S[^>]*?)\s*-->\s*$")
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<opts>[^>]*?)\s*-->\s*$")
BLOCK_TIMEOUT_S = 180


@dataclass(frozen=True)
class Block:
    """One fenced code block of a doc page."""

    path: Path
    line: int
    info: str
    body: str
    before: str  # the last non-blank line before the fence

    @property
    def lang(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        if self.lang in SHELL_INFOS:
            return True
        return self.lang in ("", "text") and any(ln.startswith("$ ") for ln in self.body.splitlines())

    @property
    def runs(self) -> bool:
        return self.lang == "console"

    @property
    def not_run_reason(self) -> str | None:
        match = NOT_RUN.search(self.before)
        return match.group("why") if match else None

    @property
    def options(self) -> set[str]:
        match = DIRECTIVE.search(self.before)
        return set(match.group("opts").split()) if match else set()


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a page, with its line number and the line before it."""
    text = path.read_text("utf-8")
    found = []
    for match in FENCE.finditer(text):
        head = text[: match.start()]
        before = next((ln for ln in reversed(head.splitlines()) if ln.strip()), "")
        found.append(Block(path, head.count("\n") + 1, match.group("info").strip(), match.group("body"), before))
    return found


ALL_BLOCKS = [b for path in DOC_FILES for b in blocks(path)]
CONSOLE_BLOCKS = [b for b in ALL_BLOCKS if b.runs]


def commands(body: str) -> list[tuple[str, list[str]]]:
    """[(command, expected output lines)] from a console block."""
    result: list[tuple[str, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if not result:
                raise ValueError(f"output before the first `$ ` command: {line!r}")
            result[-1][1].append(line)
            i += 1
            continue
        cmd = line[2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd + "\n" + lines[i]
        result.append((cmd, []))
        i += 1
    return result


_VOLATILE = [
    (re.compile(r"\b(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"), "TIMESTAMP"),
    (re.compile(r"\b\d\d:\d\d:\d\dZ\b"), "HH:MM:SSZ"),
    (re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b"), "N\\2"),
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/PATH"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"\(pid \d+"), "(pid N"),
    (re.compile(r"(?<=\S) {2,}"), " "),
]


def normalise(text: str) -> str:
    """What is left of an output once the parts that change between runs are replaced."""
    lines = []
    for line in text.splitlines():
        for pattern, repl in _VOLATILE:
            line = pattern.sub(repl, line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def pattern_for(expected: list[str]) -> re.Pattern[str]:
    """A regex for shown output: a `...` line is any lines, `...` in a line any text."""
    parts = []
    for line in normalise("\n".join(expected)).splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(re.escape(line).replace(re.escape("..."), r"[^\n]*") + r"\n")
    return re.compile("".join(parts), re.S)


def matches(expected: list[str], actual: str) -> bool:
    """Whether the command's real output fits what the page shows."""
    printed = normalise(actual)
    return bool(pattern_for(expected).fullmatch(printed + "\n" if printed else ""))


def first_unmatched(expected: list[str], actual: str) -> str:
    """The first shown line after which the real output no longer fits (for the failure message)."""
    for k in range(len(expected), 0, -1):
        if matches([*expected[:k], "..."], actual):
            return expected[k] if k < len(expected) else "(the end: the command printed more)"
    return expected[0] if expected else "(nothing shown, but the command printed something)"


def run_block(block: Block, stack: Stack, cwd: Path) -> list[tuple[str, list[str], str]]:
    """Run every command of the block in one bash (state carries over); (cmd, expected, actual)."""
    cmds = commands(block.body)
    script = ["exec 2>&1"]
    for n, (cmd, _) in enumerate(cmds):
        # A newline first: a command's output need not end with one (curl's does not).
        script += [f"printf '\\n@@docs-cmd-{n}@@\\n'", cmd]
    assert stack.upstream is not None
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # keeps stdout and stderr in the order they were written
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **stack.gate_env(),
        "UPSTREAM_URL": stack.upstream.url,
    }
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    outputs = re.split(r"\n@@docs-cmd-\d+@@\n", proc.stdout)[1:]
    assert len(outputs) == len(cmds), f"the block stopped early:\n{proc.stdout}"
    return [(cmd, expected, out) for (cmd, expected), out in zip(cmds, outputs, strict=True)]


def test_the_pages_have_shell_examples_to_check() -> None:
    assert CONSOLE_BLOCKS, "no ```console block found: the parser or the docs broke"
    assert any(b.path.name == "README.md" for b in CONSOLE_BLOCKS)


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.is_shell], ids=lambda b: b.name)
def test_every_shell_block_is_run_or_says_why_not(block: Block) -> None:
    if block.runs:
        assert block.not_run_reason is None, f"{block.name}: a ```console block is run; drop the not-run comment"
        assert commands(block.body), f"{block.name}: a ```console block needs at least one `$ ` command"
    else:
        assert block.not_run_reason, (
            f"{block.name}: make it a ```console block (run by tests/test_docs.py) or put "
            "`<!-- not-run: WHY -->` on the line before it"
        )


def test_normalising_keeps_what_matters_and_drops_what_varies() -> None:
    shown = "  PASS  chat-completion     P0    301 ms  HTTP 200 in 317 ms, at 127.0.0.1:44899"
    real = "  PASS  chat-completion     P0     13 ms  HTTP 200 in 13 ms, at 127.0.0.1:60637"
    assert normalise(shown) == normalise(real)
    assert normalise(shown) != normalise(real.replace("PASS", "FAIL"))
    assert pattern_for(["a", "...", "z ... end"]).fullmatch("a\nb\nc\nz any text end\n")
    assert not pattern_for(["a", "z"]).fullmatch("a\nb\nz\n")


def test_config_examples_are_valid_config_files(tmp_path: Path) -> None:
    configs = [b for b in ALL_BLOCKS if "config" in b.options]
    assert len(configs) >= 2, "the config examples lost their <!-- docs-test: config --> marker"
    for block in configs:
        path = tmp_path / "smoke.yml"
        path.write_text(block.body, "utf-8")
        assert load_config_file(path, block.name)[1] == [], block.name


def gate_commands(line: str) -> list[tuple[str, list[str]]]:
    """[(run|watch, args)] for each `9router-smoke run|watch ...` in a shell line, up to an operator."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True  # split on blanks and operators only, not on `:` or `,`
    lexer.commenters = "#"
    tokens, found = list(lexer), []
    for i, token in enumerate(tokens[:-1]):
        if token == "9router-smoke" and tokens[i + 1] in ("run", "watch"):
            args = []
            for arg in tokens[i + 2 :]:
                if set(arg) <= set(";|&<>()"):
                    break
                args.append(arg)
            found.append((tokens[i + 1], args))
    return found


def test_every_gate_command_line_in_a_shell_example_parses_with_the_real_cli() -> None:
    seen = 0
    for block in (b for b in ALL_BLOCKS if b.is_shell):
        body = block.body.replace("\\\n", " ")  # join continued lines
        lines = [c for c, _ in commands(body)] if block.runs else body.splitlines()
        for line in lines:
            for command, args in gate_commands(line.removeprefix("$ ")):
                seen += 1
                # click raises UsageError (unknown option, missing value) here; nothing is sent.
                cli.cli.commands[command].make_context(f"9router-smoke {command}", args)
    assert seen >= 10


def test_github_steps_in_the_docs_give_only_inputs_the_action_has() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    steps = []
    for block in (b for b in ALL_BLOCKS if b.lang == "yaml" and "uses: org/9router-smoke" in b.body):
        data = yaml.safe_load(block.body)
        jobs = data.get("jobs", {}).values() if isinstance(data, dict) else [{"steps": data}]
        steps += [(block.name, s) for job in jobs for s in job["steps"] if "9router-smoke" in str(s.get("uses"))]
    assert len(steps) >= 2
    unknown = [(name, k) for name, step in steps for k in step.get("with", {}) if k not in action["inputs"]]
    assert unknown == []


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to dashes."""
    text = FENCE.sub("", path.read_text("utf-8"))
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_points_at_a_file_and_heading() -> None:
    link = re.compile(r"\]\((?!https?://|mailto:)([^)\s]*)\)")
    broken = []
    for path in DOC_FILES:
        for target in link.findall(FENCE.sub("", path.read_text("utf-8"))):
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if Path(file_part).name in PENDING_PAGES and not resolved.exists():
                continue
            if not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{path.relative_to(ROOT)} -> {target}: no such heading")
    assert broken == []


@pytest.mark.parametrize("block", CONSOLE_BLOCKS, ids=lambda b: b.name)
def test_console_example_prints_what_the_page_shows(
    block: Block,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    if "fresh" in block.options:
        stack: Stack = request.getfixturevalue("fresh_stack")()
    else:
        stack = request.getfixturevalue("router_stack")
    mismatches = []
    for cmd, expected, actual in run_block(block, stack, tmp_path):
        if not matches(expected, actual):
            mismatches.append(
                f"$ {cmd}\n--- first shown line that differs:\n{first_unmatched(expected, actual)}\n"
                f"--- printed (normalised):\n{normalise(actual)}"
            )
    assert mismatches == [], f"{block.name}: the page shows other output than the command prints:\n" + "\n".join(
        mismatches
    )
