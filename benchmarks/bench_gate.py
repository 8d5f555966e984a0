"""Time to verdict of the pre-deploy gate, side by side with a curl script and Newman, in one run.

    python benchmarks/bench_gate.py                      # every figure of issue 14, ~3 minutes
    python benchmarks/bench_gate.py --chat-latency 0.5   # one chat latency only
    python benchmarks/bench_gate.py --watch              # CPU and memory of a 2-minute watch

Starts a real 9router and the fake upstream on 127.0.0.1 exactly as the test suite does
(tests/harness), then, for each chat latency (default: 0 and 500 ms), alternates three
contenders over several rounds:

- ours: `9router-smoke run --phase pre` from process start to exit, writing JUnit, summary and
  JSON report as the GitHub Action does;
- curl: benchmarks/curl_probes.sh, the same requests sent one after the other;
- newman: benchmarks/newman/collection.json (Newman is installed from npm into the bench cache).

It prints medians and ratios per chat latency, the gate's critical path (from its own
per-request timings), the time from process start to the first request (measured by a loopback
relay, in separate rounds), CPU time and peak memory, the time to verdict against a hung target
(a server that accepts connections and never answers), the image's size above its base (built
with buildah when run as root), and each target of issue 14 as MET or MISSED. It asserts
nothing and exits 0 unless the stack cannot be started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.harness is the one way we start 9router and the upstream

from tests.harness.router import VERSION as NINEROUTER_VERSION  # noqa: E402
from tests.harness.router import NineRouter, Stack, provision  # noqa: E402
from tests.harness.upstream import FakeUpstream  # noqa: E402

NEWMAN_VERSION = "6.2.2"
# Newman and our bytecode cache; SMOKE_BENCH_CACHE moves them (e.g. off a shared .cache).
BENCH_CACHE = Path(os.environ.get("SMOKE_BENCH_CACHE", REPO / ".cache" / "bench"))
NEWMAN_DIR = BENCH_CACHE / "newman"
PYCACHE = BENCH_CACHE / "pycache"
CURL_SCRIPT = REPO / "benchmarks" / "curl_probes.sh"
COLLECTION = REPO / "benchmarks" / "newman" / "collection.json"

# Endpoints a run reads more than once on purpose: /v1/models without and with the key, and the
# usage history while the chat is in flight and after it. Anything else seen twice is repeated work.
EXPECTED_REPEATS = {("GET", "/api/v1/models"): 2, ("GET", "/api/usage/history"): 2}

# Issue 14 targets (ratios of medians in one run).
CURL_RATIO = {0.0: 1.1, 0.5: 0.85}  # ours / curl script, by chat latency in seconds
NEWMAN_RATIO = 0.3  # ours / Newman at 0 ms chat latency
FIRST_REQUEST_MS = 120.0  # process start -> first request seen by the server
PEAK_RSS_MIB = 40.0
IMAGE_ABOVE_BASE_MB = 15.0
WATCH_CORE_SHARE = 0.01  # issue 6, the watch


@dataclass
class Sample:
    """One timed run of one contender."""

    contender: str
    round: int
    wall_ms: float
    cpu_ms: float  # user + system, the process and everything it waited for
    peak_rss_mb: float
    exit_code: int
    relayed: bool = False  # a start-up round through the relay: not part of the wall-time medians
    first_request_ms: float | None = None  # process start -> first TCP connection (relay rounds)
    critical_ms: float | None = None  # ours: first request sent -> last answer (its own report)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # ours: the report's requests
    run_ms: float | None = None  # ours: duration_ms from its own report (first to last check)
    requests: dict[str, int] = field(default_factory=dict)  # ours: "METHOD /path" -> count
    usage_polls: int | None = None  # ours: usage-history reads after the chat
    usage_judged_by: str | None = None  # ours: "count" (a snapshot existed) or "time" (Date header)


@dataclass
class Contender:
    """A command that runs the pre-deploy probes against the stack once."""

    name: str
    label: str
    command: Callable[[str, Path], list[str]]  # (base_url, scratch dir) -> argv
    env: dict[str, str]


# --- processes ------------------------------------------------------------------------------


# GNU time, for peak memory: wait4's ru_maxrss of a child spawned from this process starts at
# this process's own peak (Linux carries it over exec), so it would read ~35 MB for a 4 MB curl.
# GNU time forks the contender from its own tiny process and reports that child's true peak.
GNU_TIME = Path("/usr/bin/time") if Path("/usr/bin/time").exists() else None


def run_timed(
    argv: list[str], env: dict[str, str], log: Path, limit_s: float = 120.0
) -> tuple[float, float, float, int]:
    """Run argv to completion: wall ms, CPU ms (user + system), peak RSS MB, exit code.

    Wall time and CPU time come from this process (wait4: the child's usage plus that of every
    process it waited for, so a script's curls and Newman's node count). A run still going after
    `limit_s` is killed and shows up as a failed run.
    """
    peak_file = log.with_suffix(".peak")
    command = [str(GNU_TIME), "-f", "%M", "-o", str(peak_file), *argv] if GNU_TIME else argv
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        watchdog = threading.Timer(limit_s, _kill_group, args=(proc.pid,))
        watchdog.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    peak_kb = float(usage.ru_maxrss)  # an upper bound without GNU time (see above)
    with contextlib.suppress(OSError, ValueError, IndexError):
        peak_kb = float(peak_file.read_text().split()[-1])
    return wall * 1000, cpu * 1000, peak_kb / 1024, proc.returncode


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class FirstConnection:
    """A loopback TCP relay in front of 9router that notes when the first connection arrives.

    Only the start-up rounds go through it (it adds a little latency to every request), so those
    runs are not part of the wall-time medians.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.first: float | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def arm(self) -> None:
        with self._lock:
            self.first = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                if self.first is None:
                    self.first = now
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pump, args=(server, client), daemon=True)
        back.start()
        _pump(client, server)
        back.join()
        client.close()
        server.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


# --- the stack and the contenders -----------------------------------------------------------


@contextlib.contextmanager
def started_stack(chat_latency: float) -> Iterator[Stack]:
    """Fake upstream + provisioned real 9router on 127.0.0.1, as tests/conftest.py builds them."""
    with FakeUpstream() as upstream:
        router = NineRouter()
        try:
            router.start()
            stack = provision(router, upstream)
            upstream.set_latency(chat_latency)  # after provisioning: its own check chat stays quick
            yield stack
        finally:
            router.close()


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a contender: no proxy for loopback, plus its own variables."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)
    return env


def python_env(extra: dict[str, str]) -> dict[str, str]:
    """clean_env for a Python process, with its bytecode cached as in an installed package.

    pip compiles a package's .pyc files when it installs it. A source checkout run with
    PYTHONDONTWRITEBYTECODE=1 (as some shells and sandboxes set) would instead compile every
    module of the gate on every run (~60 ms here), which no installed gate pays. The cache lives in
    .cache/bench/pycache, out of the source tree, and the untimed warm-up run fills it.
    """
    env = clean_env(extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def our_command(how: str) -> tuple[list[str], str]:
    """argv prefix for our gate and a sentence saying which entry point it is."""
    script = Path(sys.executable).parent / "9router-smoke"
    if how == "script" and script.exists():
        return [str(script)], f"console script {script} (pip's `9router-smoke` entry point)"
    return [sys.executable, "-m", "smoke"], f"{sys.executable} -m smoke"


def newman_binary(install: bool) -> Path | None:
    """Newman from .cache/bench/newman, installed from npm there on first use."""
    binary = NEWMAN_DIR / "node_modules" / ".bin" / "newman"
    if binary.exists() or not install:
        return binary if binary.exists() else None
    npm = shutil.which("npm")
    if npm is None:
        print("newman: npm not found, Newman is left out of this run")
        return None
    NEWMAN_DIR.mkdir(parents=True, exist_ok=True)
    print(f"newman: installing newman@{NEWMAN_VERSION} into {NEWMAN_DIR} ...", flush=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(NEWMAN_DIR),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"newman@{NEWMAN_VERSION}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        print(f"newman: npm install failed ({result.returncode}); Newman is left out\n{result.stderr[-1500:]}")
        return None
    return binary


def gate_args(stack: Stack, out: Path) -> list[str]:
    """The model and the three report files, as the GitHub Action writes them, for run and watch."""
    return [
        "--model",
        stack.model,
        "--junit",
        str(out / "junit.xml"),
        "--summary",
        str(out / "summary.md"),
        "--report",
        str(out / "report.json"),
    ]


def contenders(stack: Stack, ours_how: str, newman: Path | None) -> tuple[list[Contender], str]:
    """The three ways of running the same probes, each reading the target from its own settings."""
    ours_prefix, ours_label = our_command(ours_how)
    secrets = {"API_KEY": stack.api_key, "DASHBOARD_PASSWORD": stack.password}

    def ours(base_url: str, out: Path) -> list[str]:
        return [
            *ours_prefix,
            "run",
            "--phase",
            "pre",
            "--base-url",
            base_url,
            *gate_args(stack, out),
        ]

    found = [Contender("ours", "9router-smoke", ours, python_env(secrets))]
    curl_env = clean_env({**secrets, "MODEL": stack.model})
    # The script reads BASE_URL from the environment; the relay rounds point it elsewhere.
    found.append(Contender("curl", "curl script", lambda _url, _out: ["bash", str(CURL_SCRIPT)], curl_env))
    if newman is not None:

        def run_newman(base_url: str, out: Path) -> list[str]:
            environment = {
                "name": "bench",
                "values": [
                    {"key": "baseUrl", "value": base_url},
                    {"key": "apiKey", "value": stack.api_key},
                    {"key": "password", "value": stack.password},
                    {"key": "model", "value": stack.model},
                ],
            }
            env_file = out / "environment.json"  # secrets in a file, not on the command line
            env_file.write_text(json.dumps(environment))
            return [str(newman), "run", str(COLLECTION), "-e", str(env_file), "--color", "off", "--disable-unicode"]

        found.append(Contender("newman", f"newman {NEWMAN_VERSION}", run_newman, clean_env({})))
    return found, ours_label


# --- measuring ------------------------------------------------------------------------------


def read_our_report(sample: Sample, out: Path) -> None:
    """Critical-path server time and request counts from the gate's own JSON report."""
    try:
        report = json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return
    sent = report.get("requests", [])
    timed = [r for r in sent if "start_ms" in r]
    if timed:
        sample.critical_ms = float(
            max(r["start_ms"] + r["elapsed_ms"] for r in timed) - min(r["start_ms"] for r in timed)
        )
        sample.timeline = sorted(timed, key=lambda r: r["start_ms"])
    sample.run_ms = float(report.get("duration_ms", 0))
    sample.requests = dict(Counter(f"{r['method']} {r['path']}" for r in sent))
    usage = next((c for c in report.get("checks", []) if c["id"] == "usage-pipeline"), None)
    if usage is not None:
        sample.usage_polls = usage.get("evidence", {}).get("polls")
        sample.usage_judged_by = usage.get("evidence", {}).get("judged_by")


def one_run(
    contender: Contender, base_url: str, round_no: int, scratch: Path, relayed: bool = False, quiet: bool = False
) -> Sample:
    out = Path(tempfile.mkdtemp(prefix=f"{contender.name}-", dir=scratch))
    # Every contender gets the target in BASE_URL too (the curl script reads only that).
    env = {**contender.env, "BASE_URL": base_url}
    wall, cpu, rss, code = run_timed(contender.command(base_url, out), env, out / "output.log")
    sample = Sample(contender.name, round_no, wall, cpu, rss, code, relayed)
    if contender.name == "ours":
        read_our_report(sample, out)
    if code != 0 and not quiet:
        tail = (out / "output.log").read_text(errors="replace")[-1500:]
        print(f"  ! {contender.label} exited {code} in round {round_no}; its output ends with:\n{tail}", flush=True)
    return sample


def rotated(items: list[Contender], by: int) -> list[Contender]:
    """Each round starts with a different contender, so none always runs on a warmer server."""
    shift = by % len(items)
    return items[shift:] + items[:shift]


def measure(stack: Stack, entrants: list[Contender], rounds: int, startup_rounds: int, scratch: Path) -> list[Sample]:
    samples: list[Sample] = []
    print("warm-up: one untimed run of each (bytecode, disk cache, node modules) ...", flush=True)
    for contender in [*entrants, FLOOR]:
        one_run(contender, stack.base_url, 0, scratch)
    for round_no in range(1, rounds + 1):
        for contender in rotated(entrants, round_no):
            samples.append(one_run(contender, stack.base_url, round_no, scratch))
        line = "  ".join(f"{s.contender} {s.wall_ms:6.0f} ms" for s in samples[-len(entrants) :])
        print(f"round {round_no:2d}: {line}", flush=True)
    assert stack.router is not None
    relay = FirstConnection(stack.router.port)
    try:
        for round_no in range(1, startup_rounds + 1):
            for contender in rotated(entrants, round_no):
                relay.arm()
                started = time.monotonic()
                sample = one_run(contender, f"http://127.0.0.1:{relay.port}", round_no, scratch, relayed=True)
                if relay.first is not None:
                    sample.first_request_ms = (relay.first - started) * 1000
                samples.append(sample)
            samples.append(one_run(FLOOR, stack.base_url, round_no, scratch, relayed=True))
    finally:
        relay.close()
    return samples


# What any Python gate built on click and requests pays before it can send anything: interpreter
# start-up, site-packages, and those two imports. Timed in the relay rounds, for context.
FLOOR = Contender(
    "floor", "python floor", lambda _url, _out: [sys.executable, "-c", "import click, requests"], python_env({})
)


# --- reporting ------------------------------------------------------------------------------


def med(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: list[float]) -> str:
    return f"{min(values):5.0f}-{max(values):<5.0f}" if values else "-"


def verdict(ok: bool) -> str:
    return "MET   " if ok else "MISSED"


def summarise(samples: list[Sample], entrants: list[Contender], chat_latency: float) -> dict[str, Any]:
    """Print the table of one chat latency; return its figures (for the targets and --json)."""
    timed = [s for s in samples if not s.relayed]
    relayed = [s for s in samples if s.relayed]
    figures: dict[str, Any] = {"chat_latency_s": chat_latency}
    print(f"\n--- chat latency {chat_latency * 1000:.0f} ms: {len({s.round for s in timed})} rounds ---")
    print(f"{'contender':<16}{'median':>9}{'min-max':>14}{'cpu':>9}{'peak RSS':>12}{'to 1st request':>16}  failed")
    for contender in entrants:
        mine = [s for s in timed if s.contender == contender.name]
        walls = [s.wall_ms for s in mine]
        first = med([s.first_request_ms for s in relayed if s.contender == contender.name])
        row = {
            "median_ms": med(walls),
            "min_ms": min(walls, default=None),
            "max_ms": max(walls, default=None),
            "cpu_ms": med([s.cpu_ms for s in mine]),
            "peak_rss_mib": max((s.peak_rss_mb for s in mine), default=None),
            "first_request_ms": first,
            "failed_runs": sum(s.exit_code != 0 for s in samples if s.contender == contender.name),
        }
        figures[contender.name] = row
        first_text = f"{first:.0f} ms" if first is not None else "-"
        print(
            f"{contender.label:<16}{row['median_ms']:>6.0f} ms{spread(walls):>14}{row['cpu_ms']:>6.0f} ms"
            f"{row['peak_rss_mib']:>7.0f} MiB{first_text:>16}  {row['failed_runs']}"
        )
    floor = med([s.wall_ms for s in relayed if s.contender == "floor"])
    figures["python_floor_ms"] = floor
    ours = [s for s in timed if s.contender == "ours"]
    ours_med = figures["ours"]["median_ms"]
    for other in ("curl", "newman"):
        if other in figures:
            figures[f"ours_over_{other}"] = ours_med / figures[other]["median_ms"]
            ratios = [o.wall_ms / x.wall_ms for o, x in paired_samples(timed, other) if x.wall_ms > 0]
            figures[f"ours_over_{other}_paired"] = med(ratios)
            print(
                f"ours / {other}: {figures[f'ours_over_{other}']:.2f} on the medians"
                f"  [per round: median {figures[f'ours_over_{other}_paired']:.2f}]"
            )
    critical = med([s.critical_ms for s in ours])
    run_ms = med([s.run_ms for s in ours])
    figures["ours"].update(critical_ms=critical, run_ms=run_ms)
    if floor is not None:
        print(f"floor: `python -c 'import click, requests'` takes {floor:.0f} ms (median)")
    if critical is not None and run_ms is not None:
        print(
            f"ours, first request sent to last answer (its JSON report): median {critical:.0f} ms; "
            f"first check to verdict (duration_ms) {run_ms:.0f} ms; process start, imports, reports and "
            f"exit: {ours_med - run_ms:.0f} ms"
        )
    counts = Counter[str]()
    for sample in ours:
        counts.update(sample.requests)
    runs = max(len(ours), 1)
    per_run = {k: v / runs for k, v in sorted(counts.items())}
    print("requests per gate run: " + ", ".join(f"{k} x{v:g}" for k, v in per_run.items()))
    repeated = [
        k
        for k, v in per_run.items()
        if v > EXPECTED_REPEATS.get(tuple(k.split(" ", 1)), 1)  # type: ignore[arg-type]
    ]
    print("repeated work: " + (", ".join(repeated) if repeated else "none (one login, one read of each endpoint)"))
    polls = [s.usage_polls for s in ours if s.usage_polls is not None]
    judged = Counter(s.usage_judged_by for s in ours if s.usage_judged_by)
    if polls:
        print(
            f"usage-pipeline: reads after the chat {dict(sorted(Counter(polls).items()))} (reads -> runs); "
            f"judged by {dict(judged)}"
        )
    figures["requests_per_run"] = per_run
    middle = sorted((s for s in ours if s.timeline), key=lambda s: s.wall_ms)
    if middle:
        typical = middle[len(middle) // 2]
        figures["timeline"] = typical.timeline
        print(f"timeline of the median run ({typical.wall_ms:.0f} ms; ms after the first check started):")
        for r in typical.timeline:
            end = r["start_ms"] + r["elapsed_ms"]
            print(f"  {r['start_ms']:>5} -> {end:>5}  {r['method']:<5}{r['path']:<28}{r['check']}")
    return figures


def targets(by_latency: dict[float, dict[str, Any]], hung: dict[str, Any] | None, image: dict[str, Any] | None) -> None:
    """Each target of issue 14, MET or MISSED, with the measured figure."""
    print("\n=== targets (issue 14): ratios of medians in this run; in brackets, per-round ratios ===")
    for latency, limit in CURL_RATIO.items():
        figures = by_latency.get(latency)
        if figures and "ours_over_curl" in figures:
            ratio = figures["ours_over_curl"]
            print(
                f"  {verdict(ratio <= limit)} ours / curl script at {latency * 1000:.0f} ms chat latency <= {limit}: "
                f"{ratio:.2f} ({figures['ours']['median_ms']:.0f} vs {figures['curl']['median_ms']:.0f} ms)"
                f"  [{figures['ours_over_curl_paired']:.2f}]"
            )
        else:
            print(f"  not measured: ours / curl script at {latency * 1000:.0f} ms (add it to --chat-latency)")
    figures = by_latency.get(0.0)
    if figures and "ours_over_newman" in figures:
        ratio = figures["ours_over_newman"]
        print(
            f"  {verdict(ratio <= NEWMAN_RATIO)} ours / Newman at 0 ms <= {NEWMAN_RATIO}: {ratio:.2f} "
            f"({figures['ours']['median_ms']:.0f} vs {figures['newman']['median_ms']:.0f} ms)"
            f"  [{figures['ours_over_newman_paired']:.2f}]"
        )
    else:
        print("  not measured: ours / Newman at 0 ms (needs npm and 0 in --chat-latency)")
    firsts = [f["ours"]["first_request_ms"] for f in by_latency.values() if f["ours"]["first_request_ms"] is not None]
    if firsts:
        first = firsts[0]
        met = verdict(first <= FIRST_REQUEST_MS)
        print(f"  {met} first request <= {FIRST_REQUEST_MS:.0f} ms after exec (median): {first:.0f} ms")
    peaks = [f["ours"]["peak_rss_mib"] for f in by_latency.values() if f["ours"]["peak_rss_mib"] is not None]
    if peaks:
        gnu = "" if GNU_TIME else " (an upper bound: no GNU time)"
        print(f"  {verdict(max(peaks) <= PEAK_RSS_MIB)} peak RSS <= {PEAK_RSS_MIB:.0f} MiB: {max(peaks):.1f} MiB{gnu}")
    if image and image.get("above_base_mb") is not None:
        above = image["above_base_mb"]
        print(
            f"  {verdict(above <= IMAGE_ABOVE_BASE_MB)} image layers above the base <= {IMAGE_ABOVE_BASE_MB:.0f} MB: "
            f"{above:.1f} MB (image {image['image_mb']:.1f} MB, base {image['base_mb']:.1f} MB)"
        )
    else:
        print(f"  not measured: image size ({(image or {}).get('why', 'skipped with --no-image')})")
    if hung:
        print(
            f"  (figure) time to verdict against a hung target: {hung['wall_ms'] / 1000:.1f} s, exit "
            f"{hung['exit_code']}; 1.5 x the request timeout would be {1.5 * hung['timeout_s']:.0f} s"
        )


def paired_samples(timed: list[Sample], other: str) -> list[tuple[Sample, Sample]]:
    """(ours, other) from the same round: run within a second or two of each other."""
    by_round: dict[int, dict[str, Sample]] = {}
    for sample in timed:
        by_round.setdefault(sample.round, {})[sample.contender] = sample
    return [(r["ours"], r[other]) for r in by_round.values() if "ours" in r and other in r]


def paired_differences(timed: list[Sample], other: str) -> list[float | None]:
    return [o.wall_ms - x.wall_ms for o, x in paired_samples(timed, other)]


# --- a hung target and the image --------------------------------------------------------------


class HungServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a wedged router or proxy)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, name="hung-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(client)  # kept open, never read, never answered

    def close(self) -> None:
        for sock in [self._listener, *self._held]:
            with contextlib.suppress(OSError):
                sock.close()


def hung_target(ours: Contender, scratch: Path) -> dict[str, Any]:
    """One run of our gate, default options, against a server that accepts and never answers."""
    server = HungServer()
    try:
        base_url = f"http://127.0.0.1:{server.port}"
        print(f"\nhung target: {base_url} accepts connections and never answers; one run of ours ...", flush=True)
        sample = one_run(ours, base_url, 0, scratch, relayed=True, quiet=True)  # exit 1 is the right answer
    finally:
        server.close()
    print(f"hung target: verdict after {sample.wall_ms / 1000:.1f} s, exit code {sample.exit_code}")
    return {"wall_ms": sample.wall_ms, "exit_code": sample.exit_code, "timeout_s": 10.0}


def image_size(scratch: Path) -> dict[str, Any]:
    """Build the Dockerfile with buildah on the local Debian base (as tests/test_container.py does)
    and compare its size with the base's. Needs root, buildah and podman."""
    if os.geteuid() != 0 or not (shutil.which("buildah") and shutil.which("podman")):
        return {"why": "needs root, buildah and podman: scripts/install-container-tools.sh"}
    print("\nimage: the base (scripts/install-container-tools.sh), then buildah bud ...", flush=True)
    tools = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-container-tools.sh")], capture_output=True, text=True, check=False
    )
    if tools.returncode != 0:
        return {"why": f"install-container-tools.sh failed: {tools.stderr.strip()[-300:]}"}
    base = tools.stdout.strip().splitlines()[-1]
    tag = f"localhost/9router-smoke:bench-{os.getpid()}"
    build = ["buildah", "bud", "--isolation", "chroot", "--layers", "--build-arg", f"BASE={base}", "-t", tag]
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.is_file():  # downloads here pass a TLS proxy whose CA only the host bundle has
        build += ["-v", f"{ca}:{ca}:ro"]
    log = scratch / "image-build.log"
    with log.open("wb") as out:
        built = subprocess.run([*build, "-f", str(REPO / "Dockerfile"), str(REPO)], stdout=out, stderr=out, check=False)
    if built.returncode != 0:
        return {"why": f"buildah bud failed; see {log}"}
    try:
        sizes = subprocess.run(
            ["podman", "image", "inspect", "--format", "{{.Size}}", tag, base], capture_output=True, text=True
        ).stdout.split()
        image_bytes, base_bytes = int(sizes[0]), int(sizes[1])
    except (ValueError, IndexError):
        return {"why": "podman image inspect gave no sizes"}
    finally:
        subprocess.run(["buildah", "rmi", tag], capture_output=True, check=False)
    figures = {
        "image_mb": image_bytes / 1e6,
        "base_mb": base_bytes / 1e6,
        "above_base_mb": (image_bytes - base_bytes) / 1e6,
        "base": base,
    }
    print(
        f"image: {figures['image_mb']:.1f} MB on {base} ({figures['base_mb']:.1f} MB): "
        f"{figures['above_base_mb']:.1f} MB of our layers"
    )
    return figures


# --- the watch --------------------------------------------------------------------------------


def proc_cpu_rss(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) and peak RSS MB of a live process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15 of stat)
    hwm = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
    return cpu, int(hwm) / 1024


def watch_mode(
    stack: Stack, ours_how: str, duration: str, interval: str, sustain: str, production_interval: str, scratch: Path
) -> dict[str, Any]:
    """Run `9router-smoke watch` once; CPU time and peak memory, projected to 10 minutes."""
    from smoke.inputs import parse_duration

    prefix, label = our_command(ours_how)
    out = Path(tempfile.mkdtemp(prefix="watch-", dir=scratch))
    argv = [
        *prefix,
        "watch",
        "--duration",
        duration,
        "--interval",
        interval,
        "--sustain",  # must be shorter than --duration (the default, 3m, is longer than a 2m watch)
        sustain,
        "--base-url",
        stack.base_url,
        *gate_args(stack, out),
    ]
    env = python_env({"API_KEY": stack.api_key, "DASHBOARD_PASSWORD": stack.password})
    print(f"watch: {label} watch --duration {duration} --interval {interval} ...", flush=True)
    assert stack.upstream is not None
    chats_before = stack.upstream.chat_requests
    trace: list[tuple[float, float, float]] = []  # (seconds since start, CPU seconds, peak RSS MB)
    log = out / "output.log"
    with log.open("wb") as sink:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env)
        limit = started + parse_duration(duration) + 120  # the watch ends by itself; this is a backstop
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > limit:
                proc.kill()
            now = proc_cpu_rss(proc.pid)
            if now is not None:
                trace.append((time.monotonic() - started, *now))
            time.sleep(1.0)
        wall = time.monotonic() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    figures: dict[str, Any] = {"exit_code": code, "wall_s": wall}
    text = log.read_text(errors="replace")
    if code == 2:
        reason = "it has no `watch` command yet" if "No such command" in text else "a usage error"
        print(f"watch: 9router-smoke exited 2 ({reason}); nothing to measure\n{text[-1500:]}")
        return figures
    cpu = usage.ru_utime + usage.ru_stime
    # VmHWM sampled from /proc: wait4's ru_maxrss would start at this process's own peak.
    peak = max((rss for _, _, rss in trace), default=0.0)
    chats = stack.upstream.chat_requests - chats_before
    # Steady state: the CPU slope after the first 10 s (start-up and the first rounds excluded);
    # its intercept at t=0 is the start-up cost (imports, the one login).
    steady = [(t, c) for t, c, _ in trace if t >= 10.0]
    if len(steady) >= 2 and steady[-1][0] > steady[0][0]:
        (t0, c0), (t1, c1) = steady[0], steady[-1]
        slope = (c1 - c0) / (t1 - t0)
        startup_cpu = max(0.0, c0 - slope * t0)
    else:
        slope, startup_cpu = cpu / max(wall, 1e-9), 0.0
    rounds = max(chats, 1)  # every round sends exactly one chat
    per_round = max(0.0, cpu - startup_cpu) / rounds
    dense = startup_cpu + slope * 600  # 10 minutes at the measured interval
    production_rounds = 600 / parse_duration(production_interval) + 1
    production = startup_cpu + production_rounds * per_round
    print(f"\nwatch exit code {code} after {wall:.1f} s (asked for {duration}); {rounds} round(s), one chat each")
    if code != 0:
        print(text[-1500:])
    print(f"CPU time: {cpu:.2f} s in total = {100 * cpu / wall:.2f}% of one core on average")
    print(
        f"start-up {startup_cpu:.2f} s CPU, then {1000 * per_round:.0f} ms CPU per round; "
        f"steady state at --interval {interval}: {100 * slope:.2f}% of one core"
    )
    print(f"peak memory: {peak:.0f} MB (VmHWM)")
    with contextlib.suppress(OSError, ValueError, KeyError):
        sent = Counter(f"{r['method']} {r['path']}" for r in json.loads((out / "report.json").read_text())["requests"])
        print("requests per round: " + ", ".join(f"{k} x{v / rounds:.2g}" for k, v in sorted(sent.items())))
    print(
        f"projected 10-minute watch at --interval {interval}: {dense:.1f} s CPU = {100 * dense / 600:.2f}% of one core"
    )
    print(
        f"projected 10-minute production watch at the default --interval {production_interval} "
        f"({production_rounds:.0f} rounds): {production:.1f} s CPU = {100 * production / 600:.2f}% of one core"
    )
    print(
        f"\ntarget (issue 6):\n  {verdict(production / 600 < WATCH_CORE_SHARE)} a 10-minute production watch "
        f"under 1% of one core: {100 * production / 600:.2f}%"
    )
    return {
        **figures,
        "cpu_s": cpu,
        "rounds": rounds,
        "startup_cpu_s": startup_cpu,
        "cpu_per_round_s": per_round,
        "steady_core_share": slope,
        "peak_rss_mb": peak,
        "projected_10m_at_interval_cpu_s": dense,
        "projected_10m_production_cpu_s": production,
    }


# --- main -------------------------------------------------------------------------------------


def describe_machine() -> str:
    load = os.getloadavg()
    tools = []
    for argv in (["node", "--version"], ["curl", "--version"]):
        with contextlib.suppress(OSError):
            text = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.split("\n")[0]
            tools.append(" ".join(text.split()[:2]) if argv[0] == "curl" else f"node {text}")
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"Python {sys.version.split()[0]}; {', '.join(tools)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_gate.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per contender and latency (default 7)")
    parser.add_argument("--startup-rounds", type=int, default=5, help="rounds through the relay (default 5)")
    parser.add_argument(
        "--chat-latency",
        default="0,0.5",
        help="comma list of seconds the fake upstream waits per chat, one set of rounds each (default 0,0.5)",
    )
    parser.add_argument("--no-image", action="store_true", help="do not build the image to measure its size")
    parser.add_argument("--no-hung", action="store_true", help="do not time a run against a hung target")
    parser.add_argument(
        "--ours",
        choices=("script", "module"),
        default="script",
        help="run our gate as the installed console script (default) or as `python -m smoke`",
    )
    parser.add_argument("--no-newman", action="store_true", help="leave Newman out (no npm install)")
    parser.add_argument("--watch", action="store_true", help="measure a watch instead of the pre-deploy gate")
    parser.add_argument("--watch-duration", default="2m", help="watch --duration (default 2m)")
    parser.add_argument("--watch-interval", default="1s", help="watch --interval (default 1s)")
    parser.add_argument("--watch-sustain", default="1m", help="watch --sustain (default 1m)")
    parser.add_argument(
        "--production-interval", default="30s", help="the watch's default --interval, for the projection (30s)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures and every sample to this file")
    args = parser.parse_args(argv)

    latencies = [float(x) for x in args.chat_latency.split(",") if x.strip()]
    newman = None if args.no_newman or args.watch else newman_binary(install=True)
    print(f"machine: {describe_machine()}")
    by_latency: dict[float, dict[str, Any]] = {}
    samples: list[Sample] = []
    hung: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp, started_stack(latencies[0]) as stack:
        scratch = Path(tmp)
        print(f"9router {NINEROUTER_VERSION} on {stack.base_url}", flush=True)
        if args.watch:
            figures = watch_mode(
                stack,
                args.ours,
                args.watch_duration,
                args.watch_interval,
                args.watch_sustain,
                args.production_interval,
                scratch,
            )
        else:
            entrants, ours_label = contenders(stack, args.ours, newman)
            print(f"ours: {ours_label}; bytecode cached in {PYCACHE} as an installed package has it")
            for index, latency in enumerate(latencies):
                assert stack.upstream is not None
                stack.upstream.set_latency(latency)
                startup = args.startup_rounds if index == 0 else 0  # start-up does not depend on the chat
                print(
                    f"\nchat latency {latency * 1000:.0f} ms: {args.rounds} timed rounds and {startup} relay rounds, "
                    "contenders alternating: " + ", ".join(c.label for c in entrants),
                    flush=True,
                )
                these = measure(stack, entrants, args.rounds, startup, scratch)
                by_latency[latency] = summarise(these, entrants, latency)
                samples += these
            if not args.no_hung:
                hung = hung_target(entrants[0], scratch)
            figures = {"by_latency": {str(k): v for k, v in by_latency.items()}, "hung_target": hung}
    if not args.watch:
        image = None if args.no_image else image_size(Path(tempfile.gettempdir()))
        figures["image"] = image
        targets(by_latency, hung, image)
    print(f"\nmachine after the run: {describe_machine()}")
    if args.json:
        args.json.write_text(
            json.dumps({"figures": figures, "samples": [asdict(s) for s in samples]}, indent=2, default=str)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
