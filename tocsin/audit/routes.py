"""The audit trail's REST routes live in ``tocsin.api.audit``: they need the access checks of
``tocsin.auth`` (a higher layer than this package) and every audited domain's table. This
router stays empty so the layering holds; reading helpers are in ``tocsin.audit.queries``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
