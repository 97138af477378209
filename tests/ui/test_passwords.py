"""Argon2id hashing: a password verifies only against its own hash, and a missing hash never verifies."""

from __future__ import annotations

from tocsin.ui import passwords


def test_a_password_verifies_against_its_own_hash_only() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")
    assert not passwords.verify(stored, "")
    # Salted: the same password hashes differently each time, and both verify.
    again = passwords.hash_password("correct horse battery")
    assert again != stored and passwords.verify(again, "correct horse battery")
    assert not passwords.needs_rehash(stored)


def test_no_stored_hash_never_verifies_even_with_the_dummy_password() -> None:
    assert not passwords.verify(None, "tocsin: no such account")
    assert not passwords.verify(None, "anything at all")
    assert not passwords.verify("not a hash", "anything at all")


def test_the_unknown_accounts_hash_costs_what_a_real_one_does() -> None:
    # The written-out dummy is a genuine hash of its text with today's parameters: checking an
    # unknown account spends one full Argon2 verification, as a known one does.
    assert not passwords.needs_rehash(passwords.DUMMY)
    assert passwords._HASHER.verify(passwords.DUMMY, "tocsin: no such account")
    real = passwords.hash_password("correct horse battery")
    assert passwords.DUMMY.split("$")[:4] == real.split("$")[:4]  # same algorithm, version and cost


def test_overlong_passwords_are_refused_without_hashing() -> None:
    stored = passwords.hash_password("x" * passwords.MAX_LENGTH)
    assert passwords.verify(stored, "x" * passwords.MAX_LENGTH)
    assert not passwords.verify(stored, "x" * (passwords.MAX_LENGTH + 1))


def test_password_rules() -> None:
    assert passwords.problem("short") is not None
    assert passwords.problem(" " * 12) is not None
    assert passwords.problem("x" * (passwords.MAX_LENGTH + 1)) is not None
    assert passwords.problem("eight ch") is None
