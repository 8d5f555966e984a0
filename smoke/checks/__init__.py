"""One module per check, named after its id (`chat-completion` -> chat_completion.py); a helper shared
by several checks lives in a module that registers none (client_common.py). Importing this package
registers every check.

The import order is the checklist order, which is the order of every report.
"""
# ruff: noqa: I001, F401

from smoke.checks import deployment_identity  # first: which deployment answered heads every report
from smoke.checks import models_reachable
from smoke.checks import dashboard_login
from smoke.checks import provider_inventory
from smoke.checks import api_key_models
from smoke.checks import chat_completion
from smoke.checks import usage_pipeline
from smoke.checks import cloud_sync
from smoke.checks import baseline_regression
from smoke.checks import error_budget
from smoke.checks import account_state
from smoke.checks import routing_config
from smoke.checks import alias_combo
from smoke.checks import client_openai_stream  # client dialects: opt-in (--clients), last in every report
from smoke.checks import client_anthropic
from smoke.checks import client_responses
from smoke.checks import client_gemini
