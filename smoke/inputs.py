"""Single input values, parsed and checked: durations, lists, URLs, scopes, header values, files.

Each function returns the value, or says in one sentence what is wrong with it; `settings.build`
collects the sentences so every problem is reported at once.
"""

from __future__ import annotations

import json
import math
import os
import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from smoke import schemas

# What str.splitlines() and the GitHub runner treat as a line end, plus the other controls that
# move the cursor: none of them belongs in a one-line value.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Inputs that are lists: a newline separates items there (multi-line action inputs), anything
# else that breaks a line is refused. Headers are checked where they are parsed.
LIST_INPUTS = frozenset({"critical_providers", "skip", "p1_scope", "critical_aliases", "critical_combos"})
_CHECKED_ELSEWHERE = frozenset({"headers", "base_url", "model"})
_SECRET_INPUTS = frozenset({"api_key", "password"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `1.5m`, `10m`, `1h`, `500ms` -> seconds. Raises ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 10m, 1h)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_list(text: str) -> list[str]:
    """Comma or newline separated list, blanks dropped."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def load_config_file(path: Path, origin: str) -> tuple[dict[str, Any], list[str]]:
    """Read and validate a YAML/JSON config file. Returns (data, located problems)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, [f"{origin}: config file {path} does not exist"]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{origin}: config file {path} cannot be read ({exc.__class__.__name__})"]
    import yaml  # here, not at the top: a run without a config file does not pay for it (~20 ms)

    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        data = json.loads(text, parse_constant=_no_constant) if kind == "JSON" else _yaml_document(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        return {}, [f"{path}: not valid {kind}{line}"]
    except _TooBig as exc:
        return {}, [f"{path}: {exc}"]
    except RecursionError:
        return {}, [f"{path}: {kind} nested too deeply to be a config file"]
    except ValueError:  # NaN/Infinity in JSON, or an integer past Python's 4300-digit limit
        return {}, [f"{path}: not usable {kind}: a number is too long, NaN or Infinity"]
    if not _finite(data):
        return {}, [f"{path}: not usable {kind}: a number is NaN or Infinity (.nan/.inf)"]
    if data is None:
        data = {}
    found = [f"{path}: {p}" for p in schemas.problems("config", data)]
    return (data if isinstance(data, dict) else {}), found


# A config file has tens of values; aliases that expand past this are a "billion laughs" bomb.
MAX_CONFIG_NODES = 10_000


class _TooBig(ValueError):
    """A YAML document whose aliases expand beyond MAX_CONFIG_NODES."""


def _yaml_document(text: str) -> Any:
    """yaml.safe_load, but the alias-expanded size is counted on the node graph first."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_nodes(node, {}, set()) > MAX_CONFIG_NODES:
            raise _TooBig(
                f"its YAML aliases (*name) expand to more than {MAX_CONFIG_NODES} values; write the values out"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_nodes(node: Any, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many nodes `node` stands for once every alias is expanded (a cycle counts as too many)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise _TooBig("its YAML aliases refer to themselves (an endless value); write the values out")
    open_nodes.add(key)
    total = 1
    children = node.value if isinstance(node.value, list) else []
    for child in children:
        parts = child if isinstance(child, tuple) else (child,)  # mappings hold (key, value) pairs
        for part in parts:
            total += _expanded_nodes(part, sizes, open_nodes)
            if total > MAX_CONFIG_NODES:
                break
        if total > MAX_CONFIG_NODES:
            break
    open_nodes.discard(key)
    sizes[key] = total
    return total


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a config file can hold")


def _finite(value: Any) -> bool:
    """No NaN or Infinity anywhere (YAML's .nan/.inf pass every schema bound)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def sendable(value: str) -> bool:
    """Whether `value` can go in an HTTP header as it is: Latin-1, no control characters."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value)


_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def split_header(line: str) -> tuple[str, str] | None:
    """(NAME, VALUE) of a `NAME=VALUE` or `NAME: VALUE` line, stripped; None without either separator."""
    name, sep, value = line.partition("=")
    if not sep:
        name, sep, value = line.partition(":")
    return (name.strip(), value.strip()) if sep else None


def parse_header(line: str, number: int) -> tuple[str, str, str | None]:
    """One `NAME=VALUE` (or `NAME: VALUE`) line -> (name, value, problem or None).

    A problem never shows the value, nor any piece of a line that could not be split: the whole
    line may be a secret (`--header "$TOKEN"`, `--header "X-Token VALUE"`).
    """
    split = split_header(line)
    name, value = split or ("", "")
    if split is None or not _HEADER_NAME.fullmatch(name):
        problem = f"header line {number} must be NAME=VALUE or NAME: VALUE (not shown: it may hold a secret)"
        return "", "", problem
    if not sendable(value):
        problem = (
            f"the value of header {name!r} has control or non-Latin-1 characters (not shown: header values are secret)"
        )
        return "", "", problem
    return name, value, None


def ca_bundle_problem(path: Path) -> str | None:
    """Why `path` cannot verify TLS certificates (missing, unreadable, not PEM), or None."""
    if not path.is_file():
        return f"CA bundle {path} does not exist"
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"CA bundle {path} is not a readable PEM file of certificates ({type(exc).__name__})"
    return None


def output_problem(path: Path, example: str) -> str | None:
    """Why a report file could not be written at `path`, checked before any request is sent."""
    if path.is_dir():
        return f"{path} is a folder; give a file name (example: {path / example})"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # missing folders are created, if the nearest existing one allows
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"cannot write {path}: no permission in {parent}"
    return None


def without_userinfo(url: str) -> str:
    """The URL with any `user:password@` removed, so an error message never shows a password."""
    return re.sub(r"(?<=//)[^/@]*@", "", url, count=1)


def one_line_problem(value: str, *, is_list: bool = False, secret: bool = False) -> str | None:
    """Why `value` cannot be used as a one-line input (a line break could forge log lines,
    workflow commands or outputs), or None. The value itself is never repeated."""
    text = value.replace("\r\n", "\n") if is_list else value
    found = _LINE_BREAKS.search(text.replace("\n", " ") if is_list else text)
    if found is None:
        return None
    shown = "" if secret else f" ({repr(found.group())[1:-1]} at character {found.start() + 1})"
    if is_list:
        return f"contains a line break other than a newline{shown}; separate items with commas or newlines"
    return f"contains a line break{shown}; give it on one line"


def line_break_problems(given: Mapping[str, Any]) -> list[str]:
    """One sentence per text input (a settings.Given: .value, .origin) that holds a line break."""
    problems = []
    for name, g in given.items():
        if name in _CHECKED_ELSEWHERE or not isinstance(g.value, str):
            continue
        problem = one_line_problem(g.value, is_list=name in LIST_INPUTS, secret=name in _SECRET_INPUTS)
        if problem is not None:
            problems.append(f"{g.origin}: {problem}")
    return problems


def check_base_url(raw: str) -> tuple[str, str | None]:
    """Normalise the base URL (no trailing slash); say what is wrong with it, if anything."""
    text = raw.strip()
    if (problem := one_line_problem(text)) is not None:
        # urlsplit drops tabs and newlines silently; the raw text would then reach every report.
        return "", f"the URL {problem}"
    parts = urlsplit(text)
    shown = repr(without_userinfo(text))
    if parts.scheme not in ("http", "https"):
        return "", f"{shown} is not an http(s) URL (example: https://router.example.com)"
    if not parts.hostname:
        return "", f"{shown} has no host name (example: https://router.example.com)"
    if parts.username or parts.password:
        return "", "the URL must not carry a user or password; use --password for the dashboard"
    if parts.query or parts.fragment:
        return (
            "",
            f"the URL must not carry a query or fragment ({parts.scheme}://{parts.netloc}{parts.path})",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "", f"{shown} has an invalid port"
    return text.rstrip("/"), None


def parse_scope(value: Any, known: set[str]) -> tuple[str, set[str], str | None]:
    items = value if isinstance(value, list) else parse_list(str(value))
    lowered = [str(i).strip().lower() for i in items]
    if lowered == ["all"]:
        return "all", set(known), None
    if lowered == ["none"] or not lowered:
        return "none", set(), None
    unknown = [i for i in lowered if i not in known]
    if unknown:
        return (
            "",
            set(),
            (
                f"unknown P1 scope {', '.join(map(repr, unknown))} "
                f"(use all, none, or a list of: {', '.join(sorted(known))})"
            ),
        )
    return ",".join(lowered), set(lowered), None
