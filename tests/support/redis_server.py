"""A real redis-server for the tests and the benchmark: on a free loopback port, no persistence, in a temporary
directory, stopped by the pid we started.

Tests that need Redis fail (never skip) when redis-server is missing: CI installs it (`.ci/run`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.support.waiting import free_port


class RedisUnavailable(RuntimeError):
    """No `redis-server` binary, or it did not answer PING in time."""


def redis_server_binary() -> str:
    """`$REDIS_SERVER`, else `redis-server` on PATH, else the Debian package's path."""
    for candidate in (os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RedisUnavailable("redis-server is not installed: apt-get install -y redis-server (.ci/run does it)")


class RedisServer:
    """`directory`: where it may write (nothing is persisted); a temporary one, removed at `stop`, when None."""

    def __init__(self, directory: Path | None = None, password: str | None = None) -> None:
        self.binary = redis_server_binary()
        self._own_directory = tempfile.TemporaryDirectory(prefix="redis-") if directory is None else None
        self.directory = Path(self._own_directory.name) if self._own_directory is not None else directory
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--protected-mode", "yes",
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            try:
                client.ping()
                return self
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RedisUnavailable(f"redis-server did not answer PING within {timeout:.0f} s") from None
                time.sleep(0.02)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, decode_responses=True)

    def keys_and_memory(self) -> tuple[int, int]:
        """(keys in db 0, used_memory in bytes), for the benchmark's figures."""
        client = self.client()
        return int(client.dbsize()), int(client.info("memory")["used_memory"])

    def stop(self) -> None:
        """Stop it (a frozen one too); a temporary directory of its own is removed with it."""
        self._stop_process()
        if self._own_directory is not None:
            self._own_directory.cleanup()
            self._own_directory = None

    def _stop_process(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a frozen server cannot die otherwise
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def restart(self) -> None:
        self._stop_process()
        self.start()

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
