"""Managed local Weaviate: find or build the server binary, run it on free loopback ports.

No Docker: the server is the Go binary built from the pinned module version
(``go install``), started as a plain process with telemetry and profiling off.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from embedweave.errors import ServerError
from embedweave.paths import cache_dir

logger = logging.getLogger(__name__)

#: Pinned server version; the Go module tag built when no binary is found.
WEAVIATE_VERSION = "1.38.11"
GO_MODULE = "github.com/weaviate/weaviate/cmd/weaviate-server"
STATE_FILE = "embedweave-server.json"
#: ``QUERY_MAXIMUM_RESULTS`` of a managed server (Weaviate's own default is 10,000).
MANAGED_MAX_RESULTS = 100_000
LOG_FILE = "weaviate.log"


@dataclass
class ServerPorts:
    """The loopback ports one server instance listens on."""

    http: int
    grpc: int
    gossip: int
    data: int
    raft: int

    @property
    def raft_rpc(self) -> int:
        """Weaviate requires the internal raft RPC port to be raft + 1."""
        return self.raft + 1


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str = "127.0.0.1", exclude: set[int] | None = None) -> int:
    exclude = exclude or set()
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in exclude:
            return port
    raise ServerError("could not find a free port on 127.0.0.1")


def allocate_ports(http: int | None = None, grpc: int | None = None) -> ServerPorts:
    """Pick free loopback ports; raft needs two consecutive ones."""
    used: set[int] = set()

    def pick(fixed: int | None) -> int:
        port = fixed if fixed else _free_port(exclude=used)
        used.add(port)
        return port

    h, g, gossip, data = pick(http), pick(grpc), pick(None), pick(None)
    for _ in range(200):
        raft = _free_port(exclude=used)
        if raft + 1 not in used and _port_free(raft + 1):
            return ServerPorts(h, g, gossip, data, raft)
    raise ServerError("could not find two consecutive free ports for raft")


def resolve_binary(version: str = WEAVIATE_VERSION, *, build: bool = True) -> Path:
    """Find the Weaviate server binary, building or downloading it if needed.

    Order: ``$EMBEDWEAVE_WEAVIATE_BIN``; ``weaviate-server`` / ``weaviate`` on PATH; the
    cache dir; ``go install`` into the cache (CGO_ENABLED=0) when Go exists; last,
    weaviate-client's embedded download (needs internet access to GitHub).

    Args:
        version: Server version to build or download when none is found.
        build: Whether to build/download when nothing is installed.

    Raises:
        ServerError: listing every place tried and why it failed.
    """
    tried: list[str] = []
    env_bin = os.environ.get("EMBEDWEAVE_WEAVIATE_BIN")
    if env_bin:
        p = Path(env_bin).expanduser()
        if p.is_file() and os.access(p, os.X_OK):
            return p
        tried.append(f"$EMBEDWEAVE_WEAVIATE_BIN={env_bin}: not an executable file")
    else:
        tried.append("$EMBEDWEAVE_WEAVIATE_BIN: not set")
    for name in ("weaviate-server", "weaviate"):
        found = shutil.which(name)
        if found:
            return Path(found)
        tried.append(f"{name} on PATH: not found")
    target_dir = cache_dir() / "weaviate" / f"v{version}" / "bin"
    cached = target_dir / "weaviate-server"
    if cached.is_file():
        return cached
    tried.append(f"cache {cached}: not present")
    if not build:
        raise ServerError("no Weaviate server binary found; tried:\n  " + "\n  ".join(tried))
    go = shutil.which("go")
    if go:
        target_dir.mkdir(parents=True, exist_ok=True)
        logger.warning("building Weaviate %s with go install (one-off, a few minutes)", version)
        env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(target_dir)}
        proc = subprocess.run(
            [go, "install", f"{GO_MODULE}@v{version}"], env=env, capture_output=True, text=True
        )
        if proc.returncode == 0 and cached.is_file():
            return cached
        tried.append(f"go install {GO_MODULE}@v{version}: failed: {proc.stderr.strip()[-800:]}")
    else:
        tried.append("go install: no 'go' on PATH")
    try:
        from weaviate.embedded import EmbeddedOptions, EmbeddedV4

        emb = EmbeddedV4(EmbeddedOptions(version=version, binary_path=str(target_dir)))
        emb.ensure_paths_exist()
        emb.ensure_weaviate_binary_exists()
        return Path(emb._weaviate_binary_path)
    except Exception as exc:  # the client raises many kinds; all mean "no binary"
        tried.append(f"weaviate-client embedded download of {version}: {type(exc).__name__}: {exc}")
    raise ServerError("no Weaviate server binary could be had; tried:\n  " + "\n  ".join(tried))


class ManagedWeaviate:
    """A local Weaviate server process on free 127.0.0.1 ports.

    Use as a context manager, or call ``start()`` / ``stop()``. Data lives in
    ``data_dir`` and survives restarts; the ports used are recorded there and reused.

    Args:
        data_dir: Persistence directory (default: ``<cache>/weaviate-data/default``).
        version: Pinned server version used when building/downloading a binary.
        binary: Explicit binary path (skips resolution).
        http_port: Fixed HTTP port (default: free port, or the one recorded in data_dir).
        grpc_port: Fixed gRPC port (likewise).
        startup_timeout: Seconds to wait for ``/v1/.well-known/ready``.
        env: Extra environment variables for the server.
        api_key: When set, anonymous access is off and this key is required.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        version: str = WEAVIATE_VERSION,
        binary: str | os.PathLike[str] | None = None,
        http_port: int | None = None,
        grpc_port: int | None = None,
        startup_timeout: float = 90.0,
        env: Mapping[str, str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else cache_dir() / "weaviate-data" / "default"
        self.version = version
        self.binary = Path(binary) if binary else None
        self._want_http, self._want_grpc = http_port, grpc_port
        self.startup_timeout = startup_timeout
        self.extra_env = dict(env or {})
        self.api_key = api_key
        self.ports: ServerPorts | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- addresses ---------------------------------------------------------------------
    @property
    def host(self) -> str:
        """Always loopback by IP (``localhost`` may resolve to IPv6)."""
        return "127.0.0.1"

    @property
    def http_port(self) -> int:
        """HTTP port of the running server."""
        return self._require_ports().http

    @property
    def grpc_port(self) -> int:
        """gRPC port of the running server."""
        return self._require_ports().grpc

    @property
    def url(self) -> str:
        """Base HTTP URL."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def log_path(self) -> Path:
        """Server log file (stdout and stderr)."""
        return self.data_dir / LOG_FILE

    def _require_ports(self) -> ServerPorts:
        if self.ports is None:
            raise ServerError("the managed Weaviate server is not started")
        return self.ports

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, *, detach: bool = False) -> ManagedWeaviate:
        """Start the server and wait until it is ready.

        Args:
            detach: Run in its own session so it outlives this process (the CLI's mode).

        Raises:
            ServerError: when no binary can be had, or it is not ready within the timeout
                (the message holds the log tail).
        """
        if self._proc is not None and self._proc.poll() is None:
            return self
        binary = self.binary or resolve_binary(self.version)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ports = self._choose_ports()
        env = self._environment(self.ports)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        try:
            self._proc = subprocess.Popen(
                [str(binary), "--scheme", "http", "--host", self.host,
                 "--port", str(self.ports.http), "--read-timeout", "600s",
                 "--write-timeout", "600s"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        finally:
            log.close()
        try:
            self._wait_ready()
        except ServerError:
            self.stop()
            raise
        state = {"pid": self._proc.pid, "version": self.server_version(),
                 "binary": str(binary), "ports": asdict(self.ports)}
        (self.data_dir / STATE_FILE).write_text(json.dumps(state))
        logger.info("Weaviate %s ready at %s (grpc %d)", state["version"], self.url,
                    self.ports.grpc)
        return self

    def _choose_ports(self) -> ServerPorts:
        state_path = self.data_dir / STATE_FILE
        if state_path.exists() and not (self._want_http or self._want_grpc):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                old = ServerPorts(**json.loads(state_path.read_text())["ports"])
                if all(_port_free(p) for p in (*asdict(old).values(), old.raft_rpc)):
                    return old
        return allocate_ports(self._want_http, self._want_grpc)

    def _environment(self, ports: ServerPorts) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLUSTER_", "RAFT_"))}
        env.update(
            PERSISTENCE_DATA_PATH=str(self.data_dir),
            DEFAULT_VECTORIZER_MODULE="none",
            ENABLE_MODULES="",
            API_BASED_MODULES_DISABLED="true",
            DISABLE_TELEMETRY="true",
            GO_PROFILING_DISABLE="true",
            CLUSTER_HOSTNAME="embedweave-node",
            CLUSTER_IN_LOCALHOST="true",
            CLUSTER_BIND_ADDR="127.0.0.1",
            CLUSTER_ADVERTISE_ADDR="127.0.0.1",
            CLUSTER_GOSSIP_BIND_PORT=str(ports.gossip),
            CLUSTER_DATA_BIND_PORT=str(ports.data),
            RAFT_PORT=str(ports.raft),
            RAFT_INTERNAL_RPC_PORT=str(ports.raft_rpc),
            RAFT_BOOTSTRAP_EXPECT="1",
            RAFT_JOIN="embedweave-node",
            GRPC_PORT=str(ports.grpc),
            LOG_LEVEL="warning",
            QUERY_DEFAULTS_LIMIT="25",
            QUERY_MAXIMUM_RESULTS=str(MANAGED_MAX_RESULTS),
            LIMIT_RESOURCES="true",
        )
        if self.api_key:
            env.update(
                AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED="false",
                AUTHENTICATION_APIKEY_ENABLED="true",
                AUTHENTICATION_APIKEY_ALLOWED_KEYS=self.api_key,
                AUTHENTICATION_APIKEY_USERS="embedweave",
            )
        else:
            env["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"] = "true"
        env.update(self.extra_env)
        return env

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.url}/v1/.well-known/ready"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"Weaviate exited with code {self._proc.returncode} before it was ready; "
                    f"log tail ({self.log_path}):\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.25)
        raise ServerError(
            f"Weaviate not ready at {url} within {self.startup_timeout:.0f}s; "
            f"log tail ({self.log_path}):\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def server_version(self) -> str:
        """Version reported by the running server's ``/v1/meta``."""
        resp = httpx.get(f"{self.url}/v1/meta", timeout=5.0, headers=self._auth_headers())
        resp.raise_for_status()
        return str(resp.json().get("version", "unknown"))

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def is_running(self) -> bool:
        """Whether this object's process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("Weaviate did not stop in %.0fs; killing it", timeout)
                proc.kill()
                proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            state = read_state(self.data_dir)
            if state and state.get("pid") == proc.pid:
                (self.data_dir / STATE_FILE).unlink()

    def __enter__(self) -> ManagedWeaviate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connect(self) -> Any:
        """A connected ``weaviate.WeaviateClient`` for this server."""
        import weaviate
        from weaviate.classes.init import AdditionalConfig, Timeout

        auth = None
        if self.api_key:
            from weaviate.classes.init import Auth

            auth = Auth.api_key(self.api_key)
        return weaviate.connect_to_custom(
            http_host=self.host, http_port=self.http_port, http_secure=False,
            grpc_host=self.host, grpc_port=self.grpc_port, grpc_secure=False,
            auth_credentials=auth, skip_init_checks=False,
            additional_config=AdditionalConfig(timeout=Timeout(init=30, query=120, insert=300)),
        )


def query_maximum_results(server: ManagedWeaviate) -> int:
    """The most results one query may ask of ``server`` (its ``QUERY_MAXIMUM_RESULTS``)."""
    value = server.extra_env.get("QUERY_MAXIMUM_RESULTS")
    return int(value) if value else MANAGED_MAX_RESULTS


# -- detached servers (CLI) ------------------------------------------------------------
def read_state(data_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """State of a detached server recorded in ``data_dir``, if any."""
    path = Path(data_dir) / STATE_FILE
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text()))
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def status(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Running state, version and ports of the server recorded in ``data_dir``."""
    state = read_state(data_dir)
    if not state or not pid_alive(int(state["pid"])):
        return {"running": False, "data_dir": str(data_dir)}
    url = f"http://127.0.0.1:{state['ports']['http']}"
    try:
        meta = httpx.get(f"{url}/v1/meta", timeout=5.0).json()
        version = meta.get("version", "unknown")
        ready = httpx.get(f"{url}/v1/.well-known/ready", timeout=5.0).status_code == 200
    except httpx.HTTPError as exc:
        version, ready = f"unreachable: {exc}", False
    return {"running": True, "ready": ready, "pid": state["pid"], "version": version,
            "url": url, "ports": state["ports"], "data_dir": str(data_dir)}


def stop_detached(data_dir: str | os.PathLike[str], timeout: float = 20.0) -> bool:
    """Stop a detached server recorded in ``data_dir``; return whether one was running."""
    state = read_state(data_dir)
    if not state or not pid_alive(int(state["pid"])):
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True
