"""Audit trail: who changed which configuration, and each changed field's before and after."""
