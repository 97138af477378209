"""Services and the integrations (routing keys) that feed them events."""
