"""A running process's heap of start-up objects is out of the garbage collector's sight."""

from __future__ import annotations

import gc

from mediabot.app.processes import settle_heap


def test_settling_the_heap_freezes_what_start_up_built() -> None:
    built = [[index] for index in range(5000)]  # start-up's objects, still in use
    assert all(gc.is_tracked(item) for item in built)
    frozen_before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() >= frozen_before + len(built)
    finally:
        gc.unfreeze()
