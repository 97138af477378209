"""Escalation policies: who is paged, in which order, after which delays; and who is on call."""
