"""Exit codes: one place, one meaning each. GitLab users can `allow_failure: exit_codes: [1]`."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process exit status tells the CI job."""

    # Every blocking check passed (or was out of scope).
    PASSED = 0
    # The gate ran and found a blocking failure: a P0, or a P1 whose scope is in --p1-scope.
    # An unreachable target is a failed P0 check, so it lands here too.
    GATE_FAILED = 1
    # Bad flags, inputs, environment or config file: nothing was sent to the target.
    USAGE_ERROR = 2
    # A bug or an environment problem in the gate itself.
    INTERNAL_ERROR = 3
    # 128 + SIGINT: interrupted; partial reports were still written.
    INTERRUPTED = 130
    # 128 + SIGTERM (a CI job cancelled or timed out): stopped; partial reports were still written.
    # A run that hits its own --deadline is not this: unfinished checks are errors, exit 0/1.
    TERMINATED = 143
