"""The plugin's fixtures, for these tests: where Tocsin is installed the ``pytest11`` entry point
loads them for every test session, but this suite also runs from a checkout whose installed
metadata predates the entry point (a conftest's own definitions win over a plugin's, so both
ways together are fine)."""

from tocsin.testing.plugin import pagerduty, pagerduty_settings, pagerduty_webhook_recorder

__all__ = ["pagerduty", "pagerduty_settings", "pagerduty_webhook_recorder"]
