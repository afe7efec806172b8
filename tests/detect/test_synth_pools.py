"""The corpus parts draw what they should: v2-only items never reach v1, v3-only items never reach
v1 or v2, v4-only items never reach the tuning part or v1-v3, and items added after v3 leave
v1-v3's draws unchanged."""

from __future__ import annotations

import random

import pytest

from tests.data.synth.pools import HELDBACK, HELDBACK2, HELDBACK3, HELDBACK4, TUNING, Pools, reserve

ITEMS = reserve(["a", "b", "c", "d", "e", "f"], v2=["x", "y"])
WITH_V3 = reserve(["a", "b", "c", "d", "e", "f"], v2=["x", "y"], v3=["u", "v"], more=["m", "n"])
WITH_V4 = reserve(["a", "b", "c", "d", "e", "f"], v2=["x", "y"], v3=["u", "v"], more=["m", "n"], more2=["p", "q"],
                  v4=["s", "t"])


def test_v2_items_never_in_v1() -> None:
    p = Pools(random.Random(1), HELDBACK)
    assert not {p.pick(ITEMS) for _ in range(2000)} & {"x", "y"}


@pytest.mark.parametrize("split", [HELDBACK, HELDBACK2])
def test_v3_items_only_in_v3(split: str) -> None:
    p = Pools(random.Random(1), split)
    assert not {p.pick(WITH_V3) for _ in range(2000)} & {"u", "v"}


def test_v3_draws_its_reserve_and_the_rest() -> None:
    p = Pools(random.Random(2), HELDBACK3)
    drawn = [p.pick(WITH_V3) for _ in range(2000)]
    share = sum(d in ("u", "v") for d in drawn) / len(drawn)
    assert 0.55 < share < 0.75
    assert set(drawn) == set(WITH_V3)


@pytest.mark.parametrize("split", [HELDBACK, HELDBACK2])
def test_later_items_leave_v1_and_v2_draws_unchanged(split: str) -> None:
    a, b = Pools(random.Random(7), split), Pools(random.Random(7), split)
    assert [a.pick(ITEMS) for _ in range(300)] == [b.pick(WITH_V3) for _ in range(300)]
    assert not a.fresh


def test_tuning_draws_v3s_and_the_later_items_but_not_v4s() -> None:
    p = Pools(random.Random(8), TUNING)
    assert {p.pick(WITH_V4) for _ in range(1000)} == set(WITH_V4) - {"s", "t"}
    assert p.fresh and p.fresh2


@pytest.mark.parametrize("split", [HELDBACK, HELDBACK2, HELDBACK3])
def test_items_after_v3_leave_v1_to_v3_draws_unchanged(split: str) -> None:
    a, b = Pools(random.Random(9), split), Pools(random.Random(9), split)
    assert [a.pick(WITH_V3) for _ in range(300)] == [b.pick(WITH_V4) for _ in range(300)]
    assert not a.fresh2


def test_v4_draws_its_reserve_and_the_rest() -> None:
    p = Pools(random.Random(10), HELDBACK4)
    drawn = [p.pick(WITH_V4) for _ in range(2000)]
    share = sum(d in ("s", "t") for d in drawn) / len(drawn)
    assert 0.55 < share < 0.65  # 60 % from the reserve; the rest never draws it
    assert set(drawn) == set(WITH_V4)
    assert {p.pick(ITEMS) for _ in range(500)} == set(ITEMS)  # no v4 items: as the tuning part draws


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


def test_tuning_sees_the_v1_and_v2_reserves_of_a_reserved_list() -> None:
    tuning = Pools(random.Random(5), TUNING)
    assert {tuning.pick(ITEMS) for _ in range(500)} == {"a", "b", "c", "d", "e", "f", "x", "y"}
