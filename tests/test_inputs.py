"""smoke/inputs.py: a value with a line break is refused with one sentence that never repeats it."""

from __future__ import annotations

import pytest

from smoke.inputs import check_base_url, line_break_problems, one_line_problem
from smoke.settings import Given


@pytest.mark.parametrize(
    ("value", "is_list", "problem"),
    [
        ("0.5.69", False, None),
        ("has a\ttab", False, None),
        ("0.5.69\n::error::x", False, "contains a line break (\\n at character 7); give it on one line"),
        ("0.5.69\r::error::x", False, "contains a line break (\\r at character 7); give it on one line"),
        ("a\u2028b", False, "contains a line break (\\u2028 at character 2); give it on one line"),
        ("a\x0bb", False, "contains a line break (\\x0b at character 2); give it on one line"),
        ("fake\ncc", True, None),  # a newline separates list items
        ("fake\r\ncc", True, None),
        ("fake\rcc", True, "contains a line break other than a newline (\\r at character 5); separate items"),
    ],
)
def test_one_line_problem(value: str, is_list: bool, problem: str | None) -> None:
    found = one_line_problem(value, is_list=is_list)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_a_secret_input_with_a_line_break_is_named_but_never_shown() -> None:
    problems = line_break_problems({"password": Given("pass\nword-secret", "--password")})
    assert problems == ["--password: contains a line break; give it on one line"]


def test_every_text_input_is_checked_lists_and_headers_by_their_own_rules() -> None:
    given = {
        "expect_version": Given("1\n2", "input expect-version"),
        "junit": Given("j.xml\r", "--junit"),
        "skip": Given("cloud-sync\nusage-pipeline", "--skip"),
        "headers": Given(["X-A=1\nX-B=2"], "--header"),  # one header per line, parsed in settings
        "insecure": Given(True, "--insecure"),
    }
    assert line_break_problems(given) == [
        "input expect-version: contains a line break (\\n at character 2); give it on one line",
        "--junit: contains a line break (\\r at character 6); give it on one line",
    ]


def test_a_base_url_with_a_line_break_is_refused_although_urlsplit_would_drop_it() -> None:
    assert check_base_url("http://127.0.0.1:9/\n::error::x") == (
        "",
        "the URL contains a line break (\\n at character 20); give it on one line",
    )
    assert check_base_url("  http://127.0.0.1:9/ \n") == ("http://127.0.0.1:9", None)
