"""Fixtures for tests that run sharescan as an operator would."""

from tests.installation import installation, sharescan  # noqa: F401 - fixtures
