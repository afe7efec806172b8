"""The local SMTP server fixture, shared by the delivery and CLI tests."""

from tests.notify.test_deliver import smtp  # noqa: F401 - re-exported fixture
