"""usage-pipeline: recorded chats pass on a real 9router, whether the login or the chat ends first;
a pipeline that stops recording fails (fake router: a real one cannot be made to stop)."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from smoke.checks.usage_pipeline import UsageMark, latest_record, recorded_since
from tests.gate import run_gate, stack_args
from tests.harness.fake_router import FakeRouter, healthy_routes

KEY = "sk-test-0123456789"
ARGS = ["--api-key", KEY, "--model", "fake/fake-small", "--password", "pw-for-fake"]
KEPT = {"after", "latest_after", "polls", "judged_by", "chat_answered_at", "chat_ms"}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the judgement, at its edges -------------------------------------------------------------

DATE = datetime(2026, 12, 1, 14, 47, 6, tzinfo=UTC)  # a Date header: whole seconds


@pytest.mark.parametrize(
    ("record", "chat_ms", "recorded"),
    [
        (DATE + timedelta(milliseconds=993), 500, True),  # stamped at the end, same second as Date
        (DATE - timedelta(milliseconds=1), 0, True),  # stamped just before Date ticked over
        (DATE - timedelta(milliseconds=500), 500, True),  # stamped when the 500 ms chat arrived
        (DATE - timedelta(milliseconds=1500), 500, True),  # the edge: Date - latency - 1 s margin
        (DATE - timedelta(milliseconds=1501), 500, False),  # older: not our chat
        (DATE - timedelta(hours=1), 20, False),  # the pipeline stopped an hour ago
    ],
)
def test_the_newest_record_is_judged_against_the_chat_answers_date(record, chat_ms, recorded):
    after = UsageMark(total_requests=7, latest=iso(record))
    assert (recorded_since(after, None, DATE, chat_ms) is not None) is recorded


def test_count_growth_since_a_snapshot_is_enough_and_no_growth_falls_back_to_time():
    before, grown = UsageMark(7, iso(DATE - timedelta(hours=1))), UsageMark(8, iso(DATE - timedelta(hours=1)))
    assert recorded_since(grown, before, None, 0) == ("count", "totalRequests 7 -> 8")
    # The snapshot was read while the chat was in flight and already held our row: time decides.
    same = UsageMark(8, iso(DATE + timedelta(milliseconds=10)))
    assert recorded_since(same, UsageMark(8, same.latest), DATE, 30)[0] == "time"
    assert recorded_since(UsageMark(7, before.latest), before, DATE, 30) is None
    assert recorded_since(UsageMark(7, None), None, None, 30) is None  # no clock, no snapshot: no verdict


def test_the_newest_record_comes_from_recent_requests_or_last_used():
    data = {
        "recentRequests": [{"timestamp": "2026-12-01T14:47:05.120Z"}, {"timestamp": "bad"}, "x"],
        # lastUsed keeps rows with 0 tokens, which recentRequests drops
        "byModel": {"fake-small (p)": {"lastUsed": "2026-12-01T14:47:06.204Z"}, "other": {}},
    }
    assert latest_record(data) == "2026-12-01T14:47:06.204Z"
    assert latest_record({"recentRequests": []}) is None


# --- a real 9router ---------------------------------------------------------------------------


def test_the_chat_is_seen_in_usage_history_of_a_real_router(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    check = result.check("usage-pipeline")
    assert check["status"] == "pass", check["message"]
    # An instant chat ends long before the login (bcrypt): no snapshot, judged by the server's clock.
    assert check["evidence"]["judged_by"] in {"count", "time"}
    answered = datetime.fromisoformat(check["evidence"]["chat_answered_at"].replace("Z", "+00:00"))
    latest = datetime.fromisoformat(check["evidence"]["latest_after"].replace("Z", "+00:00"))
    assert latest >= answered - timedelta(seconds=1)
    # Only counts and times are kept: usage history carries full API keys.
    assert set(check["evidence"]) <= KEPT | {"before", "latest_before"}


def test_a_slow_chat_gets_a_snapshot_while_in_flight_and_is_judged_by_count(router_stack, upstream, out_dir):
    upstream.set_latency(0.6)  # the login (~150 ms) ends while the chat is still in flight
    result = run_gate(out_dir, *stack_args(router_stack))
    check = result.check("usage-pipeline")
    assert check["status"] == "pass", check["message"]
    assert check["evidence"]["judged_by"] == "count"
    assert check["evidence"]["after"] == check["evidence"]["before"] + 1
    # The chat did not wait for the login: it was sent before the login answered.
    rows = {r["path"]: r for r in result.report["requests"] if r["path"] in ("/api/auth/login", "/v1/chat/completions")}
    login, chat = rows["/api/auth/login"], rows["/v1/chat/completions"]
    assert chat["start_ms"] < login["start_ms"] + login["elapsed_ms"]


@pytest.mark.parametrize("latency", [0.0, 0.3, 0.0, 0.9, 0.0])
def test_a_healthy_real_router_never_fails_the_usage_check(router_stack, upstream, out_dir, latency):
    """Back-to-back runs across second boundaries and chat latencies: never a false alarm."""
    upstream.set_latency(latency)
    result = run_gate(out_dir, *stack_args(router_stack))
    check = result.check("usage-pipeline")
    assert check["status"] == "pass", check["message"]
    assert check["evidence"]["polls"] == 1  # 9router writes the row before it answers the chat


# --- a pipeline that stops recording (fake router) ----------------------------------------------


def stale_history(total: int, latest: str) -> dict:
    return {"totalRequests": total, "recentRequests": [{"timestamp": latest}], "byModel": {"m": {"lastUsed": latest}}}


def test_a_usage_pipeline_that_records_nothing_fails_after_polling(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {usage_wait_seconds: 1}\n")
    with FakeRouter(healthy_routes(KEY, total_requests=lambda: 7)) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS, "--config", str(config))
    check = result.check("usage-pipeline")
    assert check["status"] == "fail"
    assert check["message"].startswith("the successful chat was not recorded within 1s: totalRequests stayed 7")
    assert check["evidence"]["polls"] >= 2
    assert result.exit_code == 1  # usage is in the default P1 scope (all)


def test_a_pipeline_that_stopped_recording_a_minute_ago_fails(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {usage_wait_seconds: 0.6}\n")
    stopped = iso(datetime.now(UTC) - timedelta(minutes=1))
    routes = healthy_routes(KEY)
    routes["GET /api/usage/history"] = lambda req: (200, {}, stale_history(41, stopped))
    with FakeRouter(routes) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS, "--config", str(config))
    check = result.check("usage-pipeline")
    assert check["status"] == "fail"
    assert f"the latest record is {stopped}, older than" in check["message"]
    assert result.exit_code == 1


def test_a_router_that_stamps_rows_when_the_request_arrives_passes(out_dir):
    """A slow chat stamped at its start, answered with a Date a second later: still recorded."""
    arrived: list[str] = []
    routes = healthy_routes(KEY)
    answer = routes["POST /v1/chat/completions"]

    def slow_chat(req):
        arrived.append(iso(datetime.now(UTC)))
        time.sleep(0.8)
        return answer(req)

    routes["POST /v1/chat/completions"] = slow_chat
    never = "2020-01-01T00:00:00Z"
    routes["GET /api/usage/history"] = lambda req: (200, {}, stale_history(41, arrived[-1] if arrived else never))
    with FakeRouter(routes) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS)
    check = result.check("usage-pipeline")
    assert check["status"] == "pass", check["message"]
    assert check["evidence"]["judged_by"] == "time"  # the count never moved


def test_the_date_header_is_read_as_the_servers_clock():
    from smoke.checks.chat_completion import server_time

    assert server_time(format_datetime(DATE, usegmt=True)) == "2026-12-01T14:47:06Z"
    later = format_datetime(DATE + timedelta(seconds=1), usegmt=True)
    # Behind a proxy that adds its own Date, requests joins the two: the earliest counts.
    assert server_time(f"{later}, {format_datetime(DATE, usegmt=True)}") == "2026-12-01T14:47:06Z"
    assert server_time("not a date") is None
    assert server_time(None) is None


def test_the_usage_failure_does_not_block_when_usage_is_out_of_scope(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {usage_wait_seconds: 0.5}\n")
    with FakeRouter(healthy_routes(KEY, total_requests=lambda: 7)) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS, "--config", str(config), "--p1-scope", "none")
    assert result.status("usage-pipeline") == "fail"
    assert "not recorded within 0.5s" in result.check("usage-pipeline")["message"]
    assert result.exit_code == 0, result.stdout
    assert result.report["verdict"] == "pass"
