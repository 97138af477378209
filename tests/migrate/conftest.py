"""The CLI tests' real server, profile file and failure logs (a Tocsin to import into)."""

from tests.cli.conftest import config, pytest_runtest_makereport, server

__all__ = ["config", "pytest_runtest_makereport", "server"]
