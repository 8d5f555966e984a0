"""JSON Schemas shipped in the package: config, report, and one per 9router response we read."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for `schema/<name>.json` (e.g. "config", "report", "responses/providers")."""
    text = resources.files("smoke").joinpath("schema", f"{name}.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def location(error: ValidationError) -> str:
    """`critical_providers[1]` style path of a validation error ("(top level)" for the root)."""
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def problems(name: str, data: Any) -> list[str]:
    """Every violation of schema `name`, each as `path: message`, in document order."""
    errors = sorted(validator(name).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{location(e)}: {_short(e)}" for e in errors]


def response_problem(endpoint_schema: str, data: Any) -> str | None:
    """The first shape problem of a 9router response, or None when it fits."""
    found = problems(f"responses/{endpoint_schema}", data)
    return found[0] if found else None


def _short(error: ValidationError) -> str:
    message = error.message
    return message if len(message) <= 160 else message[:157] + "..."
