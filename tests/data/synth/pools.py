"""Choice pools split between the tuning part and the held-back parts of the corpus.

Four parts, each with its own seed:
- ``heldback`` (v1): draws from the reserved last third of a list's original items with
  probability ``RESERVED`` and from all of them otherwise. It was scored and its misses read, so
  it is tuning data now; it is kept (same seed, same rule) and reported.
- ``heldback2`` (v2): a list built with ``reserve(items, v2=[...])`` keeps items that only this
  part ever draws (probability ``RESERVED``; otherwise any item); a plain list keeps its last
  third as before. Scored once, when tuning was done; its misses were read, so it is tuning
  data now (its draws are unchanged: a v3 item never reaches it).
- ``heldback3`` (v3): a list built with ``reserve(items, v2=[...], v3=[...])`` keeps items that
  only this part draws (probability ``RESERVED``; otherwise any item, v2's included); a list
  without v3 items draws as v2 does. Scored once, when tuning was done.
- ``tuning``: a plain list's first two thirds (as before); of a ``reserve()`` list every item
  except the v3-only ones (the v1 and v2 reserves became tuning data). Items added after v2 was
  scored go in ``reserve(..., more=[...])``: the tuning part and v3 draw them, v1 and v2 never
  do, so v1 and v2 keep drawing exactly what they drew (``Pools.fresh`` guards new code paths
  the same way).
- ``heldback4`` (v4, seed 5505): v3 was scored once and its misses read, so it is tuning data now.
  ``reserve(..., more2=[...], v4=[...])``: ``more2`` items were added after v3 was scored (tuning and
  v4 draw them, v1-v3 never do, so they keep drawing exactly what they drew); ``v4`` items only v4
  ever draws (probability ``RESERVED``; otherwise any item but v4's). A list without v4 items draws
  in v4 as it does in the tuning part. ``Pools.fresh2`` guards code paths added after v3.
Lists of one or two items are shared. ``shared(options)`` draws from the whole list in every part.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

RESERVED = 0.6
TUNING = "tuning"
HELDBACK = "heldback"
HELDBACK2 = "heldback2"
HELDBACK3 = "heldback3"
HELDBACK4 = "heldback4"
SPLITS = (TUNING, HELDBACK, HELDBACK2, HELDBACK3, HELDBACK4)


class Reserved(list[T]):
    """A choice list: items ``[v2_from:more_from]`` are v2's reserve, ``[more_from:v3_from]`` were
    added after v2 was scored (tuning and v3 only), items from ``v3_from`` on are drawn only by
    the held-back v3 part."""

    v2_from: int
    more_from: int
    v3_from: int
    more2_from: int
    v4_from: int


def reserve(items: Iterable[T], v2: Iterable[T] = (), v3: Iterable[T] = (), more: Iterable[T] = (),
            more2: Iterable[T] = (), v4: Iterable[T] = ()) -> Reserved[T]:
    """``items`` (shared / old parts), then ``v2`` (v2's reserve, tuning data now), then ``more``
    (added for tuning after v2 was scored), then ``v3`` (v3's reserve, tuning data now), then
    ``more2`` (added for tuning after v3 was scored), then ``v4``: items only the held-back v4 part
    draws."""
    out: Reserved[T] = Reserved(items)
    out.v2_from = len(out)
    out.extend(v2)
    out.more_from = len(out)
    out.extend(more)
    out.v3_from = len(out)
    out.extend(v3)
    out.more2_from = len(out)
    out.extend(more2)
    out.v4_from = len(out)
    out.extend(v4)
    return out


def _v1_cut(n: int) -> int:
    cut = max(1, (2 * n + 2) // 3)
    return n - 1 if cut >= n else cut


class Pools:
    def __init__(self, rng: random.Random, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}")
        self.rng = rng
        self.split = split

    @property
    def fresh(self) -> bool:
        """True in the parts that see what was added after v2 was scored (tuning, v3, v4)."""
        return self.split in (TUNING, HELDBACK3, HELDBACK4)

    @property
    def fresh2(self) -> bool:
        """True in the parts that see what was added after v3 was scored (tuning, v4)."""
        return self.split in (TUNING, HELDBACK4)

    def part(self, options: Sequence[T]) -> Sequence[T]:
        marks = (getattr(options, "v2_from", None), getattr(options, "more_from", None),
                 getattr(options, "v3_from", None))
        more2_from = getattr(options, "more2_from", None)
        v4_from = getattr(options, "v4_from", None)
        if self.split == HELDBACK4:
            if v4_from is not None and v4_from < len(options):
                return options[v4_from:] if self.rng.random() < RESERVED else options[:v4_from]
            split = TUNING  # no v4 items: draw as the tuning part does
        else:
            split = self.split
            if more2_from is not None and split != TUNING:
                options = options[:more2_from]  # v1-v3 draw what they always drew
        if split == TUNING and v4_from is not None:
            return options[:v4_from]  # every item but v4's (v1-v3's reserves are tuning data now)
        return self._part_before_v4(options, split, *marks)

    def _part_before_v4(self, options: Sequence[T], split: str, v2_from: int | None, more_from: int | None,
                        v3_from: int | None) -> Sequence[T]:
        """What each part drew before v4 existed (``options`` already cut before the ``more2`` items)."""
        if split == HELDBACK3:
            if v3_from is not None and v3_from < len(options):
                return options[v3_from:] if self.rng.random() < RESERVED else options
            # no v3 items: draw as v2 does
        elif split == TUNING and v3_from is not None:
            options = options[:v3_from]  # v3's items exist for v3 only
        elif more_from is not None:
            options = options[:more_from]  # v1 and v2 draw what they always drew
        old = options[:v2_from] if v2_from is not None else options
        n = len(old)
        if split == TUNING:
            if v2_from is not None:
                return options  # v1's and v2's reserves are tuning data now
            return options if n < 3 else options[:_v1_cut(n)]
        if split == HELDBACK:
            if n < 3:
                return old
            cut = _v1_cut(n)
            return old[cut:] if self.rng.random() < RESERVED else old
        # held-back v2 (and v3 for a list without v3 items)
        if v2_from is not None and v2_from < len(options):
            return options[v2_from:] if self.rng.random() < RESERVED else options
        if n < 3:
            return options
        cut = _v1_cut(n)
        return options[cut:] if self.rng.random() < RESERVED else options

    def pick(self, options: Sequence[T]) -> T:
        return self.rng.choice(list(self.part(options)))

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        pool = list(self.part(options))
        return self.rng.sample(pool, min(k, len(pool)))

    def shared(self, options: Sequence[T]) -> T:
        return self.rng.choice(list(options))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p
