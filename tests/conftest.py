"""Fixtures: a fake LLM upstream and real 9router servers (see tests/harness/).

Cost model: starting a real server takes ~1 s and provisioning ~1 s, so

- ``router_stack`` is ONE provisioned server per session (per xdist worker). Tests may read from
  it and chat through it, but must not change its state; a guard compares a fingerprint before
  and after each test, fails the test that changed it and replaces the server for the next one.
- ``fresh_stack(...)`` / ``fresh_router(...)`` are factories for servers of your own, stopped
  at the end of the test. Use them for anything that mutates (keys, settings, locks, failures).

Login lockout: 9router locks out 127.0.0.1 after 5 consecutive wrong passwords. Try a wrong
password at most once per test; the shared server's guard logs in correctly after every test,
which resets the counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.router import (
    NineRouter,
    Stack,
    provision,
    state_fingerprint,
)
from tests.harness.router import (
    free_port as _free_port,
)
from tests.harness.upstream import FakeUpstream

# Every artifact of every test is scanned for the known secrets (tests/secret_scan.py).
pytest_plugins = ("tests.secret_scan",)

_REAL_ROUTER_FIXTURES = frozenset({"router_stack", "fresh_stack", "fresh_router"})


def pytest_configure(config: pytest.Config) -> None:
    """Register markers (``-m "not real_router"`` runs without node)."""
    config.addinivalue_line("markers", "real_router: uses a real 9router server (node, ~1-2 s per fresh server)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-server fixture, so the marker cannot be forgotten."""
    for item in items:
        if _REAL_ROUTER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_router)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Remember each phase's report on the item so fixtures can print logs on failure."""
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(getattr(getattr(node, f"_report_{when}", None), "failed", False) for when in ("setup", "call"))


@pytest.fixture
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return _free_port()


@pytest.fixture(scope="session")
def upstream_session() -> Iterator[FakeUpstream]:
    """The session's fake upstream. Prefer ``upstream``, which resets it around each test."""
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def upstream(upstream_session: FakeUpstream) -> Iterator[FakeUpstream]:
    """Fake upstream in mode ok, latency 0, counters 0 (reset again after the test)."""
    upstream_session.reset()
    yield upstream_session
    upstream_session.reset()


class _SharedStack:
    """Lazily started, replaceable session-wide provisioned server."""

    def __init__(self, tmp: pytest.TempPathFactory, upstream: FakeUpstream) -> None:
        self._tmp = tmp
        self._upstream = upstream
        self._stack: Stack | None = None

    def get(self) -> Stack:
        if self._stack is None:
            router = NineRouter(data_dir=self._tmp.mktemp("shared-9router"))
            router.start()
            try:
                self._stack = provision(router, self._upstream)
            except BaseException:
                router.stop()
                raise
        return self._stack

    def discard(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None and stack.router is not None:
            stack.admin.close()
            stack.router.stop()


@pytest.fixture(scope="session")
def _shared_stack(tmp_path_factory: pytest.TempPathFactory, upstream_session: FakeUpstream) -> Iterator[_SharedStack]:
    holder = _SharedStack(tmp_path_factory, upstream_session)
    yield holder
    holder.discard()


@pytest.fixture
def router_stack(
    _shared_stack: _SharedStack, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    """The shared healthy provisioned server. Read and chat only; never change its state."""
    stack = _shared_stack.get()
    before = state_fingerprint(stack.admin)
    yield stack
    try:
        # A correct login resets the consecutive-failure counter (lockout after 5).
        stack.admin.login(stack.password)
        after = state_fingerprint(stack.admin)
    except Exception as exc:
        _shared_stack.discard()
        pytest.fail(f"shared router_stack unusable after {request.node.nodeid}: {exc}")
    if after != before:
        changed = sorted(k for k in before if before[k] != after.get(k))
        _shared_stack.discard()  # the next test gets a clean server
        pytest.fail(
            f"{request.node.nodeid} changed the shared router_stack ({', '.join(changed)}); "
            "use the fresh_stack factory for tests that change state"
        )


@pytest.fixture
def fresh_router(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., NineRouter]]:
    """Factory: ``fresh_router(**NineRouter kwargs)`` -> a started, unprovisioned server.

    Every server is stopped after the test; on failure its log tail is printed.
    """
    routers: list[NineRouter] = []

    def make(**kw: Any) -> NineRouter:
        kw.setdefault("data_dir", tmp_path_factory.mktemp("9router"))
        router = NineRouter(**kw)
        routers.append(router)
        return router.start()

    yield make
    for router in routers:
        router.stop()
        if _failed(request):
            print(f"--- {router!r} log tail ---\n{router.log_tail(60)}")


@pytest.fixture
def fresh_stack(fresh_router: Callable[..., NineRouter], upstream: FakeUpstream) -> Callable[..., Stack]:
    """Factory: ``fresh_stack(connections=1, password=..., upstream=None, **NineRouter kwargs)``.

    Returns a new provisioned :class:`Stack` (own server, stopped after the test) wired to the
    ``upstream`` fixture unless another FakeUpstream is passed.
    """

    def make(
        *,
        connections: int = 1,
        password: str = "ci-gate-pass",
        upstream: FakeUpstream | None = None,
        **router_kw: Any,
    ) -> Stack:
        router = fresh_router(**router_kw)
        return provision(router, upstream or default_upstream, password, connections=connections)

    default_upstream = upstream
    return make


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A scratch folder for gate reports (junit.xml, summary.md, report.json)."""
    path = tmp_path / "out"
    path.mkdir()
    return path
