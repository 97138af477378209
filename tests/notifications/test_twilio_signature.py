"""X-Twilio-Signature: Twilio's published test vectors, the default-port leniency Twilio's own
validators have, and refusal of anything altered."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from tocsin.notifications.twilio_signature import is_valid, signature

# The example in Twilio's documentation and its SDKs' tests.
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
          ("From", "+14158675309"), ("To", "+18005551212")]
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_documented_example_signs_to_the_documented_value() -> None:
    assert signature(TOKEN, URL, PARAMS) == EXPECTED
    assert signature(TOKEN, URL, list(reversed(PARAMS))) == EXPECTED  # order of the form does not matter
    assert is_valid(TOKEN, URL, PARAMS, EXPECTED)


def test_a_name_sent_twice_signs_each_value_sorted() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature(TOKEN, URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="  # Twilio's SDK vector


def test_the_default_port_may_be_present_or_absent() -> None:
    with_443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert signature(TOKEN, with_443, PARAMS) == "kvajT1Ptam85bY51eRf/AJRuM3w="  # Twilio's SDK vector
    assert is_valid(TOKEN, URL, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w=")  # signed with :443, checked without
    assert is_valid(TOKEN, with_443, PARAMS, EXPECTED)  # signed without, checked with
    plain = URL.replace("https", "http")
    assert is_valid(TOKEN, plain, PARAMS, "0ZXoZLH/DfblKGATFgpif+LLRf4=")  # Twilio's vector: http with :80
    # Another port is another URL.
    assert not is_valid(TOKEN, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", PARAMS, EXPECTED)


def test_anything_altered_is_refused() -> None:
    assert not is_valid("54321", URL, PARAMS, EXPECTED)
    assert not is_valid(TOKEN, URL + "&x=1", PARAMS, EXPECTED)
    assert not is_valid(TOKEN, URL, [*PARAMS[:-1], ("To", "+18005551213")], EXPECTED)
    assert not is_valid(TOKEN, URL, [*PARAMS, ("Body", "6")], EXPECTED)
    assert not is_valid(TOKEN, URL, PARAMS, EXPECTED.lower())
    assert not is_valid(TOKEN, URL, PARAMS, None)
    assert not is_valid(TOKEN, URL, PARAMS, "")
    assert not is_valid("", URL, PARAMS, signature("", URL, PARAMS))  # no token configured: nothing passes


def _documented(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's algorithm as its documentation words it, written independently of the module."""
    data = url
    for name in sorted({n for n, _ in params}):
        for value in sorted({v for n, v in params if n == name}):
            data += name + value
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


FIELDS = st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=30)), max_size=8)


@given(st.text(min_size=1, max_size=20), FIELDS)
def test_the_module_agrees_with_the_documented_algorithm(token: str, params: list[tuple[str, str]]) -> None:
    url = "https://tocsin.example/twilio/sms"
    expected = _documented(token, url, params)
    assert signature(token, url, params) == expected
    assert is_valid(token, url, params, expected)


@given(FIELDS, st.text(min_size=1, max_size=30))
def test_a_new_field_breaks_the_signature(params: list[tuple[str, str]], value: str) -> None:
    url = "https://tocsin.example/twilio/sms"
    given_signature = signature(TOKEN, url, params)
    extra = ("ZZZ-not-in-form", value)
    assert not is_valid(TOKEN, url, [*params, extra], given_signature)
