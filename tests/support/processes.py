"""Starting the bot as a real process (`participations-bot serve`) against the fakes, and waiting for /healthz."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.hubspot import FakeHubSpot
from tests.support.slack import FakeSlack
from tests.support.tokens import BOT_TOKEN, HUBSPOT_TOKEN, SIGNING_SECRET
from tests.support.waiting import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any bot variable, so a developer's .env or shell cannot leak in."""
    names = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


def fakes_env(fake_hubspot: FakeHubSpot, fake_slack: FakeSlack, **extra: str) -> dict[str, str]:
    """`clean_env` for a bot that talks to the fakes with the test tokens (`extra`: the mode's own settings)."""
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
        HUBSPOT_API_BASE=fake_hubspot.url + "/",
        SLACK_API_URL=fake_slack.api_url,
        **extra,
    )


@dataclass
class Served:
    """A running `serve` process; a thread drains its output into `output`, so a chatty server never blocks."""

    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 15) -> str:
        """SIGTERM, wait, and everything it wrote."""
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._drain.join(timeout=5)
        return "".join(self.output)

    _drain: threading.Thread = field(init=False, repr=False)

    def __post_init__(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        self._drain = threading.Thread(target=lambda: self.output.extend(iter(stream.readline, "")), daemon=True)
        self._drain.start()


@contextmanager
def serving(
    fake_hubspot: FakeHubSpot,
    fake_slack: FakeSlack,
    cwd: Path,
    *,
    command: list[str] | None = None,
    **extra_env: str,
) -> Iterator[Served]:
    """`participations-bot serve` against the fakes, healthy before it is handed over, stopped afterwards.

    `command`: Python arguments that start it another way (they get the port as their last argument).
    """
    port = free_port()
    env = fakes_env(fake_hubspot, fake_slack, SLACK_SIGNING_SECRET=SIGNING_SECRET, **extra_env)
    arguments = [*command, str(port)] if command else ["-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=cwd,  # no .env here
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if answers_healthz(port, timeout=1.0):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not become healthy:\n{served.stop()}")
            time.sleep(0.05)
        yield served
    finally:
        served.stop()


def run_bot(*arguments: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m bot <arguments>` to its end, in `cwd` (no .env unless a test puts one there), its output kept."""
    return run_module("bot", *arguments, cwd=cwd, env=env, timeout=timeout)


def run_module(
    module: str, *arguments: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <arguments>` with this interpreter, to its end, its output kept (`env`: None inherits)."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def answers_healthz(port: int, *, timeout: float = 0.5) -> bool:
    """`GET /healthz` on 127.0.0.1:`port` answered 200: False while nothing listens yet, or when the answer is slow
    (a busy machine). Plain http.client: cheap enough to poll every 10 ms while a start-up is being timed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()
