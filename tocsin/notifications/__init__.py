"""Notifications to people: durable sends, the channels that carry them, and their list."""
