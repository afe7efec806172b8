"""Build a split of the labelled corpus: seeded, in memory, balanced over the five formats."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.data.synth.families import CLEAN, SENSITIVE, Gen, Made, long_document
from tests.data.synth.people import PersonFactory
from tests.data.synth.pools import HELDBACK, HELDBACK2, HELDBACK3, HELDBACK4, TUNING, Pools
from tests.data.synth.writers import FORMATS, WRITERS

SEEDS = {TUNING: 1101, HELDBACK: 2202, HELDBACK2: 3303, HELDBACK3: 4404, HELDBACK4: 5505}  # each a new seed
SENSITIVE_SHARE = 0.55


@dataclass(frozen=True)
class LabelledDoc:
    name: str
    fmt: str  # txt (TXT/CSV/TSV) | docx | xlsx | pdf | pptx
    data: bytes = field(repr=False)
    categories: frozenset[str]
    kind: str

    @property
    def sensitive(self) -> bool:
        return bool(self.categories)


def make_one(split: str, index: int, fmt: str, seed: int | None = None, long: bool = False) -> LabelledDoc:
    seed = SEEDS[split] if seed is None else seed
    rng = random.Random(f"{seed}:{split}:{index}:{fmt}")
    pools = Pools(rng, split)
    gen = Gen(pools, PersonFactory(pools), fmt)
    if long:
        made: Made = long_document(gen)
    else:
        families = SENSITIVE if rng.random() < SENSITIVE_SHARE else CLEAN
        family = rng.choices([f for f, _ in families], weights=[w for _, w in families])[0]
        made = family(gen)
    rendered = WRITERS[fmt](made.doc)
    return LabelledDoc(f"{split}-{index:05d}-{made.kind}.{rendered.ext}", fmt, rendered.data, made.categories,
                       made.kind)


def build(split: str, docs: int, *, seed: int | None = None, long_docs: int = 0, start: int = 0,
          formats: tuple[str, ...] = FORMATS) -> list[LabelledDoc]:
    """``docs`` documents (round-robin over ``formats``) plus ``long_docs`` >= 1 MB documents per format."""
    out = [make_one(split, start + i, formats[i % len(formats)], seed) for i in range(docs)]
    for j in range(long_docs):
        for k, fmt in enumerate(formats):
            out.append(make_one(split, 900_000 + j * len(formats) + k, fmt, seed, long=True))
    return out
