"""JSON from an untrusted server, parsed totally: every outcome is data or `Unusable`.

Plain json.loads accepts NaN/Infinity, raises ValueError past Python's int-digit limit and
RecursionError on deep nesting, and returns strings with lone surrogates that no report can
encode. `parse` turns each of those into Unusable (a ValueError with a few words saying why), or
replaces the lone surrogates, so a check only ever sees finite numbers, bounded nesting and
encodable text. Invalid UTF-8 and invalid JSON raise UnicodeDecodeError / JSONDecodeError as usual.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# 9router's answers nest about 5 deep and its largest numbers are millisecond timestamps; anything
# far beyond is a hostile or broken server, not data to hand to a check.
MAX_JSON_DEPTH = 64
MAX_NUMBER_CHARS = 100
_LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unusable(ValueError):
    """JSON that parses but is not data a check may see (its message says why, in a few words)."""


def parse(body: bytes) -> Any:
    """json.loads made total: every number finite and short, nesting bounded, no lone surrogate."""
    try:
        data = json.loads(
            body.decode("utf-8"), parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except RecursionError:
        raise Unusable(f"it is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if _depth_over(data, MAX_JSON_DEPTH):
        raise Unusable(f"it is nested deeper than {MAX_JSON_DEPTH} levels")
    if _LONE_SURROGATE_ESCAPE.search(body):
        data = _without_lone_surrogates(data)
    return data


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise Unusable(f"a {len(text)}-digit number")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise Unusable(f"a {len(text)}-character number")
    value = float(text)
    if not math.isfinite(value):
        raise Unusable(f"the number {text[:40]}, too large for a float")
    return value


def _json_constant(name: str) -> Any:
    raise Unusable(f"{name}, which is not a JSON number")


def _depth_over(data: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: the check itself cannot recurse)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return False


def _without_lone_surrogates(value: Any) -> Any:
    """Each lone surrogate (escaped as \\udXXX, unpaired) replaced by U+FFFD, in keys and values."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value
