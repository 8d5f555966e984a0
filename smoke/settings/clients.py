"""`--clients` / CLIENTS / the config's `clients:`: which client dialects to probe, with which model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from smoke.inputs import parse_list
from smoke.settings.fields import CLIENT_NAMES, Given


def select_clients(
    chosen: Given | None, configured: Any, config_path: Path | None
) -> tuple[tuple[str, ...], dict[str, str], list[str]]:
    """Selected client dialects (flag/env `CLIENTS` or config `clients:`) and per-client models.

    The value is `all`, `none` or a comma list (a list in the config); the config may instead map
    each name to `{model: PROVIDER/MODEL}` (or null for --model). A flag selects; the config's
    models still apply to what it selects."""
    problems: list[str] = []
    models: dict[str, str] = {}
    if isinstance(configured, dict):
        for name, options in configured.items():
            model = options.get("model") if isinstance(options, dict) else None
            if isinstance(model, str) and model.strip():
                models[str(name)] = model.strip()
    if chosen is None:
        return (), models, problems
    value = chosen.value
    if isinstance(value, dict):
        names = [str(n) for n in value]
    elif isinstance(value, list):
        names = [str(n).strip() for n in value if str(n).strip()]
    else:
        names = parse_list(str(value))
    if names in (["all"], ["none"]):
        names = list(CLIENT_NAMES) if names == ["all"] else []
    unknown = [n for n in names if n not in CLIENT_NAMES]
    if unknown:
        problems.append(
            f"{chosen.origin}: {', '.join(repr(n) for n in unknown)} not a client (known: all, none, "
            f"{', '.join(CLIENT_NAMES)})"
        )
    for name, model in models.items():
        if name not in CLIENT_NAMES:
            problems.append(f"{config_path}: clients: {name!r} is not a client (known: {', '.join(CLIENT_NAMES)})")
        elif not re.fullmatch(r"[^\s/]+(/[^\s]+)?", model):
            problems.append(f"{config_path}: clients: {name}: {model!r} is not a model id (example: cc/claude-haiku)")
    return tuple(n for n in CLIENT_NAMES if n in names), models, problems
