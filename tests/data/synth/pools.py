"""Choice pools split between the tuning part and the held-back parts of the corpus.

Three parts, each with its own seed:
- ``heldback`` (v1): draws from the reserved last third of a list's original items with
  probability ``RESERVED`` and from all of them otherwise. It was scored and its misses read, so
  it is tuning data now; it is kept (same seed, same rule) and reported.
- ``heldback2`` (v2): a list built with ``reserve(items, v2=[...])`` keeps items that only this
  part ever draws (probability ``RESERVED``; otherwise any item); a plain list keeps its last
  third as before. Scored once, when tuning was done.
- ``tuning``: a plain list's first two thirds (as before); of a ``reserve()`` list every item
  except the v2-only ones (its v1 reserve became tuning data).
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
SPLITS = (TUNING, HELDBACK, HELDBACK2)


class Reserved(list[T]):
    """A choice list whose items from ``v2_from`` on are drawn only by the held-back v2 part."""

    v2_from: int


def reserve(items: Iterable[T], v2: Iterable[T] = ()) -> Reserved[T]:
    """``items`` (shared / old parts) followed by ``v2``, items only the held-back v2 part draws."""
    out: Reserved[T] = Reserved(items)
    out.v2_from = len(out)
    out.extend(v2)
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

    def part(self, options: Sequence[T]) -> Sequence[T]:
        v2_from = getattr(options, "v2_from", None)
        old = options[:v2_from] if v2_from is not None else options
        n = len(old)
        if self.split == TUNING:
            if v2_from is not None:
                return old
            return options if n < 3 else options[:_v1_cut(n)]
        if self.split == HELDBACK:
            if n < 3:
                return old
            cut = _v1_cut(n)
            return old[cut:] if self.rng.random() < RESERVED else old
        # held-back v2
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
