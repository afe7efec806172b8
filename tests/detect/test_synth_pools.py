"""The corpus parts draw what they should: v2-only items never reach the tuning part or v1."""

from __future__ import annotations

import random

import pytest

from tests.data.synth.pools import HELDBACK, HELDBACK2, TUNING, Pools, reserve

ITEMS = reserve(["a", "b", "c", "d", "e", "f"], v2=["x", "y"])


@pytest.mark.parametrize("split", [TUNING, HELDBACK])
def test_v2_items_only_in_v2(split: str) -> None:
    p = Pools(random.Random(1), split)
    assert not {p.pick(ITEMS) for _ in range(2000)} & {"x", "y"}


def test_v2_draws_its_reserve_and_the_rest() -> None:
    p = Pools(random.Random(2), HELDBACK2)
    drawn = [p.pick(ITEMS) for _ in range(2000)]
    share = sum(d in ("x", "y") for d in drawn) / len(drawn)
    assert 0.55 < share < 0.75  # 60 % from the reserve, plus its share of the whole list
    assert set(drawn) == set(ITEMS)


def test_plain_lists_keep_the_v1_rule() -> None:
    plain = ["a", "b", "c", "d", "e", "f"]
    tuning, v1 = Pools(random.Random(3), TUNING), Pools(random.Random(4), HELDBACK)
    assert {tuning.pick(plain) for _ in range(500)} == {"a", "b", "c", "d"}
    assert "f" in {v1.pick(plain) for _ in range(500)}


def test_tuning_sees_the_old_v1_reserve_of_a_reserved_list() -> None:
    tuning = Pools(random.Random(5), TUNING)
    assert {tuning.pick(ITEMS) for _ in range(500)} == {"a", "b", "c", "d", "e", "f"}
