"""JSON Schemas shipped in the package: config, report, and one per 9router response we read."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

# jsonschema takes ~70 ms to import, more than any request but the login: it is imported on first
# use (or by warm_up, while the first requests are in flight), never when the CLI starts.
if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for `schema/<name>.json` (e.g. "config", "report", "responses/providers")."""
    from jsonschema import Draft202012Validator

    text = resources.files("smoke").joinpath("schema", f"{name}.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def warm_up(names: Iterable[str], delay: float = 0.03) -> threading.Thread:
    """Import jsonschema and build these validators in a background thread; returns the thread.

    A run calls it as its checks start: the work then overlaps the server's time (the login alone
    is ~150 ms of bcrypt) instead of delaying the first request. It starts after `delay` seconds
    so that the checks' threads send their first requests before this CPU-bound work competes
    with them for the GIL. A schema that fails here fails again, in the right place, when a check
    uses it.
    """

    def build() -> None:
        time.sleep(delay)
        for name in names:
            with contextlib.suppress(Exception):  # reported by the check that needs it
                validator(name)

    thread = threading.Thread(target=build, name="schema-warm-up", daemon=True)
    thread.start()
    return thread


def location(error: ValidationError) -> str:
    """`critical_providers[1]` style path of a validation error ("(top level)" for the root)."""
    path = ""
    for part in error.absolute_path:
        name = part if isinstance(part, int) else _short_text(str(part), 60)
        path += f"[{name}]" if isinstance(part, int) else (f".{name}" if path else name)
    return _short_text(path, 200) or "(top level)"


def problems(name: str, data: Any) -> list[str]:
    """Every violation of schema `name`, each as `path: message`, in document order."""
    errors = sorted(validator(name).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{location(e)}: {_short(e)}" for e in errors]


def response_problem(endpoint_schema: str, data: Any) -> str | None:
    """The first shape problem of a 9router response, or None when it fits.

    Only the first is looked for: a hostile answer of a million wrong items would otherwise build
    a million errors (gigabytes) to report one.
    """
    error = next(iter(validator(f"responses/{endpoint_schema}").iter_errors(data)), None)
    return None if error is None else f"{location(error)}: {_short(error)}"


def _short(error: ValidationError) -> str:
    # jsonschema's message repr()s the offending value: a megabyte string makes a megabyte message.
    return _short_text(error.message, 160)


def _short_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
