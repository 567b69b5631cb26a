"""The bot as users deploy it: `participations-bot serve` in its own process, watched from outside."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import answers_healthz
from tests.support.waiting import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent

# Variables the bot reads: a developer's own values must not leak into a benchmark run.
BOT_ENV_PREFIXES = (
    "SLACK_",
    "HUBSPOT_",
    "ALLOWED_",
    "LOG_",
    "BOT_",
    "LISTENER_",
    "HTTP_THREADS",
    "MAX_EXPORT",
    "MAX_REQUEST",
    "REQUEST_",
    "REDIS_",
    "METRICS_",
)
BOT_ENV_NAMES = frozenset({"PORT", "WEB_CONCURRENCY"})


class BotFailedToStart(RuntimeError):
    """The server exited or never answered /healthz; the message carries the tail of its log."""


def serve_command(port: int) -> list[str]:
    """The Procfile's command (`participations-bot serve --port $PORT`), bound to loopback only."""
    script = Path(sys.executable).parent / "participations-bot"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    return [*base, "serve", "--host", "127.0.0.1", "--port", str(port)]


def clean_environment(settings: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(BOT_ENV_PREFIXES) and name not in BOT_ENV_NAMES
    }
    # From a clean clone without `pip install -e .`, `python -m bot` still finds the package.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env.update(settings)
    return env


def status_kb(pid: int, key: str) -> int:
    """A `kB` (or count) field of /proc/<pid>/status: VmRSS, VmHWM, Threads; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children_of(pid: int) -> list[int]:
    """Direct and indirect children, from /proc (no psutil needed)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1:
            parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


@dataclass
class BotProcess:
    """Starts the server, waits for /healthz, reports peak memory, stops it (only the processes it started)."""

    settings: dict[str, str]
    port: int = field(default_factory=free_port)
    startup_seconds: float = 0.0
    command: list[str] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = None
    _log: tempfile._TemporaryFileWrapper[bytes] | None = None
    _workdir: tempfile.TemporaryDirectory[str] | None = None
    _peak_kb: dict[int, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> float:
        """Seconds from process start to the first `GET /healthz` = 200."""
        self.command = serve_command(self.port)
        self._log = tempfile.NamedTemporaryFile(prefix="bench-bot-", suffix=".log")  # noqa: SIM115
        # An empty working directory: a developer's `.env` must not change what we measure.
        self._workdir = tempfile.TemporaryDirectory(prefix="bench-bot-")
        started = time.monotonic()
        self._process = subprocess.Popen(
            self.command,
            env=clean_environment(self.settings),
            cwd=self._workdir.name,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BotFailedToStart(f"the server exited with {self._process.returncode}:\n{self.log_tail()}")
            if answers_healthz(self.port):
                self.startup_seconds = time.monotonic() - started
                return self.startup_seconds
            time.sleep(0.01)
        self.stop()
        raise BotFailedToStart(f"no /healthz = 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        if self._process is None or self._process.poll() is not None:
            return []
        return [self._process.pid, *children_of(self._process.pid)]

    def sample_memory(self) -> None:
        """VmHWM is the kernel's own high-water mark: sampling once before exit catches the peak."""
        for pid in self.pids():
            self._peak_kb[pid] = max(self._peak_kb.get(pid, 0), status_kb(pid, "VmHWM"))

    def peak_rss_kb(self) -> dict[int, int]:
        """Peak RSS per process of the tree (master first)."""
        self.sample_memory()
        return dict(self._peak_kb)

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server's processes (from /proc/<pid>/stat)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            except (OSError, ValueError, IndexError):
                continue
        return total / ticks

    def log_tail(self, lines: int = 30) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            children = {pid: _cmdline(pid) for pid in children_of(process.pid)}
            process.send_signal(signal.SIGTERM)  # gunicorn's master stops its worker gracefully
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            for child, cmdline in children.items():  # only workers this master forked that outlived it
                if cmdline and _cmdline(child) == cmdline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def close(self) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
