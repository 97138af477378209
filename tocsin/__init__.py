"""Tocsin: a self-hosted incident response platform that speaks the PagerDuty APIs."""

__version__ = "0.1.0"
