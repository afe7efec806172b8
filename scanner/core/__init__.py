"""Neutral nouns every layer shares: items and their grants, exposure classes, what could not be read,
statuses. Imports nothing else of sharescan (see docs/ARCHITECTURE.md)."""
