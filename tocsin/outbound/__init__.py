"""Outbound HTTP that cannot be aimed at Tocsin's own network (SSRF protection).

Webhooks, the Events API forwarder and chat notifications POST to URLs that users type in. Left
alone, such a URL could reach the database, a cloud metadata service or an admin port on the
host. Everything here refuses that, in two places:

* when a URL is saved: ``urls.check_url`` (scheme, host, a literal non-public address);
* when a request is sent: ``transport.GuardedTransport`` resolves the host itself, checks every
  address it resolves to (``addresses.permitted``) and connects to the checked address, while
  the ``Host`` header and TLS (SNI, certificate verification) keep the name from the URL. A name
  that resolved to a public address when saved and to 127.0.0.1 now (DNS rebinding) is refused.

``client.outbound_client`` builds the one kind of client callers use (never follows redirects,
ignores proxy environment variables). ``TOCSIN_WEBHOOK_ALLOWED_NETWORKS`` lists networks an
operator allows anyway (a receiver on the LAN).
"""
