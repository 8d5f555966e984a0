"""Settings: flags, environment and config file merged into one frozen, validated object.

Precedence: flag > environment (or action input) > config file > default. Declared in
`fields.py` (Settings, Given) and `post.py` (the post-deploy expectations), each default once (the
config schema's); merged and validated by `resolve.build`, which reports every problem at once.
"""

from smoke.settings.fields import CLIENT_NAMES, NUMBERS, Given, Settings
from smoke.settings.post import AccountLimits, ErrorBudget, PostExpectations, WatchLimits, from_config
from smoke.settings.resolve import build

__all__ = [
    "CLIENT_NAMES",
    "NUMBERS",
    "AccountLimits",
    "ErrorBudget",
    "Given",
    "PostExpectations",
    "Settings",
    "WatchLimits",
    "build",
    "from_config",
]
