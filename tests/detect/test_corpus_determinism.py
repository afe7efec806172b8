"""tests/data/make_corpus.py regenerates the committed corpus byte for byte."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

DATA = Path(__file__).parent.parent / "data"


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_regenerated_corpus_is_identical(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", DATA / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    count = module.generate(tmp_path)
    regenerated = _digests(tmp_path)
    committed = _digests(DATA / "corpus")
    assert len(regenerated) == count + 1  # + labels.yaml
    assert regenerated == committed
