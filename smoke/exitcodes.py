"""Exit codes: one place, one meaning each, and the one function that picks one. GitLab users can
`allow_failure: exit_codes: [1]`."""

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


def for_signal(signum: int) -> int:
    """128 + the signal number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
    code = 128 + signum
    return ExitCode(code) if code in ExitCode._value2member_map_ else code


def exit_code(
    passed: bool, *, signum: int | None = None, crashed: bool = False, unwritten: bool = False, rollback: bool = False
) -> int:
    """The exit status of a run or a watch, and the only place it is decided. In order:

    a watch's rollback signal (1: a rollback job keys on it, whatever else happened); a signal that
    ended it (130/143: never reported as passed); a crash in the gate (3); a failed verdict (1);
    a report file not written (3: a green verdict whose files are missing is no pass); else 0.
    """
    if rollback:
        return ExitCode.GATE_FAILED
    if signum is not None:
        return for_signal(signum)
    if crashed:
        return ExitCode.INTERNAL_ERROR
    if not passed:
        return ExitCode.GATE_FAILED
    return ExitCode.INTERNAL_ERROR if unwritten else ExitCode.PASSED
