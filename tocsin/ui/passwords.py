"""Password hashing: Argon2id (argon2-cffi) with its recommended parameters. No I/O.

A hash carries its own parameters and salt, so raising the cost later rehashes each password
at its next sign-in (``needs_rehash``). Verification of an unknown account still spends one hash
(``DUMMY``), so the time a sign-in takes does not tell whether the email exists.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8  # NIST SP 800-63B's floor for chosen passwords
MAX_LENGTH = 1024  # hashing is slow on purpose; an unbounded input would be a cheap attack

_HASHER = PasswordHasher()
# A hash of a throwaway text made with the hasher's parameters, written out rather than made at
# import: one Argon2 hash takes 64 MiB, and every process importing the UI (the server, the CLI)
# would hold that peak once at start. Made again should argon2-cffi's parameters ever change, so
# an unknown account's check always costs what a real one does.
_DUMMY_AS_MADE = "$argon2id$v=19$m=65536,t=3,p=4$EEZp3krX7osWGbZb0aswbg$gWrFjlT43H2TYiny52TdSVw3qWO3OhiovvIYYHbyvyo"
DUMMY = _HASHER.hash("tocsin: no such account") if _HASHER.check_needs_rehash(_DUMMY_AS_MADE) else _DUMMY_AS_MADE


def problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters long."
    if password.strip() == "":
        return "The password cannot be only spaces."
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; None (no password set) spends a hash and fails."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        matched = _HASHER.verify(stored or DUMMY, password)
        return stored is not None and matched
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
