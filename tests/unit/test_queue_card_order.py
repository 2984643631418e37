"""A card acted on keeps its place in the queue until it lapses (core.queue.reads.keep_places)."""

from __future__ import annotations

import pytest

from core.queue.reads import keep_places

pytestmark = pytest.mark.unit


def test_an_item_acted_on_stays_where_it_was_drawn():
    assert keep_places([1, 2, 3, 4], [1, 3, 4], {2}) == [1, 2, 3, 4]


def test_only_kept_items_come_back_and_a_place_past_the_end_is_the_end():
    assert keep_places([5, 6, 7], [5], {7}) == [5, 7]
    assert keep_places([5, 6, 7], [5], set()) == [5]


def test_an_item_still_shown_is_not_drawn_twice():
    assert keep_places([1, 2], [2, 1], {1}) == [2, 1]
