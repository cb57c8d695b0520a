"""Freezing long-lived objects: later collections skip them, and a second freeze (after a
reload) first frees what was replaced, so nothing frozen leaks."""

from __future__ import annotations

import gc
import weakref

import pytest

from core.gc_pauses import freeze_long_lived


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _unfreeze_afterwards():
    yield
    gc.unfreeze()


def test_loaded_objects_are_frozen_and_replaced_ones_freed() -> None:
    model = Node()
    alive = weakref.ref(model)
    assert freeze_long_lived("a test load") > 0 and gc.get_freeze_count() > 0
    del model
    gc.collect()  # a full collection does not walk frozen objects: the cycle stays
    assert alive() is not None
    freeze_long_lived("a test reload")  # unfreezes and collects first
    assert alive() is None


def test_garbage_of_the_loading_is_not_frozen() -> None:
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    freeze_long_lived("a test load")
    assert gone() is None
