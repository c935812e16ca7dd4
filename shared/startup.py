"""The garbage collector at start-up and while serving: a Lambda handler module's initialisation
without collections until it is done (`handler_init`), and the dev runner's collector tuned for many
requests in flight (`tune_collector_for_serving`)."""

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


# Allocations (net of frees) between two collections of the youngest generation in a long-running
# server; Python's default is 700. A relayed message keeps ~1-2 thousand objects alive while it waits
# on the network, and at the default every other collection re-scanned those live objects of the
# requests in flight: in the dev runner at 300 messages/s, a collection of the middle generation
# every ~150 ms taking 2-7 ms each, stalling the event loop (docs/benchmarks.md "Relay overhead").
SERVER_GEN0_THRESHOLD = 20_000


def tune_collector_for_serving() -> None:
    """For a process that serves many requests at once (the dev runner; a Lambda handler serves one
    at a time and keeps the defaults): freeze what start-up made, so no collection re-scans it, and
    collect the youngest generation less often. Cyclic garbage is still collected, later."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(SERVER_GEN0_THRESHOLD, middle, oldest)
