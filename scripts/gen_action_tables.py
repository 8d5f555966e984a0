#!/usr/bin/env python3
"""Regenerate the README's action inputs/outputs tables from action.yml.

    python scripts/gen_action_tables.py          # rewrite README.md between the markers
    python scripts/gen_action_tables.py --check  # exit 1 if README.md is stale (CI)

Only the text between `<!-- action-inputs:start -->`/`<!-- action-inputs:end -->` and
`<!-- action-outputs:start -->`/`<!-- action-outputs:end -->` is touched.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKERS = {"inputs": "action-inputs", "outputs": "action-outputs"}


def _cell(text: Any) -> str:
    """One Markdown table cell: single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render_tables(action: dict[str, Any]) -> dict[str, str]:
    """The two Markdown tables, keyed "inputs" and "outputs", in action.yml order."""
    inputs = ["| Input | Required | Description |", "|---|---|---|"]
    for name, spec in (action.get("inputs") or {}).items():
        required = "yes" if spec.get("required") else "no"
        inputs.append(f"| `{name}` | {required} | {_cell(spec.get('description', ''))} |")
    outputs = ["| Output | Description |", "|---|---|"]
    for name, spec in (action.get("outputs") or {}).items():
        outputs.append(f"| `{name}` | {_cell(spec.get('description', ''))} |")
    return {"inputs": "\n".join(inputs), "outputs": "\n".join(outputs)}


def update_readme(readme: str, tables: dict[str, str]) -> str:
    """README text with each table placed between its markers. Raises ValueError if a marker is missing."""
    for key, marker in MARKERS.items():
        pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
        if not pattern.search(readme):
            raise ValueError(f"README.md has no <!-- {marker}:start --> ... <!-- {marker}:end --> block")
        readme = pattern.sub(lambda m, key=key: m.group(1) + tables[key] + "\n" + m.group(2), readme, count=1)
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs, change nothing")
    args = parser.parse_args(argv)
    action = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    readme_path = ROOT / "README.md"
    current = readme_path.read_text("utf-8")
    wanted = update_readme(current, render_tables(action))
    if current == wanted:
        return 0
    if args.check:
        print(
            "README.md action tables differ from action.yml: run python scripts/gen_action_tables.py", file=sys.stderr
        )
        return 1
    readme_path.write_text(wanted, "utf-8")
    print("README.md action tables updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
