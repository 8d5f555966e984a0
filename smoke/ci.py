"""Where the gate runs: inside a GitHub Actions job or not.

It decides whether a run publishes GitHub's outputs, summary and annotations itself
(smoke/reports/github.py) and so whether the action's entry point has to. A leaf module: the CLI
asks it after every run without importing the report writers.
"""

from __future__ import annotations

import os


def in_github_actions() -> bool:
    """True inside a GitHub Actions job (the action's container or a plain `run:` step)."""
    return os.environ.get("GITHUB_ACTIONS") == "true"
