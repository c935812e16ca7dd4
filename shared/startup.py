"""A Lambda handler module's initialisation, without garbage collection until it is done."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def handler_init() -> Iterator[None]:
    """Wrap a handler module's imports and app set-up.

    Start-up makes ~100k objects that live as long as the process and frees fewer than 1,000, so the
    collections that run meanwhile only re-scan them: ~30 ms of a cold start, including one full
    collection that alone takes 17-24 ms (docs/benchmarks.md). Collection is off while the block
    runs; afterwards what it made is frozen (kept out of every later collection, so requests do
    not re-scan it either) and collection is back on, also if the block raises.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
