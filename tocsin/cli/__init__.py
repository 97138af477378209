"""The ``tocsin`` command (entry point ``tocsin.cli:app``).

Two kinds of commands: the server's own (``server``: init, serve, engine, run and the credential
commands that work on the database), and the REST client commands (responders' and operators'),
which speak PagerDuty's public APIs through ``tocsin.client`` and so work against a Tocsin server
or PagerDuty alike. ``main`` assembles them.
"""

from tocsin.cli.main import app

__all__ = ["app"]
