"""One module per checklist section. Importing this package registers every check."""

from smoke.checks import (  # noqa: F401 - imported for registration, in checklist order
    api_keys,
    chat,
    cloud_sync,
    dashboard_auth,
    providers,
    reachability,
    usage,
)
