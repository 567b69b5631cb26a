"""Waiting without sleeping blindly, and ports nobody listens on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, *, interval: float = 0.02, check: bool = True
) -> Any:
    """Poll `predicate` (for things no fake server is told about, e.g. log records) until truthy, bounded.

    Returns its result; on timeout raises AssertionError, or with `check=False` returns the last (falsy) result.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            if check:
                raise AssertionError("condition not met in time")
            return result
        time.sleep(interval)


def free_port() -> int:
    """A loopback port free right now (for a server started next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_on(
    condition: threading.Condition, predicate: Callable[[], Any], timeout: float, *, what: str = "the fake server"
) -> Any:
    """Block until `predicate()` is truthy, re-checked whenever `condition` is notified (a fake server's lock, as
    requests arrive) and at least every 0.1 s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    with condition:
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            condition.wait(min(remaining, 0.1))
