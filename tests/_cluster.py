"""Real parts for the cluster tests: a redis-server and uvicorn replica processes on 127.0.0.1.

* :class:`RedisServer`: ``redis-server`` on a free port, no persistence (a restart
  loses the data, the harder case for the replicas), stopped with the test.
  :func:`redis_or_skip` skips with the reason when the binary or redis-py is absent.
* :class:`Replica`: ``uvicorn cluster_app:app`` in its own process (the app in
  ``tests/cluster_app.py``), configured through environment variables.
* :func:`until`: poll an observable condition with a deadline (no fixed sleeps).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import aura_wire
from aura_wire.files import load_messages

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_or_skip() -> str:
    """The redis-server binary; skips the test (with the reason) when it or redis-py is missing."""
    try:
        import redis  # noqa: F401
    except ImportError:
        pytest.skip("redis-py is not installed (pip install 'aura_wire[redis]')")
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    return exe


def wait_until(cond: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll ``cond()`` until it returns a truthy value; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def until(cond: Callable[[], Awaitable[T]], timeout: float, what: str, interval: float = 0.02) -> T:
    """Async :func:`wait_until`."""
    deadline = time.monotonic() + timeout
    while True:
        v = await cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class RedisServer:
    def __init__(self, exe: str, workdir: Path) -> None:
        self.exe = exe
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class Replica:
    """One uvicorn process serving ``cluster_app:app``."""

    def __init__(self, name: str, redis_url: str, log_dir: Path, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.redis_url = redis_url
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        env = dict(os.environ)
        env.update({"AURA_TEST_REDIS": self.redis_url, "AURA_TEST_REPLICA": self.name,
                    # the replicas import the aura_wire this process runs (the compiled install in CI)
                    "PYTHONPATH": os.pathsep.join([str(Path(aura_wire.__file__).resolve().parent.parent), str(TESTS),
                                                   env.get("PYTHONPATH", "")])})
        env.update(self.env)
        self._close_log()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the replica writes it until stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "cluster_app:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--lifespan", "on", "--log-level", "warning", "--ws", "websockets-sansio"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=str(TESTS))

    def wait_ready(self, timeout: float = 30) -> None:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"replica {self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                return bool(self.get("/stats")["started"])
            except OSError:
                return False
        wait_until(ready, timeout, f"replica {self.name} to serve")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.http + path, timeout=10) as r:
            return json.loads(r.read())

    def post(self, path: str, body: Any) -> Any:
        req = urllib.request.Request(self.http + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    async def aget(self, path: str) -> Any:
        return await asyncio.to_thread(self.get, path)

    async def apost(self, path: str, body: Any) -> Any:
        return await asyncio.to_thread(self.post, path, body)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_log()


def sample_messages(n: int, skip: int = 0) -> list[str]:
    """Messages from the package's bundled sample (no corpora needed)."""
    return load_messages(REPO / "aura_wire" / "data" / "sample.jsonl", limit=skip + n, field="m")[skip:]
