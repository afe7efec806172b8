from tests.drive.conftest import clients, emulator, sa_key, settings  # noqa: F401 - shared fixtures
