from tests.drive.conftest import clients, settings  # noqa: F401 - shared fixtures
