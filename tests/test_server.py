"""Managed Weaviate: binary resolution errors, restart persistence, CLI lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from embedweave.errors import ServerError
from embedweave.server import ManagedWeaviate, resolve_binary
from embedweave.store import VectorSpace
from embedweave.store.weaviate import WeaviateStore
from embedweave.types import Chunk


def test_no_binary_error_lists_everything_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDWEAVE_WEAVIATE_BIN", str(tmp_path / "nope"))
    monkeypatch.setenv("EMBEDWEAVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError) as err:
        resolve_binary(build=False)
    msg = str(err.value)
    for fragment in ("EMBEDWEAVE_WEAVIATE_BIN", "weaviate-server on PATH", "weaviate on PATH",
                     "cache"):
        assert fragment in msg


def test_env_binary_wins(tmp_path, monkeypatch):
    fake = tmp_path / "weaviate-custom"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("EMBEDWEAVE_WEAVIATE_BIN", str(fake))
    assert resolve_binary(build=False) == fake


def test_startup_failure_shows_log_tail(tmp_path):
    bad = tmp_path / "weaviate-broken"
    bad.write_text("#!/bin/sh\necho 'fatal: pretend startup failure' >&2\nexit 3\n")
    bad.chmod(0o755)
    server = ManagedWeaviate(tmp_path / "data", binary=bad, startup_timeout=10)
    with pytest.raises(ServerError, match="pretend startup failure"):
        server.start()
    assert not server.is_running()


def test_data_survives_restart(tmp_path, weaviate_server):
    # weaviate_server proves a binary exists; run a second, private server here.
    space = VectorSpace("v", model="m", fingerprint="f", dims=4)
    with ManagedWeaviate(tmp_path / "data") as server:
        store = WeaviateStore("Persist", [space], server=server)
        store.upsert([Chunk("d", i, f"t {i}") for i in range(3)],
                     {"v": np.eye(4, dtype=np.float32)[:3]})
        store.close()
    with ManagedWeaviate(tmp_path / "data") as server:
        store = WeaviateStore("Persist", [space], server=server)
        assert store.count() == 3
        assert [c.text for c in store.get([Chunk("d", 2, "").id])] == ["t 2"]
        store.close()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "embedweave.cli", *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_cli_start_status_stop(tmp_path, weaviate_server):
    env = {**os.environ, "EMBEDWEAVE_WEAVIATE_DATA": str(tmp_path / "cli-data")}
    started = _cli("weaviate", "start", "--json", env=env)
    assert started.returncode == 0, started.stderr
    try:
        st = _cli("weaviate", "status", "--json", env=env)
        assert st.returncode == 0, st.stderr
        info = json.loads(st.stdout)
        assert info["running"] and info["ready"]
        assert info["version"] == "1.38.11"
        assert set(info["ports"]) >= {"http", "grpc", "gossip", "data", "raft"}
        human = _cli("weaviate", "status", env=env)
        assert "1.38.11" in human.stdout and str(info["ports"]["http"]) in human.stdout
    finally:
        stopped = _cli("weaviate", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    after = _cli("weaviate", "status", "--json", env=env)
    assert after.returncode == 3
    assert json.loads(after.stdout)["running"] is False
