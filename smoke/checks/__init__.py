"""One module per checklist section. Importing this package registers every check.

The import order is the checklist order, which is the order of every report.
"""
# ruff: noqa: I001, F401

from smoke.checks import identity  # first: which deployment answered heads every report
from smoke.checks import reachability
from smoke.checks import dashboard_auth
from smoke.checks import providers
from smoke.checks import api_keys
from smoke.checks import chat
from smoke.checks import usage
from smoke.checks import cloud_sync
from smoke.checks import baseline
from smoke.checks import error_budget
from smoke.checks import accounts
from smoke.checks import routing
from smoke.checks import aliases
from smoke.checks import client_openai_stream  # client dialects: opt-in (--clients), last in every report
from smoke.checks import client_anthropic
from smoke.checks import client_responses
from smoke.checks import client_gemini
