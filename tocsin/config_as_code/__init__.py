"""Configuration as code: an account's configuration as one readable document whose ids are
stable names (``user: ada@example.com``, ``service: checkout``), a plan of what applying it would
change, and the requests that apply it.

A client-side package: it speaks the public REST API through ``tocsin.client`` (so it reads
PagerDuty as well as Tocsin) and imports no server or domain code (an import contract says so).

- ``document``: the document's shape, keys and canonical form (pure);
- ``plan``: desired vs current -> create / update / delete per object (pure);
- ``from_api`` / ``to_api``: API objects -> document entries, entries -> request bodies (pure);
- ``reader``: reads an account through the REST API into a document;
- ``applier``: carries a plan out, object by object;
- ``yamlio``: the YAML text (``yaml.safe_load`` only).
"""
