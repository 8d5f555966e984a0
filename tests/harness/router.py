"""Run the real 9router (npm package) on 127.0.0.1 and drive it through its management API.

- :class:`NineRouter` starts ``node custom-server.js`` with a private ``DATA_DIR``, waits for
  ``/api/health`` and stops it again (SIGTERM, then SIGKILL). Never the ``9router`` CLI: it
  ``kill -9``s every 9router on the machine.
- :class:`RouterAdmin` is a logged-in ``requests`` session with one method per state change the
  gate must be able to see (reference section 9).
- :func:`provision` turns a fresh server into the stack the gate expects and returns a
  :class:`Stack`.

Safety: nothing here calls ``/api/version/shutdown`` or ``/api/version/update`` (they kill every
9router process on the host); :meth:`RouterAdmin.request` refuses them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from tests.harness.upstream import FakeUpstream

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION = os.environ.get("NINEROUTER_VERSION", "0.5.69")
HOME = Path(os.environ.get("NINEROUTER_HOME", REPO_ROOT / ".cache" / "9router"))
APP_DIR = HOME / "pkg" / "node_modules" / "9router" / "app"
RUNTIME_NODE_MODULES = HOME / "runtime" / "node_modules"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-9router.sh"
DEFAULT_PASSWORD = "123456"  # what 9router accepts while no password is stored

# Routes that kill every 9router process on the host (reference section 1). Never sent.
_FORBIDDEN_PATHS = ("/api/version/shutdown", "/api/version/update")
# Variables from the caller's environment that would change the server's behaviour behind the
# test's back; the harness sets the ones it wants explicitly.
_SCRUBBED_ENV = (
    "INITIAL_PASSWORD",
    "JWT_SECRET",
    "ENABLE_REQUEST_LOGS",
    "OBSERVABILITY_ENABLED",
    "TRUST_PROXY",
    "AUTH_COOKIE_SECURE",
    "API_KEY_SECRET",
    "NODE_OPTIONS",
)


class RouterStartError(RuntimeError):
    """The server did not become healthy; the message carries the log tail."""


class AdminError(RuntimeError):
    """A management call returned an unexpected status."""

    def __init__(self, method: str, path: str, response: requests.Response) -> None:
        self.status = response.status_code
        self.body = response.text[:500]
        super().__init__(f"{method} {path} -> {self.status}: {self.body}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ensure_installed() -> None:
    """Install 9router and its SQLite driver if missing (the script is idempotent and locked)."""
    if (HOME / f".installed-{VERSION}").exists() and (APP_DIR / "custom-server.js").exists():
        return
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RouterStartError(
            f"{INSTALL_SCRIPT} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


# Every server this process started, so a crash or Ctrl-C cannot leave node running.
_LIVE: set[NineRouter] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for router in live:
        with contextlib.suppress(Exception):
            router.stop(timeout=5)


atexit.register(_stop_all)


class NineRouter:
    """One real 9router server (``node custom-server.js``) on 127.0.0.1; a context manager.

    ``data_dir=None`` uses a new temporary directory, removed by :meth:`close` unless
    ``keep_data``. The port is chosen once and kept across :meth:`restart`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        *,
        initial_password: str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 30.0,
        keep_data: bool = False,
    ) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="9router-data-"))
        self.port = port or free_port()
        self.initial_password = initial_password
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.keep_data = keep_data
        self.log_path = self.data_dir / "server.log"
        self.startup_seconds: float | None = None  # spawn -> healthy, last start
        self._proc: subprocess.Popen[bytes] | None = None

    # ---- addresses -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        """The SQLite database the server uses (better-sqlite3, WAL mode)."""
        return self.data_dir / "db" / "data.sqlite"

    @property
    def pid(self) -> int | None:
        """Process id of the running node server, if any."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the node process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # ---- lifecycle -----------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update(
            PORT=str(self.port),
            HOSTNAME="127.0.0.1",
            DATA_DIR=str(self.data_dir),
            # Node 20 has no node:sqlite and the bundled sql.js lacks its wasm: without the
            # compiled better-sqlite3 every DB route fails (reference section 1).
            NODE_PATH=str(RUNTIME_NODE_MODULES),
            MODEL_CATALOG_SYNC="off",  # no network call at startup
        )
        if self.initial_password is not None:
            env["INITIAL_PASSWORD"] = self.initial_password
        env.update(self.extra_env)
        return env

    def start(self) -> NineRouter:
        """Spawn the server and wait until ``/api/health`` says ``{"ok": true}``."""
        if self.running:
            return self
        ensure_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== harness start {datetime.now(UTC).isoformat()} ===\n".encode())
            log.flush()
            started = time.monotonic()
            self._proc = subprocess.Popen(
                ["node", "custom-server.js"],
                cwd=APP_DIR,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: stop() can signal anything node spawned, and a Ctrl-C in
                # the terminal does not hit the server before the harness stops it in order.
                start_new_session=True,
            )
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.wait_healthy(self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Poll ``/api/health`` until it answers ``{"ok": true}``; fail fast if node exits."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with requests.Session() as http:
            http.trust_env = False  # never route loopback traffic through a proxy from the env
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    code = None if self._proc is None else self._proc.returncode
                    raise RouterStartError(
                        f"9router exited with code {code} before becoming healthy "
                        f"(port {self.port}). Log tail:\n{self.log_tail()}"
                    )
                try:
                    resp = http.get(f"{self.base_url}/api/health", timeout=2)
                    if resp.status_code == 200 and resp.json() == {"ok": True}:
                        return
                    last = f"{resp.status_code} {resp.text[:200]}"
                except (requests.RequestException, ValueError) as exc:
                    last = type(exc).__name__
                time.sleep(0.05)  # poll interval; the server takes ~1 s to listen
        raise RouterStartError(
            f"9router on {self.base_url} not healthy after {timeout:.0f}s (last: {last}). Log tail:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL the process group. Idempotent."""
        proc, self._proc = self._proc, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Anything node left behind in its own group goes too (the group is ours alone).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    def restart(self, timeout: float = 10.0) -> NineRouter:
        """Stop and start again on the same port and ``DATA_DIR`` (state survives)."""
        self.stop(timeout=timeout)
        return self.start()

    def close(self) -> None:
        """Stop the server and remove a temporary data dir this object created."""
        self.stop()
        if self._owns_data_dir and not self.keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> NineRouter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- diagnostics ---------------------------------------------------------------------
    def log_text(self) -> str:
        """The whole server log (all starts)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    @property
    def db_driver(self) -> str | None:
        """SQLite driver named in the log (``better-sqlite3`` expected), once the DB was used."""
        found = None
        for line in self.log_text().splitlines():
            if "[DB] Driver:" in line:
                found = line.split("[DB] Driver:", 1)[1].split("|", 1)[0].strip()
        return found

    def admin(self, password: str | None = None) -> RouterAdmin:
        """A :class:`RouterAdmin` for this server, logged in if ``password`` is given."""
        admin = RouterAdmin(self.base_url, db_path=self.db_path)
        if password is not None:
            admin.login(password)
        return admin

    def __repr__(self) -> str:
        return f"NineRouter({self.base_url}, data_dir={self.data_dir}, pid={self.pid})"


def iso_in(seconds: float) -> str:
    """ISO-8601 UTC timestamp ``seconds`` from now, in the ``...Z`` form 9router writes."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class RouterAdmin:
    """Management-API client holding the dashboard ``auth_token`` cookie.

    Requests look local to 9router (loopback peer, no Origin, no X-Forwarded-For), which is what
    allows the default-password login.
    """

    def __init__(self, base_url: str, *, db_path: Path | None = None, timeout: float = 15) -> None:
        self.base_url = base_url.rstrip("/")
        self.db_path = db_path
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only; ignore HTTP(S)_PROXY from the env

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # ---- plumbing ------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, expect: Iterable[int] | None = (200, 201), **kw: Any
    ) -> requests.Response:
        """Send a request; raise :class:`AdminError` unless the status is in ``expect``."""
        if any(path.startswith(p) for p in _FORBIDDEN_PATHS):
            raise ValueError(f"refusing {path}: it kills every 9router process on this host")
        kw.setdefault("timeout", self.timeout)
        resp = self.session.request(method, self.base_url + path, **kw)
        if expect is not None and resp.status_code not in tuple(expect):
            raise AdminError(method, path, resp)
        return resp

    def _json(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        resp = self.request(method, path, json=body, **kw)
        return resp.json() if resp.content else None

    # ---- auth ----------------------------------------------------------------------------
    def login(self, password: str) -> dict[str, Any]:
        """``POST /api/auth/login``; keeps the ``auth_token`` cookie. Raises on 401/403/429."""
        body = self._json("POST", "/api/auth/login", {"password": password})
        if "auth_token" not in self.session.cookies:
            raise RuntimeError("login answered 200 but set no auth_token cookie")
        return body

    def logout(self) -> None:
        """``POST /api/auth/logout`` and forget the cookie."""
        self._json("POST", "/api/auth/logout", {})
        self.session.cookies.clear()

    def auth_status(self) -> dict[str, Any]:
        """``GET /api/auth/status`` (public)."""
        return self._json("GET", "/api/auth/status")

    def set_password(self, new: str, current: str | None = None) -> dict[str, Any]:
        """Set the dashboard password. The first time, ``current`` may be omitted."""
        body: dict[str, Any] = {"newPassword": new}
        if current is not None:
            body["currentPassword"] = current
        return self._json("PATCH", "/api/settings", body)

    # ---- API keys ------------------------------------------------------------------------
    def create_key(self, name: str) -> tuple[str, str]:
        """Create an API key; returns ``(id, key)``."""
        body = self._json("POST", "/api/keys", {"name": name})
        return body["id"], body["key"]

    def api_keys(self) -> list[dict[str, Any]]:
        """All API keys (full key strings included: keep out of logs)."""
        return self._json("GET", "/api/keys")["keys"]

    def set_key_active(self, key_id: str, active: bool) -> dict[str, Any]:
        """Enable or disable an API key."""
        return self._json("PUT", f"/api/keys/{key_id}", {"isActive": active})

    # ---- provider nodes and connections --------------------------------------------------
    def create_node(self, name: str, prefix: str, base_url: str, api_type: str = "chat") -> str:
        """Create an OpenAI-compatible provider node; returns its provider id."""
        body = self._json(
            "POST",
            "/api/provider-nodes",
            {
                "name": name,
                "prefix": prefix,
                "apiType": api_type,
                "baseUrl": base_url,
                "type": "openai-compatible",
            },
        )
        return body["node"]["id"]

    def add_connection(
        self,
        node_id: str,
        name: str,
        priority: int = 1,
        api_key: str = "sk-upstream-dummy",
    ) -> str:
        """Add an API-key connection to a provider (node); returns the connection id."""
        body = self._json(
            "POST",
            "/api/providers",
            {"provider": node_id, "apiKey": api_key, "name": name, "priority": priority},
        )
        return body["connection"]["id"]

    def connections(self) -> list[dict[str, Any]]:
        """``GET /api/providers`` -> the connection list."""
        return self._json("GET", "/api/providers")["connections"]

    def connection(self, conn_id: str) -> dict[str, Any]:
        """One connection from the list (raises KeyError if absent)."""
        for conn in self.connections():
            if conn["id"] == conn_id:
                return conn
        raise KeyError(conn_id)

    def update_connection(self, conn_id: str, **fields: Any) -> dict[str, Any]:
        """``PUT /api/providers/{id}`` with the given fields (name, priority, isActive, ...)."""
        return self._json("PUT", f"/api/providers/{conn_id}", fields)

    def set_connection_active(self, conn_id: str, active: bool) -> dict[str, Any]:
        """Enable or disable a connection."""
        return self.update_connection(conn_id, isActive=active)

    def delete_connection(self, conn_id: str) -> None:
        """Delete a connection."""
        self._json("DELETE", f"/api/providers/{conn_id}")

    def test_connection(self, conn_id: str) -> dict[str, Any]:
        """``POST /api/providers/{id}/test`` -> ``{"valid": bool, "error": ..., ...}``."""
        return self._json("POST", f"/api/providers/{conn_id}/test", {})

    def lock_connection(self, conn_id: str, field: str = "modelLock___all", until: str | None = None) -> str:
        """Write a rate-limit lock into the connection row's ``data`` JSON, straight in SQLite.

        The API cannot set locks (PUT ignores them). The server reads the row on every request,
        so the lock applies at once. ``until`` defaults to 10 minutes from now; returns it.
        :meth:`unlock_connection` removes it again.
        """
        until = until or iso_in(600)
        self._edit_connection_data(conn_id, lambda data: data.__setitem__(field, until))
        return until

    def unlock_connection(self, conn_id: str, field: str = "modelLock___all") -> None:
        """Remove a lock written by :meth:`lock_connection`."""
        self._edit_connection_data(conn_id, lambda data: data.pop(field, None))

    def _edit_connection_data(self, conn_id: str, edit: Any) -> None:
        if self.db_path is None:
            raise RuntimeError("RouterAdmin has no db_path; build it with NineRouter.admin()")
        # The server holds the DB open in WAL mode with busy_timeout 5000: a short write
        # transaction from here is safe, and WAL readers see it on their next read.
        conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT data FROM providerConnections WHERE id = ?", (conn_id,)).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                raise KeyError(f"no providerConnections row {conn_id}")
            data = json.loads(row[0])
            edit(data)
            conn.execute(
                "UPDATE providerConnections SET data = ? WHERE id = ?",
                (json.dumps(data, separators=(",", ":")), conn_id),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()

    # ---- settings, aliases, combos -------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """``GET /api/settings``."""
        return self._json("GET", "/api/settings")

    def patch_settings(self, **kw: Any) -> dict[str, Any]:
        """``PATCH /api/settings`` (requireLogin, requireApiKey, fallbackStrategy, ...)."""
        return self._json("PATCH", "/api/settings", kw)

    def aliases(self) -> dict[str, str]:
        """``GET /api/models/alias`` -> ``{alias: target}``."""
        return self._json("GET", "/api/models/alias")["aliases"]

    def set_alias(self, alias: str, model: str) -> dict[str, Any]:
        """Point ``alias`` at ``model`` (use ``<node id>/<model>``, not the node prefix)."""
        return self._json("PUT", "/api/models/alias", {"model": model, "alias": alias})

    def delete_alias(self, alias: str) -> None:
        """Remove an alias."""
        self._json("DELETE", "/api/models/alias", params={"alias": alias})

    def combos(self) -> list[dict[str, Any]]:
        """``GET /api/combos`` -> the combo list."""
        return self._json("GET", "/api/combos")["combos"]

    def create_combo(self, name: str, models: list[str]) -> str:
        """Create a combo (fallback order = ``models``); returns its id."""
        body = self._json("POST", "/api/combos", {"name": name, "models": models})
        return (body.get("combo") or body)["id"]

    # ---- usage ---------------------------------------------------------------------------
    def usage_history(self) -> dict[str, Any]:
        """``GET /api/usage/history`` (contains full API keys in ``byApiKey``)."""
        return self._json("GET", "/api/usage/history")

    def request_details(self, **params: Any) -> dict[str, Any]:
        """``GET /api/usage/request-details`` (needs observability on)."""
        return self._json("GET", "/api/usage/request-details", params=params)


@dataclass
class Stack:
    """A provisioned 9router: everything a gate run or a test needs to talk to it."""

    base_url: str
    api_key: str
    key_id: str
    password: str
    node_id: str
    node_prefix: str
    conn_ids: list[str]
    model: str
    alias: str
    combo: str
    combo_id: str
    admin: RouterAdmin
    router: NineRouter | None = None
    upstream: FakeUpstream | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alias_target(self) -> str:
        """What ``alias`` points at: ``<node id>/fake-small``."""
        return f"{self.node_id}/fake-small"

    def chat(
        self,
        model: str | None = None,
        *,
        api_key: str | None = None,
        stream: bool = False,
        timeout: float = 30,
        **extra: Any,
    ) -> requests.Response:
        """One small chat completion through the router (Bearer ``api_key``, default ours)."""
        body = {
            "model": model or self.model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 8,
            "stream": stream,
            **extra,
        }
        return requests.post(
            f"{self.base_url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
            timeout=timeout,
            proxies={"http": "", "https": ""},
        )

    def gate_env(self) -> dict[str, str]:
        """The gate's environment fallbacks (``smoke.cli.ENV_FALLBACKS``) for this stack."""
        return {
            "BASE_URL": self.base_url,
            "API_KEY": self.api_key,
            "DASHBOARD_PASSWORD": self.password,
            "MODEL": self.model,
        }


def provision(
    router: NineRouter,
    upstream: FakeUpstream,
    password: str = "ci-gate-pass",
    *,
    connections: int = 1,
    verify: bool = True,
) -> Stack:
    """Reference section 9 on a fresh server: password, key, node ``fake``, alias, combo.

    Creates ``connections`` connections (priority 1..n) to ``upstream``. With ``verify`` one real
    chat goes through the router (so usage shows 1 request), after which the upstream counters
    are zeroed so tests count only their own probes.
    """
    admin = router.admin()
    admin.login(router.initial_password or DEFAULT_PASSWORD)
    admin.set_password(password)
    # Log in again with the new password: proves it took, and the cookie is what the gate gets.
    admin.logout()
    admin.login(password)
    key_id, api_key = admin.create_key("ci-gate")
    node_id = admin.create_node("Fake Upstream", "fake", upstream.base_url)
    conn_ids = [
        admin.add_connection(node_id, f"fake-conn-{i}", priority=i, api_key=f"sk-upstream-{i}")
        for i in range(1, connections + 1)
    ]
    # Alias targets must be the provider id, not the node prefix (reference section 8).
    admin.set_alias("gate-fast", f"{node_id}/fake-small")
    combo_id = admin.create_combo("gate-combo", ["fake/fake-large", "fake/fake-small"])
    stack = Stack(
        base_url=router.base_url,
        api_key=api_key,
        key_id=key_id,
        password=password,
        node_id=node_id,
        node_prefix="fake",
        conn_ids=conn_ids,
        model="fake/fake-small",
        alias="gate-fast",
        combo="gate-combo",
        combo_id=combo_id,
        admin=admin,
        router=router,
        upstream=upstream,
    )
    if verify:
        resp = stack.chat()
        if resp.status_code != 200:
            raise RuntimeError(
                f"provisioned router cannot chat: {resp.status_code} {resp.text[:300]}\n{router.log_tail()}"
            )
        content = resp.json()["choices"][0]["message"]["content"]
        if content != "pong":
            raise RuntimeError(f"unexpected chat answer through the router: {content!r}")
        upstream.reset_counts()
    return stack


def _is_future(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when > datetime.now(UTC)


def state_fingerprint(admin: RouterAdmin) -> dict[str, Any]:
    """The parts of a server's state a read-only test must leave alone.

    Settings, API keys (active or not), aliases, combos and, per connection, whether it is
    active, its priority, its unexpired locks and whether it is in an error state. Usage counters
    and ``lastUsedAt`` are left out on purpose: chatting through a shared stack is allowed.
    """
    conns = {}
    for conn in admin.connections():
        conns[conn["id"]] = {
            "isActive": conn.get("isActive"),
            "priority": conn.get("priority"),
            "locks": sorted(k for k, v in conn.items() if k.startswith("modelLock_") and _is_future(v)),
            "failing": conn.get("testStatus") in ("error", "expired") or conn.get("errorCode") is not None,
        }
    return {
        "settings": admin.settings(),
        "keys": {k["id"]: (k.get("name"), k.get("isActive")) for k in admin.api_keys()},
        "aliases": admin.aliases(),
        "combos": {c["name"]: c.get("models") for c in admin.combos()},
        "connections": conns,
    }
