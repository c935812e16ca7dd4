"""Handler start-up runs without garbage collection, then freezes what it made."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.startup import handler_init


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_collection_is_off_during_start_up_and_on_after_with_the_start_up_objects_frozen() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with handler_init():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_collection_is_back_on_when_start_up_fails() -> None:
    with pytest.raises(RuntimeError), handler_init():
        raise RuntimeError("bad configuration")
    assert gc.isenabled()
