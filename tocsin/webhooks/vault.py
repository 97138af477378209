"""Secrets Tocsin must be able to read back: webhook signing secrets and custom header values.

They cannot be stored hashed (signing needs the secret itself), so they are sealed with Fernet
(AES-128-CBC and HMAC-SHA256, from ``cryptography``) under a key the instance makes for itself on
first use and keeps in ``instance_secrets`` (as the action-link key is). What this protects:
secrets never appear in plain text in the subscription rows, in exports of them, in the audit
trail or in logs (nothing here logs a value). What it cannot protect: someone holding the whole
database holds the key too; keep the database's backups as private as the database.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.notifications.models import InstanceSecret

KEY_NAME = "webhook_vault"
SECRET_BYTES = 36  # 48 URL-safe characters


class SealBroken(Exception):
    """A sealed value could not be opened (another instance's key, or a damaged row)."""


def new_secret() -> str:
    """A webhook signing secret: 288 random bits, URL-safe text."""
    return secrets.token_urlsafe(SECRET_BYTES)


class Vault:
    """Seals and opens values with the instance's key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealBroken("a sealed webhook secret could not be opened with this instance's key") from None


def vault_key(session: Session, now: datetime) -> bytes:
    """The instance's sealing key, made on first use and shared by every process on the database
    (two processes making it at once: the second insert loses and reads the first's)."""
    found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == KEY_NAME))
    if found is None:
        try:
            with session.begin_nested():
                session.add(InstanceSecret(name=KEY_NAME, value=Fernet.generate_key().decode(), created_at=now))
        except IntegrityError:
            pass
        found = session.scalar(select(InstanceSecret.value).where(InstanceSecret.name == KEY_NAME))
    assert found is not None
    return found.encode()


def vault(session: Session, now: datetime) -> Vault:
    return Vault(vault_key(session, now))
