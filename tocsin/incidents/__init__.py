"""Incidents, their alerts and their log entries."""
