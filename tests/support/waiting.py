"""Waiting without sleeping blindly, and ports nobody listens on."""

from __future__ import annotations

import socket
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
