"""`python -m smoke` is the same program as the `9router-smoke` console script."""

from smoke.cli import main

raise SystemExit(main())
