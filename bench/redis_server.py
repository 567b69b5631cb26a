"""A throwaway `redis-server` on a free loopback port, for the scenarios that share state between processes.

Nothing persisted (no RDB, no AOF), bound to 127.0.0.1 only, stopped by the pid we started. Spoken to with a few
raw RESP commands, so the benchmark needs no Redis client library of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.waiting import free_port


class RedisUnavailable(RuntimeError):
    """No `redis-server` binary, or it did not answer PING in time."""


def redis_server_binary() -> str:
    """`$REDIS_SERVER`, else `redis-server` on PATH, else the Debian package's path."""
    for candidate in (os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RedisUnavailable("redis-server not found: `apt-get install redis-server`, or set REDIS_SERVER")


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self._workdir = tempfile.TemporaryDirectory(prefix="bench-redis-")
        self._process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._workdir.name,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RedisUnavailable(f"redis-server exited with {self._process.returncode}")
            with contextlib.suppress(OSError):
                if self.command("PING") == "PONG":
                    return self
            time.sleep(0.02)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer PING within {timeout:.0f} s")

    def command(self, *words: str) -> str | int | None:
        """One inline command; the reply as text (simple or bulk string), an int, or None (null)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(" ".join(words).encode() + b"\r\n")
            reader = sock.makefile("rb")
            line = reader.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:].decode()
            if kind == b"+":
                return rest
            if kind == b":":
                return int(rest)
            if kind == b"$":
                size = int(rest)
                return None if size < 0 else reader.read(size + 2)[:-2].decode(errors="replace")
            raise RedisUnavailable(f"unexpected reply to {words[0]}: {line[:80]!r}")

    def keys_and_memory(self) -> tuple[int, int]:
        """(keys in db 0, used_memory in bytes), for the figures."""
        keys = self.command("DBSIZE")
        info = str(self.command("INFO", "memory") or "")
        used = next((int(line.split(":")[1]) for line in info.splitlines() if line.startswith("used_memory:")), 0)
        return int(keys or 0), used

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
