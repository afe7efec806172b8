"""The Drive label ids a crawl asks for: Drive returns a file's ``labelInfo`` only for the ids in
``includeLabels``, so rules' ``when.labels`` can match only labels named here."""

from __future__ import annotations

from collections.abc import Iterable

from scanner.config import Settings
from scanner.policy.schema import Rule


def label_ids(rules: Iterable[Rule], classification_label: str = "") -> list[str]:
    """Every label id the rules name, and the configured classification label (sorted, unique)."""
    ids = {label for rule in rules for label in rule.when.labels}
    if classification_label:
        ids.add(classification_label)
    return sorted(ids)


def wanted_label_ids(settings: Settings) -> list[str]:
    """The ids for ``settings``: its rules' and its ``[labels] classification_label``. Nothing (and no
    rule loading) when labels are not configured: rules may name labels only when they are."""
    if not settings.labels.configured:
        return []
    from scanner.policy.loader import load_configured_rules

    return label_ids(load_configured_rules(settings).rules, settings.labels.classification_label)
