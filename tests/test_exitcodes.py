"""The exit status of a run, a watch or a merge, as a table (smoke/exitcodes.py exit_code)."""

from __future__ import annotations

import signal

import pytest

from smoke.exitcodes import ExitCode, exit_code, for_signal

INT, TERM = int(signal.SIGINT), int(signal.SIGTERM)


@pytest.mark.parametrize(
    ("passed", "signum", "crashed", "unwritten", "rollback", "code"),
    [
        (True, None, False, False, False, ExitCode.PASSED),
        (False, None, False, False, False, ExitCode.GATE_FAILED),
        (True, None, False, True, False, ExitCode.INTERNAL_ERROR),  # a green verdict without its files is no pass
        (False, None, False, True, False, ExitCode.GATE_FAILED),  # a red one stays red
        (True, None, True, False, False, ExitCode.INTERNAL_ERROR),
        (False, None, True, False, False, ExitCode.INTERNAL_ERROR),  # a crash wins over the verdict
        (True, INT, False, False, False, ExitCode.INTERRUPTED),  # cut short: never reported as passed
        (False, TERM, True, True, False, ExitCode.TERMINATED),  # the signal wins over all but a rollback
        (True, None, False, False, True, ExitCode.GATE_FAILED),  # a rollback job keys on 1
        (True, TERM, True, True, True, ExitCode.GATE_FAILED),  # ...whatever else happened
    ],
)
def test_exit_code_table(passed, signum, crashed, unwritten, rollback, code) -> None:
    assert exit_code(passed, signum=signum, crashed=crashed, unwritten=unwritten, rollback=rollback) == code


def test_a_signal_gives_128_plus_its_number() -> None:
    assert for_signal(INT) == 130 and for_signal(TERM) == 143
    assert for_signal(int(signal.SIGHUP)) == 129  # not one of ours, still the shell's convention
