"""Signed action links: only a genuine, unexpired, unaltered token names an incident and a user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications.links import (
    ACKNOWLEDGE,
    ACTION_PATH,
    LINK_LIFETIME,
    RESOLVE,
    action_url,
    sign,
    verify,
)

SECRET = b"k" * 32
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def test_a_signed_token_verifies_to_its_claim() -> None:
    token = sign(SECRET, incident_id="PINC", user_id="PUSR", action=RESOLVE, expires_at=NOW + timedelta(hours=1))
    claim = verify(SECRET, token, NOW)
    assert claim is not None
    assert (claim.incident_id, claim.user_id, claim.action) == ("PINC", "PUSR", RESOLVE)


def test_expired_wrong_secret_and_tampered_tokens_are_refused() -> None:
    token = sign(SECRET, incident_id="PINC", user_id="PUSR", action=ACKNOWLEDGE, expires_at=NOW + timedelta(minutes=5))
    assert verify(SECRET, token, NOW + timedelta(minutes=5)) is None  # expiry is exclusive
    assert verify(b"x" * 32, token, NOW) is None
    payload, _, mac = token.partition(".")
    forged = sign(b"x" * 32, incident_id="POTHER", user_id="PUSR", action=ACKNOWLEDGE,
                  expires_at=NOW + timedelta(minutes=5)).partition(".")[0]
    assert verify(SECRET, f"{forged}.{mac}", NOW) is None  # another payload under this mac
    for broken in ("", ".", payload, f"{payload}.", "a.b", "%%%.%%%", token + "x" * 2000):
        assert verify(SECRET, broken, NOW) is None


def test_action_url_lives_for_the_link_lifetime() -> None:
    url = action_url("https://tocsin.example/", SECRET, incident_id="PINC", user_id="PUSR", action=ACKNOWLEDGE, now=NOW)
    prefix = f"https://tocsin.example{ACTION_PATH}/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    assert verify(SECRET, token, NOW + LINK_LIFETIME - timedelta(seconds=1)) is not None
    assert verify(SECRET, token, NOW + LINK_LIFETIME) is None


@given(st.text(max_size=200))
def test_arbitrary_text_never_verifies_and_never_raises(text: str) -> None:
    assert verify(SECRET, text, NOW) is None


@given(st.binary(min_size=1, max_size=40).map(lambda b: b.hex()), st.sampled_from([ACKNOWLEDGE, RESOLVE]))
def test_any_flipped_character_breaks_the_signature(incident: str, action: str) -> None:
    token = sign(SECRET, incident_id=incident, user_id="PUSR", action=action, expires_at=NOW + timedelta(hours=1))
    for i in range(len(token)):
        if token[i] == ".":
            continue
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        claim = verify(SECRET, flipped, NOW)
        # base64 padding bits can make a flip decode to the same bytes; then the claim is unchanged
        assert claim is None or (claim.incident_id, claim.action) == (incident, action)
