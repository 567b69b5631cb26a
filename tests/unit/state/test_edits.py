"""MessageEdits contract: concurrent retirements on one message, from one or two processes, never lose an edit.

The property that matters: replacements are posted while the context is held, so the sequence of posted edit lists
only ever grows; the last one posted carries every edit (no button comes back).
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from bot.state.memory import MemoryMessageEdits
from tests.support.state_impls import kind, namespaced_keys_all_expire, pair, redis_client

__all__ = ["kind"]

SUMMARY = ("summary_action", "The summary is in the thread", "summary")
EXPORT = ("export_action", "The CSV export is in the thread", "export")
NEXT = ("next_action", "Page 2 is in the thread", "2")


def test_every_edit_so_far_this_one_last_each_once(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.edits)
    with here.editing("C1/1.1", SUMMARY) as edits:
        assert edits == [SUMMARY]
    with there.editing("C1/1.1", EXPORT) as edits:
        assert edits == [SUMMARY, EXPORT]
    with here.editing("C1/1.1", SUMMARY) as edits:  # the same edit again changes nothing
        assert edits == [SUMMARY, EXPORT]
    with here.editing("C1/2.2", NEXT) as edits:  # another message starts afresh
        assert edits == [NEXT]


def test_racing_retirements_post_growing_lists_and_the_last_has_them_all(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.edits)
    posted: list[list[tuple[str, str, str]]] = []
    lock = threading.Lock()
    start = threading.Barrier(3)

    def retire(store: object, edit: tuple[str, str, str]) -> None:
        start.wait(5)
        with store.editing("C1/1.1", edit) as edits:  # type: ignore[attr-defined]
            time.sleep(0.05)  # posting the replacement to Slack
            with lock:
                posted.append(edits)

    threads = [
        threading.Thread(target=retire, args=(store, edit))
        for store, edit in ((here, SUMMARY), (there, EXPORT), (here, NEXT))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(posted) == 3
    for earlier, later in itertools.pairwise(posted):
        assert set(earlier) < set(later)
    assert set(posted[-1]) == {SUMMARY, EXPORT, NEXT}


def test_a_failure_while_posting_frees_the_message(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.edits)
    with pytest.raises(RuntimeError), here.editing("C1/1.1", SUMMARY):
        raise RuntimeError("Slack said no")
    started = time.monotonic()
    with there.editing("C1/1.1", EXPORT) as edits:
        assert edits == [SUMMARY, EXPORT]
    assert time.monotonic() - started < 0.5


def test_edits_expire(kind: str, redis_url: str) -> None:
    here, there = pair(kind, redis_url, lambda state: state.edits, edit_ttl=0.3)
    with here.editing("C1/1.1", SUMMARY):
        pass
    time.sleep(0.45)
    with there.editing("C1/1.1", EXPORT) as edits:
        assert edits == [EXPORT]


def test_redis_edit_and_lock_keys_expire(redis_url: str) -> None:
    here, _ = pair("redis", redis_url, lambda state: state.edits)
    with here.editing("C1/1.1", SUMMARY):
        kinds = sorted(key.split(":")[1] for key in namespaced_keys_all_expire(redis_url))
        assert kinds == ["edits", "edits-lock"]  # the lock too: a crashed holder frees the message by itself
    assert [key.split(":")[1] for key in namespaced_keys_all_expire(redis_url)] == ["edits"]
    assert not redis_client(redis_url).keys("participations-bot:edits-lock:*")


def test_memory_edits_are_bounded_by_size() -> None:
    edits = MemoryMessageEdits(ttl=600, max_items=20)
    for index in range(200):
        with edits.editing(f"C1/{index}", SUMMARY):
            pass
    assert len(edits) == 20
