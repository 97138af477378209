"""The web UI for responders: server-rendered pages over the domains' own logic and queries."""
