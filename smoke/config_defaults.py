"""Every config file setting's default, declared once: the `default` keywords of schema/config.json.

Settings, the post-deploy expectations and http.RetryPolicy take their defaults from here, so a
default is written in one place and the schema a user reads states it. A leaf module (json and
the package's data only): anything may import it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("smoke").joinpath("schema", "config.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def config_default(*path: str) -> Any:
    """The declared default of the setting at `path` in the config file, e.g. ("timeouts", "request_seconds").

    KeyError when the schema declares no default there: a setting without one is a bug caught at import."""
    node = _schema()
    for key in path:
        node = node["properties"][key]
    return node["default"]


def declared_defaults() -> dict[tuple[str, ...], Any]:
    """Every (path, default) the schema declares, for tests and docs."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        if "default" in node:
            found[path] = node["default"]
        for key, child in node.get("properties", {}).items():
            walk(child, (*path, key))

    walk(_schema(), ())
    return found
