"""The local SMTP server and webhook receiver fixtures, shared by the notification tests."""

from tests.notify.test_deliver import smtp, webhook  # noqa: F401 - re-exported fixtures
