"""Choice pools split between the tuning part and the held-back part of the corpus.

``Pools(rng, split).pick(options)``: the tuning part draws from the first two thirds of a list
only; the held-back part draws from the reserved last third with probability ``RESERVED`` and
from the whole list otherwise (lists of one or two items are shared). So every vocabulary,
layout and template list in the generators keeps its tail for held-back, and held-back still
covers the classes the tuning part has.
``shared(options)`` draws from the whole list in both parts (formats, sizes).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

RESERVED = 0.6
TUNING = "tuning"
HELDBACK = "heldback"


class Pools:
    def __init__(self, rng: random.Random, split: str) -> None:
        if split not in (TUNING, HELDBACK):
            raise ValueError(f"split must be {TUNING!r} or {HELDBACK!r}")
        self.rng = rng
        self.split = split

    def part(self, options: Sequence[T]) -> Sequence[T]:
        n = len(options)
        if n < 3:
            return options
        cut = max(1, (2 * n + 2) // 3)
        if cut >= n:
            cut = n - 1
        if self.split == TUNING:
            return options[:cut]
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
