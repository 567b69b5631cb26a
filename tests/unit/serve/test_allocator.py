"""The malloc arena cap really limits glibc's arenas in a process with many threads (README: Performance)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


# Threads that allocate at once (so each wants an arena of its own), then glibc's own count of its arenas.
ARENAS_AFTER_THREADS = """
import ctypes, os, sys, tempfile, threading
sys.path.insert(0, {root!r})
from bot.serve.allocator import cap_malloc_arenas
if {cap}:
    print("capped", cap_malloc_arenas(), file=sys.stderr)
barrier = threading.Barrier(32)
def work():
    barrier.wait()
    blocks = [ctypes.create_string_buffer(2048) for _ in range(200)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(32)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "info.xml")
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    print(open(path).read().count("<heap nr="))
"""


def _arenas(*, cap: bool, environ: dict[str, str]) -> int:
    root = str(ROOT)
    completed = subprocess.run(
        [sys.executable, "-c", ARENAS_AFTER_THREADS.format(root=root, cap=cap)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return int(completed.stdout.strip())


@pytest.mark.skipif(not _glibc(), reason="malloc arenas are glibc's")
def test_cap_limits_the_arenas_of_a_threaded_process() -> None:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    uncapped = _arenas(cap=False, environ=environ)
    capped = _arenas(cap=True, environ=environ)
    assert capped <= 2
    # Without the cap glibc opens more (8 per core); on a 1-core machine 8, so the check still bites.
    assert uncapped > capped


@pytest.mark.skipif(not _glibc(), reason="malloc arenas are glibc's")
def test_an_operators_malloc_arena_max_wins() -> None:
    environ = {**os.environ, "MALLOC_ARENA_MAX": "1"}
    assert _arenas(cap=True, environ=environ) == 1
