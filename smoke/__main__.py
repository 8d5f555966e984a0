"""`python -m smoke` is the same program as the `9router-smoke` console script."""

from smoke.cli import console_main

console_main()
