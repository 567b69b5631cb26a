"""Keep glibc's allocator from growing the serving process lookup after lookup.

glibc gives threads their own malloc arenas, up to 8 per core, to avoid lock contention. The bot runs ~80 threads
(listener pool, gunicorn's request threads, locale look-ups), so a 2-core dyno ends up with 16 arenas, and every
lookup's short-lived buffers (HTTP bodies, JSON, Block Kit) land in whichever arena its thread holds. Freed
memory stays inside each arena, scattered between live blocks, so resident memory creeps up with every lookup
although Python's own heap grows far less. Two arenas take about a third off that creep (measured with
`python -m bench --soak`, README: Performance) at no measurable cost to ack or page times: the bot's threads
spend their time waiting on the network, not contending for malloc.

`MALLOC_ARENA_MAX` does the same but must be set before the process starts (glibc reads it once); `mallopt`
works from inside the process as long as it runs before the threads that would create arenas, which is why
`serve` and `socket` call this first. An operator's own `MALLOC_ARENA_MAX` wins. Elsewhere than glibc (musl,
macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
DEFAULT_ARENAS = 2


def cap_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Limit glibc to `arenas` malloc arenas; True when the cap is in force (ours or the operator's)."""
    if os.environ.get("MALLOC_ARENA_MAX", "").strip():
        return True  # glibc already read it at start-up
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library the interpreter already uses
        libc.gnu_get_libc_version  # noqa: B018  # glibc only: musl has a mallopt that ignores M_ARENA_MAX
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
