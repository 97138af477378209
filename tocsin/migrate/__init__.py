"""Moving an account from another system into Tocsin (``tocsin import``).

A client-side package like ``tocsin.config_as_code``, on which it builds: it reads the source
through its REST API and writes through Tocsin's, importing no server or domain code.
"""
