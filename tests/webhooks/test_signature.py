"""X-PagerDuty-Signature (pure), with Hypothesis: what a secret signs verifies, anything else does not."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.webhooks.signature import signature, signature_header, signatures, verify

secrets = st.text(min_size=1, max_size=64)


@given(st.binary(max_size=2048), secrets)
def test_the_value_is_the_hex_hmac_sha256_of_the_body(body: bytes, secret: str) -> None:
    assert signature(body, secret) == "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert verify(body, signature_header(body, [secret]), [secret])


@given(st.binary(max_size=512), st.binary(min_size=1, max_size=8), secrets, secrets)
def test_a_changed_body_or_another_secret_fails(body: bytes, extra: bytes, secret: str, other: str) -> None:
    header = signature_header(body, [secret])
    assert not verify(body + extra, header, [secret])
    if other != secret:
        assert not verify(body, header, [other])


@given(st.binary(max_size=512), secrets, secrets)
def test_during_a_rotation_both_secrets_sign(body: bytes, new: str, old: str) -> None:
    header = signature_header(body, [new, old])
    assert len(signatures(header)) == 2 and header.count("v1=") == 2
    assert verify(body, header, [new]) and verify(body, header, [old])


def test_at_least_one_secret_signs() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header(b"{}", [])
    assert signatures("v0=abc, v1=def,,") == ["v1=def"]
